// vodd admin page: a small single-page app over the REST API at /api/v1/.
// No framework; third-party code is hls.js (preview player) and
// tus-js-client (resumable uploads), bundled by esbuild at build time.
// The page is served with CSP default-src 'self': no inline scripts or
// styles, so everything is built with DOM calls below.
import Hls from 'hls.js';
import * as tus from 'tus-js-client';

const API = '/api/v1';
const state = { user: null, csrf: null, timers: [], hls: null };

// ---- helpers ----------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code;
    this.field = e.field;
  }
}

async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && state.csrf) headers['X-CSRF-Token'] = state.csrf;
  const res = await fetch(API + path, {
    method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  if (res.status !== 204) {
    try { data = await res.json(); } catch (_) { data = null; }
  }
  if (!res.ok) {
    if (res.status === 401 && state.user && !path.startsWith('/auth/')) {
      state.user = null;
      boot();
    }
    throw new ApiError(res.status, data);
  }
  return data;
}

function toast(msg, bad) {
  const t = document.getElementById('toast');
  t.textContent = msg;
  t.className = bad ? 'bad' : '';
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 4000);
}

function fmtBytes(n) {
  if (n === null || n === undefined) return '–';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}
function fmtDuration(ms) {
  if (ms === null || ms === undefined) return '–';
  const s = Math.round(ms / 1000);
  const m = Math.floor(s / 60);
  return `${Math.floor(m / 60) ? Math.floor(m / 60) + ':' : ''}${String(m % 60).padStart(m >= 60 ? 2 : 1, '0')}:${String(s % 60).padStart(2, '0')}`;
}
function fmtTime(ms) { return ms ? new Date(ms).toLocaleString() : '–'; }
function badge(s) { return h('span', { class: `badge ${s}`, text: s }); }
function bar(fraction) {
  const inner = h('div');
  inner.style.width = `${Math.round(Math.max(0, Math.min(1, fraction)) * 100)}%`;
  return h('div', { class: 'bar', role: 'progressbar', 'aria-valuenow': Math.round(fraction * 100) }, inner);
}
// Runs `fn` now and every `ms` until the page changes; a failed poll is
// shown once and retried at the next tick.
function every(ms, fn) {
  const run = () => Promise.resolve().then(fn).catch((e) => {
    if (state.user) toast(e.message, true);
  });
  run();
  state.timers.push(setInterval(run, ms));
}
// `shown` displays the value (a read-only input unless given): the Copy
// button falls back to selecting it where the clipboard API is refused.
function copyBox(value, label, shown) {
  const input = shown || h('input', { readonly: true, value, 'aria-label': label });
  return h('div', { class: 'copy' }, input,
    h('button', { type: 'button', class: 'secondary', onclick: async () => {
      try { await navigator.clipboard.writeText(value); } catch (_) {
        if (input.select) input.select(); else window.getSelection().selectAllChildren(input);
        document.execCommand('copy');
      }
      toast(`${label} copied`);
    } }, 'Copy'));
}
function formError(form, err) {
  let el = form.querySelector('.error');
  if (!el) { el = h('p', { class: 'error' }); form.append(el); }
  el.textContent = err ? err.message : '';
  if (err && err.field) {
    const input = form.querySelector(`[name="${CSS.escape(err.field)}"]`);
    if (input) input.focus();
  }
}
function main(...children) {
  const m = document.getElementById('main');
  m.replaceChildren(...children);
  return m;
}

// ---- boot, login, setup ----------------------------------------------------

async function boot() {
  stopTimers();
  const setup = location.hash.match(/^#setup=([A-Za-z0-9_-]{43})$/);
  let status;
  try { status = await api('GET', '/auth/status'); } catch (e) {
    main(h('p', { class: 'error', text: `Cannot reach vodd: ${e.message}` }));
    return;
  }
  document.getElementById('top').hidden = true;
  if (status.setup_required || setup) {
    if (setup) return showSetup(setup[1]);
    return main(h('div', { class: 'card narrow' }, h('h1', { text: 'Welcome to vodd' }),
      h('p', { text: 'No admin user exists yet. Open the one-time setup link that vodd printed in its log at start-up, or run on the server:' }),
      h('pre', { class: 'mono', text: 'sudo vodd admin setup-url\n# or\nsudo vodd admin passwd admin' })));
  }
  try {
    const s = await api('GET', '/auth/session');
    state.user = s.user;
    state.csrf = s.csrf_token;
  } catch (e) {
    return showLogin();
  }
  startApp();
}

function showSetup(token) {
  const form = h('form', { class: 'card narrow', id: 'setup-form' },
    h('h1', { text: 'Create the first admin' }),
    h('p', { class: 'muted', text: 'This link works once. Choose a user name and a password of at least 10 characters.' }),
    h('label', {}, h('span', { text: 'User name' }), h('input', { name: 'user', value: 'admin', autocomplete: 'username', required: true })),
    h('label', {}, h('span', { text: 'Password' }), h('input', { name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 10 })),
    h('label', {}, h('span', { text: 'Password again' }), h('input', { name: 'password2', type: 'password', autocomplete: 'new-password', required: true })),
    h('button', { type: 'submit' }, 'Create admin and log in'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    if (f.get('password') !== f.get('password2')) return formError(form, { message: 'The passwords differ.' });
    try {
      const s = await api('POST', '/auth/setup', { token, user: f.get('user'), password: f.get('password') });
      state.user = s.user;
      state.csrf = s.csrf_token;
      history.replaceState(null, '', '#/dashboard');
      startApp();
    } catch (e) { formError(form, e); }
  });
  main(form);
}

function showLogin() {
  document.getElementById('top').hidden = true;
  const form = h('form', { class: 'card narrow', id: 'login-form' },
    h('h1', { text: 'Log in to vodd' }),
    h('label', {}, h('span', { text: 'User name' }), h('input', { name: 'user', autocomplete: 'username', required: true })),
    h('label', {}, h('span', { text: 'Password' }), h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true })),
    h('button', { type: 'submit' }, 'Log in'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    try {
      const s = await api('POST', '/auth/login', { user: f.get('user'), password: f.get('password') });
      state.user = s.user;
      state.csrf = s.csrf_token;
      startApp();
    } catch (e) { formError(form, e); }
  });
  main(form);
  form.querySelector('input').focus();
}

