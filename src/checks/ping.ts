/**
 * ICMP echo checks. Node has no ICMP API, so this drives an external binary:
 * `fping` when present, because one fping process pings a thousand hosts in
 * about the time one `ping` process pings one (see PLATFORMS.md), and the
 * system `ping` per target otherwise.
 */
import { spawn } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { accessSync, constants, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { delimiter, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { CheckResult, Target } from '../core/types.js';
import { failed } from './types.js';
import type { Check, CheckContext } from './types.js';

export type PingBackend = 'fping' | 'ping' | 'none';

/** Which binary pings, and where it is. `path` is absent for `none`. */
export interface PingBackendInfo {
  backend: PingBackend;
  path?: string;
}

/** Options for {@link createPingCheck}. */
export interface PingCheckOptions {
  /** The fping binary. Default: looked up on PATH, then /usr/bin, /usr/sbin, /bin, /sbin. */
  fpingPath?: string;
  /** The system ping binary, used only without fping. Default: looked up like fping. */
  pingPath?: string;
  /** Called with the binary's path before each process is spawned. */
  spawnCounter?: (cmd: string) => void;
  /** How many `ping` processes may run at once when fping is absent. Default 16. */
  pingConcurrency?: number;
}

export type PingCheck = Check & { readonly backend: PingBackend };

/** Where sbin tools live even when PATH (e.g. a non-root user's) leaves them out. */
const FALLBACK_DIRS = ['/usr/bin', '/usr/sbin', '/bin', '/sbin'];

const DEFAULT_PINGS = 3;
const DEFAULT_MIN_REPLIES = 1;
/**
 * A reply later than this is a loss in practice, and every host of a batch
 * waits for the slowest one, so a long target timeout must not stretch it.
 */
const MAX_REPLY_WAIT_MS = 3000;
/** Grace beyond the planned run time before the child is killed. */
const KILL_MARGIN_MS = 2000;
/** iputils refuses shorter intervals without root. */
const PING_MIN_INTERVAL_MS = 200;

const INSTALL_HINT = 'install fping (apt-get install fping, apk add fping or dnf install fping)';

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The first executable `name` on PATH or in the usual system directories. */
export function findExecutable(name: string, pathEnv = process.env.PATH ?? ''): string | undefined {
  const dirs = [...pathEnv.split(delimiter).filter((d) => d !== ''), ...FALLBACK_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Finds the ping backend. An explicit path replaces the search for that binary:
 * when it does not exist that backend is simply absent.
 */
export function detectPingBackend(
  opts: Pick<PingCheckOptions, 'fpingPath' | 'pingPath'> = {},
): PingBackendInfo {
  const pick = (explicit: string | undefined, name: string): string | undefined =>
    explicit === undefined ? findExecutable(name) : isExecutableFile(explicit) ? explicit : undefined;
  const fping = pick(opts.fpingPath, 'fping');
  if (fping) return { backend: 'fping', path: fping };
  const ping = pick(opts.pingPath, 'ping');
  if (ping) return { backend: 'ping', path: ping };
  return { backend: 'none' };
}

/** How one group of targets is pinged; every member shares it. */
interface Plan {
  count: number;
  periodMs: number;
  waitMs: number;
  timeoutS: number;
}

/**
 * Spreads the pings over the target's timeout so that a check ends within it:
 * `count` pings one period apart, then a wait for the last reply.
 */
function planFor(target: Target): Plan {
  const count = Math.max(1, Math.floor(target.pings ?? DEFAULT_PINGS));
  const budgetMs = Math.max(100, target.timeout * 1000);
  const periodMs = clamp(Math.floor(budgetMs / count), 20, 1000);
  const waitMs = clamp(budgetMs - (count - 1) * periodMs, 50, MAX_REPLY_WAIT_MS);
  return { count, periodMs, waitMs, timeoutS: target.timeout };
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n));
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/** One target's address, resolved (or not) to the IP that is pinged. */
type Resolved = { ok: true; ip: string } | { ok: false; code: string; message: string };

function stripBrackets(address: string): string {
  const a = address.trim();
  return a.startsWith('[') && a.endsWith(']') ? a.slice(1, -1) : a;
}

/**
 * Names are resolved here rather than by fping: fping resolves one name after
 * another before sending anything, and with `-q` it says nothing about a name
 * it could not resolve.
 */
async function resolveAddress(address: string, timeoutS: number): Promise<Resolved> {
  const host = stripBrackets(address);
  if (host === '') return { ok: false, code: 'invalid_address', message: 'ping target has no address' };
  if (isIP(host)) return { ok: true, ip: host };
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<Resolved>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          ok: false,
          code: 'dns_unresolved',
          message: `could not resolve ${host} within ${timeoutS}s: check the name and the DNS server`,
        }),
      timeoutS * 1000,
    );
  });
  const answer = lookup(host).then(
    (r): Resolved => ({ ok: true, ip: r.address }),
    (err: NodeJS.ErrnoException): Resolved => ({
      ok: false,
      code: 'dns_unresolved',
      message:
        err.code === 'ENOTFOUND'
          ? `cannot resolve ${host}: no such host, check the spelling`
          : `cannot resolve ${host} (${err.code ?? err.message}): check the DNS server`,
    }),
  );
  try {
    return await Promise.race([answer, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Replies of one host: sent count and the round-trip times that came back. */
interface Echoes {
  sent: number;
  received: number;
  rtt?: { min: number; avg: number; max: number };
}

function echoesFromSamples(samples: (number | undefined)[]): Echoes {
  const rtts = samples.filter((s): s is number => s !== undefined);
  if (rtts.length === 0) return { sent: samples.length, received: 0 };
  const sum = rtts.reduce((a, b) => a + b, 0);
  return {
    sent: samples.length,
    received: rtts.length,
    rtt: { min: Math.min(...rtts), avg: sum / rtts.length, max: Math.max(...rtts) },
  };
}

function shown(target: Target, ip: string): string {
  const host = stripBrackets(target.address);
  return host === ip ? ip : `${host} (${ip})`;
}

function resultFromEchoes(target: Target, ip: string, e: Echoes, at: number, elapsedMs: number): CheckResult {
  const loss = e.sent === 0 ? 100 : Math.round(((e.sent - e.received) / e.sent) * 1000) / 10;
  const detail: CheckResult['detail'] = {
    ip,
    rttMin: e.rtt && round3(e.rtt.min),
    rttAvg: e.rtt && round3(e.rtt.avg),
    rttMax: e.rtt && round3(e.rtt.max),
    loss,
    sent: e.sent,
    received: e.received,
  };
  const needed = Math.min(Math.max(1, target.minReplies ?? DEFAULT_MIN_REPLIES), e.sent);
  if (e.received === 0) {
    return failed(
      at,
      elapsedMs,
      'no_reply',
      `no reply from ${shown(target, ip)} to ${e.sent} ping${e.sent === 1 ? '' : 's'} within ${target.timeout}s`,
      detail,
    );
  }
  if (e.received < needed) {
    return failed(
      at,
      elapsedMs,
      'packet_loss',
      `only ${e.received} of ${e.sent} pings to ${shown(target, ip)} answered (${loss}% loss); at least ${needed} needed`,
      detail,
    );
  }
  return { ok: true, ms: round3(e.rtt?.avg ?? 0), at, detail };
}

/** A line of `fping -C N -q` output: `host : 0.05 0.04 -` (name padded for alignment). */
const FPING_LINE = /^(\S+)\s+:((?:\s+(?:-|\d+(?:\.\d+)?))+)\s*$/;

/** Per-host samples (undefined = no reply) from fping's stderr. */
export function parseFpingOutput(text: string): Map<string, (number | undefined)[]> {
  const hosts = new Map<string, (number | undefined)[]>();
  for (const line of text.split('\n')) {
    const m = FPING_LINE.exec(line.trim());
    if (!m?.[1] || m[2] === undefined) continue;
    const samples = m[2]
      .trim()
      .split(/\s+/)
      .map((v) => (v === '-' ? undefined : Number(v)));
    hosts.set(m[1], samples);
  }
  return hosts;
}

/** Sent/received and rtt summary from iputils or busybox `ping` output; undefined when absent. */
export function parsePingOutput(text: string): Echoes | undefined {
  const counts = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(text);
  if (!counts) return undefined;
  const sent = Number(counts[1]);
  const received = Number(counts[2]);
  const rtt = /min\/avg\/max(?:\/[a-z]+)? = ([\d.]+)\/([\d.]+)\/([\d.]+)/.exec(text);
  if (!rtt || received === 0) return { sent, received };
  return { sent, received, rtt: { min: Number(rtt[1]), avg: Number(rtt[2]), max: Number(rtt[3]) } };
}

/** Why every target of one process failed. */
type Failure = { code: string; message: string };

interface ProcessOutcome {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  /** Why the child was killed, if it was. */
  killed?: 'deadline' | 'aborted';
  spawnError?: NodeJS.ErrnoException;
}

/** Runs a binary without a shell, killing it at the deadline or on abort. */
function runProcess(
  path: string,
  args: string[],
  deadlineMs: number,
  signal: AbortSignal | undefined,
  onSpawn: ((cmd: string) => void) | undefined,
): Promise<ProcessOutcome> {
  return new Promise((resolve) => {
    onSpawn?.(path);
    const child = spawn(path, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let killed: ProcessOutcome['killed'];
    let spawnError: NodeJS.ErrnoException | undefined;
    const kill = (why: 'deadline' | 'aborted'): void => {
      killed ??= why;
      child.kill('SIGKILL');
      // A grandchild holding the pipes open would otherwise delay 'close' until it exits.
      child.stdout.destroy();
      child.stderr.destroy();
    };
    const timer = setTimeout(() => kill('deadline'), deadlineMs);
    const onAbort = (): void => kill('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      spawnError = e;
    });
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        exitCode,
        killed,
        spawnError,
      });
    });
  });
}

