/**
 * Between the monitor's flips and the outbox: groups the flips of one round (a
 * short wait, like Alertmanager's group_wait), folds children into their parent's
 * alert, checks the probe's own uplink when most targets fail at once, turns
 * bursts into one digest, and runs the per-target policy. Its memory lives in the
 * data file (`alerting`), so a restart neither repeats nor forgets an alert.
 */
import { digestMessage, probeOfflineMessage } from '../core/alert-messages.js';
import type { AlertMessage } from '../core/message.js';
import { emptyMemory, onDown, onResult, onTick, onUp, sendDown } from '../core/policy.js';
import type { AlertMemory, PolicySettings } from '../core/policy.js';
import type { CheckResult, Clock, Target } from '../core/types.js';
import type { Logger } from '../log.js';
import type { FlipEvent, Monitor } from '../monitor.js';
import type { StateFile } from '../store/file.js';
import type { MainData } from '../store/data.js';
import type { Outbox } from './outbox.js';

export interface AlertEngineOptions {
  monitor: Monitor;
  store: StateFile<MainData>;
  outbox: Outbox;
  settings: PolicySettings;
  now: Clock;
  log: Logger;
  /** Checks the probe's own uplink; true when at least one reference answers. */
  probe?: () => Promise<boolean>;
  /** Fraction of active targets failing at once that triggers the self-check. Default 0.8. */
  probeThreshold?: number;
  /** Milliseconds to collect a round's flips before alerting. Default 2000. */
  groupWaitMs?: number;
  /** More DOWN alerts than this in one round become one digest. Default 5. */
  digestOver?: number;
}

interface ProbeOffline {
  since: number;
  failed: string[];
}

