// The dashboard's shell: hash router, keyboard navigation, theme.
//
// Routes are #/<view>[/<arg>...][?<params>]; the view's module is
// js/views/<view>.js and exports mount(el, route), where route is
// {name, args, params: URLSearchParams}. mount may return an object with
// unmount() (called before the next view mounts), update(route) returning true
// when it applied a new route itself (no remount), and key(event) returning
// true when it handled a key press.
import {
  api, clear, fmtNum, h,
} from './util.js';

const main = document.getElementById('view');
const statusEl = document.getElementById('status');
const DEFAULT = 'traces';
const NAV_ALIAS = { trace: 'traces', compare: 'traces' };

let current = null; // {name, handle}
let seq = 0;

export function parseHash(hash) {
  const raw = (hash || '').replace(/^#\/?/, '');
  const qi = raw.indexOf('?');
  const path = qi >= 0 ? raw.slice(0, qi) : raw;
  const params = new URLSearchParams(qi >= 0 ? raw.slice(qi + 1) : '');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const name = parts.shift() || DEFAULT;
  return { name, args: parts, params };
}

// route mounts the view of the URL. #view gets data-ready once the view has
// mounted (its data loaded) or applied the new URL itself.
async function route() {
  const r = parseHash(location.hash);
  const my = ++seq;
  main.removeAttribute('data-ready');
  const ready = () => { if (my === seq) main.dataset.ready = String(my); };
  for (const a of document.querySelectorAll('#nav a')) {
    const on = a.dataset.view === (NAV_ALIAS[r.name] || r.name);
    a.classList.toggle('active', on);
    if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  document.title = 'otlp-arrow · ' + r.name;
  if (current && current.name === r.name && current.handle && current.handle.update && current.handle.update(r)) { ready(); refreshStatus(); return; }
  if (current && current.handle && current.handle.unmount) {
    try { current.handle.unmount(); } catch (e) { console.error(e); }
  }
  current = null;
  if (!/^[a-z][a-z0-9_-]*$/.test(r.name)) { show404(r.name); ready(); return; }
  let mod;
  try {
    mod = await import(`./views/${r.name}.js`);
  } catch (e) {
    if (my === seq) show404(r.name, e);
    ready();
    return;
  }
  if (my !== seq) return;
  const el = h('div', { class: 'view view-' + r.name, dataset: { view: r.name } });
  clear(main).append(el);
  main.dataset.view = r.name;
  let handle = null;
  try {
    handle = await mod.mount(el, r);
  } catch (e) {
    console.error(e);
    el.append(h('div', { class: 'banner error', role: 'alert' }, String(e && e.message || e)));
  }
  if (my !== seq) { if (handle && handle.unmount) handle.unmount(); return; }
  current = { name: r.name, handle };
  ready();
  refreshStatus();
}

function show404(name, err) {
  clear(main).append(h('div', { class: 'banner error', role: 'alert' }, `No view "${name}".`,
    err ? ' ' + err.message : ''), h('p', null, h('a', { href: '#/' + DEFAULT }, 'Go to traces')));
}

// refreshStatus asks for the overview at most once a second; a call inside
// that second is not dropped but deferred to its end, so the counts never
// stay behind the data a view has just shown.
let lastStatus = 0;
let statusTimer = 0;
async function refreshStatus() {
  const wait = lastStatus + 1000 - Date.now();
  if (wait > 0) {
    if (!statusTimer) statusTimer = setTimeout(() => { statusTimer = 0; refreshStatus(); }, wait);
    return;
  }
  lastStatus = Date.now();
  try {
    const o = await api('/api/overview');
    const rows = o.rows || {};
    statusEl.textContent = `${fmtNum(o.files || 0)} files · ${fmtNum(rows.traces || 0)} spans · ` +
      `${fmtNum(rows.logs || 0)} logs · ${fmtNum(rows.metrics || 0)} points`;
  } catch {
    statusEl.textContent = '';
  }
}

// ---- keyboard ----

const GOTO = { v: 'tail', t: 'traces', l: 'logs', m: 'metrics', f: 'files', s: 'sql' };
let gPending = 0;

function rows() {
  return [...main.querySelectorAll('.row')].filter((r) => r.offsetParent !== null);
}

function moveSelection(delta) {
  const rs = rows();
  if (!rs.length) return;
  let i = rs.findIndex((r) => r.classList.contains('selected'));
  i = i < 0 ? (delta > 0 ? 0 : rs.length - 1) : Math.max(0, Math.min(rs.length - 1, i + delta));
  for (const r of rs) r.classList.remove('selected');
  const r = rs[i];
  r.classList.add('selected');
  r.scrollIntoView({ block: 'nearest' });
  if (r.dataset.selectOnNav !== undefined) r.click();
}

function openSelection() {
  const r = main.querySelector('.row.selected');
  if (!r) return false;
  const a = r.querySelector('a[data-open]') || r.querySelector('a[href]');
  if (a) a.click(); else r.click();
  return true;
}

function onKey(e) {
  const help = document.getElementById('help');
  const t = e.target;
  const typing = t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);
  if (typing) {
    if (e.key === 'Escape') t.blur();
    return;
  }
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if (current && current.handle && current.handle.key && current.handle.key(e)) { e.preventDefault(); return; }
  if (gPending && Date.now() - gPending < 1500) {
    gPending = 0;
    if (GOTO[e.key]) { e.preventDefault(); location.hash = '#/' + GOTO[e.key]; }
    return;
  }
  switch (e.key) {
    case 'g': gPending = Date.now(); break;
    case '?': e.preventDefault(); if (help.open) help.close(); else help.showModal(); break;
    case '/': {
      const f = main.querySelector('[data-search]') || main.querySelector('input, select, textarea');
      if (f) { e.preventDefault(); f.focus(); if (f.select) f.select(); }
      break;
    }
    case 'j': case 'ArrowDown': e.preventDefault(); moveSelection(1); break;
    case 'k': case 'ArrowUp': e.preventDefault(); moveSelection(-1); break;
    case 'Enter': if (openSelection()) e.preventDefault(); break;
    default:
  }
}

// ---- theme ----

function applyTheme(t) {
  if (t === 'light' || t === 'dark') document.documentElement.dataset.theme = t;
  else delete document.documentElement.dataset.theme;
  const b = document.getElementById('theme');
  b.textContent = t || 'auto';
  b.title = `Theme: ${t || 'follows the system'} (click to change)`;
}

function initTheme() {
  let t = null;
  try { t = localStorage.getItem('otlp-arrow-theme'); } catch { /* storage off */ }
  applyTheme(t);
  document.getElementById('theme').addEventListener('click', () => {
    const next = { null: 'light', light: 'dark', dark: null }[String(t)] ?? null;
    t = next;
    try { if (t) localStorage.setItem('otlp-arrow-theme', t); else localStorage.removeItem('otlp-arrow-theme'); } catch { /* storage off */ }
    applyTheme(t);
  });
}

initTheme();
document.getElementById('help-btn').addEventListener('click', () => document.getElementById('help').showModal());
document.addEventListener('keydown', onKey);
window.addEventListener('hashchange', route);
// The status line's counts follow new files while the page is visible.
setInterval(() => { if (document.visibilityState === 'visible') refreshStatus(); }, 30000);
route();