function startApp() {
  document.getElementById('top').hidden = false;
  document.getElementById('who').textContent = state.user;
  if (!location.hash.startsWith('#/')) history.replaceState(null, '', '#/dashboard');
  route();
}

document.getElementById('logout').addEventListener('click', async () => {
  stopTimers();
  try { await api('POST', '/auth/logout'); } catch (_) { /* the session may be gone already */ }
  state.user = null;
  state.csrf = null;
  history.replaceState(null, '', '#/');
  showLogin();
});

function stopTimers() {
  state.timers.forEach(clearInterval);
  state.timers = [];
  if (state.hls) { state.hls.destroy(); state.hls = null; }
}

const pages = {};
function route() {
  if (!state.user) return;
  stopTimers();
  const [, page, arg] = location.hash.match(/^#\/([a-z]+)(?:\/([^/]+))?/) || [null, 'dashboard'];
  for (const a of document.querySelectorAll('#nav a')) {
    a.classList.toggle('active', a.dataset.page === page || (page === 'video' && a.dataset.page === 'library'));
  }
  (pages[page] || pages.dashboard)(arg).catch((e) => main(h('p', { class: 'error', text: e.message })));
}
window.addEventListener('hashchange', () => {
  if (location.hash.match(/^#setup=/)) return boot();
  route();
});

// ---- dashboard ---------------------------------------------------------------

function chart(values) {
  const ns = 'http://www.w3.org/2000/svg';
  const w = 480, hgt = 110, max = Math.max(1, ...values);
  const svg = document.createElementNS(ns, 'svg');
  // The bars stretch to the card's width at a fixed height (CSS); the axis
  // labels are HTML below, so they keep the page's text size.
  svg.setAttribute('viewBox', `0 0 ${w} ${hgt}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('class', 'chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'Jobs completed per hour, last 24 hours');
  const bw = w / values.length;
  values.forEach((v, i) => {
    const r = document.createElementNS(ns, 'rect');
    const bh = (v / max) * hgt;
    r.setAttribute('x', i * bw + 1);
    r.setAttribute('y', hgt - bh);
    r.setAttribute('width', bw - 2);
    r.setAttribute('height', Math.max(bh, v ? 1 : 0));
    const t = document.createElementNS(ns, 'title');
    t.textContent = `${v} job(s), ${values.length - i}h ago`;
    r.append(t);
    svg.append(r);
  });
  return h('div', {}, svg, h('div', { class: 'chart-axis muted' },
    h('span', { text: `${values.length}h ago` }), h('span', { text: 'now' })));
}

pages.dashboard = async () => {
  const cards = h('div', { class: 'cards' });
  const running = h('tbody');
  const failures = h('tbody');
  const chartBox = h('div', { class: 'card' });
  main(h('h1', { text: 'Dashboard' }), cards,
    h('h2', { text: 'Running jobs' }), h('table', { id: 'running' }, h('thead', {}, h('tr', {}, h('th', { text: 'Video' }), h('th', { text: 'Progress' }), h('th', { text: 'Speed' }), h('th', { text: 'ETA' }), h('th', { text: 'Attempt' }))), running),
    h('h2', { text: 'Completed jobs per hour (last 24 h)' }), chartBox,
    h('h2', { text: 'Recent failures' }), h('table', {}, h('thead', {}, h('tr', {}, h('th', { text: 'Video' }), h('th', { text: 'Reason' }), h('th', { text: 'When' }), h('th', {}))), failures));
  const stat = (n, l) => h('div', { class: 'card stat' }, h('div', { class: 'n', text: n }), h('div', { class: 'l', text: l }));
  every(2000, async () => {
    const s = await api('GET', '/stats');
    const disk = s.disk ? s.disk.free_bytes / s.disk.total_bytes : 0;
    cards.replaceChildren(
      stat(s.queue_depth, 'jobs waiting'),
      stat(s.running.length, `running (of ${s.workers} workers)`),
      stat(s.uploads_in_progress, 'uploads in progress'),
      stat(s.throughput.jobs_done_last_hour, 'videos done, last hour'),
      stat(s.throughput.jobs_done_last_day, 'videos done, last 24 h'),
      stat(fmtDuration(s.throughput.media_seconds_last_day * 1000), 'media processed, 24 h'),
      h('div', { class: 'card stat' }, h('div', { class: 'n', text: s.disk ? fmtBytes(s.disk.free_bytes) : '–' }),
        h('div', { class: 'l', text: `free of ${s.disk ? fmtBytes(s.disk.total_bytes) : '–'}` }), bar(1 - disk)));
    running.replaceChildren(...(s.running.length ? s.running.map((j) => h('tr', {},
      h('td', {}, h('a', { href: `#/video/${j.video_id}`, text: j.video_title || j.video_id })),
      h('td', {}, bar(j.progress), ` ${Math.round(j.progress * 100)}%`),
      h('td', { text: j.fps ? `${j.fps.toFixed(0)} fps` : '–' }),
      h('td', { text: j.eta_ms !== null ? fmtDuration(j.eta_ms) : '–' }),
      h('td', { text: `${j.attempts}/${j.max_attempts}` }))) : [h('tr', {}, h('td', { colspan: 5, class: 'muted', text: 'Nothing is transcoding right now.' }))]));
    failures.replaceChildren(...(s.recent_failures.length ? s.recent_failures.map((j) => h('tr', {},
      h('td', {}, h('a', { href: `#/video/${j.video_id}`, text: j.video_title || j.video_id })),
      h('td', { class: 'error', text: j.last_error || 'unknown' }),
      h('td', { text: fmtTime(j.updated_at) }),
      h('td', {}, h('button', { type: 'button', class: 'secondary', onclick: async () => {
        try { await api('POST', `/jobs/${j.id}/retry`); toast('Queued again'); } catch (e) { toast(e.message, true); }
      } }, 'Retry')))) : [h('tr', {}, h('td', { colspan: 4, class: 'muted', text: 'No failures. ' }))]));
    chartBox.replaceChildren(chart(s.throughput.done_per_hour));
  });
};