export class AlertEngine {
  private pending: FlipEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly o: AlertEngineOptions) {
    o.monitor.on('flip', (ev) => this.onFlip(ev));
    o.monitor.on('result', (t, r) => this.onResult(t, r));
  }

  private get data(): MainData {
    return this.o.store.data;
  }

  memory(name: string): AlertMemory {
    return (this.data.alerting[name] as AlertMemory | undefined) ?? emptyMemory();
  }

  private get probeOffline(): ProbeOffline | undefined {
    return this.data.meta.probeOffline as ProbeOffline | undefined;
  }

  private set probeOffline(v: ProbeOffline | undefined) {
    if (v) this.data.meta.probeOffline = v;
    else delete this.data.meta.probeOffline;
  }

  /**
   * Every result, so on the hot path: the main file is marked dirty only when the
   * policy's memory really changed, not for the empty memory of a target that never warned.
   */
  private onResult(t: Target, r: CheckResult): void {
    const mem = this.memory(t.name);
    const d = onResult(mem, t, r, this.o.settings, this.o.now());
    if (d.memory !== mem) {
      this.data.alerting[t.name] = d.memory;
      this.o.store.markDirty();
    }
    if (d.messages.length)
      void this.o.outbox
        .enqueue(d.messages)
        .catch((err: unknown) => this.o.log.error({ err }, 'enqueue failed'));
  }

  private onFlip(ev: FlipEvent): void {
    // Paused/resumed are not alerts; only up/down changes are.
    if (ev.flip.to === 'paused' || ev.flip.from === 'paused') return;
    this.pending.push(ev);
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flushing = this.flushing
          .then(() => this.flush())
          .catch((err: unknown) => this.o.log.error({ err }, 'alerting failed'));
      }, this.o.groupWaitMs ?? 2000);
      this.timer.unref?.();
    }
  }

  /** Processes the collected flips now (tests call this instead of waiting). */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const events = this.pending;
    this.pending = [];
    if (events.length === 0) return;
    const now = this.o.now();
    const downs = events.filter((e) => e.flip.to === 'down');

    if (this.probeOffline) {
      // While the probe is offline, failures are listed for the "back" message, not alerted.
      for (const e of downs)
        if (!this.probeOffline.failed.includes(e.target.name)) this.probeOffline.failed.push(e.target.name);
      this.o.store.markDirty();
      return;
    }
    if (downs.length >= 2 && this.o.probe && this.mostTargetsFailing()) {
      const ok = await this.o.probe().catch(() => false);
      if (!ok) {
        this.probeOffline = {
          since: Math.min(...downs.map((e) => e.flip.at)),
          failed: downs.map((e) => e.target.name),
        };
        this.o.log.warn(
          { failed: downs.length },
          'most targets failed and the probe cannot reach its own uplink: holding alerts',
        );
        await this.o.store.commit();
        return;
      }
    }

    const messages: AlertMessage[] = [];
    // Parents first, so a child in the same round sees its parent already down.
    const order = [...events].sort((a, b) => this.depth(a.target) - this.depth(b.target));
    for (const ev of order) messages.push(...this.decide(ev, now));

    const downMsgs = messages.filter((m) => m.kind === 'down');
    const digestOver = this.o.digestOver ?? 5;
    if (downMsgs.length > digestOver) {
      const digest = digestMessage(downMsgs, now);
      this.o.outbox.shareThread(
        downMsgs.map((m) => m.incidentId).filter((id): id is string => !!id),
        digest.id,
      );
      await this.o.outbox.enqueue([digest, ...messages.filter((m) => m.kind !== 'down')]);
    } else {
      await this.o.outbox.enqueue(messages);
    }
    this.o.store.markDirty();
  }

  private decide(ev: FlipEvent, now: number): AlertMessage[] {
    const { target: t, state, incident, flip } = ev;
    const s = this.o.settings;
    if (flip.to === 'down' && incident) {
      const parent = t.dependsOn ? this.o.monitor.find(t.dependsOn) : undefined;
      if (parent && this.o.monitor.state(parent.name).status === 'down') {
        // Folded into the parent's alert; it alerts on its own if still down when the parent recovers.
        this.data.alerting[t.name] = { ...this.memory(t.name), seen: incident.id };
        return [];
      }
      const d = onDown(this.memory(t.name), t, state, incident, s, now);
      this.data.alerting[t.name] = d.memory;
      const children = this.o.monitor
        .list()
        .filter((c) => c.dependsOn === t.name && this.o.monitor.state(c.name).status === 'down')
        .map((c) => c.name);
      const down = d.messages.find((m) => m.kind === 'down');
      if (down && children.length)
        down.lines.push(`Also affected (depends on ${t.name}): ${children.join(', ')}`);
      return d.messages;
    }
    if (flip.from === 'down' && flip.to === 'up') {
      const d = onUp(this.memory(t.name), t, state, incident, s, now);
      this.data.alerting[t.name] = d.memory;
      const out = [...d.messages];
      // Children still down after their parent recovered now alert normally.
      for (const c of this.o.monitor.list().filter((x) => x.dependsOn === t.name)) {
        const cs = this.o.monitor.state(c.name);
        const inc = this.o.monitor.openIncident(c.name);
        if (cs.status !== 'down' || !inc || this.memory(c.name).open) continue;
        const cd = sendDown(this.memory(c.name), c, cs, inc, s, now, [
          `Still down after ${t.name} recovered.`,
        ]);
        this.data.alerting[c.name] = cd.memory;
        out.push(...cd.messages);
      }
      return out;
    }
    return [];
  }

  /** Periodic work: reminders, flapping that calmed down, a probe coming back. */
  async tick(): Promise<void> {
    const now = this.o.now();
    const s = this.o.settings;
    const messages: AlertMessage[] = [];
    for (const t of this.o.monitor.all()) {
      const mem = this.data.alerting[t.name] as AlertMemory | undefined;
      // onTick acts only on flapping and on a DOWN that was sent; skip the rest before the lookups.
      if (!mem || t.paused || !(mem.flapping || mem.open)) continue;
      const d = onTick(mem, t, this.o.monitor.state(t.name), this.o.monitor.openIncident(t.name), s, now);
      if (d.memory !== mem) {
        this.data.alerting[t.name] = d.memory;
        this.o.store.markDirty();
      }
      messages.push(...d.messages);
    }
    const off = this.probeOffline;
    if (off && this.o.probe && (await this.o.probe().catch(() => false))) {
      this.probeOffline = undefined;
      messages.push(probeOfflineMessage(off.since, now, off.failed));
      for (const name of off.failed) {
        const t = this.o.monitor.find(name);
        const inc = t && this.o.monitor.openIncident(name);
        if (!t || !inc || t.paused) continue;
        const d = sendDown(this.memory(name), t, this.o.monitor.state(name), inc, s, now);
        this.data.alerting[name] = d.memory;
        messages.push(...d.messages);
      }
      this.o.store.markDirty();
    }
    if (messages.length) await this.o.outbox.enqueue(messages);
  }

  private mostTargetsFailing(): boolean {
    const active = [...this.o.monitor.all()].filter((t) => !t.paused);
    if (active.length < 2) return false;
    const failing = active.filter((t) => {
      const st = this.o.monitor.state(t.name);
      return st.status === 'down' || st.fails > 0;
    }).length;
    return failing / active.length >= (this.o.probeThreshold ?? 0.8);
  }

  private depth(t: Target): number {
    let d = 0;
    for (let p = t.dependsOn; p && d < 20; p = this.o.monitor.find(p)?.dependsOn) d++;
    return d;
  }

  /**
   * At start-up: incidents that went down but never reached the policy (the process
   * died inside the group wait) are alerted now, once.
   */
  async recover(): Promise<void> {
    for (const t of this.o.monitor.list()) {
      const inc = this.o.monitor.openIncident(t.name);
      const st = this.o.monitor.state(t.name);
      if (t.paused || !inc || st.status !== 'down' || this.memory(t.name).seen === inc.id) continue;
      this.pending.push({
        flip: { target: t.name, from: 'up', to: 'down', at: inc.start, reason: inc.cause },
        target: t,
        state: st,
        incident: inc,
      });
    }
    await this.flush();
  }

  /** Flushes what is collected, so a clean shutdown loses nothing. */
  async stop(): Promise<void> {
    await this.flushing;
    await this.flush();
  }
}
