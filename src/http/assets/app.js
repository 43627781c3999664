// Lookout dashboard: hash routes, the refresh loop, the overview and the forms.
// Plain ES modules served as they are, so a Pi needs no build step.
/* global document, location, window, setTimeout, clearTimeout, URLSearchParams */
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
import { bars } from './charts.js';
import { targetPage, speedtestPage, trailItems } from './pages.js';

const params = new URLSearchParams(location.search);
// Tests and wall displays may set ?refresh=ms; below half a second would only load the Pi.
const REFRESH_MS = Math.max(500, Number(params.get('refresh')) || 10_000);

const $ = (id) => document.getElementById(id);
const main = $('main');

// ---------------------------------------------------------------------------
// Notices: one line under the header for results of actions and lost contact.

let noticeTimer;
function notify(text, kind = 'ok', sticky = false) {
  const el = $('notice');
  clearTimeout(noticeTimer);
  if (!text) {
    el.hidden = true;
    return;
  }
  el.className = `notice ${kind}`;
  el.replaceChildren(
    h('span', null, text),
    h('button', { type: 'button', class: 'link', 'aria-label': 'Dismiss', onclick: () => notify(null) }, '×'),
  );
  el.hidden = false;
  if (!sticky) noticeTimer = setTimeout(() => notify(null), 6000);
}

// ---------------------------------------------------------------------------
// Refresh loop. A generation number drops results of a tick that a newer one
// (route change, action) overtook, so two loops never run side by side.

let page;
let generation = 0;
let timer;
/** When refreshes started failing, or null; the error notice stays until one succeeds. */
let failingSince = null;

async function tick() {
  clearTimeout(timer);
  const gen = ++generation;
  if (document.hidden) return; // visibilitychange resumes; a hidden tab costs the Pi nothing
  try {
    await page.refresh();
    if (gen !== generation) return;
    if (failingSince !== null) notify('Back in contact with Lookout.');
    failingSince = null;
    setText($('updated'), `Updated ${time(Date.now())} · every ${Math.round(REFRESH_MS / 100) / 10} s`);
  } catch (e) {
    if (gen !== generation) return;
    failingSince ??= Date.now();
    const why = e.status === 0 ? 'cannot reach Lookout' : e.message;
    notify(
      `Refresh failing since ${time(failingSince)}: ${why}. Showing the last data; retrying.`,
      'error',
      true,
    );
  }
  timer = setTimeout(tick, REFRESH_MS);
}
document.addEventListener('visibilitychange', () => document.hidden || tick());

const ctx = { notify, refresh: tick, openTargetForm, go: (hash) => (location.hash = hash) };

function route() {
  const hash = location.hash || '#/';
  if (!hash.startsWith('#/')) return;
  const m = /^#\/target\/([^/]+)$/.exec(hash);
  main.replaceChildren();
  page = m
    ? targetPage(main, decodeURIComponent(m[1]), ctx)
    : hash === '#/speedtest'
      ? speedtestPage(main, ctx)
      : overview(main);
  document.title = page.title ? `${page.title} · Lookout` : 'Lookout';
  const section = m ? '' : hash === '#/speedtest' ? 'speedtest' : 'targets';
  for (const a of document.querySelectorAll('[data-nav]'))
    setAttr(a, 'aria-current', a.dataset.nav === section ? 'page' : null);
  tick();
}

// ---------------------------------------------------------------------------
// Overview

const RANK = { down: 0, unknown: 1, up: 2, paused: 3 };
/** Kept across route changes, so going back from a target page keeps the filter. */
const filters = { q: '', status: '', tag: '' };

