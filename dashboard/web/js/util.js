// Shared helpers: DOM building, formatting, time ranges and the API client.

// h builds an element: h('a', {href: '#/x', class: 'y', onclick: fn}, 'text', child).
// Attributes starting with "on" become event listeners (never inline handlers),
// "dataset" sets data-* attributes, and null/undefined/false values are skipped.
export function h(tag, attrs, ...children) {
  const el = tag.startsWith('svg:')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'value' && 'value' in el) el.value = v;
      else if (k === 'checked') el.checked = !!v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export const svg = (tag, attrs, ...children) => h('svg:' + tag, attrs, ...children);

export function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

// ---- formatting ----

export function fmtDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '';
  if (ms < 0.001) return (ms * 1e6).toFixed(0) + ' ns';
  if (ms < 1) return (ms * 1000).toFixed(ms < 0.01 ? 2 : 0) + ' µs';
  if (ms < 1000) return (ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0)) + ' ms';
  if (ms < 60000) return (ms / 1000).toFixed(ms < 10000 ? 2 : 1) + ' s';
  const m = Math.floor(ms / 60000);
  return m + ' min ' + Math.round((ms % 60000) / 1000) + ' s';
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

// fmtTime shows a unix-ms time in local time, with milliseconds.
export function fmtTime(ms, withDate = true) {
  if (!ms) return '';
  const d = new Date(ms);
  const t = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  return withDate ? `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${t}` : t;
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return '';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(n < 10 ? 2 : 1)) + ' ' + u[i];
}

export function fmtNum(v) {
  if (v === null || v === undefined || v === '') return '';
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  const a = Math.abs(v);
  if (a !== 0 && (a < 0.001 || a >= 1e9)) return v.toExponential(3);
  return String(Number(v.toPrecision(6)));
}

// ---- OTLP values ----

const KINDS = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
export function kindName(k) {
  if (typeof k === 'number') return KINDS[k] || String(k);
  return String(k || '').replace(/^SPAN_KIND_/, '').toLowerCase();
}

const STATUS = ['unset', 'ok', 'error'];
export function statusName(s) {
  if (typeof s === 'number') return STATUS[s] || String(s);
  return String(s || 'unset').replace(/^STATUS_CODE_/, '').toLowerCase();
}
export const isError = (span) => statusName(span.status_code) === 'error';

export function sevClass(n) {
  if (!n) return '';
  if (n >= 21) return 'sev-fatal';
  if (n >= 17) return 'sev-error';
  if (n >= 13) return 'sev-warn';
  if (n >= 9) return '';
  if (n >= 5) return 'sev-debug';
  return 'sev-trace';
}
export const SEVERITIES = [[0, 'any'], [1, 'TRACE+'], [5, 'DEBUG+'], [9, 'INFO+'], [13, 'WARN+'], [17, 'ERROR+'], [21, 'FATAL']];
export function sevName(n, text) {
  if (text) return text;
  if (!n) return '';
  return ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'][Math.floor((n - 1) / 4)] + (((n - 1) % 4) ? ((n - 1) % 4 + 1) : '');
}

// plain turns values in OTLP/JSON's AnyValue form ({"kvlistValue": {"values": [...]}}, {"stringValue": ...})
// into plain JSON values; anything else is returned as it is.
export function plain(v) {
  if (Array.isArray(v)) return v.map(plain);
  if (!v || typeof v !== 'object') return v;
  const keys = Object.keys(v);
  if (keys.length === 0) return v;
  if (keys.length === 1) {
    const k = keys[0], x = v[k];
    switch (k) {
      case 'stringValue': case 'boolValue': case 'doubleValue': case 'bytesValue': return x;
      case 'intValue': return typeof x === 'string' && Math.abs(Number(x)) <= Number.MAX_SAFE_INTEGER ? Number(x) : x;
      case 'arrayValue': return ((x && x.values) || []).map(plain);
      case 'kvlistValue': return Object.fromEntries(((x && x.values) || []).map((kv) => [kv.key, plain(kv.value)]));
      default:
    }
  }
  return Object.fromEntries(keys.map((k) => [k, plain(v[k])]));
}

