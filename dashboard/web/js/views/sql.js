// SQL: a query box over the tables traces, metrics and logs (DuckDB on the
// server, POST /api/sql), ready-made examples, a history kept in this
// browser, the result as a table, and a time chart when the result has a
// time column and numeric columns. The query is in the URL (#/sql?q=...),
// so a result can be linked; Ctrl+Enter runs it.
import {
  APIError, api, fill, fmtDuration, fmtNum, h,
} from '../util.js';
import { PALETTE, timeChart } from '../chart.js';

const HISTORY_KEY = 'otlp-arrow-sql-history';
const HISTORY_MAX = 30;
const SERIES_MAX = 12;

function loadHistory() {
  try {
    const v = JSON.parse(localStorage.getItem(HISTORY_KEY) || '[]');
    return Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [];
  } catch { return []; }
}

function saveHistory(sql) {
  const list = [sql, ...loadHistory().filter((x) => x !== sql)].slice(0, HISTORY_MAX);
  try { localStorage.setItem(HISTORY_KEY, JSON.stringify(list)); } catch { /* storage off */ }
  return list;
}

const isTime = (c) => /^(TIMESTAMP|DATE)/.test(c.type);
const isNumber = (c) => /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL)/.test(c.type);

// chartSeries turns a result into time series: x the first time column, a
// series per numeric column (and per value of the first text column, when
// there is one, as in "per service per minute"). null when nothing to draw.
export function chartSeries(res) {
  const cols = res.columns || [];
  const ti = cols.findIndex(isTime);
  const nums = cols.map((c, i) => (isNumber(c) ? i : -1)).filter((i) => i >= 0);
  if (ti < 0 || !nums.length || !res.rows.length) return null;
  const gi = cols.findIndex((c, i) => c.type === 'VARCHAR' && i !== ti);
  const by = new Map();
  for (const row of res.rows) {
    const t = Date.parse(row[ti]);
    if (!Number.isFinite(t)) continue;
    const group = gi >= 0 ? String(row[gi] ?? 'NULL') : '';
    for (const ni of nums) {
      const v = Number(row[ni]);
      const label = (group ? group + ' · ' : '') + cols[ni].name;
      if (!by.has(label)) by.set(label, []);
      by.get(label).push([t, Number.isFinite(v) ? v : NaN]);
    }
  }
  const series = [...by.entries()].map(([label, points]) => ({ label, points: points.sort((a, b) => a[0] - b[0]) }));
  return series.length ? series.slice(0, SERIES_MAX) : null;
}

