/**
 * The durable outbox (SPEC §3): every alert × channel is an entry in the data file
 * with attempts, next attempt time and last error. Entries are written to disk
 * before delivery starts and marked sent right after, so a restart resumes exactly
 * where delivery stopped. The one window for a duplicate is a crash between a
 * channel accepting a message and the "sent" mark reaching disk (one fsync, a few
 * ms); email closes even that gap for mail clients with a deterministic Message-ID.
 */
import type { Channel, SentRef } from '../channels/types.js';
import { DeliveryError } from '../core/errors.js';
import type { AlertMessage } from '../core/message.js';
import type { Clock } from '../core/types.js';
import type { Logger } from '../log.js';
import type { StateFile } from '../store/file.js';
import type { MainData } from '../store/data.js';

export interface OutboxEntry {
  key: string;
  channel: string;
  msg: AlertMessage;
  status: 'pending' | 'sent' | 'dead';
  attempts: number;
  createdAt: number;
  nextAt: number;
  firstFailAt?: number;
  lastError?: string;
  sentAt?: number;
  /** Where it landed; roots of threads are looked up from here. */
  refs?: SentRef[];
  /** Sent to email because every chat channel failed. */
  fallback?: boolean;
}

interface ThreadRecord {
  /** Message id of the thread root (the DOWN, or a digest). */
  root: string;
  at: number;
  refs: Record<string, SentRef[]>;
}

export interface ChannelHealth {
  channel: string;
  pending: number;
  dead: number;
  lastError: string | null;
  /** Epoch ms of the last successful delivery. */
  lastOkAt: number | null;
  disabled: string | null;
}

export interface OutboxOptions {
  store: StateFile<MainData>;
  channels: Channel[];
  now: Clock;
  log: Logger;
  /** Hand a message to email when all chat channels have failed it for this long (ms). Default 10 min. */
  fallbackAfterMs?: number;
  /** First retry delay (ms); doubles per attempt with jitter. Default 5 s. */
  baseDelayMs?: number;
  /** Longest retry delay (ms). Default 10 min. */
  maxDelayMs?: number;
  /** Sent entries are kept this long for threads and status (ms). Default 2 days. */
  keepSentMs?: number;
  random?: () => number;
}

const CHAT = new Set(['telegram', 'slack', 'discord']);

export class Outbox {
  private readonly channels = new Map<string, Channel>();
  private readonly busy = new Set<string>();
  /**
   * A 429 limits the bot on that platform, not one message: until its Retry-After has
   * passed nothing goes to the channel, or the next alert in line would be refused too.
   */
  private readonly heldUntil = new Map<string, number>();
  private readonly health = new Map<
    string,
    { lastError: string | null; lastOkAt: number | null; disabled: string | null }
  >();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly inflight = new Set<Promise<void>>();

  constructor(private readonly o: OutboxOptions) {
    for (const c of o.channels) {
      this.channels.set(c.name, c);
      this.health.set(c.name, { lastError: null, lastOkAt: null, disabled: null });
    }
  }

  private get entries(): OutboxEntry[] {
    return this.o.store.data.outbox as OutboxEntry[];
  }

  private get threads(): Record<string, ThreadRecord> {
    return ((this.o.store.data.meta.threads as Record<string, ThreadRecord> | undefined) ??= {}) as Record<
      string,
      ThreadRecord
    >;
  }

  /** The channels a message goes to: every channel that has somewhere to send it. */
  private routeOf(msg: AlertMessage): string[] {
    return [...this.channels.values()].filter((c) => c.accepts?.(msg) !== false).map((c) => c.name);
  }

  /** Queues messages for every channel and writes them to disk before returning. */
  async enqueue(msgs: AlertMessage[]): Promise<void> {
    if (msgs.length === 0) return;
    const now = this.o.now();
    for (const msg of msgs) {
      if (msg.threadRoot && msg.incidentId)
        this.threads[msg.incidentId] = { root: msg.id, at: now, refs: {} };
      for (const ch of this.routeOf(msg)) {
        const key = `${msg.id}@${ch}`;
        if (this.entries.some((e) => e.key === key)) continue;
        this.entries.push({
          key,
          channel: ch,
          msg,
          status: 'pending',
          attempts: 0,
          createdAt: now,
          nextAt: now,
        });
      }
    }
    await this.o.store.commit();
    this.kick();
  }

  /** Points several incidents' threads at one root message (a digest). */
  shareThread(incidentIds: string[], rootId: string): void {
    const now = this.o.now();
    for (const id of incidentIds) this.threads[id] = { root: rootId, at: now, refs: {} };
  }

