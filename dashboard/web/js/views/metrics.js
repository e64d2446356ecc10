// Metrics: choose a metric (type, unit, description); one series per
// attribute set over the time range: monotonic cumulative sums as rates,
// gauges and other sums as values, histograms as count, sum and quantiles
// estimated from the buckets, or a heatmap. Exemplars link to their traces.
// URL: #/metrics?name=&service=&range=&show=quantiles|count|sum|heatmap&filter=
import { heatmap, PALETTE, timeChart } from '../chart.js';
import {
  apiParams, fill, fmtNum, fmtTime, formParams, go, h, load, rangeFields, rangeWindow, traceHref,
} from '../util.js';

const SHOW = ['quantiles', 'count', 'sum', 'heatmap'];

export async function mount(el, route) {
  const p = route.params;
  const name = p.get('name') || '';
  const form = h('form', { class: 'filters', onsubmit: (e) => { e.preventDefault(); go('metrics', formParams(form, { name, show: p.get('show') })); } },
    h('label', null, 'find metric', h('input', { name: 'filter', value: p.get('filter') || '', 'data-search': true, oninput: () => filterList() })),
    h('label', null, 'service', h('input', { name: 'service', value: p.get('service') || '' })),
    rangeFields(p),
    h('span', { class: 'actions' }, h('button', { type: 'submit' }, 'Show')));
  const list = h('div', { class: 'metric-list', id: 'metric-list' }, h('p', { class: 'muted' }, 'Loading...'));
  const pane = h('div', { class: 'metric-pane', id: 'metric-pane' });
  el.append(form, h('div', { class: 'metrics-layout' }, list, pane));

  const win = rangeWindow(p);
  const res = await load(list, '/api/metrics', apiParams(p, [], win));
  if (!res) return null;
  let metrics = res.metrics || [];
  const svc = p.get('service');
  if (svc) metrics = metrics.filter((m) => !m.services || m.services.includes(svc));
  metrics.sort((a, b) => a.name.localeCompare(b.name));
  const link = (m) => { const q = new URLSearchParams(p); q.set('name', m.name); q.delete('show'); return '#/metrics?' + q; };
  fill(list, ...(metrics.length ? metrics.map((m) => h('div', {
    class: 'row' + (m.name === name ? ' selected' : ''), dataset: { name: m.name },
    onclick: () => { location.hash = link(m); },
  }, h('div', { class: 'name' }, h('a', { href: link(m), 'data-open': true }, m.name)),
  h('div', { class: 'muted' }, [m.type, m.unit, m.type === 'sum' ? (m.monotonic ? 'monotonic' : 'non-monotonic') + ', ' + m.temporality : ''].filter(Boolean).join(' · '))))
    : [h('p', { class: 'muted' }, 'No metrics in this time range.')]));
  function filterList() {
    const f = form.elements.filter.value.toLowerCase();
    for (const r of list.querySelectorAll('.row')) r.classList.toggle('hidden', !!f && !r.dataset.name.toLowerCase().includes(f));
  }
  filterList();
  if (!name) {
    pane.append(h('p', { class: 'muted' }, metrics.length ? 'Choose a metric (j/k then Enter, or click).' : ''));
    return null;
  }
  const meta = metrics.find((m) => m.name === name);
  const q = apiParams(p, ['name', 'service'], win);
  q.set('max_points', '300');
  pane.append(h('p', { class: 'muted' }, 'Loading ' + name + '...'));
  const s = await load(pane, '/api/metrics/series', q);
  if (!s) return null;
  const draw = () => renderSeries(pane, s, meta, p);
  draw();
  let timer = 0;
  const onResize = () => { clearTimeout(timer); timer = setTimeout(draw, 150); };
  window.addEventListener('resize', onResize);
  return { unmount() { window.removeEventListener('resize', onResize); } };
}

function seriesLabel(s) {
  if (s.label) return s.label;
  const a = Object.entries(s.attributes || {});
  return a.length ? a.map(([k, v]) => `${k}=${v}`).join(', ') : '(no attributes)';
}