// valueText renders an OTLP value (from {type, value}) as text.
export function valueText(type, v) {
  if (v === null || v === undefined) return '';
  if (type === 'array' || type === 'kvlist' || typeof v === 'object') return JSON.stringify(plain(v));
  return String(v);
}

// attrTable renders [{key, type, value}] as a key/value table with the types.
export function attrTable(attrs, empty = 'none') {
  if (!attrs || !attrs.length) return h('div', { class: 'muted' }, empty);
  return h('table', { class: 'kv' }, attrs.map((a) => h('tr', null,
    h('td', null, a.key),
    h('td', { class: 'mono' }, valueText(a.type, a.value), h('span', { class: 'type' }, a.type || typeof a.value)))));
}

export function attr(attrs, key) {
  const a = (attrs || []).find((x) => x.key === key);
  return a ? a.value : undefined;
}

// ---- time ranges ----

export const PRESETS = [['5m', 5 * 60e3], ['15m', 15 * 60e3], ['1h', 3600e3], ['6h', 6 * 3600e3], ['24h', 24 * 3600e3]];

// rangeWindow turns the URL's range=5m..24h|all|custom (+from/to) into {from, to} in unix ms (null = unbounded).
export function rangeWindow(p, def = 'all') {
  const r = p.get('range') || def;
  const preset = PRESETS.find(([k]) => k === r);
  if (preset) return { from: Date.now() - preset[1], to: null };
  if (r === 'custom') return { from: parseLocal(p.get('from')), to: parseLocal(p.get('to')) };
  return { from: null, to: null };
}

function parseLocal(s) {
  if (!s) return null;
  if (/^\d+$/.test(s)) return Number(s);
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t;
}

// rangeFields builds the time range filter (preset select + custom from/to inputs).
export function rangeFields(p, def = 'all') {
  const cur = p.get('range') || def;
  const custom = h('span', { class: 'actions' + (cur === 'custom' ? '' : ' hidden') },
    h('label', null, 'from', h('input', { type: 'datetime-local', step: 1, name: 'from', value: p.get('from') || '' })),
    h('label', null, 'to', h('input', { type: 'datetime-local', step: 1, name: 'to', value: p.get('to') || '' })));
  const sel = h('select', { name: 'range', onchange: () => custom.classList.toggle('hidden', sel.value !== 'custom') },
    PRESETS.map(([k]) => h('option', { value: k, selected: k === cur }, 'last ' + k)),
    h('option', { value: 'all', selected: cur === 'all' }, 'everything'),
    h('option', { value: 'custom', selected: cur === 'custom' }, 'custom...'));
  return [h('label', null, 'time range', sel), custom];
}

// ---- URL state ----

// formParams reads a filter form into URLSearchParams, leaving out empty fields
// (and from/to unless the range is custom).
export function formParams(form, extra) {
  const p = new URLSearchParams();
  const fd = new FormData(form);
  const custom = fd.get('range') === 'custom';
  for (const [k, v] of fd.entries()) {
    const s = String(v).trim();
    if (!s) continue;
    if ((k === 'from' || k === 'to') && !custom) continue;
    if (k === 'attr') { for (const a of s.split(/\s*[,;]\s*|\s+(?=[^\s=]+=)/)) if (a) p.append('attr', a); continue; }
    p.append(k, s);
  }
  if (extra) for (const [k, v] of Object.entries(extra)) if (v !== undefined && v !== null && v !== '') p.set(k, v);
  return p;
}

export function go(view, params) {
  const q = params && String(params);
  location.hash = '#/' + view + (q ? '?' + q : '');
}

