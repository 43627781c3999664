// DOM, formatting and API helpers shared by the dashboard's pages.
// Every string that came from a server goes into the page as a text node or an
// attribute value, never as markup: target errors quote remote servers verbatim.
/* global document, localStorage, fetch */

/** `h('a', { class: 'x', href, onclick }, 'text', child)`; null/false children are skipped. */
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

const SVG_NS = 'http://www.w3.org/2000/svg';
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

function build(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'object' ? c : String(c));
  }
  return el;
}

/** Sets text only when it changed, so a refresh does not disturb selection or screen readers. */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

export function setAttr(el, name, value) {
  if (value === null || value === undefined) el.removeAttribute(name);
  else if (el.getAttribute(name) !== String(value)) el.setAttribute(name, String(value));
}

// ---------------------------------------------------------------------------
// Formatting

/** Uptime never rounds up to 100%: 0.99996 is 99.99%, so a perfect score means perfect. */
export function pct(x) {
  if (x === null || x === undefined) return '—';
  const p = x * 100;
  if (p >= 100) return '100%';
  return `${(Math.floor(p * 100) / 100).toFixed(p >= 99 ? 2 : 1)}%`;
}

export function ms(v) {
  if (v === null || v === undefined) return '—';
  if (v >= 1000) return `${(v / 1000).toFixed(v >= 10000 ? 0 : 1)} s`;
  return `${v < 10 ? +v.toFixed(1) : Math.round(v)} ms`;
}

export function mbps(v) {
  if (v === null || v === undefined) return '—';
  return `${v >= 100 ? Math.round(v) : v.toFixed(1)} Mbps`;
}

export function duration(d) {
  const sec = Math.max(0, Math.round(d / 1000));
  if (sec < 60) return `${sec} s`;
  const min = Math.floor(sec / 60);
  if (min < 60) return `${min} min`;
  const hr = Math.floor(min / 60);
  if (hr < 48) return min % 60 ? `${hr} h ${min % 60} min` : `${hr} h`;
  const days = Math.floor(hr / 24);
  return hr % 24 ? `${days} d ${hr % 24} h` : `${days} d`;
}

export const ago = (t, now = Date.now()) => `${duration(now - t)} ago`;

export function time(t) {
  const d = new Date(t);
  const today = new Date().toDateString() === d.toDateString();
  return today
    ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
    : d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

/** Times arrive as epoch ms or ISO strings depending on the route. */
export const toMs = (v) => (typeof v === 'number' ? v : Date.parse(v));

export const STATUS = {
  up: { icon: '▲', label: 'Up' },
  down: { icon: '▼', label: 'Down' },
  paused: { icon: '‖', label: 'Paused' },
  unknown: { icon: '?', label: 'Unknown' },
};

// ---------------------------------------------------------------------------
// Storage. Private browsing can make localStorage throw; the page still works.

export const store = {
  get(key) {
    try {
      return localStorage.getItem(`lookout.${key}`);
    } catch {
      return null;
    }
  },
  set(key, value) {
    try {
      if (value === null || value === '') localStorage.removeItem(`lookout.${key}`);
      else localStorage.setItem(`lookout.${key}`, value);
    } catch {
      // not persisted; the value still applies to this page
    }
  },
};

// ---------------------------------------------------------------------------
// API

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * Reads go without the token (they are open); only mutations carry it, and only
 * in the Authorization header, so it never lands in a URL, a log or a Referer.
 */
export async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (method !== 'GET') {
    const token = store.get('token');
    if (token) headers.authorization = `Bearer ${token}`;
  }
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'cannot reach Lookout');
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // a proxy's HTML error page: fall through to the status line
  }
  if (!res.ok) throw new ApiError(res.status, data?.error ?? `HTTP ${res.status} ${res.statusText}`);
  return data;
}

export const enc = encodeURIComponent;
