// One trace: waterfall (nesting, collapse to a depth, critical path), search
// inside the trace, span details, the trace's log records, OTLP JSON export.
// URL: #/trace/<trace_id>?span=<span_id>&depth=<n>&q=<text>
import {
  api, attrTable, bodyView, clear, cmpStart, copyText, errorBanner, fill, fmtDuration, fmtTime, h, isError,
  kindName, sevClass, sevName, statusName, traceHref,
} from '../util.js';

export async function mount(el, route) {
  const traceId = route.args[0] || '';
  if (!traceId) { el.append(errorBanner('No trace id in the URL.')); return null; }
  el.append(h('p', { class: 'muted' }, 'Loading trace ' + traceId + '...'));
  let tr;
  try {
    tr = await api('/api/traces/' + encodeURIComponent(traceId));
  } catch (e) {
    clear(el).append(e.status === 404 ? h('div', { class: 'banner warn', role: 'alert' }, `Trace ${traceId} was not found in the files (yet).`) : errorBanner(e),
      h('p', null, h('a', { href: '#/traces' }, 'Back to the search')));
    return null;
  }
  return new TraceView(el, tr, route);
}

class TraceView {
  constructor(el, tr, route) {
    this.el = el;
    this.tr = tr;
    this.spans = tr.spans || [];
    this.build();
    this.params = route.params;
    this.depth = Number(route.params.get('depth')) || 0; // 0 = all levels
    this.collapsed = new Set();
    this.render();
    this.applyQuery(route.params.get('q') || '');
    this.select(route.params.get('span') || (this.order[0] && this.order[0].span.span_id), false);
  }

