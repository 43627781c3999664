/**
 * Speed-test shapes shared by the client, the threshold policy and whoever stores
 * or shows results. A result is flat, numbers only, so it is stored as is.
 */
import type { Clock } from '../core/types.js';

export const SPEEDTEST_PROTOCOLS = ['cloudflare', 'librespeed'] as const;
export type SpeedtestProtocol = (typeof SPEEDTEST_PROTOCOLS)[number];

/**
 * Stable failure codes of a speed test:
 * - `speedtest_bad_config`: the options cannot work (bad URL, non-positive limit);
 * - `speedtest_unreachable`: the server could not be reached or dropped the connection;
 * - `speedtest_timeout`: the server stalled longer than `stallTimeoutMs`, or the run hit `maxDurationMs`;
 * - `speedtest_bad_response`: an unexpected status or a phase that measured nothing usable;
 * - `speedtest_rate_limited`: the server answered 429 (busy, try later);
 * - `speedtest_aborted`: the caller's `signal` cancelled the run.
 */
export type SpeedtestErrorCode =
  | 'speedtest_bad_config'
  | 'speedtest_unreachable'
  | 'speedtest_timeout'
  | 'speedtest_bad_response'
  | 'speedtest_rate_limited'
  | 'speedtest_aborted';

export interface SpeedtestError {
  code: SpeedtestErrorCode;
  message: string;
}

/**
 * One speed test. Throughput in megabits per second (10^6 bit/s), times in ms,
 * rounded (Mbps to 0.01, ms to 0.1) so a stored history stays small.
 * A failed run still carries whatever phases finished before the failure; a phase
 * that did not run reports 0.
 */
export interface SpeedtestResult {
  downloadMbps: number;
  uploadMbps: number;
  /** Median idle round trip of an empty request, server processing time removed when reported. */
  latencyMs: number;
  /** Mean absolute difference of consecutive latency samples, in the order they arrived. */
  jitterMs: number;
  /**
   * Packet loss, 0–1. HTTP cannot see lost packets (TCP retransmits them), so both
   * protocols report `null`; the field exists for probes that can measure it.
   */
  loss?: number | null;
  /** Median latency sampled while the download streams ran (bufferbloat); absent when no sample succeeded. */
  loadedLatencyMs?: number;
  /** Payload bytes received, latency probes excluded. */
  bytesDown: number;
  /** Payload bytes handed to the connection for upload. */
  bytesUp: number;
  durationMs: number;
  /** Base URL of the server, as configured. */
  server: string;
  protocol: SpeedtestProtocol;
  /** Epoch ms when the run started. */
  at: number;
  /** Which hard limit ended the run early; the figures come from what was measured before it. */
  limitedBy?: 'bytes' | 'duration';
  error?: SpeedtestError;
}

export type SpeedtestPhase = 'latency' | 'download' | 'upload' | 'done';

/** Endpoint names joined to the server URL; override them for servers that spell them differently. */
export interface SpeedtestEndpoints {
  /** Cloudflare download. Default `__down`. */
  down?: string;
  /** Cloudflare upload. Default `__up`. */
  up?: string;
  /** LibreSpeed download. Default `garbage` (a stock PHP backend: `garbage.php`). */
  garbage?: string;
  /** LibreSpeed upload sink and ping. Default `empty` (a stock PHP backend: `empty.php`). */
  empty?: string;
}

export interface SpeedtestOptions {
  /**
   * Base URL of the server; its path is kept, so both `https://speed.cloudflare.com`
   * and `http://hq:8080/speedtest` work. Required.
   */
  server: string;
  /** Which endpoints the server speaks. Default `'cloudflare'`. */
  protocol?: SpeedtestProtocol;
  /** Parallel transfer streams per direction. Default 4. */
  streams?: number;
  /** Hard cap on the whole run, in ms; the run is cut off and reports `speedtest_timeout`. Default 30 000. */
  maxDurationMs?: number;
  /** Hard cap on payload bytes moved in both directions together. Default 200 000 000. */
  maxBytes?: number;
  /** Latency samples taken while idle (one extra warm-up request is discarded). Default 20. */
  latencySamples?: number;
  /**
   * A request that shows no progress (no headers, no body bytes, no upload bytes
   * taken) for this long is a stalled server: `speedtest_timeout`. Default 5 000.
   */
  stallTimeoutMs?: number;
  /**
   * Cloudflare: transfer sizes grow until a round of parallel transfers takes at
   * least this long; rounds shorter than half of it only warm up. Default 1 000.
   */
  minTransferMs?: number;
  /** Cloudflare: rounds measured at the final size, counting the one that reached `minTransferMs`. Default 3. */
  finalRounds?: number;
  /** Cloudflare: largest single request, in bytes. Default 100 000 000. */
  maxRequestBytes?: number;
  /**
   * LibreSpeed: length of the download phase and of the upload phase, in ms; shrunk
   * to fit `maxDurationMs`. Default 10 000.
   */
  phaseDurationMs?: number;
  /** LibreSpeed: the start of each phase that is not counted (TCP ramp-up, buffers filling). Default 1 500, at most half a phase. */
  warmupMs?: number;
  /** LibreSpeed: MiB per `garbage` request (`ckSize`). Default 100. */
  ckSize?: number;
  /** LibreSpeed: bytes per upload request. Default 8 MiB. */
  uploadRequestBytes?: number;
  /** Endpoint names under `server`. Defaults: see `SpeedtestEndpoints`. */
  endpoints?: SpeedtestEndpoints;
  /** Cancels the run; the result then carries `speedtest_aborted`. */
  signal?: AbortSignal;
  /** Called when a phase starts and at the end, with the figures known so far. Exceptions are ignored. */
  onProgress?: (phase: SpeedtestPhase, partial: Partial<SpeedtestResult>) => void;
  /** Wall clock for `at`. Default `Date.now`. Durations always use the monotonic clock. */
  now?: Clock;
}
