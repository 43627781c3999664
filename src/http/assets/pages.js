// The target page and the speed-test page. Each builds its skeleton once and
// fills it on refresh, so buttons keep focus and nothing flickers.
/* global confirm */
import {
  h,
  setText,
  setAttr,
  pct,
  ms,
  mbps,
  duration,
  ago,
  time,
  toMs,
  STATUS,
  store,
  api,
  enc,
} from './util.js';
import { lineChart, bars } from './charts.js';

const PERIODS = { '24h': 86400e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3, '90d': 90 * 86400e3 };
/** History and speed tests change slowly; charts reload at most this often (or on a period change). */
const CHART_TTL_MS = 60_000;

export function trailItems(trail) {
  return trail.map((x) => ({
    cls: x.ok ? 'ok' : 'fail',
    level: x.ok ? 1 : 0.4,
    title: `${time(x.t)} · ${x.ok ? `OK, ${ms(x.ms)}` : `failed${x.code ? ` (${x.code})` : ''} after ${ms(x.ms)}`}`,
  }));
}

function periodPicker(label, current, onChange) {
  const buttons = Object.keys(PERIODS).map((p) =>
    h('button', { type: 'button', 'aria-pressed': p === current, onclick: () => select(p) }, p),
  );
  function select(p) {
    for (const b of buttons) setAttr(b, 'aria-pressed', b.textContent === p);
    onChange(p);
  }
  return h('div', { class: 'periods', role: 'group', 'aria-label': label }, buttons);
}

function percentile(sorted, p) {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}

/**
 * p50/p95 lines from the history route: roll-ups carry them; raw samples are
 * grouped into about 60 buckets first. The time axis starts at the first row,
 * so a target added an hour ago fills the chart instead of its last pixel.
 */
function latencySeries(rows, from, to) {
  if (rows.length === 0) return { p50: [], p95: [], from, to, gapMs: Infinity };
  const start = Math.max(from, toMs(rows[0].t));
  if ('resolution' in rows[0]) {
    const len = rows[0].resolution === 'hour' ? 3600e3 : 86400e3;
    const pick = (k) => rows.map((r) => [toMs(r.t) + len / 2, r[k] ?? NaN]);
    return { p50: pick('p50'), p95: pick('p95'), from: start, to, gapMs: len * 2.5 };
  }
  const bucket = Math.max((to - start) / 60, 1000);
  const groups = new Map();
  for (const r of rows) {
    if (!r.ok) continue;
    const k = Math.floor((toMs(r.t) - start) / bucket);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(r.ms);
  }
  const p50 = [];
  const p95 = [];
  for (const [k, v] of [...groups].sort((a, b) => a[0] - b[0])) {
    v.sort((a, b) => a - b);
    const t = start + (k + 0.5) * bucket;
    p50.push([t, percentile(v, 0.5)]);
    p95.push([t, percentile(v, 0.95)]);
  }
  return { p50, p95, from: start, to, gapMs: bucket * 3.5 };
}

function tokenHint(e) {
  return (e.status === 401 || e.status === 403) && !store.get('token')
    ? `Set the API token first (the “API token” button). ${e.message}`
    : e.message;
}

// ---------------------------------------------------------------------------

