/**
 * The domain model shared by every part of Lookout. Pure types and constants:
 * this file imports nothing, so checks, store, channels and commands can all
 * depend on it without depending on each other.
 */

export const KINDS = ['ping', 'http', 'tcp', 'tls', 'dns', 'push'] as const;
export type Kind = (typeof KINDS)[number];

export const DNS_RECORD_TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'TXT'] as const;
export type DnsRecordType = (typeof DNS_RECORD_TYPES)[number];

/** Where a target was defined: the config file owns its targets, the others live in the data file. */
export type TargetSource = 'config' | 'chat' | 'api';

/** A monitored target, fully defaulted. Times are seconds unless named `…Ms` or `…At` (epoch ms). */
export interface Target {
  name: string;
  kind: Kind;
  /** URL, host, host:port; empty for `push`. */
  address: string;
  /** Seconds between checks. Default 60, minimum 5. */
  interval: number;
  /** Seconds a single check may take. Default min(10, interval). */
  timeout: number;
  /** Consecutive failures before DOWN. Default 3. */
  failThreshold: number;
  /** Consecutive successes before UP again. Default 1. */
  recoverThreshold: number;
  /** Seconds between re-checks while failing; default: `interval`. */
  retryInterval?: number;
  tags: string[];
  dependsOn?: string;
  notify?: { email?: string[]; channels?: string[] };
  /** Paused (maintenance). `pausedUntil` (epoch ms) ends it automatically; absent = until resumed. */
  paused?: boolean;
  pausedUntil?: number;

  // http
  /** Accepted status codes, e.g. "200-399" or "200,204,301-302". Default "200-399". */
  accept?: string;
  /** Body must contain this text. */
  keyword?: string;
  /** Body must match this regular expression (JavaScript syntax). */
  regex?: string;
  /** Redirects followed before giving up. Default 5. */
  maxRedirects?: number;
  /** Slower than this (ms) is a failure for http targets… */
  maxResponseMs?: number;
  /** …and slower than this (ms) raises a "slow" warning. */
  slowMs?: number;
  method?: 'GET' | 'HEAD' | 'POST';

  // dns
  recordType?: DnsRecordType;
  /** Expected value among the answers (dns). */
  expect?: string;
  /** Resolver "ip[:port]" (dns); default: the system's. */
  resolver?: string;

  // ping
  /** Echo requests per check. Default 3. */
  pings?: number;
  /** Replies needed for UP. Default 1. */
  minReplies?: number;

  // push
  /** Secret path token for /push/<token>. */
  pushToken?: string;
  /** Extra seconds after `interval` before a missing beat counts. Default 60. */
  grace?: number;

  source: TargetSource;
  createdAt: number;
}

/** A stable machine-readable failure reason plus a message a person can act on. */
export interface CheckError {
  code: string;
  message: string;
}

/**
 * What every check returns. A host being down is data, not an exception.
 * `detail` holds kind-specific measurements (status, dns/connect/tls/ttfb ms,
 * rtt, loss, daysLeft, issuer…), flat so it can be stored and shown as is.
 */
export interface CheckResult {
  ok: boolean;
  /** Headline duration in ms (total time, rtt avg, connect time…). */
  ms: number;
  /** Epoch ms when the check finished. */
  at: number;
  detail: Record<string, string | number | boolean | undefined>;
  error?: CheckError;
  /** Non-fatal findings, e.g. `cert-expiry-14`, `slow`. */
  warnings?: string[];
  /** No verdict yet (a push target before its first beat is due): the state stays as it is. */
  pending?: boolean;
}

export type Status = 'unknown' | 'up' | 'down' | 'paused';

/** Per-target live state, persisted so a restart resumes where it stopped. */
export interface TargetState {
  status: Status;
  /** Epoch ms of the last status change. */
  since: number;
  fails: number;
  oks: number;
  lastResult?: CheckResult;
  /** Open incident id while DOWN. */
  incidentId?: string;
}

/** One status change: the record behind incidents and alerts. */
export interface Flip {
  target: string;
  from: Status;
  to: Status;
  at: number;
  /** Error message or "recovered" etc. */
  reason: string;
}

export interface Incident {
  id: string;
  target: string;
  start: number;
  end?: number;
  cause: string;
  /** Short error code of the cause, e.g. `timeout`. */
  code?: string;
  ackedBy?: string;
  ackedAt?: number;
}

/** Thresholds the state machine needs, taken from a target. */
export interface StatePolicy {
  failThreshold: number;
  recoverThreshold: number;
}

export type Clock = () => number;
