/** Builds the neutral alert messages (SPEC §3) from monitor events. Channels render them. */
import { formatDuration } from '../core/duration.js';
import type { AlertMessage, Field } from '../core/message.js';
import type { Incident, Target, TargetState } from '../core/types.js';

function causeOf(state: TargetState): string {
  return state.lastResult?.error?.message ?? 'check failed';
}

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
      { label: 'Target', value: t.name },
      { label: 'Address', value: t.address || '(push)' },
      { label: 'Since', value: new Date(incident.start).toISOString() },
      { label: 'Cause', value: cause },
    ],
    at: incident.start,
    target: t.name,
    address: t.address,
    incidentId: incident.id,
    threadRoot: true,
    buttons: [
      { id: 'ack', label: 'Acknowledge', action: `ack ${t.name}` },
      { id: 'pause', label: 'Pause 1h', action: `pause ${t.name} 1h` },
    ],
    ...(t.notify ? { route: t.notify } : {}),
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
      { label: 'Target', value: t.name },
      { label: 'Address', value: t.address || '(push)' },
      { label: 'Down for', value: took },
      { label: 'Cause', value: incident.cause },
      ...latencyField(state),
    ],
    at: incident.end ?? state.since,
    target: t.name,
    address: t.address,
    incidentId: incident.id,
    threadRoot: false,
    resolvedNote: `resolved after ${took}`,
    ...(t.notify ? { route: t.notify } : {}),
  };
}