export function targetPage(root, name, ctx) {
  const badge = h('span', { class: 'badge' });
  const addr = h('p', { class: 'addr' });
  const actionError = h('p', { class: 'form-error', role: 'alert' });
  const act = (fn) => async () => {
    setText(actionError, '');
    try {
      await fn();
    } catch (e) {
      setText(actionError, tokenHint(e));
    }
  };
  let target = null;

  const editBtn = h(
    'button',
    { type: 'button', onclick: () => target && ctx.openTargetForm(target) },
    'Edit',
  );
  const pauseFor = h(
    'select',
    { 'aria-label': 'Pause for' },
    h('option', { value: '15' }, '15 min'),
    h('option', { value: '60' }, '1 hour'),
    h('option', { value: '240' }, '4 hours'),
    h('option', { value: '1440' }, '1 day'),
    h('option', { value: '' }, 'until resumed'),
  );
  const pauseBtn = h(
    'button',
    {
      type: 'button',
      onclick: act(async () => {
        const q = pauseFor.value ? `?minutes=${pauseFor.value}` : '';
        await api('POST', `/api/targets/${enc(name)}/pause${q}`);
        ctx.notify(`Paused ${name}.`);
        await ctx.refresh();
      }),
    },
    '‖ Pause',
  );
  const pauseGroup = h('span', { class: 'inline' }, pauseBtn, pauseFor);
  const resumeBtn = h(
    'button',
    {
      type: 'button',
      onclick: act(async () => {
        await api('POST', `/api/targets/${enc(name)}/resume`);
        ctx.notify(`Resumed ${name}.`);
        await ctx.refresh();
      }),
    },
    '▶ Resume',
  );
  const deleteBtn = h(
    'button',
    {
      type: 'button',
      class: 'danger',
      onclick: act(async () => {
        if (!confirm(`Remove ${name} and all its history?`)) return;
        await api('DELETE', `/api/targets/${enc(name)}`);
        ctx.notify(`Removed ${name}.`);
        ctx.go('#/');
      }),
    },
    'Delete',
  );

  const stat = (label) => {
    const v = h('dd');
    return { el: h('div', null, h('dt', null, label), v), v };
  };
  const stats = {
    u24: stat('Uptime 24h'),
    u7: stat('7 days'),
    u30: stat('30 days'),
    u90: stat('90 days'),
    lat: stat('Latency 24h'),
    last: stat('Last check'),
    cert: stat('Certificate'),
  };
  const trailBox = h('div', { class: 'trail wide' });
  const trailReadout = h('p', { class: 'readout' }, '\u00a0');

  let period = '24h';
  let chartsAt = 0;
  const latency = lineChart();
  const daily = h('div', { class: 'daily' });
  const dailyReadout = h('p', { class: 'readout' }, '\u00a0');
  const dailyNote = h('p', { class: 'muted' });
  const incidents = h('div');

  const historyUrl = (fmt, p) =>
    `/api/targets/${enc(name)}/history?from=${enc(new Date(Date.now() - PERIODS[p]).toISOString())}&format=${fmt}`;
  const download = (fmt, p) =>
    h(
      'a',
      {
        href: historyUrl(fmt, p),
        download: `${name}-${p}.${fmt}`,
        // Taken again at click time, so a page left open for a day still downloads the last 24 h.
        onclick: (ev) => (ev.currentTarget.href = historyUrl(fmt, p)),
      },
      `${p} ${fmt.toUpperCase()}`,
    );

  const body = h(
    'div',
    { class: 'target-page' },
    h(
      'div',
      { class: 'title' },
      h('span', { class: 'dot', 'aria-hidden': 'true' }),
      h('h1', null, name),
      badge,
    ),
    addr,
    h('div', { class: 'buttons' }, editBtn, pauseGroup, resumeBtn, deleteBtn),
    actionError,
    h(
      'dl',
      { class: 'stats' },
      Object.values(stats).map((x) => x.el),
    ),
    h('section', null, h('h2', null, 'Recent checks'), trailBox, trailReadout),
    h(
      'section',
      null,
      h(
        'div',
        { class: 'section-head' },
        h('h2', null, 'Latency'),
        periodPicker('Latency period', period, (p) => {
          period = p;
          chartsAt = 0;
          void loadCharts().catch((e) => ctx.notify(e.message, 'error'));
        }),
      ),
      latency.el,
    ),
    h('section', null, h('h2', null, 'Uptime per day, last 90 days'), daily, dailyReadout, dailyNote),
    h('section', null, h('h2', null, 'Incidents'), incidents),
    h(
      'section',
      null,
      h('h2', null, 'Download history'),
      h(
        'p',
        { class: 'downloads' },
        Object.keys(PERIODS).flatMap((p) => [download('csv', p), download('json', p)]),
      ),
    ),
  );
  root.append(h('a', { class: 'back', href: '#/' }, '← All targets'), body);

  async function loadCharts() {
    const now = Date.now();
    const from = now - PERIODS[period];
    const [hist, days] = await Promise.all([
      api('GET', `/api/targets/${enc(name)}/history?from=${enc(new Date(from).toISOString())}&format=json`),
      api('GET', `/api/targets/${enc(name)}/daily?days=90`),
    ]);
    chartsAt = now;
    const ls = latencySeries(hist.rows, from, now);
    const fmt = (v) => ms(v);
    latency.update({
      series: [
        { label: 'p50', cls: 's1', points: ls.p50 },
        { label: 'p95', cls: 's2', points: ls.p95 },
      ],
      from: ls.from,
      to: ls.to,
      gapMs: ls.gapMs,
      format: fmt,
      label: `Latency of ${name} over ${period}, p50 and p95`,
    });

    const items = days.days.map((d) => ({
      cls: d.uptime === null ? 'none' : d.uptime >= 0.999 ? 'ok' : d.uptime >= 0.99 ? 'warn' : 'fail',
      level: d.uptime === null ? 0.1 : 0.15 + 0.85 * Math.min(1, Math.max(0, (d.uptime - 0.9) / 0.1)),
      title: `${d.day}: ${d.uptime === null ? 'no data' : pct(d.uptime)}`,
    }));
    const below = days.days.filter((d) => d.uptime !== null && d.uptime < 0.999).length;
    const label = `Daily uptime over 90 days: ${below} day${below === 1 ? '' : 's'} below 99.9%`;
    daily.replaceChildren(bars(items, label, dailyReadout));
    setText(dailyNote, `${label}. Oldest on the left; tap or hover a day for its figure.`);
  }

  return {
    title: name,
    async refresh() {
      let d;
      try {
        d = await api('GET', `/api/targets/${enc(name)}`);
      } catch (e) {
        if (e.status !== 404) throw e;
        body.replaceChildren(
          h('h1', null, name),
          h('p', null, e.message),
          h('a', { href: '#/' }, 'Back to all targets'),
        );
        return;
      }
      const t = d.target;
      target = t;
      const st = t.state;
      setAttr(body, 'class', `target-page s-${st.status}`);
      setText(badge, `${STATUS[st.status].icon} ${STATUS[st.status].label} since ${time(toMs(st.since))}`);
      const bits = [t.kind, t.address || 'heartbeat', `every ${duration(t.interval * 1000)}`];
      if (t.dependsOn) bits.push(`depends on ${t.dependsOn}`);
      if (t.tags.length) bits.push(t.tags.map((g) => `#${g}`).join(' '));
      if (t.source === 'config') bits.push('from the config file');
      setText(addr, bits.join(' · '));
      pauseGroup.hidden = !!t.paused;
      resumeBtn.hidden = !t.paused;
      setText(stats.u24.v, pct(t.uptime['24h']));
      setText(stats.u7.v, pct(t.uptime['7d']));
      setText(stats.u30.v, pct(t.uptime['30d']));
      setText(stats.u90.v, pct(t.uptime['90d']));
      setText(stats.lat.v, t.latency24h ? `p50 ${ms(t.latency24h.p50)} · p95 ${ms(t.latency24h.p95)}` : '—');
      setText(
        stats.last.v,
        st.lastCheck
          ? `${ago(toMs(st.lastCheck))}: ${st.ok ? `OK, ${ms(st.ms)}` : (st.error?.message ?? 'failed')}`
          : 'not yet',
      );
      const days = st.detail?.daysLeft ?? st.detail?.certDaysLeft;
      stats.cert.el.hidden = typeof days !== 'number';
      if (typeof days === 'number') setText(stats.cert.v, `expires in ${Math.floor(days)} days`);

      const fails = d.trail.filter((x) => !x.ok).length;
      trailBox.replaceChildren(
        d.trail.length
          ? bars(
              trailItems(d.trail),
              `Last ${d.trail.length} checks: ${fails ? `${fails} failed` : 'all OK'}`,
              trailReadout,
            )
          : h('p', { class: 'muted' }, 'No checks yet.'),
      );

      const list = [...d.incidents].reverse();
      incidents.replaceChildren(
        list.length === 0
          ? h('p', { class: 'muted' }, 'No incidents recorded.')
          : h(
              'table',
              null,
              h(
                'thead',
                null,
                h(
                  'tr',
                  null,
                  ['Started', 'Duration', 'Cause', 'Acknowledged'].map((c) => h('th', { scope: 'col' }, c)),
                ),
              ),
              h(
                'tbody',
                null,
                list.map((i) =>
                  h(
                    'tr',
                    { class: i.end ? '' : 's-down' },
                    h('td', null, time(i.start)),
                    h(
                      'td',
                      null,
                      i.end ? duration(i.end - i.start) : `▼ ongoing, ${duration(Date.now() - i.start)}`,
                    ),
                    h('td', null, i.cause),
                    h('td', null, i.ackedBy ?? ''),
                  ),
                ),
              ),
            ),
      );
      if (Date.now() - chartsAt > CHART_TTL_MS) await loadCharts();
    },
  };
}

