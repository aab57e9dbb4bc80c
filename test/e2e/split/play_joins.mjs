// Plays a split-and-stitched video from start to end in hls.js (HLS) and
// dash.js (DASH) inside Debian's Chromium (playwright-core), at 2× speed,
// and reports every stall ("waiting" after playback started) with its media
// time, so a bad join shows up as a stall or an error near a chunk boundary.
//
//   node play_joins.mjs http://127.0.0.1:8080/v/<video> 30
//
// Prints one JSON line per case; exits 0 only when every case reached the
// end (duration − 0.5 s) with no player error and no stall.
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

const [base, durationArg] = process.argv.slice(2);
const duration = Number(durationArg);

const libs = {
  '/hls.js': join(nodeModules, 'hls.js/dist/hls.min.js'),
  '/dash.js': join(nodeModules, 'dashjs/dist/legacy/umd/dash.all.min.js'),
};
const page = `<!doctype html><meta charset="utf-8"><title>vodd joins</title>
<video id="v" muted playsinline width="320"></video>
<script src="/hls.js"></script><script src="/dash.js"></script>
<script>
window.runCase = async ({player, url, end}) => {
  const video = document.getElementById('v');
  const errors = [], stalls = [];
  let playing = false;
  video.addEventListener('error', () => errors.push('video: ' + (video.error && video.error.message)));
  video.addEventListener('playing', () => { playing = true; });
  video.addEventListener('waiting', () => { if (playing) stalls.push(video.currentTime); });
  let destroy = () => {};
  try {
    if (player === 'hls') {
      const hls = new Hls();
      destroy = () => hls.destroy();
      hls.on(Hls.Events.ERROR, (e, d) => errors.push('hls.js: ' + d.type + ' ' + d.details + (d.fatal ? ' (fatal)' : '')));
      const parsed = new Promise((res) => hls.on(Hls.Events.MANIFEST_PARSED, res));
      hls.loadSource(url);
      hls.attachMedia(video);
      await parsed;
    } else {
      const p = dashjs.MediaPlayer().create();
      destroy = () => p.reset();
      p.on(dashjs.MediaPlayer.events.ERROR, (e) => errors.push('dash.js: ' + JSON.stringify(e.error || e)));
      const ready = new Promise((res) => p.on(dashjs.MediaPlayer.events.STREAM_INITIALIZED, res));
      p.initialize(video, url, false);
      await ready;
    }
    video.playbackRate = 2;
    await video.play();
    const deadline = Date.now() + 90000;
    while (Date.now() < deadline && errors.length === 0 && !video.ended && video.currentTime < end) {
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (e) {
    errors.push('exception: ' + (e && (e.message || e.code || JSON.stringify(e))));
  }
  const q = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : {};
  const result = {currentTime: video.currentTime, ended: video.ended, stalls, errors,
                  frames: q.totalVideoFrames, dropped: q.droppedVideoFrames};
  try { await destroy(); } catch (e) {}
  return result;
};
</script>`;

const server = createServer((req, res) => {
  const path = req.url.split('?')[0];
  if (path === '/') {
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

let failed = 0;
for (const [player, manifest] of [['hls', 'master.m3u8'], ['dash', 'manifest.mpd']]) {
  const tab = await context.newPage();
  const pageErrors = [];
  tab.on('pageerror', (e) => pageErrors.push(String(e)));
  await tab.goto(pageUrl);
  const r = await tab.evaluate((args) => window.runCase(args),
      {player, url: `${base}/${manifest}`, end: duration - 0.5});
  r.errors.push(...pageErrors);
  const ok = r.errors.length === 0 && r.stalls.length === 0 &&
      (r.ended || r.currentTime >= duration - 0.5);
  if (!ok) failed++;
  console.log(JSON.stringify({player, manifest, ok, ...r}));
  await tab.close();
}
await context.close();
rmSync(profile, {recursive: true, force: true});
server.close();
process.exit(failed ? 1 : 0);