// ---- upload ------------------------------------------------------------------

pages.upload = async () => {
  const list = h('tbody');
  const input = h('input', { type: 'file', multiple: true, accept: 'video/*,audio/*,.mxf,.mkv,.mov,.mp4,.ts', hidden: true, id: 'file-input' });
  const title = h('input', { name: 'title', placeholder: 'Title (default: the file name)' });
  const desc = h('textarea', { name: 'description', rows: 2, placeholder: 'Description (optional)' });
  const drop = h('div', { class: 'drop', tabindex: 0, role: 'button', onclick: () => input.click(),
    onkeydown: (e) => { if (e.key === 'Enter' || e.key === ' ') input.click(); } },
  h('strong', { text: 'Drop video files here' }), h('div', { class: 'muted', text: 'or click to choose. Several at once is fine; uploads resume after a lost connection or a page reload.' }));
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); start([...e.dataTransfer.files]); });
  input.addEventListener('change', () => { start([...input.files]); input.value = ''; });
  const pending = h('div');
  main(h('h1', { text: 'Upload' }),
    h('div', { class: 'card' }, h('label', {}, h('span', { text: 'Title' }), title), h('label', {}, h('span', { text: 'Description' }), desc)),
    drop, input, pending,
    h('h2', { text: 'This session' }),
    h('table', { id: 'uploads' }, h('thead', {}, h('tr', {}, h('th', { text: 'File' }), h('th', { text: 'Progress' }), h('th', { text: 'Status' }), h('th', {}))), list));

  // Unfinished uploads this browser remembers (tus fingerprints in localStorage).
  try {
    const prev = await tus.defaultOptions.urlStorage.findAllUploads();
    if (prev.length) {
      pending.replaceChildren(h('div', { class: 'card' }, h('strong', { text: 'Unfinished uploads from earlier: ' }),
        prev.map((p) => `${(p.metadata && p.metadata.filename) || '?'}`).join(', '),
        h('div', { class: 'muted', text: 'Choose the same file again and it continues where it stopped.' })));
    }
  } catch (_) { /* storage unavailable */ }

  function start(files) {
    for (const file of files) {
      const pct = h('span', { text: '0%' });
      const b = bar(0);
      const status = h('span', { text: 'starting…' });
      // "resuming at N%" once the server has told where an earlier upload of
      // this file (same fingerprint, kept in localStorage) stopped.
      const resumed = h('div', { class: 'muted resumed' });
      let resuming = false;
      const action = h('td');
      list.prepend(h('tr', {}, h('td', { text: file.name }), h('td', {}, b, ' ', pct), h('td', {}, status, resumed), action));
      const upload = new tus.Upload(file, {
        endpoint: '/files/',
        chunkSize: 16 * 1024 * 1024,
        retryDelays: [0, 1000, 3000, 5000, 10000],
        storeFingerprintForResuming: true,
        removeFingerprintOnSuccess: true,
        metadata: { filename: file.name, filetype: file.type || 'application/octet-stream', title: title.value || file.name.replace(/\.[^.]+$/, ''), description: desc.value },
        headers: { 'X-CSRF-Token': state.csrf },
        onBeforeRequest: (req) => {
          if (!resuming || req.getMethod() !== 'PATCH') return;
          resuming = false;
          const at = Number(req.getHeader('Upload-Offset')) || 0;
          resumed.textContent = at > 0
            ? `resuming at ${Math.floor((at / file.size) * 100)}% (${fmtBytes(at)} already on the server)`
            : 'the earlier upload is gone from the server: starting over';
        },
        onProgress: (sent, total) => {
          const f = total ? sent / total : 0;
          b.firstChild.style.width = `${Math.round(f * 100)}%`;
          pct.textContent = `${Math.round(f * 100)}%`;
          status.textContent = `uploading ${fmtBytes(sent)} of ${fmtBytes(total)}`;
        },
        onError: (err) => { status.textContent = `failed: ${err.message.split('\n')[0]}`; status.className = 'error'; },
        onSuccess: () => {
          status.textContent = 'uploaded, processing…';
          action.replaceChildren();
          const id = upload.url.split('/').pop();
          followUpload(id, status, action);
        },
      });
      action.append(h('button', { type: 'button', class: 'secondary', onclick: () => { upload.abort(); status.textContent = 'paused'; } }, 'Pause'),
        ' ', h('button', { type: 'button', class: 'secondary', onclick: () => { upload.start(); status.textContent = 'resuming…'; } }, 'Resume'));
      upload.findPreviousUploads().then((prev) => {
        if (prev.length) {
          // The newest, should an earlier resume have failed and left two.
          prev.sort((x, y) => (Date.parse(y.creationTime) || 0) - (Date.parse(x.creationTime) || 0));
          upload.resumeFromPreviousUpload(prev[0]);
          resuming = true;
          status.textContent = 'resuming earlier upload…';
        }
        upload.start();
      });
    }
  }

  // After the bytes are in: find the video and show its transcode progress.
  function followUpload(uploadId, status, action) {
    const t = setInterval(async () => {
      try {
        const u = await api('GET', `/uploads/${uploadId}`);
        if (!u.video_id) return;
        const v = await api('GET', `/videos/${u.video_id}`);
        const job = v.jobs[0];
        status.replaceChildren(badge(v.state), ' ', job && v.state === 'processing' ? `${Math.round(job.progress * 100)}%` : '');
        if (!action.firstChild) action.append(h('a', { href: `#/video/${v.id}`, text: 'Open' }));
        if (v.state === 'ready' || v.state === 'failed') clearInterval(t);
      } catch (_) { /* keep polling */ }
    }, 1500);
    state.timers.push(t);
  }
};

