/**
 * When slow speed tests become an alert. Pure: history and the previous state in,
 * the next state and at most one message out, so the caller persists the state
 * and a restart does not alert twice.
 *
 * Rules, over the last `window` (N) results that did not fail:
 * - a result breaches when any configured limit is crossed;
 * - an episode opens when at least `breaches` (M) of them breach and the newest
 *   does: one `breach` message, then silence while it lasts;
 * - it closes when fewer than M breach and the newest is healthy: one `healthy`
 *   message. The gap between the two conditions keeps a borderline link from flapping.
 * A result with `error` is skipped entirely: a test that could not run says
 * nothing about the link's speed (an unreachable server is the http/ping checks' job).
 */
import type { SpeedtestResult } from './types.js';

export interface SpeedPolicy {
  /** Download below this (Mbps) breaches. Default: no absolute floor. */
  minDownloadMbps?: number;
  /** Upload below this (Mbps) breaches. Default: no absolute floor. */
  minUploadMbps?: number;
  /** Contracted download (Mbps); below `minPercentOfPlan` % of it breaches. Default: none. */
  planDownloadMbps?: number;
  /** Contracted upload (Mbps); below `minPercentOfPlan` % of it breaches. Default: none. */
  planUploadMbps?: number;
  /** Share of the plan that still counts as healthy, in %. Default 80. */
  minPercentOfPlan?: number;
  /** Idle latency above this (ms) breaches. Default: no limit. */
  maxLatencyMs?: number;
  /** M: breaching results among the last N that open an episode; at most N. Default 3. */
  breaches?: number;
  /** N: how many recent results are looked at. Default 5. */
  window?: number;
}

export interface SpeedAlertState {
  breaching: boolean;
  /** `at` of the first breaching result of the open episode, for "slow for 2h" in the recovery. */
  since?: number;
}

export interface SpeedAlertMessage {
  kind: 'breach' | 'healthy';
  /** One line for chat, e.g. `Speed tests below thresholds in 3 of the last 5: download 41 Mbps is below …`. */
  text: string;
  /** What was wrong with the newest result, one line each; empty for `healthy`. */
  reasons: string[];
}

/** Why `result` breaches `policy`, one line per metric; empty when it is within limits. */
export function speedBreaches(result: SpeedtestResult, policy: SpeedPolicy): string[] {
  const percent = policy.minPercentOfPlan ?? 80;
  const reasons: string[] = [];
  const floor = (label: string, value: number, min?: number, plan?: number) => {
    const fromPlan = plan === undefined ? undefined : (plan * percent) / 100;
    if (min === undefined && fromPlan === undefined) return;
    // With both limits set, the higher one decides and is the one worth naming.
    const usePlan = fromPlan !== undefined && (min === undefined || fromPlan >= min);
    const limit = usePlan ? (fromPlan ?? 0) : (min ?? 0);
    if (value >= limit) return;
    const why = usePlan ? `${fmt(percent)}% of the ${fmt(plan ?? 0)} Mbps plan` : 'the minimum';
    reasons.push(`${label} ${fmt(value)} Mbps is below ${fmt(limit)} Mbps (${why})`);
  };
  floor('download', result.downloadMbps, policy.minDownloadMbps, policy.planDownloadMbps);
  floor('upload', result.uploadMbps, policy.minUploadMbps, policy.planUploadMbps);
  if (policy.maxLatencyMs !== undefined && result.latencyMs > policy.maxLatencyMs) {
    reasons.push(`latency ${fmt(result.latencyMs)} ms is above ${fmt(policy.maxLatencyMs)} ms`);
  }
  return reasons;
}

/**
 * Decides on the newest result of `history` (oldest first). Calling it again with
 * the state it returned and no new result never produces a second message.
 */
export function evaluateSpeedThresholds(
  history: readonly SpeedtestResult[],
  policy: SpeedPolicy,
  prev: SpeedAlertState,
): SpeedAlertState & { message?: SpeedAlertMessage } {
  const size = Math.max(1, Math.floor(policy.window ?? 5));
  const needed = Math.min(size, Math.max(1, Math.floor(policy.breaches ?? 3)));
  const recent = history.filter((r) => r.error === undefined).slice(-size);
  const newest = recent.at(-1);
  if (newest === undefined) return keep(prev);

  const verdicts = recent.map((r) => ({ result: r, reasons: speedBreaches(r, policy) }));
  const bad = verdicts.filter((v) => v.reasons.length > 0);
  const newestReasons = verdicts.at(-1)?.reasons ?? [];

  if (!prev.breaching) {
    if (bad.length < needed || newestReasons.length === 0) return { breaching: false };
    return {
      breaching: true,
      since: bad[0]?.result.at ?? newest.at,
      message: {
        kind: 'breach',
        text: `Speed tests below thresholds in ${bad.length} of the last ${recent.length}: ${newestReasons.join('; ')}`,
        reasons: newestReasons,
      },
    };
  }

  if (bad.length >= needed || newestReasons.length > 0) return keep(prev);
  const lasted = prev.since === undefined ? '' : ` after ${duration(newest.at - prev.since)}`;
  return {
    breaching: false,
    message: {
      kind: 'healthy',
      text:
        `Speed tests healthy again${lasted}: download ${fmt(newest.downloadMbps)} Mbps, ` +
        `upload ${fmt(newest.uploadMbps)} Mbps, latency ${fmt(newest.latencyMs)} ms`,
      reasons: [],
    },
  };
}

/** The state alone: a caller handing back the whole previous answer must not get its message again. */
function keep(prev: SpeedAlertState): SpeedAlertState {
  return prev.since === undefined
    ? { breaching: prev.breaching }
    : { breaching: prev.breaching, since: prev.since };
}

/** Up to two decimals, no trailing zeros (80, 41.3, 49.99): never "50 is below 50". */
function fmt(x: number): string {
  return String(Math.round(x * 100) / 100);
}

/** `2h 10m`, `45m`, `30s`: the two largest units are plenty for an alert. */
function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const parts: Array<[number, string]> = [
    [Math.floor(s / 86_400), 'd'],
    [Math.floor((s % 86_400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
    [s % 60, 's'],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  if (first === -1) return '0s';
  return parts
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, unit]) => `${n}${unit}`)
    .join(' ');
}
