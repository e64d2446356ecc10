// Logs: severity, text, service, trace id and attribute filters; string and
// structured bodies shown as such; a record with a trace id links to its trace.
import {
  apiParams, attrTable, bodyView, fill, fmtDuration, fmtNum, fmtTime, formParams, go, h, load, rangeFields,
  rangeWindow, serviceList, sevClass, SEVERITIES, sevName, traceHref,
} from '../util.js';

const KEYS = ['service', 'severity_min', 'q', 'trace_id', 'attr', 'limit'];

export async function mount(el, route) {
  const p = route.params;
  const services = serviceList('log-services', 'logs');
  const sev = h('select', { name: 'severity_min' }, SEVERITIES.map(([n, label]) => h('option', { value: n || '', selected: String(n) === (p.get('severity_min') || '0') }, label)));
  const form = h('form', { class: 'filters', onsubmit: (e) => { e.preventDefault(); go('logs', formParams(form)); } },
    h('label', null, 'text in body', h('input', { name: 'q', class: 'wide', value: p.get('q') || '', 'data-search': true })),
    h('label', null, 'severity', sev),
    h('label', null, 'service', h('input', { name: 'service', list: 'log-services', value: p.get('service') || '' })),
    h('label', null, 'trace id', h('input', { name: 'trace_id', class: 'wide', value: p.get('trace_id') || '' })),
    h('label', null, 'attributes (k=v, ...)', h('input', { name: 'attr', class: 'wide', value: p.getAll('attr').join(', ') })),
    rangeFields(p),
    h('span', { class: 'actions' }, h('button', { type: 'submit' }, 'Search')),
    services);
  const out = h('div', null, h('p', { class: 'muted' }, 'Searching...'));
  el.append(form, out);

  const q = apiParams(p, KEYS, rangeWindow(p));
  if (!q.has('limit')) q.set('limit', '200');
  const res = await load(out, '/api/logs', q);
  if (!res) return null;
  const logs = res.logs || [];
  const detailRow = (l) => h('tr', { class: 'log-detail' }, h('td', { colspan: 5 },
    h('div', { class: 'trace-body' },
      h('div', null, h('h3', null, 'Body'), bodyView(l.body),
        h('h3', null, 'Attributes'), attrTable(l.attributes)),
      h('div', null, h('h3', null, 'Record'), h('table', { class: 'kv' },
        h('tr', null, h('td', null, 'time'), h('td', { class: 'mono' }, fmtTime(l.time_ms))),
        h('tr', null, h('td', null, 'observed'), h('td', { class: 'mono' }, fmtTime(l.observed_ms))),
        h('tr', null, h('td', null, 'severity'), h('td', null, `${sevName(l.severity_number, l.severity_text)} (${l.severity_number || 0})`)),
        l.event_name ? h('tr', null, h('td', null, 'event'), h('td', null, l.event_name)) : null,
        h('tr', null, h('td', null, 'trace'), h('td', { class: 'mono' }, l.trace_id ? h('a', { href: traceHref(l.trace_id, l.span_id) }, l.trace_id) : '')),
        h('tr', null, h('td', null, 'span'), h('td', { class: 'mono' }, l.span_id || ''))),
      h('h3', null, 'Resource'), attrTable(l.resource)))));
  const tbody = h('tbody');
  for (const l of logs) {
    let open = null;
    const row = h('tr', {
      class: 'row', dataset: { traceId: l.trace_id || '' },
      onclick: (e) => {
        if (e.target.closest('a')) return;
        if (open) { open.remove(); open = null; } else { open = detailRow(l); row.after(open); }
      },
    },
    h('td', { class: 'mono time' }, fmtTime(l.time_ms || l.observed_ms)),
    h('td', { class: sevClass(l.severity_number) }, sevName(l.severity_number, l.severity_text)),
    h('td', null, l.service_name || ''),
    h('td', { class: 'wrap' }, bodyView(l.body, true)),
    h('td', { class: 'mono' }, l.trace_id ? h('a', { href: traceHref(l.trace_id, l.span_id), class: 'trace-link', title: 'open the trace' }, l.trace_id.slice(0, 16) + '\u2026') : ''));
    tbody.append(row);
  }
  fill(out, 
    h('div', { class: 'summary', id: 'log-summary' }, `${logs.length} record${logs.length === 1 ? '' : 's'}`,
      res.scanned_files !== undefined ? ` · ${fmtNum(res.scanned_files)} files scanned` : '',
      res.elapsed_ms !== undefined ? ` in ${fmtDuration(res.elapsed_ms)}` : '',
      logs.length >= Number(q.get('limit')) ? ` · showing the first ${q.get('limit')}: narrow the search` : ''),
    logs.length ? h('table', { class: 'grid', id: 'log-results' },
      h('thead', null, h('tr', null, h('th', null, 'time'), h('th', null, 'severity'), h('th', null, 'service'), h('th', null, 'body'), h('th', null, 'trace'))),
      tbody) : h('p', { class: 'muted' }, 'No log records match.'));
  return null;
}