// ---- library and video detail -----------------------------------------------

pages.library = async () => {
  const q = h('input', { type: 'search', name: 'q', placeholder: 'Search title, description, file name or id', 'aria-label': 'Search' });
  const st = h('select', { name: 'state', 'aria-label': 'Status' }, ['', 'uploaded', 'processing', 'ready', 'failed'].map((s) => h('option', { value: s, text: s || 'any status' })));
  const body = h('tbody');
  const pager = h('div', { class: 'pager' });
  let offset = 0;
  const limit = 25;
  async function load() {
    const params = new URLSearchParams({ q: q.value, state: st.value, limit, offset });
    const r = await api('GET', `/videos?${params}`);
    body.replaceChildren(...(r.items.length ? r.items.map((v) => h('tr', {},
      h('td', {}, v.urls ? h('img', { class: 'thumb', src: v.urls.poster_version, alt: '', loading: 'lazy' }) : h('div', { class: 'thumb' })),
      h('td', {}, h('a', { href: `#/video/${v.id}`, text: v.title || v.filename || v.id }), h('div', { class: 'muted mono', text: v.id })),
      h('td', {}, badge(v.state)),
      h('td', { text: fmtDuration(v.duration_ms) }),
      h('td', { text: v.width ? `${v.width}×${v.height}` : '–' }),
      h('td', { text: fmtTime(v.created_at) }))) : [h('tr', {}, h('td', { colspan: 6, class: 'muted', text: 'No videos match.' }))]));
    pager.replaceChildren(
      h('button', { type: 'button', class: 'secondary', disabled: offset === 0, onclick: () => { offset = Math.max(0, offset - limit); load(); } }, '‹ Newer'),
      h('span', { class: 'muted', text: r.total ? `${offset + 1}–${offset + r.items.length} of ${r.total}` : '' }),
      h('button', { type: 'button', class: 'secondary', disabled: r.next_offset === null, onclick: () => { offset = r.next_offset; load(); } }, 'Older ›'));
  }
  let debounce;
  q.addEventListener('input', () => { clearTimeout(debounce); debounce = setTimeout(() => { offset = 0; load(); }, 250); });
  st.addEventListener('change', () => { offset = 0; load(); });
  main(h('h1', { text: 'Library' }), h('div', { class: 'row' }, q, st),
    h('table', { id: 'library' }, h('thead', {}, h('tr', {}, h('th', {}), h('th', { text: 'Title' }), h('th', { text: 'Status' }), h('th', { text: 'Duration' }), h('th', { text: 'Size' }), h('th', { text: 'Added' }))), body), pager);
  await load();
  every(5000, () => load().catch(() => {}));
};

