// Traces search: service, span name, attribute key=value, trace id, errors
// only, duration range and time range; results sortable by start, duration
// and span count. Every filter lives in the URL.
import {
  apiParams, fill, fmtDuration, fmtNum, fmtTime, formParams, go, h, load, rangeFields, rangeWindow,
  serviceList, sortHeader, traceHref,
} from '../util.js';

const KEYS = ['service', 'name', 'attr', 'trace_id', 'errors', 'min_ms', 'max_ms', 'sort', 'order', 'limit'];

export async function mount(el, route) {
  const p = route.params;
  const services = serviceList('trace-services', 'traces');
  const form = h('form', { class: 'filters', onsubmit: (e) => { e.preventDefault(); submit(); } },
    h('label', null, 'service', h('input', { name: 'service', list: 'trace-services', value: p.get('service') || '', 'data-search': true })),
    h('label', null, 'span name', h('input', { name: 'name', value: p.get('name') || '' })),
    h('label', null, 'attributes (k=v, ...)', h('input', { name: 'attr', class: 'wide', value: p.getAll('attr').join(', '), placeholder: 'http.route=/api/cart' })),
    h('label', null, 'trace id', h('input', { name: 'trace_id', value: p.get('trace_id') || '' })),
    h('label', { title: 'shortest trace duration, in milliseconds' }, 'min ms', h('input', { name: 'min_ms', class: 'narrow', type: 'number', min: 0, step: 'any', value: p.get('min_ms') || '' })),
    h('label', { title: 'longest trace duration, in milliseconds' }, 'max ms', h('input', { name: 'max_ms', class: 'narrow', type: 'number', min: 0, step: 'any', value: p.get('max_ms') || '' })),
    rangeFields(p),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'errors', value: '1', checked: p.get('errors') === '1' }), 'errors only'),
    h('span', { class: 'actions' }, h('button', { type: 'submit' }, 'Search')),
    services);
  const out = h('div', { class: 'results' }, h('p', { class: 'muted' }, 'Searching...'));
  el.append(form, out);

  function submit(extra) {
    const q = formParams(form, { sort: p.get('sort'), order: p.get('order'), ...extra });
    go('traces', q);
  }

  const win = rangeWindow(p);
  const q = apiParams(p, KEYS, win);
  if (!q.has('limit')) q.set('limit', '100');
  const res = await load(out, '/api/traces', q);
  if (!res) return null;
  const traces = res.traces || [];
  const onSort = (key, order) => submit({ sort: key, order });
  // Two ticked traces can be compared (#/compare/<a>/<b>).
  const picked = [];
  const compare = h('a', { class: 'button ghost hidden', id: 'compare-link', title: 'compare the two ticked traces (x ticks the selected row)' }, 'Compare');
  const pick = (box, id) => {
    const i = picked.indexOf(id);
    if (box.checked && i < 0) picked.push(id);
    if (!box.checked && i >= 0) picked.splice(i, 1);
    while (picked.length > 2) {
      const old = picked.shift();
      const b = table.querySelector(`tr[data-trace-id="${old}"] input`);
      if (b) b.checked = false;
    }
    compare.classList.toggle('hidden', picked.length !== 2);
    if (picked.length === 2) compare.setAttribute('href', '#/compare/' + picked.map(encodeURIComponent).join('/'));
  };
  const table = h('table', { class: 'grid', id: 'trace-results' },
    h('thead', null, h('tr', null,
      sortHeader('start', 'start', p, onSort),
      h('th', null, 'root span'),
      h('th', null, 'services'),
      sortHeader('duration', 'duration', p, onSort, 'num'),
      sortHeader('spans', 'spans', p, onSort, 'num'),
      h('th', { class: 'num' }, 'errors'),
      h('th', null, 'trace id'),
      h('th', { title: 'tick two traces to compare them' }, 'compare'))),
    h('tbody', null, traces.map((t) => h('tr', { class: 'row', dataset: { traceId: t.trace_id }, onclick: (e) => { if (!e.target.closest('a')) location.hash = traceHref(t.trace_id); } },
      h('td', { class: 'mono time' }, fmtTime(t.start_ms)),
      h('td', null, h('a', { href: traceHref(t.trace_id), 'data-open': true }, t.root_name || '(missing root)'),
        h('span', { class: 'muted' }, ' · ' + (t.root_service || ''))),
      h('td', { class: 'wrap' }, (t.services || []).map((s) => h('span', { class: 'tag' }, s))),
      h('td', { class: 'num' }, fmtDuration(t.duration_ms)),
      h('td', { class: 'num' }, fmtNum(t.span_count)),
      h('td', { class: 'num' + (t.error_count ? ' err' : '') }, t.error_count ? fmtNum(t.error_count) : ''),
      h('td', { class: 'mono muted' }, t.trace_id),
      h('td', null, h('input', { type: 'checkbox', 'aria-label': 'compare', onclick: (e) => e.stopPropagation(), onchange: (e) => pick(e.target, t.trace_id) }))))));
  const summary = h('div', { class: 'summary', id: 'trace-summary' },
    `${traces.length} trace${traces.length === 1 ? '' : 's'}`,
    res.scanned_files !== undefined ? ` · ${fmtNum(res.scanned_files)} files, ${fmtNum(res.scanned_rows || 0)} spans scanned` : '',
    res.elapsed_ms !== undefined ? ` in ${fmtDuration(res.elapsed_ms)}` : '',
    traces.length >= Number(q.get('limit')) ? ` · showing the first ${q.get('limit')}: narrow the search` : '');
  summary.append(' ', compare);
  fill(out, summary, traces.length ? table : h('p', { class: 'muted' },
    'No traces match. ', (p.get('range') && p.get('range') !== 'all')
      ? h('a', { href: '#/traces?' + withRange(p, 'all') }, 'Search everything') : 'Send some spans, or widen the filters.'));
  return {
    key(e) {
      if (e.key !== 'x') return false;
      const box = out.querySelector('tr.row.selected input[type=checkbox]');
      if (box) { box.checked = !box.checked; box.dispatchEvent(new Event('change')); }
      return true;
    },
  };
}

function withRange(p, r) {
  const q = new URLSearchParams(p);
  q.set('range', r); q.delete('from'); q.delete('to');
  return q.toString();
}