// ---------------------------------------------------------------------------

export function speedtestPage(root, ctx) {
  const tile = (label) => {
    const v = h('b', null, '—');
    return { el: h('div', { class: 'stat' }, v, h('span', null, label)), v };
  };
  const tiles = {
    down: tile('↓ download'),
    up: tile('↑ upload'),
    lat: tile('latency'),
    jit: tile('jitter'),
  };
  const meta = h('p', { class: 'muted' });
  let period = '7d';
  let loadedAt = 0;
  const speed = lineChart();
  const lat = lineChart();
  const recent = h('div');

  root.append(
    h('h1', null, 'Speed test'),
    h(
      'section',
      { class: 'summary', 'aria-label': 'Latest result' },
      Object.values(tiles).map((t) => t.el),
    ),
    meta,
    h(
      'div',
      { class: 'section-head' },
      h('h2', null, 'Over time'),
      periodPicker('Speed-test period', period, (p) => {
        period = p;
        loadedAt = 0;
        void load().catch((e) => ctx.notify(e.message, 'error'));
      }),
    ),
    speed.el,
    lat.el,
    h('h2', null, 'Recent results'),
    recent,
  );

  async function load() {
    const now = Date.now();
    const from = new Date(now - PERIODS[period]).toISOString();
    let results = [];
    let missing = false;
    try {
      results = (await api('GET', `/api/speedtests?from=${enc(from)}`)).results ?? [];
    } catch (e) {
      if (e.status !== 404) throw e;
      missing = true;
    }
    loadedAt = now;
    results = results.map((r) => ({ ...r, at: toMs(r.at) })).sort((a, b) => a.at - b.at);
    let latest = results[results.length - 1] ?? null;
    if (!latest && !missing) {
      try {
        latest = (await api('GET', '/api/speedtests/latest')).result ?? null;
        if (latest) latest = { ...latest, at: toMs(latest.at) };
      } catch (e) {
        if (e.status !== 404) throw e;
      }
    }
    setText(tiles.down.v, latest ? mbps(latest.downloadMbps) : '—');
    setText(tiles.up.v, latest ? mbps(latest.uploadMbps) : '—');
    setText(tiles.lat.v, latest ? ms(latest.latencyMs) : '—');
    setText(tiles.jit.v, latest ? ms(latest.jitterMs) : '—');
    setText(
      meta,
      latest
        ? `Latest: ${time(latest.at)} (${ago(latest.at)})${latest.server ? ` against ${latest.server}` : ''}${latest.error ? ` — ${latest.error.message}` : ''}`
        : 'No speed test yet. Run one with “speedtest now” in chat or on the CLI, or set settings.speedtest.schedule.',
    );
    const span = { from: now - PERIODS[period], to: now };
    speed.update({
      ...span,
      series: [
        { label: '↓ download', cls: 's1', points: results.map((r) => [r.at, r.downloadMbps]) },
        { label: '↑ upload', cls: 's2', points: results.map((r) => [r.at, r.uploadMbps]) },
      ],
      format: (v) => `${v >= 10 ? Math.round(v) : +v.toFixed(1)} Mbps`,
      label: `Download and upload over ${period}`,
    });
    lat.update({
      ...span,
      series: [
        { label: 'latency', cls: 's1', points: results.map((r) => [r.at, r.latencyMs]) },
        { label: 'jitter', cls: 's2', points: results.map((r) => [r.at, r.jitterMs]) },
      ],
      format: (v) => ms(v),
      label: `Latency and jitter over ${period}`,
    });
    const last = results.slice(-10).reverse();
    recent.replaceChildren(
      last.length === 0
        ? h('p', { class: 'muted' }, `No results in the last ${period}.`)
        : h(
            'table',
            null,
            h(
              'thead',
              null,
              h(
                'tr',
                null,
                ['Time', 'Download', 'Upload', 'Latency', 'Jitter', 'Note'].map((c) =>
                  h('th', { scope: 'col' }, c),
                ),
              ),
            ),
            h(
              'tbody',
              null,
              last.map((r) =>
                h(
                  'tr',
                  null,
                  h('td', null, time(r.at)),
                  h('td', null, mbps(r.downloadMbps)),
                  h('td', null, mbps(r.uploadMbps)),
                  h('td', null, ms(r.latencyMs)),
                  h('td', null, ms(r.jitterMs)),
                  h('td', null, r.error ? r.error.message : ''),
                ),
              ),
            ),
          ),
    );
  }

  return {
    title: 'Speed test',
    async refresh() {
      if (Date.now() - loadedAt > CHART_TTL_MS) await load();
    },
  };
}