// Sprite thumbnails over the timeline: the WebVTT cue list points into the
// sprite sheet with #xywh= fragments.
async function loadThumbCues(url) {
  const text = await (await fetch(url, { credentials: 'same-origin' })).text();
  const cues = [];
  const toS = (t) => t.split(':').reduce((a, p) => a * 60 + parseFloat(p), 0);
  const re = /([\d:.]+)\s+-->\s+([\d:.]+)\s*\n([^\n#]+)#xywh=(\d+),(\d+),(\d+),(\d+)/g;
  let m;
  while ((m = re.exec(text))) {
    cues.push({ start: toS(m[1]), end: toS(m[2]), src: new URL(m[3].trim(), url).href, x: +m[4], y: +m[5], w: +m[6], h: +m[7] });
  }
  return cues;
}

function player(v) {
  const video = h('video', { controls: true, muted: true, playsinline: true, id: 'preview', poster: v.urls.poster_version });
  const played = h('div', { class: 'played' });
  const preview = h('div', { class: 'preview', hidden: true }, h('span'));
  const timeline = h('div', { class: 'timeline', id: 'timeline', title: 'Hover for thumbnails, click to seek' }, played, preview);
  if (Hls.isSupported()) {
    if (state.hls) state.hls.destroy();
    const hls = new Hls({ enableWorker: false });
    hls.loadSource(v.urls.hls);
    hls.attachMedia(video);
    state.hls = hls;
  } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
    video.src = v.urls.hls;
  }
  video.addEventListener('timeupdate', () => {
    if (video.duration) played.style.width = `${(video.currentTime / video.duration) * 100}%`;
  });
  let cues = [];
  loadThumbCues(v.urls.thumbnails_vtt).then((c) => { cues = c; }).catch(() => {});
  const at = (ev) => {
    const r = timeline.getBoundingClientRect();
    const f = Math.max(0, Math.min(1, (ev.clientX - r.left) / r.width));
    return { f, t: f * ((video.duration) || (v.duration_ms / 1000) || 0), x: ev.clientX - r.left, width: r.width };
  };
  timeline.addEventListener('mousemove', (ev) => {
    const p = at(ev);
    const c = cues.find((q) => p.t >= q.start && p.t < q.end) || cues[cues.length - 1];
    if (!c) return;
    preview.hidden = false;
    preview.style.width = `${c.w}px`;
    preview.style.height = `${c.h}px`;
    preview.style.backgroundImage = `url("${c.src}")`;
    preview.style.backgroundPosition = `-${c.x}px -${c.y}px`;
    preview.style.left = `${Math.max(0, Math.min(p.width - c.w, p.x - c.w / 2))}px`;
    preview.firstChild.textContent = fmtDuration(p.t * 1000);
  });
  timeline.addEventListener('mouseleave', () => { preview.hidden = true; });
  timeline.addEventListener('click', (ev) => { const p = at(ev); if (video.duration) video.currentTime = p.t; });
  return h('div', {}, h('div', { class: 'player' }, video), timeline);
}

pages.video = async (id) => {
  let v = await api('GET', `/videos/${id}`);
  const title = h('input', { name: 'title', value: v.title });
  const description = h('textarea', { name: 'description', rows: 3 }, v.description);
  const policy = h('select', { name: 'playback_policy' }, ['public', 'signed'].map((p) => h('option', { value: p, text: p, selected: v.playback_policy === p })));
  const meta = h('form', { class: 'card' }, h('label', {}, h('span', { text: 'Title' }), title),
    h('label', {}, h('span', { text: 'Description' }), description),
    h('label', {}, h('span', { text: 'Playback' }), policy), h('button', { type: 'submit' }, 'Save'));
  meta.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      v = await api('PATCH', `/videos/${id}`, { title: title.value, description: description.value, playback_policy: policy.value });
      formError(meta, null);
      toast('Saved');
    } catch (e) { formError(meta, e); }
  });
  const jobs = h('tbody');
  const status = h('span');
  const renderJobs = () => {
    status.replaceChildren(badge(v.state), v.version ? h('span', { class: 'muted version', text: ` version ${v.version}` }) : '',
      v.error ? h('span', { class: 'error', text: ` ${v.error}` }) : '');
    jobs.replaceChildren(...(v.jobs.length ? v.jobs.map((j) => h('tr', {},
      h('td', { text: `#${j.id} ${j.kind}` }), h('td', {}, badge(j.state)),
      h('td', {}, j.state === 'leased' ? [bar(j.progress), ` ${Math.round(j.progress * 100)}%`] : `${Math.round(j.progress * 100)}%`),
      h('td', { text: `${j.attempts}/${j.max_attempts}` }),
      h('td', { class: 'error', text: j.last_error || '' }),
      h('td', {}, ['dead', 'cancelled'].includes(j.state) ? h('button', { type: 'button', class: 'secondary', onclick: async () => {
        try { await api('POST', `/jobs/${j.id}/retry`); toast('Queued again'); refresh(); } catch (e) { toast(e.message, true); }
      } }, 'Retry') : ['queued', 'leased'].includes(j.state) ? h('button', { type: 'button', class: 'secondary', onclick: async () => {
        try { await api('POST', `/jobs/${j.id}/cancel`); toast('Cancelled'); refresh(); } catch (e) { toast(e.message, true); }
      } }, 'Cancel') : ''))) : [h('tr', {}, h('td', { colspan: 6, class: 'muted', text: 'No jobs.' }))]));
  };
  const left = h('div');
  const renderLeft = () => {
    if (!v.urls) {
      left.replaceChildren(h('div', { class: 'card muted', text: v.state === 'failed' ? 'Processing failed; see the job errors below.' : 'The preview appears here when processing finishes.' }));
      return;
    }
    const ttl = h('select', { name: 'expires_in_s', 'aria-label': 'Valid for' }, [[3600, '1 hour'], [86400, '1 day'], [604800, '7 days']].map(([s, l]) => h('option', { value: s, text: l })));
    const signed = h('div');
    left.replaceChildren(player(v),
      h('div', { class: 'card' }, h('h2', { text: 'Playback URLs' }),
        copyBox(v.urls.hls, 'HLS master URL'), copyBox(v.urls.dash, 'DASH MPD URL'),
        h('h2', { text: 'Signed URL' }),
        h('div', { class: 'row' }, ttl, h('button', { type: 'button', id: 'sign', onclick: async () => {
          try {
            const s = await api('POST', `/videos/${id}/sign`, { expires_in_s: Number(ttl.value) });
            signed.replaceChildren(copyBox(s.hls, 'Signed HLS URL'), copyBox(s.dash, 'Signed DASH URL'),
              h('div', { class: 'muted', text: `valid until ${fmtTime(s.expires_at)}` }));
          } catch (e) { signed.replaceChildren(h('p', { class: 'error', text: e.message })); }
        } }, 'Generate')), signed),
      h('div', { class: 'card' }, h('h2', { text: 'Renditions' }), h('table', {}, h('thead', {}, h('tr', {}, ['Name', 'Kind', 'Size', 'Codecs', 'Bitrate', 'Segments', 'Bytes'].map((c) => h('th', { text: c })))),
        h('tbody', {}, v.renditions.map((r) => h('tr', {}, h('td', { text: r.name }), h('td', { text: r.kind === 'audio' && r.language && r.language !== 'und' ? `audio (${r.language})` : r.kind }),
          h('td', { text: r.kind === 'video' ? `${r.width}×${r.height}` : `${r.channels} ch ${r.sample_rate} Hz` }),
          h('td', { class: 'mono', text: r.codecs }), h('td', { text: `${Math.round(r.bandwidth_avg / 1000)} kb/s` }),
          h('td', { text: r.segments }), h('td', { text: fmtBytes(r.bytes) })))))));
  };
  async function refresh() {
    const had = !!v.urls;
    const version = v.version;
    v = await api('GET', `/videos/${id}`);
    renderJobs();
    // First published, or a new version (processed again): new player and
    // renditions.
    if ((!had && v.urls) || (had && v.version !== version)) renderLeft();
  }
  renderLeft();
  renderJobs();
  main(h('p', {}, h('a', { href: '#/library', text: '‹ Library' })),
    h('h1', {}, v.title || v.filename || v.id, ' ', status),
    h('div', { class: 'grid2' }, left, h('div', {}, meta,
      h('div', { class: 'card' }, h('div', { class: 'muted', text: `File ${v.filename} · ${fmtBytes(v.source_size)} · ${fmtDuration(v.duration_ms)} · added ${fmtTime(v.created_at)}` }),
        h('p', {}, ['ready', 'failed'].includes(v.state) ? h('button', { type: 'button', class: 'secondary', id: 'reprocess', title: 'Make the video again from its source with the current settings', onclick: async () => {
          if (!confirm(`Process "${v.title || v.id}" again from its source with the current settings? What plays now keeps playing until the new version is ready.`)) return;
          try { await api('POST', `/videos/${id}/reprocess`); toast('Queued for processing again'); refresh(); } catch (e) { toast(e.message, true); }
        } }, 'Process again') : '', ' ', h('button', { type: 'button', class: 'danger', onclick: async () => {
          if (!confirm(`Delete "${v.title || v.id}" and all of its media? This cannot be undone.`)) return;
          try { await api('DELETE', `/videos/${id}`); toast('Deleted'); location.hash = '#/library'; } catch (e) { toast(e.message, true); }
        } }, 'Delete video'))))),
    h('h2', { text: 'Jobs' }), h('table', { id: 'jobs' }, h('thead', {}, h('tr', {}, ['Job', 'State', 'Progress', 'Attempts', 'Error', ''].map((c) => h('th', { text: c })))), jobs));
  state.timers.push(setInterval(() => refresh().catch(() => {}), 2000));
};