function overview(root) {
  const tile = (cls, label, onclick) => {
    const value = h('b');
    const el = onclick
      ? h('button', { type: 'button', class: `stat ${cls}`, onclick }, value, h('span', null, label))
      : h('div', { class: `stat ${cls}` }, value, h('span', null, label));
    return { el, value };
  };
  const pick = (status) => () => {
    filters.status = filters.status === status ? '' : status;
    stateSel.value = filters.status;
    apply();
  };
  const tiles = {
    up: tile('s-up', 'up', pick('up')),
    down: tile('s-down', 'down', pick('down')),
    paused: tile('s-paused', 'paused', pick('paused')),
    unknown: tile('s-unknown', 'unknown', pick('unknown')),
    uptime: tile('', 'uptime 24h'),
    incidents: tile('', 'open incidents'),
  };
  const speedValue = h('b', null, '…');
  const speedWhen = h('span', null, 'last speed test');
  const speed = h('a', { class: 'stat', href: '#/speedtest' }, speedValue, speedWhen);
  const summary = h(
    'section',
    { class: 'summary', 'aria-label': 'Summary' },
    Object.values(tiles).map((t) => t.el),
    speed,
  );

  const search = h('input', {
    type: 'search',
    placeholder: 'Search name, address, tag',
    'aria-label': 'Search targets',
    value: filters.q,
    oninput: () => {
      filters.q = search.value.trim().toLowerCase();
      apply();
    },
  });
  const stateSel = h(
    'select',
    { 'aria-label': 'Filter by state', onchange: () => ((filters.status = stateSel.value), apply()) },
    h('option', { value: '' }, 'All states'),
    ['down', 'up', 'paused', 'unknown'].map((st) => h('option', { value: st }, STATUS[st].label)),
  );
  stateSel.value = filters.status;
  const tagSel = h('select', {
    'aria-label': 'Filter by tag',
    onchange: () => ((filters.tag = tagSel.value), apply()),
  });
  const count = h('span', { class: 'count', 'aria-live': 'polite' });
  const list = h('ul', { class: 'cards', 'aria-label': 'Targets' });
  const empty = h('div', { class: 'empty', hidden: true });
  root.append(
    h('h1', { class: 'sr-only' }, 'Targets'),
    summary,
    h('div', { class: 'toolbar' }, search, stateSel, tagSel, count),
    list,
    empty,
  );

  const cards = new Map();
  let targets = [];
  let speedAt = 0;

  function apply() {
    let shown = 0;
    for (const t of targets) {
      const hay = `${t.name} ${t.address} ${t.tags.join(' ')}`.toLowerCase();
      const show =
        (!filters.q || hay.includes(filters.q)) &&
        (!filters.status || t.state.status === filters.status) &&
        (!filters.tag || t.tags.includes(filters.tag));
      const el = cards.get(t.name).el;
      if (el.hidden === show) el.hidden = !show;
      if (show) shown++;
    }
    for (const [k, t] of Object.entries(tiles))
      setAttr(t.el, 'aria-pressed', k in RANK ? filters.status === k : null);
    setText(count, targets.length ? `${shown} of ${targets.length}` : '');
    empty.hidden = targets.length > 0 && shown > 0;
    empty.replaceChildren(
      targets.length === 0
        ? h(
            'p',
            null,
            'No targets yet. Add one with “+ Add target”, in chat (',
            h('code', null, 'add portal https://portal.example.net'),
            ') or in the config file.',
          )
        : h('p', null, 'No target matches the filter.'),
    );
  }

  async function refreshSpeed() {
    // The range query answers 200 with an empty list, where /latest would answer 404 on a fresh install.
    const from = new Date(Date.now() - 48 * 3600e3).toISOString();
    let latest = null;
    try {
      const { results } = await api('GET', `/api/speedtests?from=${enc(from)}`);
      for (const r of results ?? []) if (!latest || toMs(r.at) > toMs(latest.at)) latest = r;
    } catch {
      // speed tests not available: the tile says so below
    }
    setText(speedValue, latest ? `↓ ${mbps(latest.downloadMbps)} ↑ ${mbps(latest.uploadMbps)}` : '—');
    setText(speedWhen, latest ? `speed test ${ago(toMs(latest.at))}` : 'no speed test in 48 h');
  }

  return {
    async refresh() {
      const d = await api('GET', '/api/dashboard');
      const sm = d.summary;
      for (const k of ['up', 'down', 'paused', 'unknown']) {
        setText(tiles[k].value, `${STATUS[k].icon} ${sm[k]}`);
        tiles[k].el.hidden = k === 'unknown' && sm.unknown === 0;
      }
      setText(tiles.uptime.value, pct(sm.uptime24h));
      setText(tiles.incidents.value, String(sm.openIncidents));
      tiles.incidents.el.classList.toggle('s-down', sm.openIncidents > 0);

      targets = d.targets.sort(
        (a, b) => RANK[a.state.status] - RANK[b.state.status] || a.name.localeCompare(b.name),
      );
      const names = new Set(targets.map((t) => t.name));
      for (const [n, c] of cards)
        if (!names.has(n)) {
          c.el.remove();
          cards.delete(n);
        }
      for (const t of targets) {
        if (!cards.has(t.name)) cards.set(t.name, card(t.name));
        cards.get(t.name).update(t, d.now);
      }
      // Move nodes only when the order changed: moving one drops its keyboard focus.
      const order = targets.map((t) => cards.get(t.name).el);
      if (order.some((el, i) => list.children[i] !== el)) list.append(...order);

      const tags = [...new Set(targets.flatMap((t) => t.tags))].sort();
      if (tagSel.dataset.tags !== tags.join(',')) {
        tagSel.dataset.tags = tags.join(',');
        tagSel.replaceChildren(
          h('option', { value: '' }, 'All tags'),
          tags.map((t) => h('option', { value: t }, `#${t}`)),
        );
        if (!tags.includes(filters.tag)) filters.tag = '';
        tagSel.value = filters.tag;
      }
      tagSel.hidden = tags.length === 0;
      apply();
      if (Date.now() - speedAt > 60_000) {
        speedAt = Date.now();
        await refreshSpeed();
      }
    },
  };
}

