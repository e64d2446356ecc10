// Compare two traces: for each service and span name, how many spans each
// trace has, the time they took and their self time (less their children's),
// with the difference; spans only one trace has stand out.
// URL: #/compare/<trace id A>/<trace id B>
import { api, errorBanner, fill, fmtDuration, fmtNum, fmtTime, h, isError, traceHref } from '../util.js';

export async function mount(el, route) {
  const [a, b] = route.args;
  if (!a || !b) {
    el.append(errorBanner('Compare needs two trace ids: #/compare/<a>/<b> (tick two traces in the search).'));
    return null;
  }
  el.append(h('p', { class: 'muted' }, 'Loading both traces...'));
  let ta, tb;
  try {
    [ta, tb] = await Promise.all([a, b].map((id) => api('/api/traces/' + encodeURIComponent(id))));
  } catch (e) {
    fill(el, errorBanner(e));
    return null;
  }
  const A = summarize(ta), B = summarize(tb);
  const keys = [...new Set([...A.groups.keys(), ...B.groups.keys()])];
  const zero = { count: 0, total: 0, self: 0 };
  const rows = keys.map((k) => ({ k, a: A.groups.get(k) || zero, b: B.groups.get(k) || zero }))
    .sort((x, y) => Math.abs(y.b.total - y.a.total) - Math.abs(x.b.total - x.a.total) || x.k.localeCompare(y.k));
  const delta = (d, sign = true) => h('span', { class: d > 0 ? 'err' : d < 0 ? 'ok' : 'muted' },
    (sign ? (d > 0 ? '+' : d < 0 ? '\u2212' : '') : '') + fmtDuration(Math.abs(d)));
  const card = (label, t, s) => h('div', { class: 'detail' },
    h('h3', null, label + ': ', h('a', { href: traceHref(t.trace_id) }, s.root)),
    h('table', { class: 'kv' },
      h('tr', null, h('td', null, 'trace id'), h('td', { class: 'mono' }, t.trace_id)),
      h('tr', null, h('td', null, 'start'), h('td', { class: 'mono' }, fmtTime(s.t0))),
      h('tr', null, h('td', null, 'duration'), h('td', null, fmtDuration(s.duration))),
      h('tr', null, h('td', null, 'spans'), h('td', null, fmtNum(s.spans), s.errors ? h('span', { class: 'err' }, ` (${s.errors} errors)`) : null))));
  fill(el,
    h('div', { class: 'trace-head' }, h('h2', null, 'Compare two traces'),
      h('span', { id: 'compare-delta' }, B.duration === A.duration ? 'B took as long as A'
        : ['B took ', delta(B.duration - A.duration, false), B.duration > A.duration ? ' more than A' : ' less than A']),
      h('a', { class: 'button ghost', href: '#/compare/' + encodeURIComponent(b) + '/' + encodeURIComponent(a) }, 'Swap'),
      h('a', { class: 'button ghost', href: '#/traces' }, 'Back to search')),
    h('div', { class: 'compare-cards' }, card('A', ta, A), card('B', tb, B)),
    h('table', { class: 'grid', id: 'compare-table' },
      h('thead', null, h('tr', null, ['service', 'span', 'spans A', 'spans B', 'time A', 'time B', 'B \u2212 A', 'self A', 'self B']
        .map((c, i) => h('th', { class: i >= 2 ? 'num' : '' }, c)))),
      h('tbody', null, rows.map((r) => {
        const [svc, name] = r.k.split('\u0000');
        const only = !r.a.count ? ' only-b' : !r.b.count ? ' only-a' : '';
        return h('tr', { class: 'row' + only, dataset: { key: svc + ' ' + name }, title: only === ' only-a' ? 'only in A' : only === ' only-b' ? 'only in B' : null },
          h('td', null, svc), h('td', null, name),
          h('td', { class: 'num' }, fmtNum(r.a.count)), h('td', { class: 'num' }, fmtNum(r.b.count)),
          h('td', { class: 'num' }, r.a.count ? fmtDuration(r.a.total) : ''), h('td', { class: 'num' }, r.b.count ? fmtDuration(r.b.total) : ''),
          h('td', { class: 'num' }, delta(r.b.total - r.a.total)),
          h('td', { class: 'num' }, r.a.count ? fmtDuration(r.a.self) : ''), h('td', { class: 'num' }, r.b.count ? fmtDuration(r.b.self) : ''));
      }))));
  return null;
}

// summarize groups a trace's spans by service and name: count, total
// duration, and self time (its duration less the union of its children's).
function summarize(tr) {
  const spans = tr.spans || [];
  const kids = new Map();
  for (const s of spans) {
    if (!s.parent_span_id) continue;
    if (!kids.has(s.parent_span_id)) kids.set(s.parent_span_id, []);
    kids.get(s.parent_span_id).push(s);
  }
  const dur = (s) => s.duration_ms ?? ((s.end_ms ?? s.start_ms) - s.start_ms);
  const groups = new Map();
  for (const s of spans) {
    const end = s.start_ms + dur(s);
    const iv = (kids.get(s.span_id) || []).map((c) => [Math.max(c.start_ms, s.start_ms), Math.min(c.start_ms + dur(c), end)])
      .filter(([x, y]) => y > x).sort((x, y) => x[0] - y[0]);
    let covered = 0, from = 0, to = 0;
    iv.forEach(([x, y], i) => {
      if (i === 0 || x > to) { covered += to - from; from = x; to = y; } else to = Math.max(to, y);
    });
    covered += to - from;
    const k = (s.service_name || '') + '\u0000' + s.name;
    const g = groups.get(k) || { count: 0, total: 0, self: 0 };
    g.count++; g.total += dur(s); g.self += Math.max(0, dur(s) - covered);
    groups.set(k, g);
  }
  const t0 = Math.min(...spans.map((s) => s.start_ms));
  const t1 = Math.max(...spans.map((s) => s.start_ms + dur(s)));
  const root = spans.find((s) => !s.parent_span_id) || spans[0] || {};
  return { groups, t0, duration: t1 - t0, spans: spans.length, errors: spans.filter(isError).length, root: root.name || '(no spans)' };
}