function renderSeries(pane, s, meta, p) {
  const display = s.display || 'value';
  const show = display === 'histogram' ? (SHOW.includes(p.get('show')) ? p.get('show') : 'quantiles') : null;
  const unit = s.unit || '';
  const head = h('div', { class: 'metric-head' },
    h('h2', { class: 'mono', id: 'metric-name' }, s.name),
    h('div', null, h('span', { class: 'tag' }, s.type), unit ? h('span', { class: 'tag' }, 'unit ' + unit) : null,
      meta && meta.type === 'sum' ? h('span', { class: 'tag' }, (meta.monotonic ? 'monotonic ' : '') + (meta.temporality || '')) : null,
      h('span', { class: 'muted' }, display === 'rate' ? ' shown as a rate per second' : display === 'histogram' ? ' histogram' : ' shown as values')),
    s.description ? h('p', { class: 'muted' }, s.description) : null);
  let chartSeries = [], chartUnit = unit;
  const series = s.series || [];
  if (display === 'histogram') {
    const showSel = h('select', { id: 'hist-show', onchange: () => { const q = new URLSearchParams(p); q.set('show', showSel.value); location.hash = '#/metrics?' + q; } },
      SHOW.map((k) => h('option', { value: k, selected: k === show }, k)));
    head.append(h('label', null, 'show ', showSel));
    if (show === 'quantiles') {
      series.forEach((x) => {
        for (const [qn, pts] of Object.entries(x.quantiles || {})) chartSeries.push({ label: `${qn} ${seriesLabel(x)}`, points: pts });
      });
    } else if (show === 'count' || show === 'sum') {
      chartSeries = series.map((x) => ({ label: seriesLabel(x), points: x[show] || [] }));
      if (show === 'count') chartUnit = '';
    }
  } else {
    chartSeries = series.map((x) => ({ label: seriesLabel(x), points: x.points || [] }));
    if (display === 'rate') chartUnit = unit ? unit + '/s' : '/s';
  }
  chartSeries.forEach((c, i) => { c.color = PALETTE[i % PALETTE.length]; });
  const chart = h('div', { class: 'chart-box', id: 'metric-chart' });
  const exemplars = s.exemplars || [];
  const legend = show === 'heatmap' ? null : h('table', { class: 'grid', id: 'metric-legend' },
    h('thead', null, h('tr', null, h('th', null, 'series'), h('th', { class: 'num' }, 'last'), h('th', { class: 'num' }, 'min'), h('th', { class: 'num' }, 'max'), h('th', { class: 'num' }, 'points'))),
    h('tbody', null, chartSeries.map((c) => {
      const v = c.points.map((x) => x[1]).filter(Number.isFinite);
      const sw = h('span', { class: 'swatch' }); sw.style.background = c.color;
      return h('tr', { class: 'series-row', dataset: { label: c.label } }, h('td', null, sw, c.label),
        h('td', { class: 'num', dataset: { v: v.length ? v[v.length - 1] : '' } }, v.length ? fmtNum(v[v.length - 1]) : ''),
        h('td', { class: 'num' }, v.length ? fmtNum(Math.min(...v)) : ''), h('td', { class: 'num' }, v.length ? fmtNum(Math.max(...v)) : ''),
        h('td', { class: 'num' }, c.points.length));
    })));
  const exList = exemplars.length ? h('div', { id: 'metric-exemplars' }, h('h3', null, `Exemplars (${exemplars.length})`),
    h('table', { class: 'grid' }, h('thead', null, h('tr', null, h('th', null, 'time'), h('th', { class: 'num' }, 'value'), h('th', null, 'trace'))),
      h('tbody', null, exemplars.slice(0, 50).map((e) => h('tr', null, h('td', { class: 'mono' }, fmtTime(e.time_ms)), h('td', { class: 'num' }, fmtNum(e.value)),
        h('td', { class: 'mono' }, e.trace_id ? h('a', { href: traceHref(e.trace_id, e.span_id) }, e.trace_id) : '')))))) : null;
  fill(pane, head, chart, legend, exList);
  if (show === 'heatmap') {
    if (s.heatmap) heatmap(chart, s.heatmap, { unit });
    else chart.append(h('p', { class: 'muted' }, 'No bucket data for a heatmap.'));
  } else {
    timeChart(chart, chartSeries, {
      unit: chartUnit, title: s.name,
      exemplars: display === 'rate' || show === 'count' ? [] : exemplars,
      exemplarHref: (e) => traceHref(e.trace_id, e.span_id),
    });
  }
}