/** One target card, built once and then updated in place on every refresh. */
function card(name) {
  const badge = h('span', { class: 'badge' });
  const upValue = h('span');
  const upMore = h('span', { class: 'more' });
  const uptime = h(
    'details',
    { class: 'uptime' },
    h('summary', null, upValue, h('small', null, ' 24h')),
    upMore,
  );
  const latency = h('span', { class: 'latency' });
  const cert = h('span', { class: 'cert' });
  const trail = h('div', { class: 'trail' });
  const readout = h('p', { class: 'readout' });
  const note = h('p', { class: 'note' });
  const tags = h('div', { class: 'tags' });
  const el = h(
    'li',
    { class: 'card', 'data-name': name },
    h(
      'div',
      { class: 'head' },
      h('span', { class: 'dot', 'aria-hidden': 'true' }),
      h('a', { class: 'name', href: `#/target/${enc(name)}` }, name),
      badge,
    ),
    h('div', { class: 'addr' }),
    h('div', { class: 'metrics' }, uptime, latency, cert),
    trail,
    readout,
    note,
    tags,
  );
  const addr = el.querySelector('.addr');
  let trailKey = '';
  let tagKey = null;

  return {
    el,
    update(t, now) {
      const st = t.state;
      setAttr(el, 'class', `card s-${st.status}`);
      setText(badge, `${STATUS[st.status].icon} ${STATUS[st.status].label}`);
      setAttr(badge, 'title', `${STATUS[st.status].label} since ${time(st.since)}`);
      setText(addr, t.address ? `${t.kind} · ${t.address}` : `${t.kind} · heartbeat`);
      setText(upValue, pct(t.uptime['24h']));
      const more = `7d ${pct(t.uptime['7d'])} · 30d ${pct(t.uptime['30d'])}`;
      setText(upMore, more);
      setAttr(uptime, 'title', `Uptime 24h ${pct(t.uptime['24h'])} · ${more}`);
      const lat = t.latency24h;
      // A push target's "duration" is time since the last beat, not a latency.
      latency.hidden = t.kind === 'push';
      setText(latency, lat ? `p50 ${ms(lat.p50)}` : st.ms !== null ? ms(st.ms) : '');
      setAttr(
        latency,
        'title',
        lat ? `Latency over 24h: p50 ${ms(lat.p50)}, p95 ${ms(lat.p95)}` : 'Last check',
      );
      const days = st.certDaysLeft;
      cert.hidden = days === null;
      if (days !== null) {
        setText(cert, `🔒 cert ${Math.floor(days)} d`);
        setAttr(cert, 'class', days <= 14 ? 'cert warn' : 'cert');
        setAttr(cert, 'title', `Certificate expires in ${Math.floor(days)} days`);
      }
      const key = t.trail.length ? `${t.trail.length}:${t.trail[t.trail.length - 1][0]}` : '';
      if (key !== trailKey) {
        trailKey = key;
        // [epochSeconds, ms] or, failed, [epochSeconds, ms, code]: see /api/dashboard.
        const samples = t.trail.map(([s, v, code]) => ({ t: s * 1000, ms: v, ok: code === undefined, code }));
        const fails = samples.filter((x) => !x.ok).length;
        trail.replaceChildren(
          samples.length
            ? bars(
                trailItems(samples),
                `Last ${samples.length} checks: ${fails ? `${fails} failed` : 'all OK'}`,
                readout,
              )
            : h('span', { class: 'muted' }, 'no checks yet'),
        );
      }
      let text = '';
      if (st.status === 'down' && t.incident)
        text = `Down for ${duration(now - t.incident.start)}: ${t.incident.cause}${t.incident.ackedBy ? ` (acknowledged by ${t.incident.ackedBy})` : ''}`;
      else if (st.status === 'paused')
        text = t.pausedUntil ? `Paused until ${time(t.pausedUntil)}` : 'Paused until resumed';
      else if (st.status === 'unknown') text = 'Waiting for enough checks to decide';
      else if (st.error) text = `Last check failed: ${st.error.message}`;
      setText(note, text);
      note.hidden = !text;
      const tk = t.tags.join(',');
      if (tk !== tagKey) {
        tagKey = tk;
        tags.replaceChildren(...t.tags.map((g) => h('span', { class: 'tag' }, `#${g}`)));
      }
    },
  };
}

