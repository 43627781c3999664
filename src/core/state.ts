import type { CheckResult, Flip, StatePolicy, TargetState } from './types.js';

export function initialState(now: number): TargetState {
  return { status: 'unknown', since: now, fails: 0, oks: 0 };
}

/**
 * The state machine: one check result in, the next state and an optional flip out.
 * DOWN after `failThreshold` consecutive failures, UP after `recoverThreshold`
 * consecutive successes. A target in `unknown` goes UP on its first success
 * (there is nothing to recover from) but needs the full threshold to go DOWN.
 * Paused targets are not fed here: pausing and resuming are explicit transitions.
 */
export function next(
  state: TargetState,
  result: CheckResult,
  policy: StatePolicy,
  now: number,
  name = '',
): { state: TargetState; flip?: Flip } {
  if (result.pending) return { state: { ...state, lastResult: result } };
  const fails = result.ok ? 0 : state.fails + 1;
  const oks = result.ok ? state.oks + 1 : 0;
  const base: TargetState = { ...state, fails, oks, lastResult: result };

  let to = state.status;
  if (state.status === 'paused') return { state: base };
  if (!result.ok && state.status !== 'down' && fails >= policy.failThreshold) to = 'down';
  if (result.ok && state.status === 'unknown') to = 'up';
  if (result.ok && state.status === 'down' && oks >= policy.recoverThreshold) to = 'up';

  if (to === state.status) return { state: base };
  const reason = to === 'down' ? (result.error?.message ?? 'check failed') : 'recovered';
  return {
    state: { ...base, status: to, since: now },
    flip: { target: name, from: state.status, to, at: now, reason },
  };
}

/** Pausing is explicit; it keeps counters so resume re-evaluates from scratch. */
export function pause(state: TargetState, now: number, name = ''): { state: TargetState; flip?: Flip } {
  if (state.status === 'paused') return { state };
  return {
    state: { ...state, status: 'paused', since: now, fails: 0, oks: 0 },
    flip: { target: name, from: state.status, to: 'paused', at: now, reason: 'paused' },
  };
}

/** Resuming goes back to `unknown`: the next checks decide, and unknown → up never alerts. */
export function resume(state: TargetState, now: number, name = ''): { state: TargetState; flip?: Flip } {
  if (state.status !== 'paused') return { state };
  return {
    state: { ...state, status: 'unknown', since: now, fails: 0, oks: 0 },
    flip: { target: name, from: 'paused', to: 'unknown', at: now, reason: 'resumed' },
  };
}
