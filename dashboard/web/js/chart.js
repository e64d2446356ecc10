// Small SVG charts drawn by our own code: a multi-series time chart with a
// hover read-out and exemplar markers, and a histogram heatmap.
import {
  fill, fmtNum, fmtTime, h, svg,
} from './util.js';

export const PALETTE = ['#2f6fdf', '#e8590c', '#2e9d4a', '#c2255c', '#7048e8', '#0c8599', '#e67700', '#5c940d', '#862e9c', '#495057'];
const M = { left: 64, right: 16, top: 12, bottom: 28 };

export function niceTicks(min, max, n = 5) {
  if (!(max > min)) { const d = Math.abs(min) || 1; min -= d / 2; max += d / 2; }
  const raw = (max - min) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || 10 * mag;
  const lo = Math.floor(min / step) * step, hi = Math.ceil(max / step) * step;
  const ticks = [];
  for (let v = lo; v <= hi + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  return { lo, hi, ticks };
}

function timeLabel(t, span) {
  const s = fmtTime(t);
  if (span > 2 * 86400e3) return s.slice(5, 16);
  if (span > 3600e3) return s.slice(11, 16);
  return s.slice(11, 19);
}

// timeChart draws series [{label, color, points: [[t_ms, v]]}] into container.
// Options: unit (y label), exemplars [{time_ms, value, trace_id, span_id}],
// exemplarHref(e) -> link, height.
export function timeChart(container, series, opts = {}) {
  const W = Math.max(320, container.clientWidth || 900), H = opts.height || 300;
  const all = series.flatMap((s) => s.points);
  const ex = (opts.exemplars || []).filter((e) => Number.isFinite(e.value));
  if (!all.length) { fill(container, h('p', { class: 'muted' }, 'No points in this time range.')); return; }
  let t0 = Math.min(...all.map((p) => p[0]), ...ex.map((e) => e.time_ms)), t1 = Math.max(...all.map((p) => p[0]), ...ex.map((e) => e.time_ms));
  if (t1 === t0) { t0 -= 30e3; t1 += 30e3; }
  const vals = all.map((p) => p[1]).filter(Number.isFinite).concat(ex.map((e) => e.value));
  const { lo, hi, ticks } = niceTicks(Math.min(0, ...vals), Math.max(...vals));
  const x = (t) => M.left + (t - t0) / (t1 - t0) * (W - M.left - M.right);
  const y = (v) => M.top + (1 - (v - lo) / (hi - lo || 1)) * (H - M.top - M.bottom);
  const root = svg('svg', { class: 'chart', width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': opts.title || 'chart' });
  for (const v of ticks) {
    root.append(svg('line', { class: 'grid', x1: M.left, x2: W - M.right, y1: y(v), y2: y(v) }),
      svg('text', { x: M.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, fmtNum(v)));
  }
  const nx = Math.max(2, Math.floor((W - M.left - M.right) / 120));
  for (let i = 0; i <= nx; i++) {
    const t = t0 + (t1 - t0) * i / nx;
    root.append(svg('text', { x: x(t), y: H - 8, 'text-anchor': i === 0 ? 'start' : i === nx ? 'end' : 'middle' }, timeLabel(t, t1 - t0)));
  }
  root.append(svg('line', { class: 'axis', x1: M.left, x2: W - M.right, y1: H - M.bottom, y2: H - M.bottom }),
    svg('line', { class: 'axis', x1: M.left, x2: M.left, y1: M.top, y2: H - M.bottom }));
  if (opts.unit) root.append(svg('text', { x: 4, y: H - 8 }, opts.unit));
  series.forEach((s, i) => {
    const color = s.color || PALETTE[i % PALETTE.length];
    const pts = s.points.filter((p) => Number.isFinite(p[1]));
    const g = svg('g', { class: 'series', 'data-label': s.label });
    if (pts.length > 1) g.append(svg('polyline', { class: 'line', stroke: color, points: pts.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ') }));
    if (pts.length <= 80) {
      for (const p of pts) g.append(svg('circle', { cx: x(p[0]), cy: y(p[1]), r: 2.5, fill: color, 'data-t': p[0], 'data-v': p[1] }));
    }
    root.append(g);
  });
  for (const e of ex) {
    const ex0 = x(e.time_ms), ey = y(e.value);
    const c = svg('path', { class: 'exemplar', d: `M${ex0} ${ey - 6}L${ex0 + 6} ${ey}L${ex0} ${ey + 6}L${ex0 - 6} ${ey}Z`, 'data-trace-id': e.trace_id || '' },
      svg('title', null, `exemplar ${fmtNum(e.value)} at ${fmtTime(e.time_ms)}` + (e.trace_id ? ` · trace ${e.trace_id} (click to open)` : '')));
    if (e.trace_id && opts.exemplarHref) c.addEventListener('click', () => { location.hash = opts.exemplarHref(e); });
    root.append(c);
  }
  const hover = svg('line', { class: 'hover hidden', y1: M.top, y2: H - M.bottom });
  root.append(hover);
  const tip = h('div', { class: 'chart-tip hidden' });
  root.addEventListener('mousemove', (ev) => {
    const r = root.getBoundingClientRect();
    const t = t0 + (ev.clientX - r.left - M.left) / (W - M.left - M.right) * (t1 - t0);
    if (t < t0 || t > t1) { hover.classList.add('hidden'); tip.classList.add('hidden'); return; }
    const lines = [];
    let best = null;
    series.forEach((s, i) => {
      let n = null;
      for (const p of s.points) if (!n || Math.abs(p[0] - t) < Math.abs(n[0] - t)) n = p;
      if (n) { lines.push([s.color || PALETTE[i % PALETTE.length], s.label, n[1]]); if (!best || Math.abs(n[0] - t) < Math.abs(best - t)) best = n[0]; }
    });
    if (best === null) return;
    hover.setAttribute('x1', x(best)); hover.setAttribute('x2', x(best));
    hover.classList.remove('hidden');
    fill(tip, h('div', { class: 'muted' }, fmtTime(best)), lines.slice(0, 12).map(([c, l, v]) => {
      const sw = h('span', { class: 'swatch' }); sw.style.background = c;
      return h('div', null, sw, `${l}: `, h('b', null, fmtNum(v) + (opts.unit ? ' ' + opts.unit : '')));
    }));
    tip.classList.remove('hidden');
    tip.style.left = Math.min(ev.clientX + 14, window.innerWidth - 260) + 'px';
    tip.style.top = (ev.clientY + 14) + 'px';
  });
  root.addEventListener('mouseleave', () => { hover.classList.add('hidden'); tip.classList.add('hidden'); });
  fill(container, root, tip);
}

// heatmap draws {bounds, times_ms, counts[time][bucket]}: time on x, bucket on y.
export function heatmap(container, hm, opts = {}) {
  const W = Math.max(320, container.clientWidth || 900), H = opts.height || 300;
  const times = hm.times_ms || [], counts = hm.counts || [], bounds = hm.bounds || [];
  if (!times.length) { fill(container, h('p', { class: 'muted' }, 'No histogram points in this time range.')); return; }
  const nb = Math.max(...counts.map((r) => r.length), bounds.length + 1);
  const max = Math.max(1, ...counts.flat());
  const cw = (W - M.left - M.right) / times.length, ch = (H - M.top - M.bottom) / nb;
  const root = svg('svg', { class: 'chart heatmap', width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'heatmap' });
  const label = (j) => j === 0 ? `\u2264${fmtNum(bounds[0])}` : j >= bounds.length ? `>${fmtNum(bounds[bounds.length - 1])}` : `\u2264${fmtNum(bounds[j])}`;
  const step = Math.max(1, Math.ceil(nb / Math.floor((H - M.top - M.bottom) / 14)));
  for (let j = 0; j < nb; j += step) root.append(svg('text', { x: M.left - 6, y: H - M.bottom - j * ch - ch / 2 + 4, 'text-anchor': 'end' }, label(j)));
  times.forEach((t, i) => {
    (counts[i] || []).forEach((c, j) => {
      if (!c) return;
      const r = svg('rect', { x: M.left + i * cw, y: H - M.bottom - (j + 1) * ch, width: Math.max(1, cw - 1), height: Math.max(1, ch - 1),
        class: 'cell', 'fill-opacity': (0.12 + 0.88 * c / max).toFixed(3), 'data-count': c },
      svg('title', null, `${fmtTime(t)} ${label(j)}${opts.unit ? ' ' + opts.unit : ''}: ${fmtNum(c)}`));
      root.append(r);
    });
  });
  const nx = Math.max(1, Math.min(times.length - 1, Math.floor((W - M.left - M.right) / 120)));
  for (let k = 0; k <= nx; k++) {
    const i = Math.round(k * (times.length - 1) / nx);
    root.append(svg('text', { x: M.left + i * cw + cw / 2, y: H - 8, 'text-anchor': 'middle' }, timeLabel(times[i], times[times.length - 1] - times[0])));
  }
  if (opts.unit) root.append(svg('text', { x: 4, y: H - 8 }, opts.unit));
  fill(container, root);
}