/** A failure that applies to every target pinged by one process. */
function processFailure(outcome: ProcessOutcome, path: string, plannedMs: number): Failure {
  if (outcome.spawnError?.code === 'ENOENT') {
    return { code: 'ping_unavailable', message: `${path} is gone: ${INSTALL_HINT}` };
  }
  if (outcome.spawnError) {
    return { code: 'ping_failed', message: `cannot run ${path}: ${outcome.spawnError.message}` };
  }
  if (outcome.killed === 'aborted')
    return { code: 'aborted', message: 'ping cancelled because Lookout is stopping' };
  if (outcome.killed === 'deadline') {
    return {
      code: 'timeout',
      message: `${path} hung and was killed after ${Math.round((plannedMs + KILL_MARGIN_MS) / 1000)}s (planned ${Math.round(plannedMs / 1000)}s)`,
    };
  }
  const said = `${outcome.stderr}\n${outcome.stdout}`;
  if (/not permitted|permission denied/i.test(said)) {
    return {
      code: 'ping_not_permitted',
      message: `${path} may not send ICMP: run Lookout as root or grant it the capability (setcap cap_net_raw+ep ${path})`,
    };
  }
  const firstLine = said
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '');
  return {
    code: 'ping_failed',
    message: `${path} gave no result (exit ${outcome.exitCode ?? 'signal'})${firstLine ? `: ${firstLine}` : ''}`,
  };
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let nextIndex = 0;
  const worker = async (): Promise<void> => {
    while (nextIndex < items.length) {
      const item = items[nextIndex++] as T;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * The ping check. `runBatch` pings every due target with one fping process per
 * distinct (pings, timeout) pair; `run` is a batch of one.
 */
export function createPingCheck(opts: PingCheckOptions = {}): PingCheck {
  const found = detectPingBackend(opts);
  const concurrency = Math.max(1, opts.pingConcurrency ?? 16);

  /** Pings distinct IPs with one fping process; returns samples per IP or a shared failure. */
  async function fpingGroup(
    path: string,
    plan: Plan,
    ips: string[],
    signal: AbortSignal | undefined,
  ): Promise<Map<string, Echoes> | Failure> {
    // Pace sends so one round over all hosts fits in one period: a burst of
    // thousands of packets at once can overflow socket buffers and small routers.
    const intervalMs = Math.min(1, plan.periodMs / ips.length);
    const plannedMs = (plan.count - 1) * plan.periodMs + plan.waitMs + plan.count * ips.length * intervalMs;
    const args = [
      '-C',
      String(plan.count),
      '-q',
      '-i',
      String(round3(intervalMs)),
      '-p',
      String(plan.periodMs),
      '-t',
      String(plan.waitMs),
      '-r',
      '0',
      ...ips,
    ];
    const outcome = await runProcess(path, args, plannedMs + KILL_MARGIN_MS, signal, opts.spawnCounter);
    const parsed = parseFpingOutput(outcome.stderr);
    if (parsed.size === 0 || outcome.killed) return processFailure(outcome, path, plannedMs);
    const echoes = new Map<string, Echoes>();
    for (const [ip, samples] of parsed) echoes.set(ip, echoesFromSamples(samples));
    return echoes;
  }

  async function pingOne(
    path: string,
    plan: Plan,
    ip: string,
    signal: AbortSignal | undefined,
  ): Promise<Echoes | Failure> {
    const periodMs = Math.max(PING_MIN_INTERVAL_MS, plan.periodMs);
    const args = [
      '-n',
      '-c',
      String(plan.count),
      '-i',
      String(periodMs / 1000),
      // Whole seconds: busybox ping takes no fractions here.
      '-W',
      String(Math.max(1, Math.ceil(plan.waitMs / 1000))),
      ip,
    ];
    const plannedMs = (plan.count - 1) * periodMs + Math.max(1000, plan.waitMs);
    const outcome = await runProcess(path, args, plannedMs + KILL_MARGIN_MS, signal, opts.spawnCounter);
    const echoes = outcome.killed ? undefined : parsePingOutput(outcome.stdout);
    return echoes ?? processFailure(outcome, path, plannedMs);
  }

  async function runBatch(targets: Target[], ctx: CheckContext): Promise<Map<string, CheckResult>> {
    const results = new Map<string, CheckResult>();
    // Durations use the monotonic clock; `ctx.now` may be a test's fake wall clock.
    const t0 = performance.now();
    const elapsed = (): number => Math.round(performance.now() - t0);
    if (found.backend === 'none' || found.path === undefined) {
      for (const t of targets) {
        results.set(
          t.name,
          failed(ctx.now(), 0, 'ping_unavailable', `neither fping nor ping is installed: ${INSTALL_HINT}`),
        );
      }
      return results;
    }
    const path = found.path;

    const lookups = new Map<string, Promise<Resolved>>();
    const resolveOnce = (t: Target): Promise<Resolved> => {
      const key = stripBrackets(t.address);
      let p = lookups.get(key);
      if (!p) {
        p = resolveAddress(t.address, t.timeout);
        lookups.set(key, p);
      }
      return p;
    };

    // Targets sharing an address are pinged once and all get the answer.
    const groups = new Map<string, { plan: Plan; byIp: Map<string, Target[]> }>();
    await Promise.all(
      targets.map(async (target) => {
        const r = await resolveOnce(target);
        if (!r.ok) {
          results.set(target.name, failed(ctx.now(), elapsed(), r.code, r.message));
          return;
        }
        const plan = planFor(target);
        const key = `${plan.count}/${plan.timeoutS}`;
        const group = groups.get(key) ?? { plan, byIp: new Map<string, Target[]>() };
        groups.set(key, group);
        const sharing = group.byIp.get(r.ip) ?? [];
        group.byIp.set(r.ip, sharing);
        sharing.push(target);
      }),
    );

    const settle = (ip: string, sharing: Target[], outcome: Echoes | Failure | undefined): void => {
      const at = ctx.now();
      for (const target of sharing) {
        if (outcome === undefined) {
          results.set(
            target.name,
            failed(at, elapsed(), 'ping_failed', `fping printed no result for ${shown(target, ip)}`, { ip }),
          );
        } else if ('code' in outcome) {
          results.set(target.name, failed(at, elapsed(), outcome.code, outcome.message, { ip }));
        } else {
          results.set(target.name, resultFromEchoes(target, ip, outcome, at, elapsed()));
        }
      }
    };

    if (found.backend === 'fping') {
      await Promise.all(
        [...groups.values()].map(async ({ plan, byIp }) => {
          const outcome = await fpingGroup(path, plan, [...byIp.keys()], ctx.signal);
          for (const [ip, sharing] of byIp)
            settle(ip, sharing, 'code' in outcome ? outcome : outcome.get(ip));
        }),
      );
    } else {
      const jobs = [...groups.values()].flatMap(({ plan, byIp }) =>
        [...byIp].map(([ip, sharing]) => ({ plan, ip, sharing })),
      );
      await mapLimit(jobs, concurrency, async ({ plan, ip, sharing }) => {
        settle(ip, sharing, await pingOne(path, plan, ip, ctx.signal));
      });
    }
    // Hand results back in the order the targets came.
    return new Map(
      targets.flatMap((t) => {
        const r = results.get(t.name);
        return r ? [[t.name, r] as const] : [];
      }),
    );
  }

  return {
    kind: 'ping',
    backend: found.backend,
    runBatch,
    async run(target, ctx) {
      const result = (await runBatch([target], ctx)).get(target.name);
      return result ?? failed(ctx.now(), 0, 'ping_failed', `no ping result for ${target.name}`);
    },
  };
}