// ---- settings ----------------------------------------------------------------

pages.settings = async () => {
  const r = await api('GET', '/settings');
  const form = h('form', { id: 'settings-form' });
  let section = '';
  const rows = [];
  for (const it of r.items) {
    if (it.section !== section) {
      section = it.section;
      rows.push(h('h2', { text: `[${section}]` }));
    }
    const input = h('input', { name: it.name, value: it.secret ? '' : it.value, disabled: !it.editable,
      placeholder: it.secret ? (it.is_set ? '(set — type to replace)' : '(not set)') : '', type: it.secret ? 'password' : 'text', autocomplete: 'off' });
    input.dataset.original = it.secret ? '' : it.value;
    rows.push(h('label', {}, h('span', {}, h('code', { text: it.name }), ' — ', it.doc),
      input,
      h('span', { class: 'setting-note muted' }, it.live ? 'applies live' : 'restart needed', it.stored ? ' · changed here' : '',
        !it.editable ? ' · set in the config file only' : '', !it.secret && it.value !== it.default ? ` · default ${it.default || '(empty)'}` : '',
        it.stored ? h('button', { type: 'button', class: 'link', onclick: () => save({ [it.name]: null }) }, ' · reset') : '')));
  }
  const saveBtn = h('button', { type: 'submit' }, 'Save changes');
  form.append(...rows, h('p', {}, saveBtn));
  async function save(values) {
    try {
      const res = await api('PUT', '/settings', { values });
      toast(res.restart_required.length ? `Saved. Restart vodd to apply: ${res.restart_required.join(', ')}` : 'Saved and applied');
      pages.settings();
    } catch (e) { formError(form, e); }
  }
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const values = {};
    for (const input of form.querySelectorAll('input[name]')) {
      if (!input.disabled && input.value !== input.dataset.original) values[input.name] = input.value;
    }
    if (!Object.keys(values).length) return toast('Nothing changed');
    save(values);
  });
  main(h('h1', { text: 'Settings' }), h('p', { class: 'muted', text: 'Values here override the config file. Options marked "restart needed" take effect after vodd restarts.' }), h('div', { class: 'card' }, form));
};