  build() {
    const byId = new Map();
    for (const s of this.spans) byId.set(s.span_id, { span: s, children: [], depth: 0, parent: null });
    const roots = [];
    for (const n of byId.values()) {
      const p = n.span.parent_span_id && byId.get(n.span.parent_span_id);
      if (p && p !== n) { p.children.push(n); n.parent = p; } else roots.push(n);
    }
    const bySpan = (a, b) => cmpStart(a.span, b.span);
    roots.sort(bySpan);
    this.order = [];
    const stack = roots.slice().reverse();
    const seen = new Set();
    while (stack.length) {
      const n = stack.pop();
      if (seen.has(n)) continue; // a parent cycle in bad data
      seen.add(n);
      n.depth = n.parent ? n.parent.depth + 1 : 0;
      this.order.push(n);
      n.children.sort(bySpan);
      for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]);
    }
    this.byId = byId;
    this.maxDepth = this.order.reduce((m, n) => Math.max(m, n.depth), 0);
    this.t0 = Math.min(...this.spans.map((s) => s.start_ms));
    this.t1 = Math.max(...this.spans.map((s) => s.end_ms ?? s.start_ms + (s.duration_ms || 0)));
    this.total = Math.max(this.t1 - this.t0, 1e-6);
    this.crit = new Set(this.tr.critical_path && this.tr.critical_path.length ? this.tr.critical_path : criticalPath(roots));
    this.critOrder = this.order.filter((n) => this.crit.has(n.span.span_id));
  }

  render() {
    const tr = this.tr;
    const root = this.order[0] && this.order[0].span;
    const services = [...new Set(this.spans.map((s) => s.service_name).filter(Boolean))];
    const errors = this.spans.filter(isError).length;
    this.searchInput = h('input', { type: 'search', placeholder: 'search in trace (name, service, attribute)', class: 'wide', 'data-search': true, value: this.params.get('q') || '',
      oninput: () => { this.applyQuery(this.searchInput.value); this.saveURL(); },
      onkeydown: (e) => { if (e.key === 'Enter') { e.preventDefault(); this.nextMatch(e.shiftKey ? -1 : 1); } } });
    this.matchInfo = h('span', { class: 'muted', id: 'match-info' });
    this.depthSel = h('select', { title: 'collapse to a depth ([ and ])', onchange: () => this.setDepth(Number(this.depthSel.value)) },
      h('option', { value: 0 }, 'all levels'),
      Array.from({ length: this.maxDepth }, (_, i) => h('option', { value: i + 1 }, `depth ${i + 1}`)));
    this.depthSel.value = String(this.depth);
    const head = h('div', { class: 'trace-head' },
      h('h2', null, root ? root.name : 'trace'),
      h('span', { class: 'mono muted' }, tr.trace_id),
      h('span', null, fmtDuration(this.t1 - this.t0)),
      h('span', null, `${this.spans.length} spans`),
      errors ? h('span', { class: 'err' }, `${errors} errors`) : null,
      h('span', null, services.map((s) => h('span', { class: 'tag' }, s))),
      h('span', null, fmtTime(this.t0)));
    const tools = h('div', { class: 'trace-tools' },
      this.searchInput, this.matchInfo,
      h('label', null, 'collapse to ', this.depthSel),
      h('span', { class: 'legend-crit' }, 'critical path'),
      h('a', { class: 'button ghost', href: '/api/traces/' + encodeURIComponent(tr.trace_id) + '/otlp', download: `trace-${tr.trace_id}.json`, id: 'export-otlp' }, 'Export OTLP JSON'),
      h('a', { class: 'button ghost', href: '#/logs?trace_id=' + encodeURIComponent(tr.trace_id) }, 'Logs of this trace'),
      h('a', { class: 'button ghost', href: '#/traces' }, 'Back to search'));

    // time ticks
    const ticks = h('div', { class: 'wf-ticks' });
    for (let i = 0; i <= 4; i++) {
      const t = h('span', null, fmtDuration((this.total * i) / 4));
      t.style.left = (i * 25) + '%';
      if (i === 4) t.style.transform = 'translateX(-100%)';
      ticks.append(t);
    }
    const wf = h('div', { class: 'waterfall', id: 'waterfall', role: 'tree' },
      h('div', { class: 'wf-header' }, h('span', null, '\u00a0 span'), ticks, h('span', { class: 'wf-dur' }, 'duration')));
    for (const n of this.order) {
      const s = n.span;
      const toggle = h('span', { class: 'wf-toggle' }, n.children.length ? '\u25be' : '');
      toggle.addEventListener('click', (e) => { e.stopPropagation(); this.toggle(n); });
      const name = h('div', { class: 'wf-name', title: `${s.service_name || ''} ${s.name}` }, toggle,
        h('span', { class: 'wf-svc' }, s.service_name || ''), s.name);
      name.style.paddingLeft = (4 + n.depth * 14) + 'px';
      const bar = h('div', { class: 'wf-bar' + (isError(s) ? ' error' : '') });
      bar.style.left = ((s.start_ms - this.t0) / this.total * 100) + '%';
      bar.style.width = (Math.max(0, spanDur(s)) / this.total * 100) + '%';
      const row = h('div', {
        class: 'wf-row row' + (this.crit.has(s.span_id) ? ' crit' : ''), role: 'treeitem',
        dataset: { spanId: s.span_id, depth: n.depth, selectOnNav: '' },
        onclick: () => this.select(s.span_id, true),
      }, name, h('div', { class: 'wf-track' }, bar), h('div', { class: 'wf-dur' }, fmtDuration(spanDur(s))));
      n.row = row; n.toggleEl = toggle;
      wf.append(row);
    }
    this.detail = h('div', { class: 'detail', id: 'span-detail' });
    const logs = this.logsSection();
    fill(this.el, head, tools, h('div', { class: 'trace-body' }, h('div', null, wf, logs), this.detail));
    this.applyVisibility();
  }

  logsSection() {
    const logs = (this.tr.logs || []).slice().sort((a, b) => (a.time_ms || 0) - (b.time_ms || 0));
    return h('div', { id: 'trace-logs' },
      h('h3', null, `Log records (${logs.length})`),
      logs.length ? h('table', { class: 'grid' },
        h('thead', null, h('tr', null, h('th', null, 'time'), h('th', null, 'severity'), h('th', null, 'service'), h('th', null, 'body'), h('th', null, 'span'))),
        h('tbody', null, logs.map((l) => h('tr', null,
          h('td', { class: 'mono' }, fmtTime(l.time_ms || l.observed_ms, false)),
          h('td', { class: sevClass(l.severity_number) }, sevName(l.severity_number, l.severity_text)),
          h('td', null, l.service_name || ''),
          h('td', { class: 'wrap' }, bodyView(l.body, true)),
          h('td', { class: 'mono' }, l.span_id ? h('a', { href: traceHref(this.tr.trace_id, l.span_id), onclick: (e) => { e.preventDefault(); this.select(l.span_id, true); } }, l.span_id) : '')))))
        : h('p', { class: 'muted' }, 'No log records carry this trace id.'));
  }

  // visibility: hidden under a collapsed ancestor or deeper than the depth limit.
  applyVisibility() {
    for (const n of this.order) {
      let hidden = false;
      for (let p = n.parent; p; p = p.parent) if (this.isCollapsed(p)) { hidden = true; break; }
      n.row.classList.toggle('hidden', hidden);
      if (n.children.length) n.toggleEl.textContent = this.isCollapsed(n) ? '\u25b8' : '\u25be';
    }
  }

  isCollapsed(n) {
    if (this.collapsed.has(n.span.span_id)) return true;
    if (this.collapsed.has('+' + n.span.span_id)) return false; // expanded by hand past the depth limit
    return this.depth > 0 && n.depth >= this.depth - 1 && n.children.length > 0;
  }

  toggle(n) {
    const id = n.span.span_id;
    if (this.isCollapsed(n)) { this.collapsed.delete(id); this.collapsed.add('+' + id); } else { this.collapsed.delete('+' + id); this.collapsed.add(id); }
    this.applyVisibility();
  }

  setDepth(d) {
    this.depth = Math.max(0, Math.min(this.maxDepth + 1, d));
    if (this.depth > this.maxDepth) this.depth = 0;
    this.collapsed.clear();
    this.depthSel.value = String(this.depth);
    this.applyVisibility();
    this.saveURL();
  }

  applyQuery(q) {
    this.query = q.trim().toLowerCase();
    this.matches = [];
    for (const n of this.order) {
      const m = this.query !== '' && spanMatches(n.span, this.query);
      if (m) this.matches.push(n);
      n.row.classList.toggle('match', m);
      n.row.classList.toggle('dim', this.query !== '' && !m);
    }
    if (!this.query) { this.matchInfo.textContent = ''; return; }
    const hidden = this.matches.filter((n) => n.row.classList.contains('hidden')).length;
    this.matchInfo.textContent = `${this.matches.length} match${this.matches.length === 1 ? '' : 'es'}` + (hidden ? ` (${hidden} collapsed)` : '');
  }

  nextMatch(dir) {
    if (!this.matches || !this.matches.length) return;
    const cur = this.matches.findIndex((n) => n.span.span_id === this.selected);
    const i = cur < 0 ? (dir > 0 ? 0 : this.matches.length - 1) : (cur + dir + this.matches.length) % this.matches.length;
    this.select(this.matches[i].span.span_id, true);
  }

  reveal(n) {
    let changed = false;
    for (let p = n.parent; p; p = p.parent) {
      if (this.isCollapsed(p)) { this.collapsed.delete(p.span.span_id); this.collapsed.add('+' + p.span.span_id); changed = true; }
    }
    if (changed) this.applyVisibility();
  }

  select(spanId, save) {
    const n = this.byId.get(spanId);
    if (!n) return;
    this.selected = spanId;
    this.reveal(n);
    for (const r of this.el.querySelectorAll('.wf-row.selected')) r.classList.remove('selected');
    n.row.classList.add('selected');
    n.row.scrollIntoView({ block: 'nearest' });
    this.renderDetail(n);
    if (save) this.saveURL();
  }

  saveURL() {
    const q = new URLSearchParams();
    if (this.selected) q.set('span', this.selected);
    if (this.depth) q.set('depth', String(this.depth));
    if (this.searchInput.value) q.set('q', this.searchInput.value);
    history.replaceState(null, '', '#/trace/' + encodeURIComponent(this.tr.trace_id) + '?' + q);
  }

  renderDetail(n) {
    const s = n.span;
    const url = location.origin + location.pathname + traceHref(this.tr.trace_id, s.span_id);
    const copy = h('button', { class: 'ghost copy', type: 'button', onclick: () => copyText(url, copy) }, 'copy link');
    const spanLogs = (this.tr.logs || []).filter((l) => l.span_id === s.span_id);
    const st = statusName(s.status_code);
    fill(this.detail, 
      h('h3', null, s.name),
      h('table', { class: 'kv' },
        h('tr', null, h('td', null, 'service'), h('td', null, s.service_name || '')),
        h('tr', null, h('td', null, 'kind'), h('td', null, kindName(s.kind))),
        h('tr', null, h('td', null, 'status'), h('td', { class: st === 'error' ? 'err' : st === 'ok' ? 'ok' : '', id: 'span-status' }, st, s.status_message ? ': ' + s.status_message : '')),
        h('tr', null, h('td', null, 'start'), h('td', { class: 'mono' }, fmtTime(s.start_ms), h('span', { class: 'muted' }, ` (+${fmtDuration(s.start_ms - this.t0)})`))),
        h('tr', null, h('td', null, 'duration'), h('td', null, fmtDuration(spanDur(s)), this.crit.has(s.span_id) ? h('span', { class: 'legend-crit' }, ' on the critical path') : null)),
        h('tr', null, h('td', null, 'span id'), h('td', { class: 'mono' }, h('a', { href: traceHref(this.tr.trace_id, s.span_id), id: 'span-link' }, s.span_id), ' ', copy)),
        h('tr', null, h('td', null, 'parent'), h('td', { class: 'mono' }, n.parent
          ? h('a', { href: traceHref(this.tr.trace_id, n.parent.span.span_id), onclick: (e) => { e.preventDefault(); this.select(n.parent.span.span_id, true); } }, n.parent.span.name)
          : (s.parent_span_id ? s.parent_span_id + ' (not in this trace)' : '(root)'))),
        s.trace_state ? h('tr', null, h('td', null, 'trace state'), h('td', { class: 'mono' }, s.trace_state)) : null,
        s.flags ? h('tr', null, h('td', null, 'flags'), h('td', { class: 'mono' }, '0x' + Number(s.flags).toString(16).padStart(2, '0'))) : null),
      h('h3', null, 'Attributes'), h('div', { id: 'span-attributes' }, attrTable(s.attributes)),
      h('h3', null, `Events (${(s.events || []).length})`),
      (s.events || []).length ? h('div', null, s.events.map((ev) => h('div', { class: 'event' },
        h('div', null, h('span', { class: 'mono muted' }, '+' + fmtDuration(ev.time_ms - s.start_ms) + ' '), h('b', null, ev.name)),
        attrTable(ev.attributes, '')))) : h('div', { class: 'muted' }, 'none'),
      h('h3', null, `Links (${(s.links || []).length})`),
      (s.links || []).length ? h('div', null, s.links.map((l) => h('div', { class: 'link' },
        h('a', { href: traceHref(l.trace_id, l.span_id), class: 'mono' }, `${l.trace_id} / ${l.span_id}`),
        l.trace_id === this.tr.trace_id ? h('span', { class: 'muted' }, ' (this trace)') : null,
        attrTable(l.attributes, '')))) : h('div', { class: 'muted' }, 'none'),
      h('h3', null, `Log records of this span (${spanLogs.length})`),
      spanLogs.length ? h('div', null, spanLogs.map((l) => h('div', { class: 'log' },
        h('span', { class: 'mono muted' }, fmtTime(l.time_ms || l.observed_ms, false) + ' '),
        h('span', { class: sevClass(l.severity_number) }, sevName(l.severity_number, l.severity_text) + ' '), bodyView(l.body, true)))) : h('div', { class: 'muted' }, 'none'),
      h('h3', null, 'Resource'), attrTable(s.resource),
      h('h3', null, 'Scope'),
      s.scope && (s.scope.name || s.scope.version) ? h('div', { class: 'mono' }, s.scope.name || '', s.scope.version ? ' ' + s.scope.version : '') : h('div', { class: 'muted' }, 'none'),
      s.scope && s.scope.attributes && s.scope.attributes.length ? attrTable(s.scope.attributes) : null);
  }

  update(route) {
    if (route.args[0] !== this.tr.trace_id) return false;
    const d = Number(route.params.get('depth')) || 0;
    if (d !== this.depth) this.setDepth(d);
    const q = route.params.get('q') || '';
    if (q !== this.searchInput.value) { this.searchInput.value = q; this.applyQuery(q); }
    const sp = route.params.get('span');
    if (sp && sp !== this.selected) this.select(sp, false);
    return true;
  }

  key(e) {
    switch (e.key) {
      case '[': this.setDepth((this.depth || this.maxDepth + 1) - 1 || 1); return true;
      case ']': this.setDepth(this.depth ? this.depth + 1 : 0); return true;
      case 'n': this.nextMatch(1); return true;
      case 'N': this.nextMatch(-1); return true;
      case 'u': { const n = this.byId.get(this.selected); if (n && n.parent) this.select(n.parent.span.span_id, true); return true; }
      case 'c': {
        if (!this.critOrder.length) return true;
        const i = this.critOrder.findIndex((n) => n.span.span_id === this.selected);
        this.select(this.critOrder[(i + 1) % this.critOrder.length].span.span_id, true);
        return true;
      }
      case 'Escape': this.searchInput.value = ''; this.applyQuery(''); this.saveURL(); return true;
      default: return false;
    }
  }
}

