// Plays a split-and-stitched video from start to end in hls.js (HLS) and
// dash.js (DASH) inside Debian's Chromium (playwright-core), at 2× speed,
// and reports every stall ("waiting" after playback started) with its media
// time, so a bad join shows up as a stall or an error near a chunk boundary.
//
//   node play_joins.mjs http://127.0.0.1:8080/v/<video> 30
//
// Prints one JSON line per case; exits 0 only when every case reached the
// end (duration − 0.5 s) with no player error and no stall.
import { openPlayerPage } from '../support/player_page.mjs';

const [base, durationArg] = process.argv.slice(2);
const duration = Number(durationArg);

const script = `
window.runCase = async ({player, url, end}) => {
  const video = document.getElementById('v');
  const errors = [], stalls = [];
  let playing = false;
  video.addEventListener('error', () => errors.push('video: ' + (video.error && video.error.message)));
  video.addEventListener('playing', () => { playing = true; });
  video.addEventListener('waiting', () => { if (playing) stalls.push(video.currentTime); });
  let destroy = () => {};
  try {
    destroy = (await attachPlayer(player, url, video, errors)).destroy;
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
`;
const page = await openPlayerPage('vodd joins', script);

let failed = 0;
for (const [player, manifest] of [['hls', 'master.m3u8'], ['dash', 'manifest.mpd']]) {
  const r = await page.runCase({player, url: `${base}/${manifest}`, end: duration - 0.5});
  const ok = r.errors.length === 0 && r.stalls.length === 0 &&
      (r.ended || r.currentTime >= duration - 0.5);
  if (!ok) failed++;
  console.log(JSON.stringify({player, manifest, ok, ...r}));
}
await page.close();
process.exit(failed ? 1 : 0);
