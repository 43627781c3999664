/**
 * The monitoring service: owns targets and their live state, turns check results
 * into state changes and incidents, and tells listeners (alerting, metrics) what
 * happened. Commands, the API and the scheduler all go through it, so a change
 * behaves the same whichever surface made it.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { ConflictError, ForbiddenError, NotFoundError, UsageError } from './core/errors.js';
import { initialState, next, pause as pauseState, resume as resumeState } from './core/state.js';
import { suggestName } from './core/targets.js';
import type {
  CheckResult,
  Clock,
  Flip,
  Incident,
  Status,
  Target,
  TargetSource,
  TargetState,
} from './core/types.js';
import { buildTarget, patchTarget } from './schema.js';
import type { TargetInput, TargetPatch } from './schema.js';
import type { StateFile } from './store/file.js';
import type { HistoryStats } from './core/history.js';
import type { LiveData, MainData } from './store/data.js';
import type { Scheduler } from './scheduler.js';
import { newPushToken } from './checks/push.js';

/** Closed incidents kept in the main file; the history file keeps the long record. */
const MAX_CLOSED_INCIDENTS = 2000;

/** Uptime and latency over a window, from the history store. */
export type WindowStats = HistoryStats;

/** What the monitor and its readers need from history (implemented by the history store). */
export interface HistoryPort {
  recordSample(name: string, r: CheckResult): void;
  recordStatus(name: string, status: Status, at: number): void;
  removeTarget(name: string): void;
  stats(name: string, from: number, to: number, now: number): WindowStats;
  trail(name: string, n: number): Array<{ t: number; ok: boolean; ms: number; code?: string }>;
}

export interface FlipEvent {
  flip: Flip;
  target: Target;
  state: TargetState;
  /** The incident opened (to down) or closed (down to up). */
  incident?: Incident;
}

export interface MonitorEvents {
  flip: [FlipEvent];
  result: [Target, CheckResult, TargetState];
  ack: [Target, Incident, string];
  targets: [];
}

export interface Actor {
  /** e.g. `telegram:123`, `api`, `cli`. */
  id: string;
  /** Name shown in messages ("acknowledged by …"). */
  display?: string;
}

export class Monitor extends EventEmitter<MonitorEvents> {
  private readonly byName = new Map<string, Target>();
  /** The full last result per target; the persisted state carries a slim copy. */
  private readonly lastResults = new Map<string, CheckResult>();

  constructor(
    private readonly store: StateFile<MainData>,
    private readonly live: StateFile<LiveData>,
    private readonly scheduler: Scheduler,
    readonly history: HistoryPort,
    readonly now: Clock,
  ) {
    super();
    for (const t of store.data.targets) this.byName.set(t.name, t);
  }

  private get data(): MainData {
    return this.store.data;
  }

  private get states(): Record<string, TargetState> {
    return this.live.data.states;
  }

  /** Applies CONFIG_FILE targets (the file is the source of truth for the targets it names). */
  async applyConfigTargets(
    inputs: TargetInput[],
  ): Promise<{ added: string[]; updated: string[]; removed: string[] }> {
    const now = this.now();
    const out = { added: [] as string[], updated: [] as string[], removed: [] as string[] };
    const named = new Set(inputs.map((i) => i.name));
    for (const input of inputs) {
      const old = this.byName.get(input.name);
      const t = buildTarget(input, 'config', old?.createdAt ?? now);
      if (old?.pushToken) t.pushToken = old.pushToken;
      if (old?.paused) [t.paused, t.pausedUntil] = [old.paused, old.pausedUntil];
      if (t.kind === 'push' && !t.pushToken) t.pushToken = newPushToken();
      if (!old) out.added.push(t.name);
      else if (JSON.stringify({ ...old, createdAt: 0 }) !== JSON.stringify({ ...t, createdAt: 0 }))
        out.updated.push(t.name);
      this.put(t);
    }
    for (const t of [...this.byName.values()]) {
      if (t.source === 'config' && !named.has(t.name)) {
        this.drop(t.name);
        out.removed.push(t.name);
      }
    }
    this.checkDependencies();
    await this.store.commit();
    return out;
  }

  /** Registers every target with the scheduler; call once before scheduler.start(). */
  scheduleAll(): void {
    const now = this.now();
    for (const t of this.byName.values()) {
      if (t.paused) continue;
      const last = this.states[t.name]?.lastResult?.at;
      // Resume each target's own rhythm after a restart; overdue ones are spread by the scheduler.
      const at = last !== undefined && last + t.interval * 1000 > now ? last + t.interval * 1000 : undefined;
      this.scheduler.upsert(t, at);
    }
  }

  list(tag?: string): Target[] {
    const all = [...this.byName.values()];
    return (tag ? all.filter((t) => t.tags.includes(tag.toLowerCase())) : all).sort((a, b) =>
      a.name.localeCompare(b.name),
    );
  }

