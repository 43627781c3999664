/** Builds the neutral alert messages (SPEC §3) from monitor events. Channels render them. */
import { formatDuration } from './duration.js';
import type { AlertMessage, Field } from './message.js';
import type { Incident, Target, TargetState } from './types.js';

function causeOf(state: TargetState): string {
  return state.lastResult?.error?.message ?? 'check failed';
}

/** What every per-target message carries: where it is about, when, and its extra routes. */
function about(t: Target, at: number): Pick<AlertMessage, 'at' | 'target' | 'address' | 'route'> {
  return { at, target: t.name, address: t.address, ...(t.notify ? { route: t.notify } : {}) };
}

function targetFields(t: Target): Field[] {
  return [
    { label: 'Target', value: t.name },
    { label: 'Address', value: t.address || '(push)' },
  ];
}

const ackButton = (t: Target) => ({ id: 'ack' as const, label: 'Acknowledge', action: `ack ${t.name}` });
const pauseButton = (t: Target) => ({
  id: 'pause' as const,
  label: 'Pause 1h',
  action: `pause ${t.name} 1h`,
});

function latencyField(state: TargetState): Field[] {
  const r = state.lastResult;
  return r && r.ok ? [{ label: 'Latency', value: `${Math.round(r.ms)} ms` }] : [];
}

export function downMessage(
  t: Target,
  state: TargetState,
  incident: Incident,
  extra: string[] = [],
): AlertMessage {
  const cause = causeOf(state);
  return {
    id: `${incident.id}:down`,
    kind: 'down',
    severity: 'critical',
    title: `DOWN ${t.name} — ${cause}`,
    lines: extra,
    fields: [
      ...targetFields(t),
      { label: 'Since', value: new Date(incident.start).toISOString() },
      { label: 'Cause', value: cause },
    ],
    ...about(t, incident.start),
    incidentId: incident.id,
    threadRoot: true,
    buttons: [ackButton(t), pauseButton(t)],
  };
}

export function recoveredMessage(
  t: Target,
  state: TargetState,
  incident: Incident,
  extra: string[] = [],
): AlertMessage {
  const took = formatDuration((incident.end ?? state.since) - incident.start);
  return {
    id: `${incident.id}:recovered`,
    kind: 'recovered',
    severity: 'ok',
    title: `RECOVERED ${t.name} — down for ${took}`,
    lines: extra,
    fields: [
      ...targetFields(t),
      { label: 'Down for', value: took },
      { label: 'Cause', value: incident.cause },
      ...latencyField(state),
    ],
    ...about(t, incident.end ?? state.since),
    incidentId: incident.id,
    threadRoot: false,
    resolvedNote: `resolved after ${took}`,
  };
}

export function reminderMessage(t: Target, incident: Incident, now: number): AlertMessage {
  const took = formatDuration(now - incident.start);
  return {
    id: `${incident.id}:remind:${now}`,
    kind: 'reminder',
    severity: 'critical',
    title: `STILL DOWN ${t.name} — for ${took}`,
    lines: [`Not acknowledged yet. Cause: ${incident.cause}`],
    fields: [
      { label: 'Target', value: t.name },
      { label: 'Down for', value: took },
      { label: 'Cause', value: incident.cause },
    ],
    ...about(t, now),
    incidentId: incident.id,
    threadRoot: false,
    buttons: [ackButton(t), pauseButton(t)],
  };
}

export function flappingMessage(t: Target, flips: number, windowS: number, now: number): AlertMessage {
  return {
    id: `${t.name}:flapping:${now}`,
    kind: 'flapping',
    severity: 'warning',
    title: `FLAPPING ${t.name} — ${flips} changes in ${formatDuration(windowS * 1000)}`,
    lines: [`Alerts for ${t.name} are held until it has been stable for ${formatDuration(windowS * 1000)}.`],
    fields: targetFields(t),
    ...about(t, now),
    buttons: [pauseButton(t)],
  };
}

export function stableMessage(t: Target, status: 'up' | 'down', since: number, now: number): AlertMessage {
  return {
    id: `${t.name}:stable:${now}`,
    kind: 'stable',
    severity: status === 'up' ? 'ok' : 'critical',
    title: `STABLE ${t.name} — settled ${status.toUpperCase()} after flapping`,
    lines: [`${status === 'up' ? 'Up' : 'Down'} since ${new Date(since).toISOString()}.`],
    fields: [{ label: 'Target', value: t.name }],
    ...about(t, now),
  };
}

/** A warning (certificate expiry threshold, slow responses), sent once per threshold. */
export function warningMessage(t: Target, code: string, text: string, now: number): AlertMessage {
  return {
    id: `${t.name}:warn:${code}:${now}`,
    kind: 'warning',
    severity: 'warning',
    title: `WARNING ${t.name} — ${text}`,
    lines: [],
    fields: targetFields(t),
    ...about(t, now),
  };
}

/** Many DOWNs in one round: one message instead of a flood. Recoveries thread under it. */
export function digestMessage(unsorted: AlertMessage[], now: number): AlertMessage {
  const items = [...unsorted].sort((a, b) => (a.target ?? '').localeCompare(b.target ?? ''));
  const names = items.map((m) => m.target ?? '?');
  return {
    id: `digest:${items[0]?.id ?? now}:${items.length}`,
    kind: 'digest',
    severity: 'critical',
    title: `DOWN ${items.length} targets — ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}`,
    lines: items.map((m) => `${m.target}: ${m.fields.find((f) => f.label === 'Cause')?.value ?? m.title}`),
    fields: [],
    at: now,
    threadRoot: true,
  };
}

/** The probe itself was offline: one message when it is back, listing what failed meanwhile. */
export function probeOfflineMessage(since: number, now: number, failed: string[]): AlertMessage {
  return {
    id: `probe:${since}`,
    kind: 'probe-offline',
    severity: 'warning',
    title: `PROBE OFFLINE since ${new Date(since).toISOString()} — back after ${formatDuration(now - since)}`,
    lines: [
      `Lookout could not reach its own uplink, so the failures below were not alerted one by one:`,
      ...(failed.length ? failed.map((n) => `• ${n}`) : ['(nothing failed meanwhile)']),
      `Targets that are still down now are alerted normally.`,
    ],
    fields: [],
    at: now,
  };
}
