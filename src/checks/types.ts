import type { CheckResult, Clock, Kind, Target } from '../core/types.js';

/** What a check may use besides its target. */
export interface CheckContext {
  now: Clock;
  /** Aborts the check (shutdown). The check's own timeout comes from `target.timeout`. */
  signal?: AbortSignal;
}

/**
 * One check kind. `run` must never throw for a target that is down: it returns
 * `{ ok: false, error: { code, message } }`. Kinds that are cheaper in bulk
 * (ping through one fping process) also implement `runBatch`; the scheduler
 * hands them every target of that kind that is due in the same second.
 */
export interface Check {
  readonly kind: Kind;
  run(target: Target, ctx: CheckContext): Promise<CheckResult>;
  runBatch?(targets: Target[], ctx: CheckContext): Promise<Map<string, CheckResult>>;
}

/** Builds a failed result; `ms` is how long it took to fail. */
export function failed(
  at: number,
  ms: number,
  code: string,
  message: string,
  detail: CheckResult['detail'] = {},
): CheckResult {
  return { ok: false, ms, at, detail, error: { code, message } };
}
