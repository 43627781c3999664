/**
 * Push (heartbeat) checks: the monitored job calls `/push/<token>` and this
 * check only judges how fresh the last beat is. It performs no I/O; the HTTP
 * route records beats in whatever implements {@link BeatLog}.
 */
import { randomBytes } from 'node:crypto';
import { formatDuration } from '../core/duration.js';
import type { CheckResult } from '../core/types.js';
import { failed } from './types.js';
import type { Check } from './types.js';

/** One heartbeat as recorded by the push route. */
export interface Beat {
  /** Epoch ms it arrived. */
  at: number;
  /** false when the job reported a failure (`?status=down`). */
  ok: boolean;
  /** The job's own message (`?msg=`). */
  msg?: string;
  /** The job's own duration (`?ping=`), when it sent one. */
  ms?: number;
}

/** Where the last beat per target name is read from. */
export interface BeatLog {
  last(name: string): Beat | undefined;
}

/** Extra seconds after `interval` before a missing beat counts, when the target sets none. */
export const DEFAULT_PUSH_GRACE_S = 60;

/** A secret for `/push/<token>`: 192 random bits, URL-safe base64 (32 characters). */
export function newPushToken(): string {
  return randomBytes(24).toString('base64url');
}

/** `60s`, `90s`, then `5m`, `1h`: short intervals read better in seconds. */
function every(intervalS: number): string {
  return intervalS < 120 ? `${intervalS}s` : formatDuration(intervalS * 1000);
}

/**
 * The push check. `startedAt` is when this process began listening: beats sent
 * while Lookout was down were lost, so silence is measured from the latest of
 * the last beat, the start-up and the target's creation.
 */
export function createPushCheck(beats: BeatLog, startedAt: number): Check {
  return {
    kind: 'push',
    run(target, ctx) {
      const now = ctx.now();
      const windowMs = (target.interval + (target.grace ?? DEFAULT_PUSH_GRACE_S)) * 1000;
      const last = beats.last(target.name);
      const sinceLastMs = last === undefined ? undefined : Math.max(0, now - last.at);
      const quietSince = Math.max(last?.at ?? -Infinity, startedAt, target.createdAt);
      const detail: CheckResult['detail'] = { sinceLastMs };

      let result: CheckResult;
      if (now - quietSince > windowMs) {
        const silence =
          last === undefined ? 'no heartbeat yet' : `no heartbeat for ${formatDuration(now - last.at)}`;
        result = failed(
          now,
          0,
          'push_missed',
          `${silence} (expected every ${every(target.interval)})`,
          detail,
        );
      } else if (last === undefined) {
        // Still inside the first window: nothing is late yet.
        result = { ok: true, pending: true, ms: 0, at: now, detail: { ...detail, awaitingFirstBeat: true } };
      } else if (!last.ok) {
        const said = last.msg?.trim();
        result = failed(
          now,
          last.ms ?? 0,
          'push_failure',
          said ? `the job reported a failure: ${said}` : 'the job reported a failure without a message',
          detail,
        );
      } else {
        result = { ok: true, ms: last.ms ?? 0, at: now, detail };
      }
      return Promise.resolve(result);
    },
  };
}
