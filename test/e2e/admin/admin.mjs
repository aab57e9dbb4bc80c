// Drives vodd's admin page end to end in one browser: Debian's Chromium
// (playwright-core) or Debian's Firefox ESR (puppeteer-core over WebDriver
// BiDi). The steps are in flow.mjs, the driver differences in drivers.mjs.
//
//   node admin.mjs chromium|firefox http://127.0.0.1:8080 '<setup link>' \
//        clip.mp4 big.bin <data dir> artifacts/
//
// clip.mp4 is a short video taken to ready and played; big.bin (tens of MiB)
// is uploaded, interrupted by a page reload and resumed; its copy under
// <data dir>/uploads/ must hash like the original. Prints one line per step
// and exits 0 only when every step passed.
import { mkdirSync } from 'node:fs';
import { launch } from './drivers.mjs';
import { run } from './flow.mjs';

const [browser, base, setupUrl, clip, big, dataDir, artifacts] = process.argv.slice(2);
if (!artifacts) {
  console.error('usage: admin.mjs chromium|firefox <base> <setup link> <clip> <big file> <data dir> <artifacts>');
  process.exit(2);
}
mkdirSync(artifacts, { recursive: true });
const b = await launch(browser);
let ok = false;
try {
  ok = await run(b, { base, setupUrl, clip, big, dataDir, artifacts });
} finally {
  await b.close().catch((e) => console.log(`info closing ${browser}: ${e.message}`));
}
process.exit(ok ? 0 : 1);
