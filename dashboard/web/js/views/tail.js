// Live tail: new spans, data points or log records as they pass on the bus,
// streamed with Server-Sent Events from /api/tail. Pause keeps the stream and
// holds rows (up to a cap) until resume; the server drops the oldest rows of a
// client that falls behind and says how many: the banner shows it.
import {
  bodyView, fmtDuration, fmtNum, fmtTime, formParams, go, h, isError, sevClass, sevName, statusName, traceHref,
} from '../util.js';

const MAX_ROWS = 500;
const MAX_HELD = 5000;

export async function mount(el, route) {
  const p = route.params;
  const signal = ['traces', 'logs', 'metrics'].includes(p.get('signal')) ? p.get('signal') : 'traces';
  const form = h('form', { class: 'filters', onsubmit: (e) => { e.preventDefault(); go('tail', formParams(form)); } },
    h('label', null, 'signal', h('select', { name: 'signal', onchange: () => form.requestSubmit() },
      ['traces', 'logs', 'metrics'].map((s) => h('option', { value: s, selected: s === signal }, s)))),
    h('label', null, 'service', h('input', { name: 'service', value: p.get('service') || '' })),
    h('label', null, 'text', h('input', { name: 'q', value: p.get('q') || '', 'data-search': true })),
    h('label', null, 'attributes (k=v, ...)', h('input', { name: 'attr', class: 'wide', value: p.getAll('attr').join(', ') })),
    h('span', { class: 'actions' }, h('button', { type: 'submit' }, 'Apply')));
  const pauseBtn = h('button', { type: 'button', id: 'tail-pause', title: 'pause / resume (p)' }, 'Pause');
  const state = h('span', { class: 'muted', id: 'tail-state' }, 'connecting...');
  const counts = h('span', { class: 'muted', id: 'tail-count' });
  const dropped = h('div', { class: 'banner warn hidden', id: 'tail-dropped', role: 'status' });
  const tbody = h('tbody', { id: 'tail-rows' });
  const table = h('table', { class: 'grid tail-list' }, h('thead', null, header(signal)), tbody);
  el.append(form, h('div', { class: 'trace-tools' }, pauseBtn, state, counts), dropped, table,
    h('p', { class: 'muted', id: 'tail-empty' }, 'Waiting for new ' + signal + '... (only what arrives from now on is shown; history is in the other views)'));

  let paused = false, held = [], heldDropped = 0, total = 0, serverDropped = 0;
  const q = new URLSearchParams();
  q.set('signal', signal);
  for (const k of ['service', 'q']) if (p.get(k)) q.set(k, p.get(k));
  for (const a of p.getAll('attr')) q.append('attr', a);
  const es = new EventSource('/api/tail?' + q);
  es.addEventListener('open', () => { state.textContent = 'live'; state.className = 'ok'; });
  es.addEventListener('error', () => { state.textContent = 'reconnecting...'; state.className = 'err'; });
  es.addEventListener('rows', (ev) => {
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    const rows = msg.rows || [];
    if (paused) {
      held.push(...rows);
      if (held.length > MAX_HELD) { heldDropped += held.length - MAX_HELD; held = held.slice(held.length - MAX_HELD); }
      showCounts();
      return;
    }
    add(rows);
  });
  es.addEventListener('dropped', (ev) => {
    try { serverDropped = JSON.parse(ev.data).dropped || 0; } catch { return; }
    showDropped();
  });

  function showDropped() {
    const n = serverDropped + heldDropped;
    dropped.classList.toggle('hidden', n === 0);
    dropped.textContent = `${fmtNum(n)} rows dropped: ` + (serverDropped ? 'this page fell behind the stream (the pipeline is not slowed)' : '') +
      (serverDropped && heldDropped ? '; ' : '') + (heldDropped ? 'more arrived while paused than the page holds' : '') + '.';
  }
  function showCounts() {
    counts.textContent = `${fmtNum(total)} received` + (paused ? ` · ${fmtNum(held.length)} held while paused` : '');
  }
  function add(rows) {
    if (!rows.length) return;
    total += rows.length;
    const frag = document.createDocumentFragment();
    for (let i = rows.length - 1; i >= 0; i--) frag.append(rowEl(signal, rows[i]));
    tbody.prepend(frag);
    while (tbody.childElementCount > MAX_ROWS) tbody.lastElementChild.remove();
    const empty = el.querySelector('#tail-empty');
    if (empty) empty.remove();
    showCounts();
  }
  function togglePause() {
    paused = !paused;
    pauseBtn.textContent = paused ? 'Resume' : 'Pause';
    pauseBtn.classList.toggle('ghost', paused);
    if (!paused) { const r = held; held = []; add(r); showDropped(); }
    showCounts();
  }
  pauseBtn.addEventListener('click', togglePause);

  return {
    unmount() { es.close(); },
    key(e) { if (e.key === 'p' || e.key === ' ') { togglePause(); return true; } return false; },
  };
}

function header(signal) {
  const cols = {
    traces: ['time', 'service', 'span', 'duration', 'status', 'trace'],
    logs: ['time', 'severity', 'service', 'body', 'trace'],
    metrics: ['time', 'service', 'metric', 'value', 'attributes'],
  }[signal];
  return h('tr', null, cols.map((c) => h('th', { class: c === 'duration' || c === 'value' ? 'num' : '' }, c)));
}

function traceCell(r) {
  return h('td', { class: 'mono' }, r.trace_id ? h('a', { href: traceHref(r.trace_id, r.span_id) }, r.trace_id.slice(0, 16) + '\u2026') : '');
}

function rowEl(signal, r) {
  if (signal === 'traces') {
    const st = statusName(r.status_code);
    return h('tr', { class: 'row', dataset: { spanId: r.span_id || '', name: r.name || '' } },
      h('td', null, fmtTime(r.start_ms, false)), h('td', null, r.service_name || ''), h('td', null, r.name || ''),
      h('td', { class: 'num' }, fmtDuration(r.duration_ms ?? (r.end_ms - r.start_ms))),
      h('td', { class: isError(r) ? 'err' : '' }, st === 'unset' ? '' : st), traceCell(r));
  }
  if (signal === 'logs') {
    return h('tr', { class: 'row' },
      h('td', null, fmtTime(r.time_ms || r.observed_ms, false)),
      h('td', { class: sevClass(r.severity_number) }, sevName(r.severity_number, r.severity_text)),
      h('td', null, r.service_name || ''), h('td', { class: 'wrap' }, bodyView(r.body, true)), traceCell(r));
  }
  const v = r.value != null ? r.value : r.count != null ? `count ${fmtNum(r.count)}` + (r.sum != null ? ` · sum ${fmtNum(r.sum)}` : '') : '';
  const attrs = Array.isArray(r.attributes) ? r.attributes.map((a) => `${a.key}=${typeof a.value === 'object' ? JSON.stringify(a.value) : a.value}`).join(' ')
    : r.attributes ? Object.entries(r.attributes).map(([k, x]) => `${k}=${x}`).join(' ') : '';
  return h('tr', { class: 'row', dataset: { name: r.name || r.metric_name || '' } },
    h('td', null, fmtTime(r.time_ms, false)), h('td', null, r.service_name || ''), h('td', null, r.name || r.metric_name || ''),
    h('td', { class: 'num' }, typeof v === 'number' ? fmtNum(v) : v), h('td', { class: 'wrap' }, attrs));
}
