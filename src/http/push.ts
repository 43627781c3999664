/** `GET|POST /push/<token>`: heartbeats for push targets (SPEC §6). */
import type { Monitor } from '../monitor.js';
import type { Scheduler } from '../scheduler.js';
import type { PushBeats, Beat } from '../checks/index.js';
import { HttpError } from './router.js';
import type { Router, Req } from './router.js';

export function registerPush(
  router: Router,
  o: { monitor: Monitor; beats: PushBeats; scheduler: Scheduler },
): void {
  const handle = (req: Req) => {
    const t = o.monitor.byPushToken(req.params.token as string);
    // The same answer for every unknown token: nothing about which targets exist leaks.
    if (!t) throw new HttpError(404, 'not found');
    const q = req.url.searchParams;
    const status = (q.get('status') ?? 'up').toLowerCase();
    if (status !== 'up' && status !== 'down') throw new HttpError(400, 'status must be up or down');
    const beat: Beat = { at: o.monitor.now(), ok: status === 'up' };
    const msg = q.get('msg');
    if (msg) beat.msg = msg.slice(0, 300);
    const ms = Number(q.get('ms'));
    if (q.has('ms') && Number.isFinite(ms) && ms >= 0) beat.ms = ms;
    o.beats.record(t.name, beat);
    // Evaluate now so a beat (or a reported failure) shows up at once, not at the next slot.
    if (!t.paused) o.scheduler.runNow(t.name);
    return { ok: true };
  };
  router.on('GET', '/push/:token', handle);
  router.on('POST', '/push/:token', handle);
}
