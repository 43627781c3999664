/**
 * The main data file, DATA_DIR/lookout.json: targets, live state, incidents and
 * the alert outbox. It is rewritten often, so it holds nothing that grows with
 * time; history lives in its own file (see history-file.ts).
 */
import type { Incident, Target, TargetState } from '../core/types.js';

export const DATA_VERSION = 1;

export interface MainData {
  version: number;
  targets: Target[];
  states: Record<string, TargetState>;
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
    states: {},
    incidents: [],
    outbox: [],
    alerting: {},
    meta: {},
  };
}

/** Upgrades from version N to N+1, by N. Add an entry when the shape changes. */
const MIGRATIONS: Record<number, (d: Record<string, unknown>) => Record<string, unknown>> = {};

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
  need('states', 'object');
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