// ---- API tokens --------------------------------------------------------------

pages.tokens = async () => {
  const body = h('tbody');
  const created = h('div');
  const name = h('input', { name: 'name', placeholder: 'What is it for? e.g. "CMS"' });
  const scopes = ['upload', 'catalog:read', 'admin'].map((s) => h('label', { class: 'row' }, h('input', { type: 'checkbox', name: 'scopes', value: s, checked: s === 'upload' }), s));
  const days = h('input', { name: 'expires_days', type: 'number', min: 0, max: 3650, value: 0 });
  const form = h('form', { class: 'card', id: 'token-form' }, h('h2', { text: 'New token' }), h('label', {}, h('span', { text: 'Name' }), name),
    h('div', {}, h('span', { class: 'muted', text: 'Scopes: upload = tus uploads; catalog:read = read videos and jobs; admin = everything' }), ...scopes),
    h('label', {}, h('span', { text: 'Expires after days (0 = never)' }), days), h('button', { type: 'submit' }, 'Create token'));
  async function load() {
    const r = await api('GET', '/tokens');
    body.replaceChildren(...(r.items.length ? r.items.map((t) => h('tr', {}, h('td', { class: 'mono', text: t.id }), h('td', { text: t.name }), h('td', { text: t.scopes.join(' ') }),
      h('td', {}, badge(t.state)), h('td', { text: fmtTime(t.last_used_at) }), h('td', { text: fmtTime(t.expires_at) }),
      h('td', {}, t.state === 'active' ? h('button', { type: 'button', class: 'danger', onclick: async () => {
        if (!confirm(`Revoke token ${t.id}? Clients using it stop working at once.`)) return;
        try { await api('DELETE', `/tokens/${t.id}`); load(); } catch (e) { toast(e.message, true); }
      } }, 'Revoke') : ''))) : [h('tr', {}, h('td', { colspan: 7, class: 'muted', text: 'No tokens yet.' }))]));
  }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const t = await api('POST', '/tokens', { name: name.value, scopes: [...form.querySelectorAll('input[name=scopes]:checked')].map((c) => c.value), expires_days: Number(days.value) });
      created.replaceChildren(h('div', { class: 'card' }, h('strong', { text: 'Copy the token now — it is not shown again:' }), copyBox(t.token, 'Token', h('div', { class: 'secret mono', id: 'new-token', text: t.token }))));
      formError(form, null);
      load();
    } catch (e) { formError(form, e); }
  });
  main(h('h1', { text: 'API tokens' }), h('p', { class: 'muted' }, 'Machine clients send ', h('code', { text: 'Authorization: Bearer <token>' }), ' to /files/ (uploads) and /api/v1/.'),
    created, form, h('table', { id: 'tokens' }, h('thead', {}, h('tr', {}, ['Id', 'Name', 'Scopes', 'State', 'Last used', 'Expires', ''].map((c) => h('th', { text: c })))), body));
  await load();
};

// ---- webhooks ----------------------------------------------------------------

const EVENTS = ['upload.completed', 'video.ready', 'video.failed', 'video.deleted'];