function cellText(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function resultTable(res) {
  const cols = res.columns || [];
  return h('table', { class: 'grid', id: 'sql-results' },
    h('thead', null, h('tr', null, cols.map((c) => h('th', { title: c.type, class: isNumber(c) ? 'num' : null }, c.name)))),
    h('tbody', null, res.rows.map((row) => h('tr', { class: 'row' }, row.map((v, i) => {
      const text = cellText(v);
      const cls = [isNumber(cols[i]) ? 'num' : '', isTime(cols[i]) ? 'time mono' : '', typeof v === 'object' && v !== null ? 'mono wrap' : ''].join(' ').trim();
      return h('td', { class: cls || null }, text === null ? h('span', { class: 'muted' }, 'NULL') : text);
    })))));
}

export async function mount(el, route) {
  const input = h('textarea', {
    id: 'sql-input', name: 'sql', rows: 9, spellcheck: 'false', class: 'mono', 'data-search': true,
    placeholder: 'SELECT service_name, count(*) FROM traces GROUP BY ALL',
    'aria-label': 'SQL query',
  });
  input.style.width = '100%';
  input.style.resize = 'vertical';
  const runBtn = h('button', { id: 'sql-run', type: 'submit', title: 'Run (Ctrl+Enter)' }, 'Run');
  const exampleSel = h('select', { id: 'sql-examples', 'aria-label': 'Examples' }, h('option', { value: '' }, 'Examples...'));
  const historySel = h('select', { id: 'sql-history', 'aria-label': 'History' });
  const out = h('div', { id: 'sql-out' });
  const form = h('form', {
    class: 'filters',
    onsubmit: (e) => { e.preventDefault(); run(); },
  },
  h('label', { class: 'sql-box' }, 'SQL over the tables traces, metrics and logs (DuckDB)', input),
  h('span', { class: 'actions' }, runBtn, exampleSel, historySel,
    h('a', { href: '#/files', class: 'muted', title: 'the files the tables are made of' }, 'files')));
  form.querySelector('.sql-box').style.width = '100%';
  for (const s of [exampleSel, historySel]) s.style.maxWidth = '18em';
  el.append(form, out);

  let examples = [];
  const fillHistory = (list) => {
    fill(historySel, h('option', { value: '' }, `History (${list.length})...`),
      list.map((q, i) => h('option', { value: String(i), title: q }, q.replace(/\s+/g, ' ').slice(0, 80))));
  };
  fillHistory(loadHistory());
  exampleSel.addEventListener('change', () => {
    const ex = examples[Number(exampleSel.value)];
    exampleSel.value = '';
    if (ex) { input.value = ex.sql; run(); }
  });
  historySel.addEventListener('change', () => {
    const q = loadHistory()[Number(historySel.value)];
    historySel.value = '';
    if (q) { input.value = q; input.focus(); }
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); }
  });

  let seq = 0;
  async function run() {
    const sql = input.value.trim();
    if (!sql) { input.focus(); return; }
    const my = ++seq;
    history.replaceState(null, '', '#/sql?' + new URLSearchParams({ q: sql }));
    fillHistory(saveHistory(sql));
    runBtn.disabled = true;
    fill(out, h('p', { class: 'muted' }, 'Running...'));
    let res = null, err = null;
    try {
      res = await api('/api/sql', null, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify({ sql }) });
    } catch (e) {
      err = e;
    }
    if (my !== seq) return;
    runBtn.disabled = false;
    show(res, err);
  }

  function show(res, err) {
    if (err) {
      const status = err instanceof APIError ? err.status : 0;
      const what = { 400: 'The query was refused', 408: 'Time limit', 422: 'Row cap', 501: 'Not in this build', 503: 'Unavailable' }[status] || 'Error';
      fill(out, h('div', { class: 'banner error', role: 'alert', id: 'sql-error' }, h('b', null, what + ': '), h('span', { class: 'mono wrap' }, String(err.message))));
      return;
    }
    const rows = res.rows || [];
    const parts = [
      h('div', { class: 'summary', id: 'sql-summary' }, `${fmtNum(rows.length)} row${rows.length === 1 ? '' : 's'} in ${fmtDuration(res.elapsed_ms)}`),
    ];
    if (res.truncated) parts.push(h('div', { class: 'banner warn' }, res.error || `Only the first ${rows.length} rows: add a LIMIT or aggregate.`));
    const series = chartSeries(res);
    if (series) {
      const chart = h('div', { id: 'sql-chart' });
      parts.push(chart);
      fill(out, parts);
      timeChart(chart, series, { title: 'query result' });
      out.append(h('div', { class: 'summary', id: 'sql-legend' }, series.map((s, i) => {
        const sw = h('span', { class: 'swatch' });
        sw.style.background = PALETTE[i % PALETTE.length];
        return h('span', { class: 'tag' }, sw, s.label);
      })));
      out.append(rows.length ? resultTable(res) : h('p', { class: 'muted' }, 'No rows.'));
      return;
    }
    parts.push(rows.length ? resultTable(res) : h('p', { class: 'muted' }, 'No rows.'));
    fill(out, parts);
  }

  try {
    const ex = await api('/api/sql/examples');
    examples = ex.examples || [];
    exampleSel.append(...examples.map((x, i) => h('option', { value: String(i) }, x.title)));
  } catch (e) {
    fill(out, h('div', { class: 'banner error', role: 'alert', id: 'sql-error' }, String(e.message)));
  }
  const q = route.params.get('q');
  if (q) {
    input.value = q;
    await run();
  } else if (!input.value) {
    input.value = loadHistory()[0] || (examples[0] && examples[0].sql) || '';
  }
  return {
    // A new #/sql?q=... (a link, the back button) runs that query here.
    update(r) {
      const nq = r.params.get('q');
      if (nq && nq !== input.value.trim()) { input.value = nq; run(); }
      return true;
    },
  };
}
