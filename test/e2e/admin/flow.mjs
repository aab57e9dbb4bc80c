// The admin page's end-to-end flow, driver-neutral (see drivers.mjs): first-run
// setup, log out/in, upload a clip through the page (tus), watch it reach
// ready, play it in the preview, process it again, resume an upload after a
// page reload, change a setting and see it applied, create an API token and
// use it, log out.
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { basename, join } from 'node:path';

const USER = 'editor';
const PASSWORD = 'a long test password';

const sha256 = (path) => new Promise((resolve, reject) => {
  const h = createHash('sha256');
  createReadStream(path).on('data', (d) => h.update(d)).on('end', () => resolve(h.digest('hex'))).on('error', reject);
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, fn, ms) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

// Resolves once some element matching `sel` contains `text`.
function waitForText(b, sel, text, o) {
  return b.waitForFunction(([s, t]) => [...document.querySelectorAll(s)].some((e) => e.textContent.includes(t)),
    [sel, text], o);
}

// o: { base, setupUrl, clip, big, dataDir, artifacts }. Returns true when
// every step passed; prints one line per step.
export async function run(b, o) {
  const problems = [];
  b.onPageError((m) => problems.push(`page error: ${m}`));
  // Expected 4xx answers (wrong password, a refused setting, checks after
  // logout) are listed for the log, not counted as failures.
  const httpErrors = [];
  b.onResponse((r) => { if (r.status >= 400) httpErrors.push(`${r.status} ${r.method} ${new URL(r.url).pathname}`); });
  const requests = [];
  b.onRequest((r) => requests.push(r));

  const shot = (name) => b.screenshot(join(o.artifacts, `${name}.png`));
  async function step(name, fn) {
    const t0 = Date.now();
    try {
      await fn();
      console.log(`ok   ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      console.log(`FAIL ${name}: ${e.message.split('\n')[0]}`);
      await b.screenshot(join(o.artifacts, `failed-${name.replace(/\W+/g, '-')}.png`)).catch(() => {});
      throw e;
    }
  }
  const apiGet = (path) => b.evaluate(async (p) => {
    const r = await fetch(`/api/v1${p}`, { credentials: 'same-origin' });
    return { status: r.status, body: await r.json().catch(() => null) };
  }, path);
  const value = (sel) => b.evaluate((s) => document.querySelector(s).value, sel);
  const text = (sel) => b.evaluate((s) => document.querySelector(s).textContent, sel);

  let ok = true;
  try {
    await step('first-run setup through the one-time link', async () => {
      await b.goto(o.setupUrl);
      console.log(`info ${await b.evaluate(() => navigator.userAgent)}`);
      await b.fill('#setup-form input[name=user]', USER);
      await b.fill('#setup-form input[name=password]', PASSWORD);
      await b.fill('#setup-form input[name=password2]', PASSWORD);
      await b.click('#setup-form button[type=submit]');
      await b.waitFor('#running');
      if ((await text('#who')) !== USER) throw new Error('not logged in as the new user');
      await shot('01-dashboard');
    });

    await step('log out and log in again', async () => {
      await b.click('#logout');
      await b.waitFor('#login-form');
      if ((await apiGet('/auth/session')).status !== 401) throw new Error('session still valid after logout');
      await b.fill('#login-form input[name=user]', USER);
      await b.fill('#login-form input[name=password]', 'wrong password!');
      await b.click('#login-form button[type=submit]');
      await waitForText(b, '#login-form .error', 'wrong');
      await b.fill('#login-form input[name=password]', PASSWORD);
      await b.click('#login-form button[type=submit]');
      await b.waitFor('#running');
      await shot('02-logged-in');
    });

    let videoId;
    await step('upload a clip through the page and watch it reach ready', async () => {
      await b.click('#nav a[data-page=upload]');
      await b.waitFor('#file-input', { hidden: true });
      await b.fill('input[name=title]', 'E2E clip');
      await b.setFiles('#file-input', o.clip);
      await b.waitForFunction(() => /processing|ready|uploaded/.test(document.querySelector('#uploads tbody').textContent),
        null, { timeout: 60000 });
      await shot('03-uploaded');
      await b.waitFor('#uploads .badge.ready', { timeout: 240000 });
      const href = await b.evaluate(() => document.querySelector('#uploads a[href^="#/video/"]').getAttribute('href'));
      videoId = href.split('/').pop();
      await shot('04-ready');
    });

    await step('the library lists it and the preview plays', async () => {
      await b.click('#nav a[data-page=library]');
      await b.waitFor(`#library a[href="#/video/${videoId}"]`);
      await b.fill('input[name=q]', 'E2E');
      await b.waitFor(`#library a[href="#/video/${videoId}"]`);
      // The row shows the published size (the largest rung), not a dash.
      const size = await b.evaluate((id) =>
        document.querySelector(`#library a[href="#/video/${id}"]`).closest('tr').cells[4].textContent, videoId);
      if (!/^\d+×\d+$/.test(size)) throw new Error(`library size column shows "${size}"`);
      await shot('05-library');
      await b.click(`#library a[href="#/video/${videoId}"]`);
      await b.waitFor('#preview');
      await b.evaluate(() => document.getElementById('preview').play());
      await b.waitForFunction(() => document.getElementById('preview').currentTime > 1.5, null, { timeout: 30000 });
      // Sprite thumbnails over the timeline.
      const box = await b.box('#timeline');
      await b.mouseMove(box.x + box.width * 0.5, box.y + box.height / 2);
      await b.waitFor('#timeline .preview:not([hidden])', { timeout: 10000 });
      const bg = await b.evaluate(() => document.querySelector('#timeline .preview').style.backgroundImage);
      if (!bg.includes('sprite.jpg')) throw new Error(`timeline preview shows ${bg}`);
      const rows = await b.evaluate(() => document.querySelectorAll('#main table tbody tr').length);
      if (rows < 2) throw new Error('no renditions listed');
      await shot('06-video-playing');
    });

    // "Process again" on the video page: a second transcode job, published
    // as version 2 while version 1 keeps playing. (confirm() is answered in
    // the page, the same way in both drivers.)
    await step('process the video again: version 2 replaces version 1', async () => {
      const before = await apiGet(`/videos/${videoId}`);
      if (before.body.version !== 1) throw new Error(`video at version ${before.body.version} before`);
      await b.evaluate(() => { window.confirm = () => true; });
      await b.click('#reprocess');
      // The second job shows up (queued, or already running or done).
      await b.waitForFunction(() => document.querySelectorAll('#jobs tbody tr').length >= 2, null, { timeout: 10000 });
      const v2 = await until('version 2', async () => {
        const v = await apiGet(`/videos/${videoId}`);
        return v.body && v.body.version === 2 ? v.body : null;
      }, 240000);
      if (v2.state !== 'ready') throw new Error(`video ${v2.state} after version 2`);
      const transcodes = v2.jobs.filter((j) => j.kind === 'transcode' && j.state === 'done').length;
      if (transcodes !== 2) throw new Error(`${transcodes} done transcode jobs, expected 2`);
      // The page notices the new version and loads it into the preview.
      await waitForText(b, 'h1 .version', 'version 2', { timeout: 10000 });
      await b.waitFor('#preview');
      await shot('06-video-processed-again');
    });

    // A larger file: the first 16 MiB chunk (the page's chunkSize) reaches
    // the server, later PATCHes are held in the browser and never sent, the
    // upload is paused and the page reloaded. Choosing the same file again
    // must continue the same tus upload at the server's offset, not at 0.
    await step('an upload resumes after a page reload', async () => {
      const size = statSync(o.big).size;
      const name = basename(o.big);
      const isPatch = (r) => r.method === 'PATCH' && new URL(r.url).pathname.startsWith('/files/');
      await b.click('#nav a[data-page=upload]');
      await b.waitFor('#file-input', { hidden: true });
      const hold = await b.hold((r) => isPatch(r) && r.headers['upload-offset'] !== '0');
      const first = requests.length;
      await b.setFiles('#file-input', o.big);
      await until('a second PATCH', async () => hold.count() > 0, 60000);
      const before = requests.slice(first).filter(isPatch);
      const uploadUrl = before[0].url;
      const id = new URL(uploadUrl).pathname.split('/').pop();
      const u0 = await apiGet(`/uploads/${id}`);
      if (u0.status !== 200) throw new Error(`uploads API gave ${u0.status} for ${id}`);
      const offset = u0.body.offset;
      if (!(offset > 0 && offset < size)) throw new Error(`server offset ${offset} of ${size} before the reload`);
      await b.evaluate(() => [...document.querySelectorAll('#uploads button')].find((e) => e.textContent === 'Pause').click());
      await hold.abortAll();
      await hold.stop();
      await shot('06a-paused');

      await b.reload();
      await b.waitFor('#file-input', { hidden: true });
      await waitForText(b, '#main .card', 'Unfinished uploads from earlier');
      await waitForText(b, '#main .card', name);
      const u1 = await apiGet(`/uploads/${id}`);
      if (u1.body.offset !== offset) throw new Error(`server offset moved from ${offset} to ${u1.body.offset} without PATCHes`);
      const after = requests.length;
      await b.setFiles('#file-input', o.big);
      const pct = Math.floor((offset / size) * 100);
      await waitForText(b, '#uploads .resumed', `resuming at ${pct}%`);
      await shot('06b-resuming');
      const done = await until('the upload to complete', async () => {
        const u = await apiGet(`/uploads/${id}`);
        return u.body && u.body.offset === size && u.body.state !== 'receiving' ? u.body : null;
      }, 120000);
      const patches = requests.slice(after).filter(isPatch);
      if (!patches.length) throw new Error('no PATCH after the reload');
      for (const p of patches) {
        if (p.url !== uploadUrl) throw new Error(`PATCH after reload went to ${p.url}, not ${uploadUrl}`);
      }
      const offs = patches.map((p) => Number(p.headers['upload-offset']));
      if (offs[0] !== offset || offs.some((x) => x < offset)) {
        throw new Error(`PATCH offsets after reload ${offs.join(',')}; expected to start at ${offset}`);
      }
      if (requests.slice(after).some((r) => r.method === 'POST' && new URL(r.url).pathname === '/files/')) {
        throw new Error('a new upload was created after the reload');
      }
      const [want, got] = await Promise.all([sha256(o.big), sha256(join(o.dataDir, 'uploads', id))]);
      if (want !== got) throw new Error(`server copy sha256 ${got} != ${want}`);
      // The page saw the upload succeed and found its video: its row links
      // to it. ("uploaded, processing…" is only there until the first poll
      // of the video, 1.5 s later; this file is random bytes, whose job dies
      // at once, so the row may already show "failed" for the video.)
      await b.waitFor('#uploads tbody a[href^="#/video/"]');
      const row = await b.evaluate(() => document.querySelector('#uploads tbody tr').textContent);
      if (row.includes('failed:')) throw new Error(`the page says the upload failed: ${row}`);
      console.log(`info resumed upload ${id}: ${offset} of ${size} bytes on the server at the reload; ` +
        `PATCH offsets after it ${offs.join(',')}; state ${done.state}; sha256 ${got}`);
      await shot('06c-resumed');
    });

    await step('change a setting and see it applied', async () => {
      await b.click('#nav a[data-page=settings]');
      const input = 'input[name="pipeline.segment_seconds"]';
      await b.waitFor(input);
      await b.fill(input, '60');
      await b.click('#settings-form button[type=submit]');
      await waitForText(b, '#settings-form .error', 'pipeline.segment_seconds');
      await b.fill(input, '6');
      await b.click('#settings-form button[type=submit]');
      await waitForText(b, '#toast', 'applied');
      await b.reload();
      await b.waitFor(input);
      if ((await value(input)) !== '6') throw new Error('setting not kept');
      const s = await apiGet('/settings');
      const item = s.body.items.find((i) => i.name === 'pipeline.segment_seconds');
      if (item.value !== '6' || !item.stored) throw new Error(`settings API says ${JSON.stringify(item)}`);
      await shot('07-settings');
    });

    await step('create an API token and use it', async () => {
      await b.click('#nav a[data-page=tokens]');
      await b.waitFor('#token-form');
      await b.fill('#token-form input[name=name]', 'e2e cms');
      await b.check('#token-form input[value="catalog:read"]');
      await b.click('#token-form button[type=submit]');
      await b.waitFor('#new-token');
      const token = (await text('#new-token')).trim();
      if (!/^vodd_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/.test(token)) throw new Error(`odd token ${token}`);
      await waitForText(b, '#tokens td', 'e2e cms');
      const r = await fetch(`${o.base}/api/v1/videos/${videoId}`, { headers: { Authorization: `Bearer ${token}` } });
      if (r.status !== 200) throw new Error(`token GET gave ${r.status}`);
      // What a CMS embeds: the stable poster is the current version's. The
      // origin keeps which version is current for up to 2 s, so right after
      // "process again" it may still name version 1 that long.
      const { urls } = await r.json();
      const want = (await fetch(urls.poster_version)).headers.get('etag');
      let stable;
      for (let i = 0; i < 20; i++) {
        stable = await fetch(urls.poster);
        if (stable.status === 200 && stable.headers.get('etag') === want) break;
        await new Promise((res) => setTimeout(res, 500));
      }
      if (stable.status !== 200 || stable.headers.get('content-type') !== 'image/jpeg' ||
          stable.headers.get('etag') !== want) {
        throw new Error(`stable poster ${urls.poster}: ${stable.status} ${stable.headers.get('etag')}, want ${want}`);
      }
      const w = await fetch(`${o.base}/api/v1/settings`, { headers: { Authorization: `Bearer ${token}` } });
      if (w.status !== 403) throw new Error(`token without admin scope got ${w.status} on settings`);
      await shot('08-token');
    });

    await step('log out', async () => {
      await b.click('#logout');
      await b.waitFor('#login-form');
      if ((await apiGet('/videos')).status !== 401) throw new Error('API still answers after logout');
      await shot('09-logged-out');
    });
    console.log(`info HTTP errors seen by the page: ${httpErrors.join(', ') || 'none'}`);
    if (problems.length) {
      ok = false;
      console.log(`FAIL browser reported: ${problems.join(' | ')}`);
    }
  } catch (_) {
    ok = false;
    if (problems.length) console.log(`browser: ${problems.join(' | ')}`);
  }
  return ok;
}