function spanDur(s) {
  if (s.duration_ms !== undefined && s.duration_ms !== null) return s.duration_ms;
  return (s.end_ms || s.start_ms) - s.start_ms;
}

function spanMatches(s, q) {
  const hit = (v) => v !== undefined && v !== null && String(typeof v === 'object' ? JSON.stringify(v) : v).toLowerCase().includes(q);
  if (hit(s.name) || hit(s.service_name) || hit(s.span_id) || hit(s.status_message)) return true;
  for (const list of [s.attributes, s.resource]) {
    for (const a of list || []) if (hit(a.key) || hit(a.value) || hit(`${a.key}=${a.value}`)) return true;
  }
  for (const ev of s.events || []) if (hit(ev.name)) return true;
  return false;
}

// criticalPath (used when the server sends none): from each root, follow the
// child that ends last, walking back through the children that end before it starts.
function criticalPath(roots) {
  const path = [];
  const end = (n) => n.span.end_ms ?? n.span.start_ms + spanDur(n.span);
  const walk = (n) => {
    path.push(n.span.span_id);
    let until = end(n);
    const kids = n.children.slice().sort((a, b) => end(b) - end(a));
    for (const c of kids) {
      if (end(c) <= until + 1e-9) { walk(c); until = c.span.start_ms; }
    }
  };
  if (roots.length) walk(roots.slice().sort((a, b) => end(b) - end(a))[0]);
  return path;
}