export function traceHref(traceId, spanId) {
  return '#/trace/' + encodeURIComponent(traceId) + (spanId ? '?span=' + encodeURIComponent(spanId) : '');
}

// ---- API ----

export class APIError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export async function api(path, params, init) {
  const q = params ? String(params) : '';
  const res = await fetch(path + (q ? (path.includes('?') ? '&' : '?') + q : ''), {
    headers: { Accept: 'application/json' }, credentials: 'same-origin', ...init,
  });
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!res.ok) throw new APIError(res.status, (body && body.error) || text.trim() || res.statusText);
  return body;
}

// apiParams turns the view's URL params and a time window into the API's query parameters.
export function apiParams(p, keys, win) {
  const q = new URLSearchParams();
  for (const k of keys) for (const v of p.getAll(k)) if (v) q.append(k, v);
  if (win) {
    if (win.from) q.set('from', String(Math.floor(win.from)));
    if (win.to) q.set('to', String(Math.ceil(win.to)));
  }
  return q;
}

export function errorBanner(err) {
  const msg = err instanceof APIError ? `${err.status}: ${err.message}` : String(err && err.message || err);
  return h('div', { class: 'banner error', role: 'alert' }, msg);
}

export async function copyText(text, btn) {
  try {
    await navigator.clipboard.writeText(text);
    if (btn) { const t = btn.textContent; btn.textContent = 'copied'; setTimeout(() => { btn.textContent = t; }, 1200); }
  } catch {
    if (btn) btn.textContent = 'select and copy';
  }
}

// sortRows makes table headers with data-sort clickable: the click sets sort/order in the URL.
export function sortHeader(label, key, p, onSort, cls = '') {
  const cur = p.get('sort'), order = p.get('order') || 'desc';
  const sorted = cur === key;
  return h('th', {
    class: `sortable ${cls}${sorted ? ' sorted' : ''}${sorted && order === 'asc' ? ' asc' : ''}`,
    title: 'sort by ' + label, dataset: { sort: key },
    onclick: () => onSort(key, sorted && order === 'desc' ? 'asc' : 'desc'),
  }, label);
}

// bodyView renders a log body: a string as text, anything structured as JSON with its type.
export function bodyView(body, compact = false) {
  if (!body || body.type === 'empty' || body.value === undefined || body.value === null) return h('span', { class: 'muted' }, '(empty)');
  if (body.type === 'string') return h('span', { class: 'body-str' }, body.value);
  const v = plain(body.value);
  const text = compact ? JSON.stringify(v) : JSON.stringify(v, null, 2);
  if (compact || typeof v !== 'object' || v === null) {
    return h('span', { class: 'body-struct mono' }, text, h('span', { class: 'type' }, body.type));
  }
  return h('div', { class: 'body-struct' }, h('span', { class: 'type' }, body.type), h('pre', null, text));
}

// startKey orders spans and rows by their exact start (ns string) when present.
export function startKey(x) {
  if (x.start_ns && /^\d+$/.test(x.start_ns)) return BigInt(x.start_ns);
  return BigInt(Math.round((x.start_ms || 0) * 1e6));
}
export const cmpStart = (a, b) => { const x = startKey(a), y = startKey(b); return x < y ? -1 : x > y ? 1 : 0; };

// fill replaces el's children with children (arrays flattened, null/false skipped).
export function fill(el, ...children) { clear(el); append(el, children); return el; }

// load fetches an API path; on failure it shows the error in out and returns null.
export async function load(out, path, params) {
  try {
    return await api(path, params);
  } catch (e) {
    fill(out, errorBanner(e));
    return null;
  }
}

// serviceList is a <datalist> of the services seen in signal's files (filled when the overview answers).
export function serviceList(id, signal) {
  const dl = h('datalist', { id });
  api('/api/overview').then((o) => {
    for (const s of (o.services && o.services[signal]) || []) dl.append(h('option', { value: s }));
  }).catch(() => {});
  return dl;
}
