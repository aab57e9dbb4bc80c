// One page in Debian's Chromium (playwright-core) with hls.js, dash.js and
// Shaka Player, served by a tiny Node server on loopback; media comes from
// vodd over CORS. Shared by the origin and split-and-stitch player tests.
//
// The page defines attachPlayer(player, url, video, errors, {benign}) that
// loads `url` into `video` with 'hls' | 'dash' | 'shaka', pushes player
// errors into `errors` and resolves to {player, destroy} once the manifest
// is parsed; each test's own `script` (a string run in the page) defines
// window.runCase(args).
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

const libs = {
  '/hls.js': join(nodeModules, 'hls.js/dist/hls.min.js'),
  '/dash.js': join(nodeModules, 'dashjs/dist/legacy/umd/dash.all.min.js'),
  '/shaka.js': join(nodeModules, 'shaka-player/dist/shaka-player.compiled.js'),
};

const attach = `
window.attachPlayer = async (player, url, video, errors, {benign} = {}) => {
  if (player === 'hls') {
    const hls = new Hls();
    hls.on(Hls.Events.ERROR, (e, d) => {
      if (d.fatal || !benign || !benign.test(d.details))
        errors.push('hls.js: ' + d.type + ' ' + d.details + (d.fatal ? ' (fatal)' : ''));
    });
    const parsed = new Promise((res) => hls.on(Hls.Events.MANIFEST_PARSED, res));
    hls.loadSource(url);
    hls.attachMedia(video);
    await parsed;
    return {player: hls, destroy: () => hls.destroy()};
  }
  if (player === 'dash') {
    const p = dashjs.MediaPlayer().create();
    p.on(dashjs.MediaPlayer.events.ERROR, (e) => errors.push('dash.js: ' + JSON.stringify(e.error || e)));
    const ready = new Promise((res) => p.on(dashjs.MediaPlayer.events.STREAM_INITIALIZED, res));
    p.initialize(video, url, false);
    await ready;
    return {player: p, destroy: () => p.reset()};
  }
  shaka.polyfill.installAll();
  const p = new shaka.Player();
  await p.attach(video);
  p.addEventListener('error', (e) => errors.push('shaka: ' + e.detail.code + ' ' + JSON.stringify(e.detail.data).slice(0, 200)));
  await p.load(url);
  return {player: p, destroy: () => p.destroy()};
};`;

export async function openPlayerPage(title, script) {
  const page = `<!doctype html><meta charset="utf-8"><title>${title}</title>
<video id="v" muted playsinline width="320"></video>
<script src="/hls.js"></script><script src="/dash.js"></script><script src="/shaka.js"></script>
<script>${attach}\n${script}</script>`;
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
  return {
    // Runs window.runCase(args) in a fresh tab; page errors join r.errors.
    async runCase(args) {
      const tab = await context.newPage();
      const pageErrors = [];
      tab.on('pageerror', (e) => pageErrors.push(String(e)));
      await tab.goto(pageUrl);
      const r = await tab.evaluate((a) => window.runCase(a), args);
      r.errors.push(...pageErrors);
      await tab.close();
      return r;
    },
    async close() {
      await context.close();
      rmSync(profile, {recursive: true, force: true});
      server.close();
    },
  };
}
