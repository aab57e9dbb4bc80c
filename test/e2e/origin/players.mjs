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
import { openPlayerPage } from '../support/player_page.mjs';

const [base, heightsArg] = process.argv.slice(2);
const heights = (heightsArg || '').split(',').filter(Boolean).map(Number);
const MIN_SECONDS = 5;

const script = `
// Benign in headless playback: the player recovers by itself.
const BENIGN = /bufferStalledError|bufferNudgeOnStall|bufferSeekOverHole/;
window.runCase = async ({player, url, height, minSeconds}) => {
  const video = document.getElementById('v');
  const errors = [], heights = new Set();
  video.addEventListener('error', () => errors.push('video: ' + (video.error && video.error.message)));
  let destroy = () => {};
  const select = async () => {
    const a = await attachPlayer(player, url, video, errors, {benign: BENIGN});
    destroy = a.destroy;
    if (!height) return;
    if (player === 'hls') {
      const i = a.player.levels.findIndex((l) => l.height === height);
      if (i < 0) throw new Error('no level of height ' + height);
      a.player.currentLevel = i;
    } else if (player === 'dash') {
      a.player.updateSettings({streaming: {abr: {autoSwitchBitrate: {video: false}}}});
      const r = a.player.getRepresentationsByType('video').find((x) => x.height === height);
      if (!r) throw new Error('no representation of height ' + height);
      a.player.setRepresentationForTypeById('video', r.id, true);
    } else {
      a.player.configure({abr: {enabled: false}});
      const t = a.player.getVariantTracks().find((x) => x.height === height);
      if (!t) throw new Error('no variant of height ' + height);
      a.player.selectVariantTrack(t, true);
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
`;
const page = await openPlayerPage('vodd players', script);

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
  const r = await page.runCase(
      {player: c.player, url: `${base}/${c.manifest}`, height: c.height, minSeconds: MIN_SECONDS});
  const ok = r.errors.length === 0 && r.currentTime >= MIN_SECONDS &&
      (!c.height || r.videoHeight === c.height);
  if (!ok) failed++;
  console.log(JSON.stringify({...c, ok, ...r}));
}
await page.close();
process.exit(failed ? 1 : 0);