  /** Every target in no particular order: for periodic passes, where sorting 10,000 names would cost more than the pass. */
  all(): IterableIterator<Target> {
    return this.byName.values();
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  /** The target, or a NotFoundError with a "did you mean" suggestion. */
  get(name: string): Target {
    const n = name.trim().toLowerCase();
    const t = this.byName.get(n);
    if (t) return t;
    const hint = suggestName(n, this.byName.keys());
    throw new NotFoundError(`no target "${n}"${hint ? ` — did you mean "${hint}"?` : ''}`);
  }

  find(name: string): Target | undefined {
    return this.byName.get(name.trim().toLowerCase());
  }

  state(name: string): TargetState {
    const s = this.states[name] ?? initialState(this.now());
    const full = this.lastResults.get(name);
    return full ? { ...s, lastResult: full } : s;
  }

  incidents(name?: string): Incident[] {
    return name ? this.data.incidents.filter((i) => i.target === name) : this.data.incidents;
  }

  openIncident(name: string): Incident | undefined {
    const id = this.states[name]?.incidentId;
    return id ? this.data.incidents.find((i) => i.id === id) : undefined;
  }

  byPushToken(token: string): Target | undefined {
    for (const t of this.byName.values()) if (t.kind === 'push' && t.pushToken === token) return t;
    return undefined;
  }

  /** Adds a target; resolves once it is on disk. */
  async add(input: TargetInput, source: TargetSource): Promise<Target> {
    if (this.byName.has(input.name)) throw new ConflictError(`a target named "${input.name}" already exists`);
    const t = buildTarget(input, source, this.now());
    if (t.dependsOn) this.requireParent(t.dependsOn);
    if (t.kind === 'push') t.pushToken = newPushToken();
    this.put(t);
    await this.store.commit();
    return t;
  }

  async edit(name: string, patch: TargetPatch): Promise<Target> {
    const old = this.get(name);
    this.refuseConfigOwned(old, 'edit');
    const t = patchTarget(old, patch);
    if (t.dependsOn) {
      this.requireParent(t.dependsOn);
      this.refuseCycle(t);
    }
    this.put(t);
    await this.store.commit();
    return t;
  }

  async remove(name: string): Promise<Target> {
    const t = this.get(name);
    this.refuseConfigOwned(t, 'remove');
    const dependents = this.list().filter((o) => o.dependsOn === t.name);
    if (dependents.length)
      throw new UsageError(
        `${dependents.map((d) => d.name).join(', ')} depend${dependents.length === 1 ? 's' : ''} on ${t.name}; edit them first (dependsOn=)`,
      );
    this.drop(t.name);
    await this.store.commit();
    return t;
  }

  /** Pauses alerts and checks; `until` (epoch ms) ends it automatically. */
  async pause(name: string, until?: number): Promise<Target> {
    const t = this.get(name);
    const paused: Target = { ...t, paused: true };
    if (until !== undefined) paused.pausedUntil = until;
    else delete paused.pausedUntil;
    this.byName.set(t.name, paused);
    this.replaceTarget(paused);
    this.scheduler.remove(t.name);
    const { state, flip } = pauseState(this.state(t.name), this.now(), t.name);
    this.setState(paused, state, flip);
    await this.store.commit();
    return paused;
  }

  async resume(name: string): Promise<Target> {
    const t = this.get(name);
    if (!t.paused) throw new UsageError(`${t.name} is not paused`);
    const resumed: Target = { ...t };
    delete resumed.paused;
    delete resumed.pausedUntil;
    this.byName.set(t.name, resumed);
    this.replaceTarget(resumed);
    const { state, flip } = resumeState(this.state(t.name), this.now(), t.name);
    this.setState(resumed, state, flip);
    this.scheduler.upsert(resumed, this.now());
    await this.store.commit();
    return resumed;
  }

  /** Records who acknowledged the open incident. */
  async ack(name: string, actor: Actor): Promise<Incident> {
    const t = this.get(name);
    const inc = this.openIncident(t.name);
    if (!inc) throw new UsageError(`${t.name} has no open incident to acknowledge`);
    if (inc.ackedBy) throw new UsageError(`already acknowledged by ${inc.ackedBy}`);
    inc.ackedBy = actor.display ?? actor.id;
    inc.ackedAt = this.now();
    await this.store.commit();
    this.emit('ack', t, inc, inc.ackedBy);
    return inc;
  }

  /** Ends pauses whose time is up. Called by the periodic tick. */
  async tick(): Promise<void> {
    const now = this.now();
    // Every second over every target: collect first (resume() changes the map), copy nothing.
    const due: string[] = [];
    for (const t of this.byName.values())
      if (t.pausedUntil !== undefined && t.pausedUntil <= now && t.paused) due.push(t.name);
    for (const name of due) await this.resume(name);
  }

  /** Feeds one check result through the state machine. */
  onResult(target: Target, result: CheckResult): void {
    const t = this.byName.get(target.name);
    if (!t || t.paused) return;
    const prev = this.state(t.name);
    const { state, flip } = next(prev, result, t, this.now(), t.name);
    // "No verdict yet" (a push target before its first beat is due) is not a sample.
    if (!result.pending) this.history.recordSample(t.name, result);
    this.setState(t, state, flip);
    this.emit('result', t, result, state);
  }

  private setState(t: Target, state: TargetState, flip: Flip | undefined): void {
    let incident: Incident | undefined;
    if (flip) {
      this.history.recordStatus(t.name, flip.to, flip.at);
      if (flip.to === 'down') {
        incident = {
          id: randomUUID(),
          target: t.name,
          start: flip.at,
          cause: flip.reason,
        };
        if (state.lastResult?.error?.code) incident.code = state.lastResult.error.code;
        this.data.incidents.push(incident);
        state.incidentId = incident.id;
      } else if (flip.from === 'down' && state.incidentId) {
        incident = this.data.incidents.find((i) => i.id === state.incidentId);
        if (incident) incident.end = flip.at;
        delete state.incidentId;
        this.pruneIncidents();
      }
    }
    // state.json's journal gets this every second: it keeps the verdict of the last check, and the
    // measurements (timings, certificate, status) stay in memory until the next check.
    if (state.lastResult) this.lastResults.set(t.name, state.lastResult);
    this.states[t.name] = state.lastResult ? { ...state, lastResult: slim(state.lastResult) } : state;
    this.live.touch(t.name);
    // The main file changes only when something happened (an incident opened or closed).
    if (flip) this.store.markDirty();
    if (flip) this.emit('flip', { flip, target: t, state, ...(incident ? { incident } : {}) });
  }

  private pruneIncidents(): void {
    const closed = this.data.incidents.filter((i) => i.end !== undefined);
    if (closed.length <= MAX_CLOSED_INCIDENTS) return;
    const drop = new Set(closed.slice(0, closed.length - MAX_CLOSED_INCIDENTS).map((i) => i.id));
    this.data.incidents = this.data.incidents.filter((i) => !drop.has(i.id));
  }

  private put(t: Target): void {
    const existed = this.byName.has(t.name);
    this.byName.set(t.name, t);
    if (existed) this.replaceTarget(t);
    else {
      this.data.targets.push(t);
      this.states[t.name] ??= initialState(this.now());
      this.live.touch(t.name);
      this.history.recordStatus(t.name, 'unknown', this.now());
    }
    if (t.paused) this.scheduler.remove(t.name);
    else this.scheduler.upsert(t);
    this.emit('targets');
  }

  private replaceTarget(t: Target): void {
    const i = this.data.targets.findIndex((o) => o.name === t.name);
    if (i >= 0) this.data.targets[i] = t;
  }

  private drop(name: string): void {
    this.byName.delete(name);
    this.scheduler.remove(name);
    this.data.targets = this.data.targets.filter((t) => t.name !== name);
    delete this.states[name];
    this.lastResults.delete(name);
    this.live.touch(name);
    delete this.data.alerting[name];
    this.data.incidents = this.data.incidents.filter((i) => i.target !== name);
    this.history.removeTarget(name);
    this.emit('targets');
  }

  /** A missing parent is a bad argument (400), not a missing resource (404). */
  private requireParent(name: string): void {
    if (this.byName.has(name)) return;
    const hint = suggestName(name, this.byName.keys());
    throw new UsageError(`dependsOn: no target "${name}"${hint ? ` — did you mean "${hint}"?` : ''}`);
  }

  private refuseConfigOwned(t: Target, what: string): void {
    if (t.source === 'config')
      throw new ForbiddenError(`${t.name} is defined in CONFIG_FILE; ${what} it there and restart Lookout`);
  }

  private refuseCycle(t: Target): void {
    const seen = new Set([t.name]);
    for (let p = t.dependsOn; p; p = this.byName.get(p)?.dependsOn) {
      if (seen.has(p)) throw new UsageError(`dependsOn would make a cycle (${[...seen, p].join(' → ')})`);
      seen.add(p);
    }
  }

  private checkDependencies(): void {
    for (const t of this.byName.values()) {
      if (t.dependsOn && !this.byName.has(t.dependsOn))
        throw new UsageError(`${t.name}: dependsOn "${t.dependsOn}" is not a target`);
      if (t.dependsOn) this.refuseCycle(t);
    }
  }
}

function slim(r: CheckResult): CheckResult {
  const out: CheckResult = { ok: r.ok, ms: r.ms, at: r.at, detail: {} };
  if (r.error) out.error = r.error;
  return out;
}