// ---------------------------------------------------------------------------
// Forms: the token and add/edit. The server validates; its message is shown as is.

const FIELDS = [
  'address',
  'kind',
  'interval',
  'tags',
  'timeout',
  'failThreshold',
  'recoverThreshold',
  'keyword',
  'accept',
  'dependsOn',
];

function openTokenDialog() {
  $('token-input').value = '';
  $('token-input').placeholder = store.get('token') ? 'a token is saved; type to replace it' : '';
  $('token-forget').hidden = !store.get('token');
  $('token-dialog').showModal();
}

$('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const v = $('token-input').value.trim();
  if (v) {
    store.set('token', v);
    notify('API token saved in this browser.');
  }
  $('token-dialog').close();
});
$('token-forget').addEventListener('click', () => {
  store.set('token', null);
  notify('API token removed from this browser.');
  $('token-dialog').close();
});

let editing = null; // the target being edited, or null when adding

/** Opens the add form, or the edit form prefilled from `target` (the API's Target view). */
function openTargetForm(target = null) {
  editing = target;
  const form = $('target-form');
  form.reset();
  setText($('target-title'), target ? `Edit ${target.name}` : 'Add target');
  setText($('f-submit'), target ? 'Save' : 'Add');
  $('f-name').readOnly = !!target;
  if (target) {
    $('f-name').value = target.name;
    for (const f of FIELDS) $(`f-${f}`).value = fieldValue(target, f);
  }
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  setText($('f-error'), '');
  $('f-token-row').hidden = !!store.get('token');
  $('target-dialog').showModal();
  (target ? $('f-address') : $('f-name')).focus();
}

function fieldValue(t, f) {
  const v = t[f];
  if (v === undefined || v === null) return '';
  return Array.isArray(v) ? v.join(', ') : String(v);
}

$('target-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const err = $('f-error');
  setText(err, '');
  const token = $('f-token').value.trim();
  if (token) store.set('token', token);
  const body = {};
  if (!editing) body.name = $('f-name').value.trim();
  for (const f of FIELDS) {
    const v = $(`f-${f}`).value.trim();
    // Edit sends what changed (an emptied field too, so the server can say it cannot be empty).
    if (editing ? v !== fieldValue(editing, f) : v !== '') body[f] = v;
  }
  const submit = $('f-submit');
  submit.disabled = true;
  try {
    const name = editing?.name;
    const r = editing
      ? Object.keys(body).length
        ? await api('PATCH', `/api/targets/${enc(name)}`, body)
        : null
      : await api('POST', '/api/targets', body);
    $('target-dialog').close();
    if (r?.pushUrl) notify(`Added ${r.target.name}. Send heartbeats to ${r.pushUrl}`, 'ok', true);
    else notify(editing ? `Saved ${name}.` : `Added ${r.target.name}.`);
    await tick();
  } catch (e) {
    setText(err, e.message);
    if (e.status === 401 || e.status === 403) $('f-token-row').hidden = false;
    // Point at the field the message names ("interval must be at least 5 seconds").
    const key = /^(\w+)/.exec(e.message)?.[1];
    const input = key && $(`f-${key}`);
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      input.closest('details')?.setAttribute('open', '');
      input.focus();
    }
  } finally {
    submit.disabled = false;
  }
});

for (const b of document.querySelectorAll('[data-close]'))
  b.addEventListener('click', () => b.closest('dialog').close());

// ---------------------------------------------------------------------------
// Theme: follows the system until chosen; the choice is kept in local storage.

const THEMES = ['auto', 'dark', 'light'];
function showTheme() {
  const t = document.documentElement.dataset.theme ?? 'auto';
  const label = { auto: '◐ Auto', dark: '☾ Dark', light: '☀ Light' }[t];
  const next = THEMES[(THEMES.indexOf(t) + 1) % THEMES.length];
  setText($('theme-btn'), label);
  setAttr($('theme-btn'), 'aria-label', `Theme: ${label.slice(2)}`);
  setAttr($('theme-btn'), 'title', `Theme: ${t === 'auto' ? 'follows the system' : t}. Click for ${next}.`);
}
$('theme-btn').addEventListener('click', () => {
  const cur = document.documentElement.dataset.theme ?? 'auto';
  const next = THEMES[(THEMES.indexOf(cur) + 1) % THEMES.length];
  if (next === 'auto') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = next;
  store.set('theme', next === 'auto' ? null : next);
  showTheme();
});
showTheme();

$('add-btn').addEventListener('click', () => openTargetForm());
$('token-btn').addEventListener('click', openTokenDialog);
// The skip link would otherwise become a route.
$('skip').addEventListener('click', (ev) => {
  ev.preventDefault();
  main.focus();
});
window.addEventListener('hashchange', route);
route();
