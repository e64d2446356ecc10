// Files: each file's signal, time range, rows, bytes, schema version and
// state; each durable consumer's lag on the bus; snippets to open a file in
// polars, pyarrow and DuckDB.
import {
  apiParams, copyText, fill, fmtBytes, fmtNum, fmtTime, formParams, go, h, load, rangeFields, rangeWindow,
} from '../util.js';

export async function mount(el, route) {
  const p = route.params;
  const signal = p.get('signal') || '';
  const form = h('form', { class: 'filters', onsubmit: (e) => { e.preventDefault(); go('files', formParams(form, { file: p.get('file') })); } },
    h('label', null, 'signal', h('select', { name: 'signal', onchange: () => form.requestSubmit() },
      ['', 'traces', 'metrics', 'logs'].map((s) => h('option', { value: s, selected: s === signal }, s || 'all')))),
    h('label', null, 'path contains', h('input', { name: 'path', value: p.get('path') || '', 'data-search': true })),
    rangeFields(p),
    h('span', { class: 'actions' }, h('button', { type: 'submit' }, 'Show')));
  const out = h('div', null, h('p', { class: 'muted' }, 'Loading...'));
  el.append(form, out);

  const win = rangeWindow(p);
  const res = await load(out, '/api/files', apiParams(p, [], win));
  if (!res) return null;
  const pathQ = (p.get('path') || '').toLowerCase();
  const files = (res.files || []).filter((f) => (!signal || f.signal === signal) &&
    (!pathQ || f.path.toLowerCase().includes(pathQ)) &&
    (!win.from || !f.max_ms || f.max_ms >= win.from) && (!win.to || !f.min_ms || f.min_ms <= win.to));
  const totalRows = files.reduce((s, f) => s + (f.rows || 0), 0);
  const totalBytes = files.reduce((s, f) => s + (f.bytes || 0), 0);
  const snippets = h('div', { class: 'snippets', id: 'file-snippets' });
  const selected = p.get('file');

  const tbody = h('tbody');
  for (const f of files) {
    const row = h('tr', {
      class: 'row' + (f.path === selected ? ' selected' : ''), dataset: { path: f.path, selectOnNav: '' },
      onclick: (e) => {
        if (e.target.closest('a')) return;
        for (const r of tbody.querySelectorAll('.selected')) r.classList.remove('selected');
        row.classList.add('selected');
        showSnippets(snippets, f, res.output_dir_name);
        const q = new URLSearchParams(p); q.set('file', f.path);
        history.replaceState(null, '', '#/files?' + q);
      },
    },
    h('td', { class: 'mono wrap' }, h('a', { href: '/files/' + f.path.split('/').map(encodeURIComponent).join('/'), download: f.path.split('/').pop(), title: 'download' }, f.path)),
    h('td', null, f.signal), h('td', null, f.format || ''),
    h('td', { class: f.state === 'partial' ? 'muted' : '' }, f.state === 'partial' ? 'partial (being written)' : f.state || ''),
    h('td', { class: 'mono' }, fmtTime(f.min_ms)), h('td', { class: 'mono' }, fmtTime(f.max_ms)),
    h('td', { class: 'num' }, fmtNum(f.rows)), h('td', { class: 'num' }, fmtBytes(f.bytes)),
    h('td', { class: 'mono' }, f.schema_version || ''),
    h('td', null, (f.services || []).map((s) => h('span', { class: 'tag' }, s))));
    tbody.append(row);
  }
  const consumers = res.consumers || [];
  fill(out, 
    h('div', { class: 'summary', id: 'file-summary' }, `${files.length} files · ${fmtNum(totalRows)} rows · ${fmtBytes(totalBytes)}`,
      res.output_dir_name ? ` · output directory "${res.output_dir_name}"` : ''),
    files.length ? h('table', { class: 'grid', id: 'file-list' },
      h('thead', null, h('tr', null, ['path', 'signal', 'format', 'state', 'from', 'to', 'rows', 'bytes', 'schema', 'services']
        .map((c) => h('th', { class: c === 'rows' || c === 'bytes' ? 'num' : '' }, c)))), tbody)
      : h('p', { class: 'muted' }, 'No files match.'),
    snippets,
    h('h2', null, 'Consumers on the bus'),
    consumers.length ? h('table', { class: 'grid', id: 'consumer-list' },
      h('thead', null, h('tr', null, h('th', null, 'stream'), h('th', null, 'consumer'), h('th', { class: 'num' }, 'pending (lag)'), h('th', { class: 'num' }, 'awaiting ack'))),
      h('tbody', null, consumers.map((c) => h('tr', null, h('td', null, c.stream), h('td', null, c.name),
        h('td', { class: 'num' + (c.pending > 0 ? ' sev-warn' : '') }, fmtNum(c.pending)), h('td', { class: 'num' }, fmtNum(c.ack_pending))))))
      : h('p', { class: 'muted' }, 'No durable consumers (or the bus is not reachable from the dashboard).'));
  const sel = files.find((f) => f.path === selected);
  if (sel) showSnippets(snippets, sel, res.output_dir_name);
  else snippets.append(h('p', { class: 'muted' }, 'Select a file for snippets that open it in polars, pyarrow and DuckDB.'));
  return null;
}

function showSnippets(el, f, dirName) {
  const path = (dirName ? dirName.replace(/\/+$/, '') + '/' : '') + f.path;
  const parquet = f.format === 'parquet' || f.path.endsWith('.parquet');
  const partial = f.state === 'partial' ? '# A .partial file is still being written: copy it first, or read the finished file after rotation.\n' : '';
  const py = JSON.stringify(path);
  const list = [
    ['polars', partial + (parquet
      ? `import polars as pl\n\ndf = pl.read_parquet(${py})\nprint(df.head())`
      : `import polars as pl\n\ndf = pl.read_ipc_stream(${py})\nprint(df.head())`)],
    ['pyarrow', partial + (parquet
      ? `import pyarrow.parquet as pq\n\ntbl = pq.read_table(${py})\nprint(tbl.num_rows, tbl.schema)`
      : `import pyarrow as pa\n\nwith open(${py}, "rb") as f:\n    tbl = pa.ipc.open_stream(f).read_all()\nprint(tbl.num_rows, tbl.schema)`)],
    ['DuckDB', partial + (parquet
      ? `import duckdb\n\nduckdb.sql("select * from read_parquet('${path.replace(/'/g, "''")}') limit 10").show()`
      : `import duckdb, pyarrow as pa\n\ntbl = pa.ipc.open_stream(open(${py}, "rb")).read_all()\nduckdb.sql("select * from tbl limit 10").show()`)],
  ];
  fill(el, h('h2', null, 'Open ', h('span', { class: 'mono' }, f.path.split('/').pop())),
    h('p', { class: 'muted' }, 'Paths are relative to the directory that holds the output directory.'),
    list.map(([name, code]) => {
      const b = h('button', { type: 'button', class: 'ghost copy', onclick: () => copyText(code, b) }, 'copy');
      return h('div', null, h('h3', null, name), h('pre', { dataset: { lang: name } }, b, h('code', null, code)));
    }));
}
