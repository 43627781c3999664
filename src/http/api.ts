/** The JSON API over the monitor (SPEC §6). Shapes are documented in the README. */
import type { Monitor } from '../monitor.js';
import type { Target } from '../core/types.js';
import { parseOrThrow, TargetInputSchema, TargetPatchSchema } from '../schema.js';
import { HttpError, readJson, requireToken } from './router.js';
import type { Router } from './router.js';
import { UsageError } from '../core/errors.js';

export const WINDOWS = {
  '24h': 86400e3,
  '7d': 7 * 86400e3,
  '30d': 30 * 86400e3,
  '90d': 90 * 86400e3,
} as const;
export type WindowName = keyof typeof WINDOWS;

/** A target as the API shows it: settings, live state, 24h uptime. The push token is never listed. */
export function targetView(m: Monitor, t: Target, windows: WindowName[] = ['24h']) {
  const { pushToken: _secret, ...settings } = t;
  const s = m.state(t.name);
  const now = m.now();
  const uptime: Record<string, number | null> = {};
  let latency: { p50: number; p95: number } | null = null;
  for (const w of windows) {
    const st = m.history.stats(t.name, now - WINDOWS[w], now, now);
    uptime[w] = st.uptime;
    if (w === '24h' && st.latency) latency = { p50: st.latency.p50, p95: st.latency.p95 };
  }
  const incident = m.openIncident(t.name);
  return {
    ...settings,
    state: {
      status: s.status,
      since: new Date(s.since).toISOString(),
      lastCheck: s.lastResult ? new Date(s.lastResult.at).toISOString() : null,
      ok: s.lastResult?.ok ?? null,
      ms: s.lastResult?.ms ?? null,
      error: s.lastResult?.error ?? null,
      detail: s.lastResult?.detail ?? {},
      warnings: s.lastResult?.warnings ?? [],
    },
    uptime,
    latency24h: latency,
    incident: incident ?? null,
  };
}

export interface ApiOptions {
  monitor: Monitor;
  apiToken: string | undefined;
  /** Base URL used to print push URLs; default derived from the request's Host header. */
  publicUrl?: string;
}

export function registerApi(router: Router, o: ApiOptions): void {
  const { monitor: m } = o;
  const pushUrl = (req: { raw: { headers: Record<string, string | string[] | undefined> } }, token: string) =>
    `${o.publicUrl ?? `http://${String(req.raw.headers.host ?? 'localhost')}`}/push/${token}`;

  router.on('GET', '/api/targets', (req) => {
    const tag = req.url.searchParams.get('tag') ?? undefined;
    return { targets: m.list(tag).map((t) => targetView(m, t)) };
  });

  router.on('GET', '/api/targets/:name', (req) => {
    const t = m.get(req.params.name as string);
    return {
      target: targetView(m, t, ['24h', '7d', '30d', '90d']),
      trail: m.history.trail(t.name, 60),
      incidents: m.incidents(t.name).slice(-20),
    };
  });

  router.on('POST', '/api/targets', async (req) => {
    requireToken(req.raw, o.apiToken);
    const body = await readJson(req.raw);
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      throw new UsageError('send a JSON object like {"name": "web", "address": "https://example.com"}');
    const input = parseOrThrow(TargetInputSchema, body);
    const t = await m.add(input, 'api');
    req.res.statusCode = 201;
    const view: Record<string, unknown> = { target: targetView(m, t) };
    if (t.pushToken) view.pushUrl = pushUrl(req, t.pushToken);
    return view;
  });

  router.on('PATCH', '/api/targets/:name', async (req) => {
    requireToken(req.raw, o.apiToken);
    const body = await readJson(req.raw);
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      throw new UsageError('send a JSON object of the settings to change, e.g. {"interval": 30}');
    if ('name' in body) throw new UsageError('a target cannot be renamed; remove it and add it again');
    const patch = parseOrThrow(TargetPatchSchema, body);
    const t = await m.edit(req.params.name as string, patch);
    return { target: targetView(m, t) };
  });

  router.on('DELETE', '/api/targets/:name', async (req) => {
    requireToken(req.raw, o.apiToken);
    const t = await m.remove(req.params.name as string);
    return { removed: t.name };
  });

  router.on('POST', '/api/targets/:name/pause', async (req) => {
    requireToken(req.raw, o.apiToken);
    const minutes = Number(req.url.searchParams.get('minutes') ?? '');
    if (req.url.searchParams.has('minutes') && !(minutes > 0))
      throw new HttpError(400, 'minutes must be a positive number');
    const until = minutes > 0 ? m.now() + minutes * 60e3 : undefined;
    return { target: targetView(m, await m.pause(req.params.name as string, until)) };
  });

  router.on('POST', '/api/targets/:name/resume', async (req) => {
    requireToken(req.raw, o.apiToken);
    return { target: targetView(m, await m.resume(req.params.name as string)) };
  });
}
