/**
 * The neutral answer to a command. Every surface (Slack Block Kit, Discord embeds,
 * Telegram HTML, the terminal, the JSON API) renders the same Reply, so a command
 * is written once and reads alike everywhere. Pure: no I/O, nothing platform-specific.
 */
import type { Button, Field } from './message.js';

export type { Field };

/** `error` is for replies to a command that failed (bad input, refused, crashed). */
export type ReplySeverity = 'ok' | 'info' | 'warning' | 'critical' | 'error';

export interface ReplyTable {
  columns: string[];
  /** Each row has one cell per column, already formatted. */
  rows: string[][];
}

/**
 * A file sent with the reply (history exports). `data` is the file's content as
 * UTF-8 text: every attachment Lookout produces is text (CSV, JSON), and text
 * stays readable in the JSON API without a base64 round trip. A binary attachment
 * would need an `encoding` field; none exists yet.
 */
export interface ReplyAttachment {
  /** A plain file name without directories, e.g. `portal-history-7d.csv`. */
  name: string;
  /** e.g. `text/csv; charset=utf-8`. */
  mime: string;
  data: string;
}

/**
 * A button under the reply. Pressing it runs `action` as a command line on behalf
 * of the person who pressed it, through the same dispatch (and admin check) as typed
 * text. Alert buttons (`ack`, `pause`) are valid reply buttons as they are.
 */
export interface ReplyButton extends Omit<Button, 'id'> {
  id: Button['id'] | 'resume' | 'confirm';
  /** Rendering hint: `danger` for destructive actions (red where the platform has it). */
  style?: 'primary' | 'danger';
}

export interface Reply {
  /** One short line; absent for plain one-line answers. */
  title?: string;
  /** Body lines, plain text: renderers escape them for their markup. */
  lines: string[];
  fields: Field[];
  severity: ReplySeverity;
  table?: ReplyTable;
  attachment?: ReplyAttachment;
  buttons?: ReplyButton[];
  /** Only the person who asked should see it where the platform allows (Slack ephemeral, Discord flags). */
  ephemeral?: boolean;
}

/** Builds a reply; everything not given is empty. */
export function reply(r: Partial<Reply> & { severity?: ReplySeverity }): Reply {
  return { lines: [], fields: [], severity: 'info', ...r };
}

/** A failed command: one line saying what was wrong, shown only to the asker. */
export function errorReply(message: string, extra: string[] = []): Reply {
  return { lines: [message, ...extra], fields: [], severity: 'error', ephemeral: true };
}

export function okReply(title: string, lines: string[] = [], fields: Field[] = []): Reply {
  return { title, lines, fields, severity: 'ok' };
}

export function infoReply(title: string | undefined, lines: string[] = [], fields: Field[] = []): Reply {
  const r: Reply = { lines, fields, severity: 'info' };
  if (title !== undefined) r.title = title;
  return r;
}

// ---------------------------------------------------------------------------
// Formatting shared by commands and renderers, so every surface shows numbers alike.

/**
 * Uptime ratio (0..1) as `99.93%`. Truncated, never rounded up: 99.999% shows as
 * 99.99%, because "100%" must mean no downtime at all. `null` (nothing observed) is `no data`.
 */
export function formatPercent(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return 'no data';
  if (ratio >= 1) return '100%';
  if (ratio <= 0) return '0%';
  return `${(Math.floor(ratio * 10000) / 100).toFixed(2)}%`;
}

/** Milliseconds as people read them: `0.4 ms`, `12 ms`, `1,250 ms`. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 10) return `${Math.round(ms * 10) / 10} ms`;
  return `${Math.round(ms).toLocaleString('en-US')} ms`;
}

/** `p50 12 ms / p95 40 ms`, or `—` when there were no successful checks. */
export function formatLatency(l: { p50: number; p95: number } | null | undefined): string {
  return l ? `p50 ${formatMs(l.p50)} / p95 ${formatMs(l.p95)}` : '—';
}

/** Epoch ms as `2024-05-01 14:30 UTC`: unambiguous in a channel spread over time zones. */
export function formatTime(ms: number): string {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return '—';
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

// ---------------------------------------------------------------------------
// Plain-text rendering (terminal, logs, tests, platforms without rich layout)

/** Display width in columns: code points, so `é` and emoji do not skew a table. */
function width(s: string): number {
  let n = 0;
  for (const ch of s) n += /\p{M}/u.test(ch) ? 0 : 1;
  return n;
}

function pad(s: string, w: number): string {
  return s + ' '.repeat(Math.max(0, w - width(s)));
}

/** An aligned text table: a header, a rule, then the rows; the last column is not padded. */
export function formatTable(t: ReplyTable): string[] {
  const widths = t.columns.map((c, i) => Math.max(width(c), ...t.rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [
    line(t.columns),
    line(widths.map((w) => '-'.repeat(w))),
    ...t.rows.map((r) => line(t.columns.map((_, i) => r[i] ?? ''))),
  ];
}

export interface TextOptions {
  /** Wraps the title, e.g. in an ANSI colour. Default: as is. */
  title?: (title: string, severity: ReplySeverity) => string;
}

/** The reply as plain text, the way a person reads it in a terminal. */
export function replyText(r: Reply, o: TextOptions = {}): string {
  const out: string[] = [];
  if (r.title) out.push(o.title ? o.title(r.title, r.severity) : r.title);
  out.push(...r.lines);
  if (r.fields.length > 0) {
    const w = Math.max(...r.fields.map((f) => width(f.label)));
    for (const f of r.fields) out.push(`${pad(`${f.label}:`, w + 1)} ${f.value}`);
  }
  if (r.table) {
    if (out.length > 0) out.push('');
    out.push(...formatTable(r.table));
  }
  if (r.attachment) out.push(`attachment: ${r.attachment.name}`);
  if (r.buttons?.length) out.push(...r.buttons.map((b) => `[${b.label}] → ${b.action}`));
  return out.join('\n');
}
