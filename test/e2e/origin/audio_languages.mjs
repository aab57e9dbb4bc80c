// A bilingual video in hls.js, dash.js and Shaka Player (Chromium): each
// player must list every audio language vodd published, switch to the
// second one and keep playing on it.
//
//   node audio_languages.mjs http://127.0.0.1:8080/v/<video> en,fr English,French
//
// Prints one JSON line per case and exits 0 only when every case listed
// the languages under the given names (HLS NAME, DASH Label), reports the
// second one active and played past MIN_SECONDS with no player error.
import { openPlayerPage } from '../support/player_page.mjs';

const [base, langsArg, namesArg] = process.argv.slice(2);
const want = (langsArg || '').split(',').filter(Boolean);
const wantNames = (namesArg || '').split(',').filter(Boolean);
const MIN_SECONDS = 3;

const script = `
const BENIGN = /bufferStalledError|bufferNudgeOnStall|bufferSeekOverHole/;
// Languages the player offers, their names, and a function that picks one.
const tracks = {
  hls: (p) => ({
    list: () => p.audioTracks.map((t) => t.lang),
    names: () => p.audioTracks.map((t) => t.name),
    pick: (lang) => { p.audioTrack = p.audioTracks.findIndex((t) => t.lang === lang); },
    active: () => (p.audioTracks[p.audioTrack] || {}).lang,
  }),
  dash: (p) => ({
    list: () => p.getTracksFor('audio').map((t) => t.lang),
    names: () => p.getTracksFor('audio').map((t) => ((t.labels || [])[0] || {}).text),
    pick: (lang) => p.setCurrentTrack(p.getTracksFor('audio').find((t) => t.lang === lang)),
    active: () => (p.getCurrentTrackFor('audio') || {}).lang,
  }),
  shaka: (p) => ({  // Shaka 5's audio track API
    list: () => p.getAudioTracks().map((t) => t.language),
    names: () => p.getAudioTracks().map((t) => t.label),
    pick: (lang) => p.selectAudioTrack(p.getAudioTracks().find((t) => t.language === lang)),
    active: () => (p.getAudioTracks().find((t) => t.active) || {}).language,
  }),
};
window.runCase = async ({player, url, lang, minSeconds}) => {
  const video = document.getElementById('v');
  const errors = [];
  let destroy = () => {}, languages = [], names = [], active = null;
  try {
    const a = await attachPlayer(player, url, video, errors, {benign: BENIGN});
    destroy = a.destroy;
    const t = tracks[player](a.player);
    languages = t.list();
    names = t.names();
    await video.play();
    t.pick(lang);
    const deadline = Date.now() + 45000;
    while (Date.now() < deadline && errors.length === 0) {
      active = t.active();
      if (video.currentTime >= minSeconds && active === lang) break;
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (e) {
    errors.push('exception: ' + (e && (e.message || e.code || JSON.stringify(e))));
  }
  const result = {languages, names, active, currentTime: video.currentTime, errors};
  try { await destroy(); } catch (e) {}
  return result;
};
`;
const page = await openPlayerPage('vodd audio languages', script);
const cases = [
  {player: 'hls', manifest: 'master.m3u8'},
  {player: 'dash', manifest: 'manifest.mpd'},
  {player: 'shaka', manifest: 'master.m3u8'},
  {player: 'shaka', manifest: 'manifest.mpd'},
];
const lang = want[want.length - 1];
let failed = 0;
for (const c of cases) {
  const r = await page.runCase({player: c.player, url: `${base}/${c.manifest}`, lang, minSeconds: MIN_SECONDS});
  const ok = r.errors.length === 0 && r.currentTime >= MIN_SECONDS && r.active === lang &&
      want.every((l) => r.languages.includes(l)) && r.languages.length === want.length &&
      wantNames.every((n, i) => r.names[r.languages.indexOf(want[i])] === n);
  if (!ok) failed++;
  console.log(JSON.stringify({...c, ok, ...r}));
}
await page.close();
process.exit(failed ? 1 : 0);
