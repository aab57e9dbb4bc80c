// Plays vodd's HLS and DASH manifests in hls.js, dash.js and Shaka Player
// inside Debian's Chromium (playwright-core). The page and the player
// libraries come from a tiny Node server on loopback; media comes from vodd
// over CORS.
//
//   node players.mjs http://127.0.0.1:8080/v/<video> 360,240
//
// Prints one JSON line per case and exits 0 only when every case played
// past MIN_SECONDS with no player error, and every forced rendition
// delivered frames of its own height.
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const nodeModules = join(here, '..', '..', 'node_modules');
const require = createRequire(join(here, '..', '..', 'package.json'));
const { chromium } = require('playwright-core');

const [base, heightsArg] = process.argv.slice(2);
const heights = (heightsArg || '').split(',').filter(Boolean).map(Number);
const MIN_SECONDS = 5;

const libs = {
  '/hls.js': join(nodeModules, 'hls.js/dist/hls.min.js'),
  '/dash.js': join(nodeModules, 'dashjs/dist/legacy/umd/dash.all.min.js'),
  '/shaka.js': join(nodeModules, 'shaka-player/dist/shaka-player.compiled.js'),
};
const page = `<!doctype html><meta charset="utf-8"><title>vodd players</title>
<video id="v" muted playsinline width="320"></video>
<script src="/hls.js"></script><script src="/dash.js"></script><script src="/shaka.js"></script>
<script>
// Benign in headless playback: the player recovers by itself.
const BENIGN = /bufferStalledError|bufferNudgeOnStall|bufferSeekOverHole/;
window.runCase = async ({player, url, height, minSeconds}) => {
  const video = document.getElementById('v');
  const errors = [], heights = new Set();
  video.addEventListener('error', () => errors.push('video: ' + (video.error && video.error.message)));
  let destroy = () => {};
  const select = async () => {
    if (player === 'hls') {
      const hls = new Hls();
      destroy = () => hls.destroy();
      hls.on(Hls.Events.ERROR, (e, d) => {
        if (d.fatal || !BENIGN.test(d.details)) errors.push('hls.js: ' + d.type + ' ' + d.details + (d.fatal ? ' (fatal)' : ''));
      });
      const parsed = new Promise((res) => hls.on(Hls.Events.MANIFEST_PARSED, res));
      hls.loadSource(url);
      hls.attachMedia(video);
      await parsed;
      if (height) {
        const i = hls.levels.findIndex((l) => l.height === height);
        if (i < 0) throw new Error('no level of height ' + height);
        hls.currentLevel = i;
      }
    } else if (player === 'dash') {
      const p = dashjs.MediaPlayer().create();
      destroy = () => p.reset();
      p.on(dashjs.MediaPlayer.events.ERROR, (e) => errors.push('dash.js: ' + JSON.stringify(e.error || e)));
      if (height) p.updateSettings({streaming: {abr: {autoSwitchBitrate: {video: false}}}});
      const ready = new Promise((res) => p.on(dashjs.MediaPlayer.events.STREAM_INITIALIZED, res));
      p.initialize(video, url, false);
      await ready;
      if (height) {
        const reps = p.getRepresentationsByType('video');
        const r = reps.find((x) => x.height === height);
        if (!r) throw new Error('no representation of height ' + height);
        p.setRepresentationForTypeById('video', r.id, true);
      }
    } else {
      shaka.polyfill.installAll();
      const p = new shaka.Player();
      destroy = () => p.destroy();
      await p.attach(video);
      p.addEventListener('error', (e) => errors.push('shaka: ' + e.detail.code + ' ' + JSON.stringify(e.detail.data).slice(0, 200)));
      if (height) p.configure({abr: {enabled: false}});
      await p.load(url);
      if (height) {
        const t = p.getVariantTracks().find((x) => x.height === height);
        if (!t) throw new Error('no variant of height ' + height);
        p.selectVariantTrack(t, true);
      }
    }
  };
  try {
    await select();
    await video.play();
    const deadline = Date.now() + 45000;
    while (Date.now() < deadline && errors.length === 0) {
      if (video.videoHeight) heights.add(video.videoHeight);
      if (video.currentTime >= minSeconds && (!height || video.videoHeight === height)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (e) {
    errors.push('exception: ' + (e && (e.message || e.code || JSON.stringify(e))));
  }
  const result = {currentTime: video.currentTime, videoHeight: video.videoHeight,
                  heights: [...heights], errors};
  try { await destroy(); } catch (e) {}
  return result;
};
</script>`;

const server = createServer((req, res) => {
  const path = req.url.split('?')[0];
  if (path === '/' || path === '/index.html') {
    res.writeHead(200, {'content-type': 'text/html'});
    return res.end(page);
  }
  if (libs[path]) {
    res.writeHead(200, {'content-type': 'text/javascript'});
    return res.end(readFileSync(libs[path]));
  }
  res.writeHead(404);
  res.end();
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const pageUrl = `http://127.0.0.1:${server.address().port}/`;

const profile = mkdtempSync(join(tmpdir(), 'vodd-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--autoplay-policy=no-user-gesture-required'],
});

const cases = [];
for (const player of ['hls', 'dash', 'shaka']) {
  for (const manifest of ['master.m3u8', 'manifest.mpd']) {
    // hls.js plays HLS only; dash.js plays DASH only; Shaka plays both.
    if (player === 'hls' && manifest !== 'master.m3u8') continue;
    if (player === 'dash' && manifest !== 'manifest.mpd') continue;
    cases.push({player, manifest});
    for (const h of heights) cases.push({player, manifest, height: h});
  }
}

let failed = 0;
for (const c of cases) {
  const tab = await context.newPage();
  const consoleErrors = [];
  tab.on('pageerror', (e) => consoleErrors.push(String(e)));
  await tab.goto(pageUrl);
  const r = await tab.evaluate((args) => window.runCase(args),
      {player: c.player, url: `${base}/${c.manifest}`, height: c.height, minSeconds: MIN_SECONDS});
  r.errors.push(...consoleErrors);
  const ok = r.errors.length === 0 && r.currentTime >= MIN_SECONDS &&
      (!c.height || r.videoHeight === c.height);
  if (!ok) failed++;
  console.log(JSON.stringify({...c, ok, ...r}));
  await tab.close();
}
await context.close();
rmSync(profile, {recursive: true, force: true});
server.close();
process.exit(failed ? 1 : 0);
