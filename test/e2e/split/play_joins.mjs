// Plays a split-and-stitched video from start to end in hls.js (HLS) and
// dash.js (DASH) inside Debian's Chromium (playwright-core), at 2× speed,
// watching for what a bad join does to a player:
//  - a hole: two buffered ranges with a gap between them (video.buffered is
//    what both tracks hold, so a hole in either shows);
//  - a stall with nothing buffered ahead of the playhead ("waiting", or
//    hls.js's bufferStalledError);
//  - a player or decoder error.
// A stall with at least STARVED_AHEAD s buffered ahead is the renderer
// falling behind on a busy machine, not the media: it is reported under
// "slow" and does not fail the case.
//
//   node play_joins.mjs http://127.0.0.1:8080/v/<video> 30
//
// Prints one JSON line per case; exits 0 only when every case reached the
// end (duration − 0.5 s) with no error, no hole and no empty-buffer stall.
import { openPlayerPage } from '../support/player_page.mjs';

const [base, durationArg] = process.argv.slice(2);
const duration = Number(durationArg);

const script = `
const STARVED_AHEAD = 0.5;
window.runCase = async ({player, url, end}) => {
  const video = document.getElementById('v');
  const errors = [], stalls = [], slow = [], holes = [];
  let playing = false;
  // Seconds buffered ahead of the playhead; 0 when it is not in a range.
  const ahead = () => {
    const b = video.buffered, t = video.currentTime;
    for (let i = 0; i < b.length; i++)
      if (t >= b.start(i) - 0.01 && t < b.end(i)) return b.end(i) - t;
    return 0;
  };
  const stall = (what) => {
    const a = ahead();
    const s = {what, time: video.currentTime, ahead: Number(a.toFixed(3))};
    (a >= STARVED_AHEAD ? slow : stalls).push(s);
  };
  const checkHoles = () => {
    const b = video.buffered;
    for (let i = 1; i < b.length; i++) {
      const hole = {from: b.end(i - 1), to: b.start(i)};
      if (!holes.some((h) => h.from === hole.from && h.to === hole.to)) holes.push(hole);
    }
  };
  video.addEventListener('error', () => errors.push('video: ' + (video.error && video.error.message)));
  video.addEventListener('playing', () => { playing = true; });
  video.addEventListener('waiting', () => { if (playing) stall('waiting'); });
  let destroy = () => {};
  try {
    const attached = await attachPlayer(player, url, video, errors,
                                        {benign: /^bufferStalledError$/});
    destroy = attached.destroy;
    if (player === 'hls') {
      attached.player.on(Hls.Events.ERROR, (e, d) => {
        if (!d.fatal && d.details === 'bufferStalledError') stall('hls.js bufferStalledError');
      });
    }
    video.playbackRate = 2;
    await video.play();
    const deadline = Date.now() + 90000;
    while (Date.now() < deadline && errors.length === 0 && stalls.length === 0 &&
           holes.length === 0 && !video.ended && video.currentTime < end) {
      checkHoles();
      await new Promise((r) => setTimeout(r, 100));
    }
    checkHoles();
  } catch (e) {
    errors.push('exception: ' + (e && (e.message || e.code || JSON.stringify(e))));
  }
  const q = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : {};
  const result = {currentTime: video.currentTime, ended: video.ended, stalls, holes, slow, errors,
                  frames: q.totalVideoFrames, dropped: q.droppedVideoFrames};
  try { await destroy(); } catch (e) {}
  return result;
};
`;
const page = await openPlayerPage('vodd joins', script);

let failed = 0;
for (const [player, manifest] of [['hls', 'master.m3u8'], ['dash', 'manifest.mpd']]) {
  const r = await page.runCase({player, url: `${base}/${manifest}`, end: duration - 0.5});
  const ok = r.errors.length === 0 && r.stalls.length === 0 && r.holes.length === 0 &&
      (r.ended || r.currentTime >= duration - 0.5);
  if (!ok) failed++;
  console.log(JSON.stringify({player, manifest, ok, ...r}));
}
await page.close();
process.exit(failed ? 1 : 0);