pages.webhooks = async () => {
  const body = h('tbody');
  const created = h('div');
  const log = h('div');
  const url = h('input', { name: 'url', type: 'url', placeholder: 'https://cms.example/vodd-hook', required: true });
  const desc = h('input', { name: 'description', placeholder: 'Description (optional)' });
  const events = EVENTS.map((e) => h('label', { class: 'row' }, h('input', { type: 'checkbox', name: 'events', value: e, checked: true }), e));
  const form = h('form', { class: 'card', id: 'webhook-form' }, h('h2', { text: 'New webhook' }), h('label', {}, h('span', { text: 'URL' }), url), h('label', {}, h('span', { text: 'Description' }), desc),
    h('div', {}, h('span', { class: 'muted', text: 'Events' }), ...events), h('button', { type: 'submit' }, 'Add webhook'));
  async function showLog(w) {
    const r = await api('GET', `/webhooks/${w.id}/deliveries?limit=50`);
    log.replaceChildren(h('h2', { text: `Deliveries to ${w.url}` }), h('table', { id: 'deliveries' }, h('thead', {}, h('tr', {}, ['Event', 'Type', 'State', 'Attempts', 'Last result', 'Next try', ''].map((c) => h('th', { text: c })))),
      h('tbody', {}, r.items.length ? r.items.map((d) => h('tr', {}, h('td', { class: 'mono', text: d.event_id.slice(0, 12) }), h('td', { text: d.event_type }), h('td', {}, badge(d.state)),
        h('td', { text: d.attempts }), h('td', { class: d.last_error ? 'error' : '', text: d.last_error || (d.last_status ? `HTTP ${d.last_status}` : '–') }),
        h('td', { text: d.next_attempt_at ? fmtTime(d.next_attempt_at) : '–' }),
        h('td', {}, d.state !== 'delivered' ? h('button', { type: 'button', class: 'secondary', onclick: async () => { await api('POST', `/webhook-deliveries/${d.id}/retry`); setTimeout(() => showLog(w), 1000); } }, 'Retry now') : '')))
        : h('tr', {}, h('td', { colspan: 7, class: 'muted', text: 'No deliveries yet.' })))));
  }
  async function load() {
    const r = await api('GET', '/webhooks');
    body.replaceChildren(...(r.items.length ? r.items.map((w) => h('tr', {}, h('td', { class: 'mono', text: w.url }), h('td', { text: w.events.join(' ') }), h('td', { text: w.description }),
      h('td', {}, h('button', { type: 'button', class: 'secondary', onclick: () => showLog(w) }, 'Deliveries'), ' ',
        h('button', { type: 'button', class: 'secondary', onclick: async () => { const t = await api('POST', `/webhooks/${w.id}/test`); toast(`Test event ${t.event_id.slice(0, 8)} queued`); setTimeout(() => showLog(w), 1500); } }, 'Send test'), ' ',
        h('button', { type: 'button', class: 'danger', onclick: async () => { if (!confirm(`Delete the webhook to ${w.url}?`)) return; await api('DELETE', `/webhooks/${w.id}`); log.replaceChildren(); load(); } }, 'Delete'))))
      : [h('tr', {}, h('td', { colspan: 4, class: 'muted', text: 'No webhooks yet.' }))]));
  }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const w = await api('POST', '/webhooks', { url: url.value, description: desc.value, events: [...form.querySelectorAll('input[name=events]:checked')].map((c) => c.value) });
      created.replaceChildren(h('div', { class: 'card' }, h('strong', { text: 'Signing secret (shown once). Verify X-Vodd-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, t + "." + body)>' }),
        h('div', { class: 'secret mono', text: w.secret }), copyBox(w.secret, 'Secret')));
      formError(form, null);
      load();
    } catch (e) { formError(form, e); }
  });
  main(h('h1', { text: 'Webhooks' }), created, form, h('table', { id: 'webhooks' }, h('thead', {}, h('tr', {}, ['URL', 'Events', 'Description', ''].map((c) => h('th', { text: c })))), body), log);
  await load();
};

// ---- account -------------------------------------------------------------------

pages.account = async () => {
  const form = h('form', { class: 'card narrow', id: 'password-form' }, h('h1', { text: `Account: ${state.user}` }),
    h('label', {}, h('span', { text: 'Current password' }), h('input', { name: 'current_password', type: 'password', autocomplete: 'current-password', required: true })),
    h('label', {}, h('span', { text: 'New password (at least 10 characters)' }), h('input', { name: 'new_password', type: 'password', autocomplete: 'new-password', required: true, minlength: 10 })),
    h('p', { class: 'muted', text: 'Changing the password logs out every other browser.' }),
    h('button', { type: 'submit' }, 'Change password'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    try {
      const s = await api('POST', '/account/password', { current_password: f.get('current_password'), new_password: f.get('new_password') });
      state.csrf = s.csrf_token;
      form.reset();
      formError(form, null);
      toast('Password changed; other sessions were logged out');
    } catch (e) { formError(form, e); }
  });
  main(form);
};

// A failure nobody caught reaches the user as a toast. Requests the browser
// cuts short because the page is going away (a reload or leaving the page:
// Firefox then rejects pending fetches with a NetworkError) are not
// failures, and are dropped quietly.
let unloading = false;
window.addEventListener('beforeunload', () => { unloading = true; });
window.addEventListener('pagehide', () => { unloading = true; });
window.addEventListener('unhandledrejection', (ev) => {
  if (unloading) { ev.preventDefault(); return; }
  if (state.user) toast(ev.reason && ev.reason.message ? ev.reason.message : String(ev.reason), true);
});

boot();