  start(): void {
    this.stopped = false;
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.inflight]);
  }

  /** Per-channel delivery state, for `status` and /healthz. */
  status(): ChannelHealth[] {
    return [...this.channels.keys()].map((name) => {
      const h = this.health.get(name);
      const mine = this.entries.filter((e) => e.channel === name);
      return {
        channel: name,
        pending: mine.filter((e) => e.status === 'pending').length,
        dead: mine.filter((e) => e.status === 'dead').length,
        lastError: h?.lastError ?? null,
        lastOkAt: h?.lastOkAt ?? null,
        disabled: h?.disabled ?? null,
      };
    });
  }

  pending(): OutboxEntry[] {
    return this.entries.filter((e) => e.status === 'pending');
  }

  /** Delivers what is due now, then arms a timer for the next due entry. */
  kick(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const now = this.o.now();
    this.fallbackToEmail(now);
    let nextDue = Infinity;
    for (const name of this.channels.keys()) {
      if (this.busy.has(name)) continue;
      const due = this.entries
        .filter((e) => e.channel === name && e.status === 'pending')
        .sort((a, b) => a.createdAt - b.createdAt || a.nextAt - b.nextAt);
      const head = due[0];
      if (!head) continue;
      const at = Math.max(head.nextAt, this.heldUntil.get(name) ?? 0);
      // One message at a time per channel, oldest first: a RECOVERED never overtakes its DOWN.
      if (at <= now) this.deliver(head);
      else nextDue = Math.min(nextDue, at);
    }
    if (nextDue < Infinity) {
      this.timer = setTimeout(() => this.kick(), Math.max(10, nextDue - now));
      this.timer.unref?.();
    }
  }

  private deliver(e: OutboxEntry): void {
    const ch = this.channels.get(e.channel);
    if (!ch) return;
    this.busy.add(e.channel);
    const p = (async () => {
      const root = e.msg.incidentId && !e.msg.threadRoot ? this.threads[e.msg.incidentId] : undefined;
      const rootRefs = root?.refs[e.channel];
      try {
        const refs = await ch.send(e.msg, rootRefs ? { root: rootRefs } : {});
        e.status = 'sent';
        e.sentAt = this.o.now();
        e.refs = refs;
        e.attempts++;
        if (e.msg.threadRoot && e.msg.incidentId) {
          const th = this.threads[e.msg.incidentId];
          if (th) th.refs[e.channel] = refs;
        }
        // Shared roots (digests): every incident pointing at this message gets its refs.
        for (const th of Object.values(this.threads)) if (th.root === e.msg.id) th.refs[e.channel] = refs;
        const h = this.health.get(e.channel);
        if (h) [h.lastOkAt, h.lastError] = [e.sentAt, null];
        this.prune();
        await this.o.store.commit();
      } catch (err) {
        this.failed(e, err);
        await this.o.store.commit().catch(() => undefined);
      } finally {
        this.busy.delete(e.channel);
      }
    })();
    this.inflight.add(p);
    void p.finally(() => {
      this.inflight.delete(p);
      this.kick();
    });
  }

  private failed(e: OutboxEntry, err: unknown): void {
    const now = this.o.now();
    const de = err instanceof DeliveryError ? err : undefined;
    const message = (err as Error).message?.slice(0, 300) ?? String(err);
    e.attempts++;
    e.lastError = message;
    e.firstFailAt ??= now;
    const h = this.health.get(e.channel);
    if (h) h.lastError = message;
    if (de?.permanent) {
      e.status = 'dead';
      if (h) h.disabled = message;
      this.o.log.error(
        { channel: e.channel, alert: e.msg.title, error: message },
        'alert delivery failed permanently',
      );
      return;
    }
    const base = this.o.baseDelayMs ?? 5000;
    const max = this.o.maxDelayMs ?? 600_000;
    const backoff = Math.min(max, base * 2 ** Math.min(e.attempts - 1, 20));
    const jittered = backoff * (0.5 + (this.o.random ?? Math.random)() / 2);
    e.nextAt = now + (de?.retryAfterMs !== undefined ? de.retryAfterMs : jittered);
    if (de?.retryAfterMs !== undefined) this.heldUntil.set(e.channel, e.nextAt);
    this.o.log.warn(
      {
        channel: e.channel,
        alert: e.msg.title,
        attempts: e.attempts,
        retryInMs: Math.round(e.nextAt - now),
        error: message,
      },
      'alert delivery failed; will retry',
    );
  }

  /** When every chat channel has failed a message for long enough, email gets it. */
  private fallbackToEmail(now: number): void {
    if (!this.channels.has('email')) return;
    const after = this.o.fallbackAfterMs ?? 600_000;
    const byMsg = new Map<string, OutboxEntry[]>();
    for (const e of this.entries) {
      const list = byMsg.get(e.msg.id) ?? [];
      list.push(e);
      byMsg.set(e.msg.id, list);
    }
    for (const list of byMsg.values()) {
      if (list.some((e) => e.channel === 'email')) continue;
      const chats = list.filter((e) => CHAT.has(e.channel));
      if (chats.length === 0) continue;
      const allFailed = chats.every(
        (e) =>
          e.status === 'dead' ||
          (e.status === 'pending' && e.firstFailAt !== undefined && now - e.firstFailAt >= after),
      );
      if (!allFailed) continue;
      const msg = (chats[0] as OutboxEntry).msg;
      this.entries.push({
        key: `${msg.id}@email`,
        channel: 'email',
        msg: { ...msg, lines: [...msg.lines, 'Sent by email because no chat channel could deliver it.'] },
        status: 'pending',
        attempts: 0,
        createdAt: now,
        nextAt: now,
        fallback: true,
      });
      this.o.log.warn({ alert: msg.title }, 'every chat channel failed this alert; sending it by email');
    }
  }

  private prune(): void {
    const now = this.o.now();
    const keep = this.o.keepSentMs ?? 2 * 86400e3;
    const data = this.o.store.data;
    data.outbox = this.entries.filter(
      (e) => e.status === 'pending' || now - (e.sentAt ?? e.createdAt) < keep,
    );
    for (const [id, th] of Object.entries(this.threads))
      if (now - th.at > 30 * 86400e3) delete this.threads[id];
  }
}
