// Charts in plain SVG and a few divs: a chart library would weigh more than the
// page itself, and the dashboard needs only lines over time and rows of bars.
/* global ResizeObserver */
import { h, s, time, setText } from './util.js';

/** Rounds a top value up so that four or five grid steps get short labels (1, 2, 5 × 10^k). */
function scale(top) {
  const raw = Math.max(top, 1e-6) / 4;
  const e = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * e).find((x) => x >= raw * 0.999) ?? 10 * e;
  return { max: Math.ceil(top / step - 1e-9) * step || step, step };
}

function timeLabel(t, span) {
  const d = new Date(t);
  if (span <= 15 * 60e3)
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  if (span <= 36 * 3600e3) return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return d.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

/**
 * A line chart over time that draws itself at its container's width.
 * `update({ series: [{ label, cls, points: [[t, v]] }], from, to, format, gapMs, label })`;
 * a series' look (colour, dash) comes from its `cls` in style.css, and the legend
 * names each line in text, so colour is never the only way to tell them apart.
 */
export function lineChart() {
  const legend = h('div', { class: 'legend' });
  const holder = h('div', { class: 'plot' });
  const readout = h('figcaption', { class: 'readout' }, '\u00a0');
  const el = h('figure', { class: 'chart' }, legend, holder, readout);
  let data;
  let width = 0;

  const draw = () => {
    if (!data || !width) return;
    const { series, from, to, format, gapMs = Infinity } = data;
    const W = width;
    const H = 180;
    const pad = { l: 66, r: 8, t: 12, b: 22 };
    const values = series.flatMap((se) => se.points.map((p) => p[1])).filter(Number.isFinite);
    if (values.length === 0) {
      holder.replaceChildren(h('p', { class: 'empty' }, 'No data in this period yet.'));
      return;
    }
    const { max, step } = scale(Math.max(...values));
    const span = Math.max(to - from, 1);
    const x = (t) => pad.l + ((t - from) / span) * (W - pad.l - pad.r);
    const y = (v) => pad.t + (1 - v / max) * (H - pad.t - pad.b);

    const svg = s('svg', {
      width: W,
      height: H,
      viewBox: `0 0 ${W} ${H}`,
      role: 'img',
      'aria-label': data.label,
    });
    for (let v = 0; v <= max + step / 2; v += step) {
      svg.append(
        s('line', { class: 'gridline', x1: pad.l, x2: W - pad.r, y1: y(v), y2: y(v) }),
        s('text', { class: 'tick', x: pad.l - 6, y: y(v) + 4, 'text-anchor': 'end' }, format(v)),
      );
    }
    const n = W < 420 ? 3 : 5;
    for (let i = 0; i < n; i++) {
      const t = from + (span * i) / (n - 1);
      const anchor = i === 0 ? 'start' : i === n - 1 ? 'end' : 'middle';
      svg.append(s('text', { class: 'tick', x: x(t), y: H - 6, 'text-anchor': anchor }, timeLabel(t, span)));
    }
    for (const se of series) {
      let d = '';
      let prev;
      for (const [t, v] of se.points) {
        if (!Number.isFinite(v)) {
          prev = undefined;
          continue;
        }
        // A gap in the data (Lookout stopped, target paused) stays a gap, not a straight line.
        d += `${prev === undefined || t - prev > gapMs ? 'M' : 'L'}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
        prev = t;
      }
      svg.append(s('path', { class: `line ${se.cls}`, d }));
      if (se.points.length <= 40)
        for (const [t, v] of se.points)
          if (Number.isFinite(v))
            svg.append(s('circle', { class: `pt ${se.cls}`, cx: x(t), cy: y(v), r: 2.5 }));
    }
    const cursor = s('line', { class: 'cursor', y1: pad.t, y2: H - pad.b, x1: -10, x2: -10 });
    svg.append(cursor);
    const ts = [...new Set(series.flatMap((se) => se.points.map((p) => p[0])))].sort((a, b) => a - b);
    svg.addEventListener('pointermove', (ev) => {
      const r = svg.getBoundingClientRect();
      const t = from + ((ev.clientX - r.left - pad.l) / (W - pad.l - pad.r)) * span;
      let best = ts[0];
      for (const c of ts) if (Math.abs(c - t) < Math.abs(best - t)) best = c;
      cursor.setAttribute('x1', x(best));
      cursor.setAttribute('x2', x(best));
      const parts = series.map((se) => {
        const p = se.points.find((q) => q[0] === best);
        return `${se.label} ${p && Number.isFinite(p[1]) ? format(p[1]) : '—'}`;
      });
      setText(readout, `${time(best)} — ${parts.join(' · ')}`);
    });
    holder.replaceChildren(svg);
  };

  new ResizeObserver(() => {
    const w = Math.floor(holder.clientWidth);
    if (w > 0 && w !== width) {
      width = w;
      draw();
    }
  }).observe(holder);

  return {
    el,
    update(next) {
      data = next;
      legend.replaceChildren(
        ...next.series.map((se) =>
          h('span', { class: `key ${se.cls}` }, h('i', { 'aria-hidden': 'true' }), se.label),
        ),
      );
      width = Math.floor(holder.clientWidth);
      draw();
    },
  };
}

/**
 * A row of bars (status trail, daily uptime). Worse is also shorter, so the row
 * reads without colour; each bar's title is its tooltip, and a tap or click
 * writes it into the readout line, where phones (no hover) can see it.
 * `items: [{ cls, level: 0..1, title }]`.
 */
export function bars(items, label, readout) {
  const row = h(
    'div',
    { class: 'bars', role: 'img', 'aria-label': label },
    items.map((it) =>
      h('span', { class: `bar ${it.cls}`, title: it.title, 'data-level': Math.round(it.level * 10) }),
    ),
  );
  if (readout)
    row.addEventListener('click', (ev) => {
      const t = ev.target.closest?.('.bar');
      if (t) setText(readout, t.title);
    });
  return row;
}
