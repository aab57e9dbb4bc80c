// Drives vodd's admin page in Debian's Chromium (playwright-core): first-run
// setup, log out/in, upload a clip through the page (tus), watch it reach
// ready, play it in the preview, change a setting and see it applied, create
// an API token and use it, log out. Screenshots go to ARTIFACTS.
//
//   node admin.mjs http://127.0.0.1:8080 '<setup link>' clip.mp4 artifacts/
//
// Prints one line per step and exits 0 only when every step passed.
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '..', '..', 'package.json'));
const { chromium } = require('playwright-core');

const [base, setupUrl, clip, artifacts] = process.argv.slice(2);
const USER = 'editor';
const PASSWORD = 'a long test password';
mkdirSync(artifacts, { recursive: true });
const profile = mkdtempSync(join(tmpdir(), 'vodd-admin-e2e-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1366, height: 850 },
});
const page = context.pages()[0] || await context.newPage();
const problems = [];
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
// Expected 4xx answers (wrong password, a refused setting, checks after
// logout) are listed for the log, not counted as failures.
const httpErrors = [];
page.on('response', (r) => { if (r.status() >= 400) httpErrors.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`); });

let failed = false;
async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed = true;
    console.log(`FAIL ${name}: ${e.message.split('\n')[0]}`);
    await page.screenshot({ path: join(artifacts, `failed-${name.replace(/\W+/g, '-')}.png`), fullPage: true }).catch(() => {});
    throw e;
  }
}
const shot = (name) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
const apiGet = (path) => page.evaluate(async (p) => {
  const r = await fetch(`/api/v1${p}`, { credentials: 'same-origin' });
  return { status: r.status, body: await r.json().catch(() => null) };
}, path);

try {
  await step('first-run setup through the one-time link', async () => {
    await page.goto(setupUrl);
    await page.fill('#setup-form input[name=user]', USER);
    await page.fill('#setup-form input[name=password]', PASSWORD);
    await page.fill('#setup-form input[name=password2]', PASSWORD);
    await page.click('#setup-form button[type=submit]');
    await page.waitForSelector('#running', { timeout: 30000 });
    if ((await page.textContent('#who')) !== USER) throw new Error('not logged in as the new user');
    await shot('01-dashboard');
  });

  await step('log out and log in again', async () => {
    await page.click('#logout');
    await page.waitForSelector('#login-form');
    if ((await apiGet('/auth/session')).status !== 401) throw new Error('session still valid after logout');
    await page.fill('#login-form input[name=user]', USER);
    await page.fill('#login-form input[name=password]', 'wrong password!');
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#login-form .error:has-text("wrong")');
    await page.fill('#login-form input[name=password]', PASSWORD);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#running');
    await shot('02-logged-in');
  });

  let videoId;
  await step('upload a clip through the page and watch it reach ready', async () => {
    await page.click('#nav a[data-page=upload]');
    await page.waitForSelector('#file-input', { state: 'attached' });
    await page.fill('input[name=title]', 'E2E clip');
    await page.setInputFiles('#file-input', clip);
    await page.waitForSelector('#uploads td:has-text("processing"), #uploads td:has-text("ready"), #uploads td:has-text("uploaded")', { timeout: 60000 });
    await shot('03-uploaded');
    await page.waitForSelector('#uploads .badge.ready', { timeout: 240000 });
    const href = await page.getAttribute('#uploads a[href^="#/video/"]', 'href');
    videoId = href.split('/').pop();
    await shot('04-ready');
  });

  await step('the library lists it and the preview plays', async () => {
    await page.click('#nav a[data-page=library]');
    await page.waitForSelector(`#library a[href="#/video/${videoId}"]`);
    await page.fill('input[name=q]', 'E2E');
    await page.waitForSelector(`#library a[href="#/video/${videoId}"]`);
    await shot('05-library');
    await page.click(`#library a[href="#/video/${videoId}"]`);
    await page.waitForSelector('#preview');
    await page.evaluate(() => document.getElementById('preview').play());
    await page.waitForFunction(() => document.getElementById('preview').currentTime > 1.5, null, { timeout: 30000 });
    // Sprite thumbnails over the timeline.
    const box = await page.locator('#timeline').boundingBox();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2);
    await page.waitForSelector('#timeline .preview:not([hidden])', { timeout: 10000 });
    const bg = await page.$eval('#timeline .preview', (e) => e.style.backgroundImage);
    if (!bg.includes('sprite.jpg')) throw new Error(`timeline preview shows ${bg}`);
    if ((await page.$$('#main table tbody tr')).length < 2) throw new Error('no renditions listed');
    await shot('06-video-playing');
  });

  await step('change a setting and see it applied', async () => {
    await page.click('#nav a[data-page=settings]');
    const input = 'input[name="pipeline.segment_seconds"]';
    await page.waitForSelector(input);
    await page.fill(input, '60');
    await page.click('#settings-form button[type=submit]');
    await page.waitForSelector('#settings-form .error:has-text("pipeline.segment_seconds")');
    await page.fill(input, '6');
    await page.click('#settings-form button[type=submit]');
    await page.waitForSelector('#toast:has-text("applied")');
    await page.reload();
    await page.waitForSelector(input);
    if ((await page.inputValue(input)) !== '6') throw new Error('setting not kept');
    const s = await apiGet('/settings');
    const item = s.body.items.find((i) => i.name === 'pipeline.segment_seconds');
    if (item.value !== '6' || !item.stored) throw new Error(`settings API says ${JSON.stringify(item)}`);
    await shot('07-settings');
  });

  await step('create an API token and use it', async () => {
    await page.click('#nav a[data-page=tokens]');
    await page.waitForSelector('#token-form');
    await page.fill('#token-form input[name=name]', 'e2e cms');
    await page.check('#token-form input[value="catalog:read"]');
    await page.click('#token-form button[type=submit]');
    await page.waitForSelector('#new-token');
    const token = (await page.textContent('#new-token')).trim();
    if (!/^vodd_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/.test(token)) throw new Error(`odd token ${token}`);
    await page.waitForSelector('#tokens td:has-text("e2e cms")');
    const r = await fetch(`${base}/api/v1/videos/${videoId}`, { headers: { Authorization: `Bearer ${token}` } });
    if (r.status !== 200) throw new Error(`token GET gave ${r.status}`);
    const w = await fetch(`${base}/api/v1/settings`, { headers: { Authorization: `Bearer ${token}` } });
    if (w.status !== 403) throw new Error(`token without admin scope got ${w.status} on settings`);
    await shot('08-token');
  });

  await step('log out', async () => {
    await page.click('#logout');
    await page.waitForSelector('#login-form');
    if ((await apiGet('/videos')).status !== 401) throw new Error('API still answers after logout');
    await shot('09-logged-out');
  });
  console.log(`info HTTP errors seen by the page: ${httpErrors.join(', ') || 'none'}`);
  if (problems.length) {
    failed = true;
    console.log(`FAIL browser reported: ${problems.join(' | ')}`);
  }
} catch (_) {
  failed = true;
  if (problems.length) console.log(`browser: ${problems.join(' | ')}`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
