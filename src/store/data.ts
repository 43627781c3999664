/**
 * The main data file, DATA_DIR/lookout.json: targets, incidents, alert memory and
 * the outbox — what changes when something happens. What changes with every check
 * (each target's live state) is in DATA_DIR/state.json, so the main file is not
 * rewritten every second at 10,000 targets; history lives in its own files.
 */
import type { Incident, Target, TargetState } from '../core/types.js';

export const DATA_VERSION = 2;

export interface MainData {
  version: number;
  targets: Target[];
  /** Live states of a version-1 file, moved to state.json at start-up. */
  legacyStates?: Record<string, TargetState>;
  /** Open incidents and the most recent closed ones (bounded). */
  incidents: Incident[];
  /** Alert outbox entries (owned by the alerts module). */
  outbox: unknown[];
  /** Per-target alert policy memory (owned by the alerts module). */
  alerting: Record<string, unknown>;
  /** Small named values other modules persist (e.g. registered command hashes). */
  meta: Record<string, unknown>;
}

export function initialData(): MainData {
  return {
    version: DATA_VERSION,
    targets: [],
    incidents: [],
    outbox: [],
    alerting: {},
    meta: {},
  };
}

/** Upgrades from version N to N+1, by N. Add an entry when the shape changes. */
const MIGRATIONS: Record<number, (d: Record<string, unknown>) => Record<string, unknown>> = {
  // 1 → 2: live states move to state.json (the app moves them on first start).
  1: ({ states, ...rest }) => ({ ...rest, legacyStates: states ?? {} }),
};

/** Validates what was read and migrates it to the current version; throws a message on failure. */
export function validateData(raw: unknown): MainData {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new Error('the top level is not an object');
  let d = raw as Record<string, unknown>;
  const version = d.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1)
    throw new Error('"version" is missing or not a positive integer');
  if (version > DATA_VERSION)
    throw new Error(
      `it was written by a newer Lookout (data version ${version}, this one knows ${DATA_VERSION}); upgrade Lookout`,
    );
  for (let v = version; v < DATA_VERSION; v++) {
    const m = MIGRATIONS[v];
    if (!m) throw new Error(`no migration from data version ${v}`);
    d = m(d);
    d.version = v + 1;
  }
  const need = (key: string, kind: 'array' | 'object') => {
    const v = d[key];
    const ok = kind === 'array' ? Array.isArray(v) : v !== null && typeof v === 'object' && !Array.isArray(v);
    if (!ok) throw new Error(`"${key}" is not an ${kind}`);
  };
  need('targets', 'array');
  need('incidents', 'array');
  d.outbox ??= [];
  d.alerting ??= {};
  d.meta ??= {};
  need('outbox', 'array');
  for (const [i, t] of (d.targets as unknown[]).entries()) {
    const ok =
      t !== null &&
      typeof t === 'object' &&
      typeof (t as Target).name === 'string' &&
      typeof (t as Target).kind === 'string';
    if (!ok) throw new Error(`targets[${i}] has no name or kind`);
  }
  return d as unknown as MainData;
}

/** DATA_DIR/state.json: each target's live state, rewritten at most once a second. */
export interface LiveData {
  version: 1;
  states: Record<string, TargetState>;
  /** Epoch ms of the last scheduler tick: after a restart, the time since is "unknown", not up. */
  lastAliveAt?: number;
}

export function initialLive(): LiveData {
  return { version: 1, states: {} };
}

export function validateLive(raw: unknown): LiveData {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new Error('the top level is not an object');
  const d = raw as Record<string, unknown>;
  if (d.version !== 1) throw new Error(`"version" must be 1 (got ${JSON.stringify(d.version)})`);
  if (d.states === null || typeof d.states !== 'object' || Array.isArray(d.states))
    throw new Error('"states" is not an object');
  return d as unknown as LiveData;
}
