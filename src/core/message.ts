/**
 * The neutral alert message every channel renders (Block Kit, embeds, Telegram
 * HTML, email). Channels never compute anything from state: all they need is here.
 */

export type Severity = 'critical' | 'warning' | 'ok' | 'info';

export type AlertKind =
  | 'down'
  | 'recovered'
  | 'reminder'
  | 'flapping'
  | 'stable'
  | 'warning'
  | 'probe-offline'
  | 'digest'
  | 'speedtest';

export interface Field {
  label: string;
  value: string;
}

/** A button on an alert; `action` is a command line run as the person who pressed it, e.g. `ack portal`. */
export interface Button {
  id: 'ack' | 'pause';
  label: string;
  action: string;
}

export interface AlertMessage {
  /** Unique, stable id (outbox key and idempotency key). */
  id: string;
  kind: AlertKind;
  severity: Severity;
  /** One line, e.g. `DOWN portal — HTTP 500`. */
  title: string;
  /** Body lines, plain text (channels escape them). */
  lines: string[];
  fields: Field[];
  /** Epoch ms of the event. */
  at: number;
  target?: string;
  address?: string;
  /** Incident this message belongs to: a RECOVERED is threaded under the DOWN with the same incident. */
  incidentId?: string;
  /** True for the message that opens a thread (the DOWN); replies set false. */
  threadRoot?: boolean;
  /** Set on RECOVERED: the root message gets edited to say e.g. `resolved after 14m`. */
  resolvedNote?: string;
  buttons?: Button[];
  /** Extra email recipients and chat destinations for this message (target `notify`). */
  route?: { email?: string[]; channels?: string[] };
}
