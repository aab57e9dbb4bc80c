// One small page interface over two browser drivers, so flow.mjs runs the
// same admin-page steps in Debian's Chromium (playwright-core, CDP) and in
// Debian's Firefox ESR (puppeteer-core, WebDriver BiDi: playwright-core
// cannot drive a stock Firefox, it needs its own patched build).
//
// Selectors are plain CSS; text matches go through waitForText(), which runs
// in the page, so neither driver's selector extensions are needed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, '..', '..', 'package.json'));
const VIEWPORT = { width: 1366, height: 850 };

// Request as both drivers see it: method, url, lower-case headers.
const req = (method, url, headers) => {
  const lower = {};
  for (const [k, v] of Object.entries(headers || {})) lower[k.toLowerCase()] = v;
  return { method, url, headers: lower };
};

// Every wait needs an explicit bound; Infinity would hang CI.
const DEFAULT_TIMEOUT = 30000;

// The calls both drivers' pages spell the same way.
const sameInBoth = (page) => ({
  evaluate: (fn, arg) => page.evaluate(fn, arg),
  mouseMove: (x, y) => page.mouse.move(x, y),
  screenshot: (path) => page.screenshot({ path, fullPage: true }),
  onPageError: (fn) => page.on('pageerror', (e) => fn(e.message)),
  onRequest: (fn) => page.on('request', (r) => fn(req(r.method(), r.url(), r.headers()))),
  onResponse: (fn) => page.on('response', (r) => fn({ status: r.status(), method: r.request().method(), url: r.url() })),
});

async function chromium() {
  const { chromium: pw } = require('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'vodd-admin-e2e-'));
  const context = await pw.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: VIEWPORT,
  });
  const page = context.pages()[0] || await context.newPage();
  return {
    name: 'chromium',
    goto: (url) => page.goto(url),
    reload: () => page.reload(),
    click: (sel) => page.click(sel),
    fill: (sel, v) => page.fill(sel, v),
    check: (sel) => page.check(sel),
    waitFor: (sel, o = {}) => page.waitForSelector(sel, {
      state: o.hidden ? 'attached' : 'visible', timeout: o.timeout || DEFAULT_TIMEOUT }),
    waitForFunction: (fn, arg, o = {}) => page.waitForFunction(fn, arg, { timeout: o.timeout || DEFAULT_TIMEOUT }),
    ...sameInBoth(page),
    setFiles: (sel, path) => page.setInputFiles(sel, path),
    box: (sel) => page.locator(sel).boundingBox(),
    // Holds (never sends) requests `match` picks until abortAll(); others pass.
    async hold(match) {
      const held = [];
      const handler = (route, r) => {
        if (match(req(r.method(), r.url(), r.headers()))) held.push(route);
        else route.fallback();
      };
      await page.route('**/*', handler);
      return {
        count: () => held.length,
        async abortAll() {
          for (const r of held.splice(0)) await r.abort().catch(() => {});
        },
        stop: () => page.unroute('**/*', handler),
      };
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

async function firefox() {
  const puppeteer = require('puppeteer-core');
  const browser = await puppeteer.launch({
    browser: 'firefox',
    protocol: 'webDriverBiDi',
    executablePath: '/usr/bin/firefox-esr',
    headless: true,
    defaultViewport: VIEWPORT,
    // Quiet profile: no update checks, telemetry or first-run pages.
    extraPrefsFirefox: {
      'app.update.enabled': false,
      'browser.shell.checkDefaultBrowser': false,
      'datareporting.policy.dataSubmissionEnabled': false,
      'toolkit.telemetry.enabled': false,
    },
  });
  const page = (await browser.pages())[0] || await browser.newPage();
  page.setDefaultTimeout(DEFAULT_TIMEOUT);
  let holder = null;
  page.on('request', (r) => {
    if (!holder || r.isInterceptResolutionHandled()) return;
    holder(r);
  });
  return {
    name: 'firefox',
    goto: (url) => page.goto(url),
    reload: () => page.reload(),
    click: (sel) => page.locator(sel).click(),
    fill: (sel, v) => page.locator(sel).fill(v),
    async check(sel) {
      const el = await page.waitForSelector(sel);
      if (!(await el.evaluate((e) => e.checked))) await el.click();
      if (!(await el.evaluate((e) => e.checked))) throw new Error(`${sel} did not become checked`);
    },
    waitFor: (sel, o = {}) => page.waitForSelector(sel, { visible: !o.hidden, timeout: o.timeout || DEFAULT_TIMEOUT }),
    waitForFunction: (fn, arg, o = {}) => page.waitForFunction(fn, { timeout: o.timeout || DEFAULT_TIMEOUT }, arg),
    ...sameInBoth(page),
    async setFiles(sel, path) {
      const el = await page.waitForSelector(sel);
      await el.uploadFile(path);
    },
    async box(sel) {
      const el = await page.waitForSelector(sel);
      return el.boundingBox();
    },
    async hold(match) {
      const held = [];
      holder = (r) => {
        if (match(req(r.method(), r.url(), r.headers()))) held.push(r);
        else r.continue();
      };
      await page.setRequestInterception(true);
      return {
        count: () => held.length,
        async abortAll() {
          for (const r of held.splice(0)) await r.abort().catch(() => {});
        },
        async stop() {
          holder = null;
          await page.setRequestInterception(false);
        },
      };
    },
    close: () => browser.close(),
  };
}

export async function launch(name) {
  if (name === 'chromium') return chromium();
  if (name === 'firefox') return firefox();
  throw new Error(`unknown browser ${name} (chromium or firefox)`);
}
