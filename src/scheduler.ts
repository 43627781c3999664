/**
 * Runs every target's check on its interval from one due-time queue and one
 * timer. A node-cron task per target costs ~9% of a core at 5,000 targets and
 * skips runs at 10,000 (PLATFORMS.md); a heap and a single setTimeout cost
 * almost nothing. Guarantees: first checks spread over the interval, a global
 * concurrency limit, never two checks of one target at once, `retryInterval`
 * while failing, and no drift (slots are interval-aligned, missed slots skipped).
 * Kinds with `runBatch` (ping) get every target of theirs due in the same second.
 */
import { setMaxListeners } from 'node:events';
import type { Check, CheckContext } from './checks/types.js';
import type { CheckResult, Clock, Kind, Target } from './core/types.js';

interface Entry {
  target: Target;
  /** Epoch ms of the next run. */
  due: number;
  /** Heap generation: stale heap nodes are skipped (lazy deletion). */
  gen: number;
  /** A live heap node exists for the current generation. */
  queued: boolean;
  running: boolean;
  removed: boolean;
}

interface Node {
  due: number;
  gen: number;
  entry: Entry;
}

export interface SchedulerOptions {
  checks: Record<Kind, Check>;
  now: Clock;
  /** Checks (or batches) in flight at once. Default 256. */
  concurrency?: number;
  onResult: (target: Target, result: CheckResult) => void;
  onError?: (target: Target, err: unknown) => void;
  /** Seed for start-up spread; tests pass a fixed function. Default Math.random. */
  random?: () => number;
}

export interface SchedulerStats {
  targets: number;
  running: number;
  queued: number;
  checks: number;
  /** Scheduling lag percentiles over the last 1,024 runs, ms. */
  lagP50: number;
  lagP99: number;
  /** Epoch ms of the last dispatch (liveness). */
  lastTick: number;
}

