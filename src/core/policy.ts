/**
 * The alert policy (SPEC §3), pure: per-target memory plus an event and `now` in,
 * the new memory and the messages to send out. Cooldown, flapping, reminders and
 * warnings live here; grouping across targets (dependencies, probe self-check,
 * digests) lives in the alert engine that calls these functions.
 */
import {
  downMessage,
  flappingMessage,
  recoveredMessage,
  reminderMessage,
  stableMessage,
  warningMessage,
} from './alert-messages.js';
import { formatDuration } from './duration.js';
import type { AlertMessage } from './message.js';
import type { CheckResult, Incident, Target, TargetState } from './types.js';

export interface PolicySettings {
  /** Seconds between two DOWN alerts for one target. */
  alertCooldown: number;
  /** Seconds between reminders while DOWN and not acknowledged; 0 = off. */
  remindEvery: number;
  /** More than `transitions` flips within `window` seconds = flapping. */
  flapping: { transitions: number; window: number };
  /** Consecutive slow results before a "slow" warning. Default 3. */
  slowChecks?: number;
}

/** What the policy remembers per target; persisted so a restart neither re-alerts nor forgets. */
export interface AlertMemory {
  /** The incident whose DOWN was sent: its RECOVERED must follow. */
  open?: { incidentId: string; sentAt: number; lastRemindAt: number };
  lastDownSentAt?: number;
  /** DOWNs held back by the cooldown since the last DOWN sent. */
  suppressed?: { count: number; since: number };
  /** Epoch ms of recent up/down flips, for flapping. */
  flips: number[];
  flapping?: { since: number; lastFlipAt: number };
  /** Warnings sent and still in force (`cert-expiry-7`, `slow`). */
  warned: string[];
  slowRun: number;
  /** Last incident the policy saw go down: a restart alerts incidents it never saw. */
  seen?: string;
}

export function emptyMemory(): AlertMemory {
  return { flips: [], warned: [], slowRun: 0 };
}

export interface Decision {
  memory: AlertMemory;
  messages: AlertMessage[];
}

function noteFlip(
  m: AlertMemory,
  s: PolicySettings,
  now: number,
): { m: AlertMemory; startedFlapping: boolean } {
  const windowMs = s.flapping.window * 1000;
  const flips = [...m.flips.filter((t) => now - t < windowMs), now];
  const next: AlertMemory = { ...m, flips };
  if (m.flapping) {
    next.flapping = { ...m.flapping, lastFlipAt: now };
    return { m: next, startedFlapping: false };
  }
  if (flips.length > s.flapping.transitions) {
    next.flapping = { since: now, lastFlipAt: now };
    return { m: next, startedFlapping: true };
  }
  return { m: next, startedFlapping: false };
}

/** The target went DOWN (from up or unknown). */
export function onDown(
  mem: AlertMemory,
  t: Target,
  state: TargetState,
  incident: Incident,
  s: PolicySettings,
  now: number,
): Decision {
  const noted = noteFlip(mem, s, now);
  const m = { ...noted.m, seen: incident.id };
  if (noted.startedFlapping)
    return { memory: m, messages: [flappingMessage(t, m.flips.length, s.flapping.window, now)] };
  if (m.flapping) return { memory: m, messages: [] };
  return sendDown(m, t, state, incident, s, now);
}

/** Sends a DOWN unless the cooldown holds it back; a held-back DOWN is counted, never dropped. */
export function sendDown(
  m: AlertMemory,
  t: Target,
  state: TargetState,
  incident: Incident,
  s: PolicySettings,
  now: number,
  extra: string[] = [],
): Decision {
  if (m.lastDownSentAt !== undefined && now - m.lastDownSentAt < s.alertCooldown * 1000) {
    const suppressed = { count: (m.suppressed?.count ?? 0) + 1, since: m.suppressed?.since ?? now };
    return { memory: { ...m, suppressed }, messages: [] };
  }
  const lines = [...extra];
  if (m.suppressed) lines.push(heldBackLine(m.suppressed, s, now));
  const next: AlertMemory = {
    ...m,
    open: { incidentId: incident.id, sentAt: now, lastRemindAt: now },
    lastDownSentAt: now,
  };
  delete next.suppressed;
  return { memory: next, messages: [downMessage(t, state, incident, lines)] };
}

function heldBackLine(sup: { count: number; since: number }, s: PolicySettings, now: number): string {
  const times = sup.count === 1 ? 'once more' : `${sup.count} more times`;
  return `It also went down ${times} in the last ${formatDuration(now - sup.since)} (held back by the ${formatDuration(s.alertCooldown * 1000)} cooldown).`;
}