export class Scheduler {
  private readonly entries = new Map<string, Entry>();
  private heap: Node[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly lags = new Float64Array(1024);
  private lagCount = 0;
  private checks = 0;
  private started = false;
  private lastTick = 0;
  private readonly abort = new AbortController();
  private readonly inflight = new Set<Promise<void>>();
  private readonly concurrency: number;
  private readonly random: () => number;
  private readonly ctx: CheckContext;

  constructor(private readonly opts: SchedulerOptions) {
    this.concurrency = opts.concurrency ?? 256;
    this.random = opts.random ?? Math.random;
    // Every check in flight listens for shutdown on this one signal.
    setMaxListeners(0, this.abort.signal);
    this.ctx = { now: opts.now, signal: this.abort.signal };
  }

  /**
   * Adds or replaces a target. `firstAt` (epoch ms) pins the first run; otherwise
   * a target added before start() is spread over its interval and one added later runs at once.
   */
  upsert(target: Target, firstAt?: number): void {
    const now = this.opts.now();
    const old = this.entries.get(target.name);
    if (old) {
      old.target = target;
      // A shorter interval takes effect now rather than after the old, longer wait.
      const due = Math.min(old.due, now + target.interval * 1000);
      this.schedule(old, firstAt ?? due);
      return;
    }
    const entry: Entry = { target, due: 0, gen: 0, queued: false, running: false, removed: false };
    this.entries.set(target.name, entry);
    // Spread over 90% of the interval, so even the last first check has finished within one interval.
    const at = firstAt ?? (this.started ? now : now + Math.floor(this.random() * target.interval * 900));
    this.schedule(entry, at);
  }

  remove(name: string): void {
    const e = this.entries.get(name);
    if (!e) return;
    e.removed = true;
    e.gen++;
    this.entries.delete(name);
  }

  /** Runs a target's check now (outside its slot) unless one is already running. */
  runNow(name: string): void {
    const e = this.entries.get(name);
    if (e) this.schedule(e, this.opts.now());
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  start(): void {
    this.started = true;
    this.arm();
  }

  /** Stops dispatching, aborts checks in flight and waits for them to settle. */
  async stop(): Promise<void> {
    this.started = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort();
    await Promise.allSettled([...this.inflight]);
  }

  stats(): SchedulerStats {
    const n = Math.min(this.lagCount, this.lags.length);
    const sorted = Array.from(this.lags.subarray(0, n)).sort((a, b) => a - b);
    const pct = (p: number) => (n === 0 ? 0 : (sorted[Math.min(n - 1, Math.floor(p * n))] ?? 0));
    return {
      targets: this.entries.size,
      running: this.running,
      queued: this.waiting.length,
      checks: this.checks,
      lagP50: pct(0.5),
      lagP99: pct(0.99),
      lastTick: this.lastTick,
    };
  }

  private schedule(e: Entry, at: number): void {
    // Batched kinds are aligned to whole seconds so targets due "together" really are.
    const due = this.opts.checks[e.target.kind].runBatch ? Math.ceil(at / 1000) * 1000 : at;
    e.due = due;
    e.gen++;
    e.queued = true;
    this.push({ due, gen: e.gen, entry: e });
    if (this.started && due < this.timerAt) this.arm();
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
    if (!this.started) return;
    const top = this.heap[0];
    if (!top) return;
    this.timerAt = top.due;
    // setTimeout caps at ~24.8 days; intervals are at most a day.
    this.timer = setTimeout(() => this.dispatch(), Math.max(0, top.due - this.opts.now()));
    this.timer.unref?.();
  }

  private dispatch(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.opts.now();
    this.lastTick = now;
    const batches = new Map<Kind, Entry[]>();
    for (let top = this.heap[0]; top && top.due <= now; top = this.heap[0]) {
      this.pop();
      const e = top.entry;
      if (top.gen !== e.gen || e.removed) continue;
      e.queued = false;
      this.recordLag(now - top.due);
      // The next slot is interval-aligned to the previous one: a slow check does not push later checks back.
      let next = top.due + e.target.interval * 1000;
      while (next <= now) next += e.target.interval * 1000;
      if (e.running) {
        // Still running from the previous slot: skip this one rather than overlap;
        // finish() picks the next free slot.
        e.due = next;
        continue;
      }
      e.due = next;
      if (this.opts.checks[e.target.kind].runBatch) {
        const list = batches.get(e.target.kind) ?? [];
        list.push(e);
        batches.set(e.target.kind, list);
      } else {
        this.launch([e]);
      }
    }
    for (const list of batches.values()) this.launch(list);
    this.arm();
  }

  private launch(list: Entry[]): void {
    for (const e of list) e.running = true;
    const p = this.execute(list).finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  private async execute(list: Entry[]): Promise<void> {
    await this.acquire();
    try {
      const first = list[0] as Entry;
      const check = this.opts.checks[first.target.kind];
      if (list.length > 1 && check.runBatch) {
        const results = await check.runBatch(
          list.map((e) => e.target),
          this.ctx,
        );
        for (const e of list) {
          const r = results.get(e.target.name);
          if (r) this.finish(e, r);
          else this.fail(e, new Error(`batch returned no result for ${e.target.name}`));
        }
      } else {
        await Promise.all(
          list.map(async (e) => {
            try {
              this.finish(e, await check.run(e.target, this.ctx));
            } catch (err) {
              this.fail(e, err);
            }
          }),
        );
      }
    } catch (err) {
      for (const e of list) if (e.running) this.fail(e, err);
    } finally {
      this.release();
    }
  }

  private finish(e: Entry, r: CheckResult): void {
    e.running = false;
    this.checks++;
    if (e.removed || this.abort.signal.aborted) return;
    this.opts.onResult(e.target, r);
    if (e.removed) return;
    const retry = e.target.retryInterval;
    const retryAt = retry ? r.at + Math.min(retry, e.target.interval) * 1000 : Infinity;
    if (!r.ok && retryAt < e.due) this.schedule(e, retryAt);
    else if (!e.queued) this.schedule(e, this.nextSlot(e));
  }

  /** The entry's next interval-aligned slot that is not in the past (slots missed while running are skipped). */
  private nextSlot(e: Entry): number {
    const now = this.opts.now();
    const step = e.target.interval * 1000;
    let due = e.due;
    while (due <= now) due += step;
    return due;
  }

  private fail(e: Entry, err: unknown): void {
    // A check that throws is a bug in the check, not a down host: report it and keep the schedule.
    e.running = false;
    this.opts.onError?.(e.target, err);
    if (!e.removed && !e.queued) this.schedule(e, this.nextSlot(e));
  }

  private acquire(): Promise<void> {
    if (this.running < this.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.running--;
  }

  private recordLag(ms: number): void {
    this.lags[this.lagCount % this.lags.length] = ms;
    this.lagCount++;
  }

  // Binary min-heap on `due`.
  private push(n: Node): void {
    const h = this.heap;
    h.push(n);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((h[p] as Node).due <= n.due) break;
      h[i] = h[p] as Node;
      i = p;
    }
    h[i] = n;
  }

  private pop(): Node | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (!last || h.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && (h[r] as Node).due < (h[l] as Node).due ? r : l;
      if ((h[c] as Node).due >= last.due) break;
      h[i] = h[c] as Node;
      i = c;
    }
    h[i] = last;
    return top;
  }
}