/** The target came back UP from DOWN. A RECOVERED follows exactly the DOWNs that were sent. */
export function onUp(
  mem: AlertMemory,
  t: Target,
  state: TargetState,
  incident: Incident | undefined,
  s: PolicySettings,
  now: number,
): Decision {
  const { m, startedFlapping } = noteFlip(mem, s, now);
  if (startedFlapping)
    return { memory: m, messages: [flappingMessage(t, m.flips.length, s.flapping.window, now)] };
  if (m.flapping) return { memory: m, messages: [] };
  if (!m.open || !incident || m.open.incidentId !== incident.id) return { memory: m, messages: [] };
  const next: AlertMemory = { ...m };
  delete next.open;
  const lines = m.suppressed ? [heldBackLine(m.suppressed, s, now)] : [];
  delete next.suppressed;
  return { memory: next, messages: [recoveredMessage(t, state, incident, lines)] };
}

/** Periodic: flapping that has calmed down, and reminders. */
export function onTick(
  mem: AlertMemory,
  t: Target,
  state: TargetState,
  openIncident: Incident | undefined,
  s: PolicySettings,
  now: number,
): Decision {
  const messages: AlertMessage[] = [];
  let m = mem;
  if (m.flapping && now - m.flapping.lastFlipAt >= s.flapping.window * 1000) {
    m = { ...m, flips: [] };
    delete m.flapping;
    if (state.status === 'down' && openIncident) {
      // Settled down: a proper DOWN, so that a RECOVERED follows it later.
      const d = sendDown({ ...m, lastDownSentAt: undefined }, t, state, openIncident, s, now, [
        'It was flapping; it has now been down steadily.',
      ]);
      return d;
    }
    if (m.open) {
      // Settled up after a DOWN was sent: this is its recovery.
      const inc = {
        id: m.open.incidentId,
        target: t.name,
        start: m.open.sentAt,
        end: now,
        cause: 'flapping',
      };
      const d = onUp({ ...m, flips: [] }, t, state, inc, s, now);
      return { memory: { ...d.memory, flips: [] }, messages: d.messages };
    }
    if (state.status === 'up' || state.status === 'down')
      messages.push(stableMessage(t, state.status, state.since, now));
    return { memory: m, messages };
  }
  if (
    s.remindEvery > 0 &&
    m.open &&
    !m.flapping &&
    state.status === 'down' &&
    openIncident &&
    openIncident.id === m.open.incidentId &&
    !openIncident.ackedBy &&
    now - m.open.lastRemindAt >= s.remindEvery * 1000
  ) {
    m = { ...m, open: { ...m.open, lastRemindAt: now } };
    messages.push(reminderMessage(t, openIncident, now));
  }
  return { memory: m, messages };
}

const CERT = /^cert-expiry-(\d+)$/;

/** Every result: warnings (certificate expiry thresholds, slow responses), each sent once. */
export function onResult(
  mem: AlertMemory,
  t: Target,
  r: CheckResult,
  s: PolicySettings,
  now: number,
): Decision {
  const messages: AlertMessage[] = [];
  const warnings = r.warnings ?? [];
  let warned = mem.warned;
  const cert = warnings.find((w) => CERT.test(w));
  if (cert && !warned.includes(cert)) {
    const days = r.detail.daysLeft ?? CERT.exec(cert)?.[1];
    messages.push(warningMessage(t, cert, `certificate expires in ${String(days)} days`, now));
    warned = [...warned.filter((w) => !CERT.test(w)), cert];
  } else if (!cert && warned.some((w) => CERT.test(w)) && r.ok) {
    // Renewed: forget the thresholds so the next certificate warns again.
    warned = warned.filter((w) => !CERT.test(w));
  }
  let slowRun = mem.slowRun;
  if (warnings.includes('slow')) {
    slowRun++;
    if (slowRun >= (s.slowChecks ?? 3) && !warned.includes('slow')) {
      messages.push(
        warningMessage(t, 'slow', `slow responses (${Math.round(r.ms)} ms, ${slowRun} checks in a row)`, now),
      );
      warned = [...warned, 'slow'];
    }
  } else if (r.ok) {
    slowRun = 0;
    // Only when there is something to drop: a new array would read as a change of memory,
    // and every change rewrites the main file.
    if (warned.includes('slow')) warned = warned.filter((w) => w !== 'slow');
  }
  if (warned === mem.warned && slowRun === mem.slowRun) return { memory: mem, messages };
  return { memory: { ...mem, warned, slowRun }, messages };
}
