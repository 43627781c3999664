/**
 * Alerts and command replies as Telegram HTML (parse_mode HTML). Pure: no I/O and
 * no SDK, so the escaping and the 4,096-character limit are tested without a bot.
 * Every string that reaches the markup goes through `escapeHtml`: target names,
 * addresses and check errors are user- or server-controlled, and Telegram rejects
 * a whole message when one stray `<` does not parse.
 */
import type { AlertKind, AlertMessage, Button } from '../core/message.js';
import { formatTable } from '../core/reply.js';
import type { Reply, ReplyButton, ReplySeverity } from '../core/reply.js';

/** Telegram's limit for one message's text, in characters after parsing. */
export const MESSAGE_LIMIT = 4096;
/** Telegram's limit for a document caption. */
export const CAPTION_LIMIT = 1024;
/**
 * Alerts are rendered a little below the limit: the root message is later edited
 * to append "acknowledged by …" and "resolved after …", which must still fit.
 */
export const ALERT_LIMIT = 3800;
/** Replies longer than this many messages are cut and attached in full as a file. */
export const MAX_REPLY_PARTS = 4;

// Caps per piece of text, so that no single block can exceed a message on its own.
const LINE_CAP = 1000;
const TITLE_CAP = 300;

/** Escapes the three characters Telegram's HTML parser treats specially. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Cuts plain text (before escaping, so an entity like `&amp;` is never cut in half). */
function cap(s: string, max: number): string {
  const chars = [...s];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : s;
}

const esc = (s: string, max = LINE_CAP) => escapeHtml(cap(s, max));

const KIND_ICON = {
  down: '🔴',
  recovered: '✅',
  reminder: '⏰',
  flapping: '🔁',
  stable: '🟢',
  warning: '⚠️',
  'probe-offline': '📡',
  digest: '🚨',
  speedtest: '📶',
} satisfies Record<AlertKind, string>;

const SEVERITY_ICON: Record<ReplySeverity, string> = {
  ok: '✅',
  info: '',
  warning: '⚠️',
  critical: '🔴',
  error: '⚠️',
};

/** Field values that are copied rather than read (addresses) go in `<code>`, which also stops auto-linking. */
const CODE_FIELDS = new Set(['address']);

function field(label: string, value: string): string {
  const v = CODE_FIELDS.has(label.toLowerCase()) ? `<code>${esc(value)}</code>` : esc(value);
  return `<b>${esc(label, 100)}:</b> ${v}`;
}

/**
 * Joins blocks with newlines, dropping body lines from the end (with a note saying
 * how many) until the whole fits `limit`. Head and tail are always kept.
 */
function fit(head: string[], body: string[], tail: string[], limit: number): string {
  const join = (b: string[]) => [...head, ...b, ...tail].join('\n');
  const all = join(body);
  if (all.length <= limit) return all;
  let n = body.length;
  let text = all;
  while (n > 0) {
    n--;
    text = join([...body.slice(0, n), `<i>… and ${body.length - n} more not shown</i>`]);
    if (text.length <= limit) return text;
  }
  return text.slice(0, limit);
}

/** One alert as one message (a root must be a single message so replies and edits can point at it). */
export function renderAlert(msg: AlertMessage, limit = ALERT_LIMIT): string {
  const icon = msg.kind === 'stable' && msg.severity !== 'ok' ? '🔴' : KIND_ICON[msg.kind];
  const head = [`${icon} <b>${esc(msg.title, TITLE_CAP)}</b>`];
  const body = msg.lines.map((l) => esc(l));
  const tail = msg.fields.length ? ['', ...msg.fields.map((f) => field(f.label, f.value))] : [];
  return fit(head, body, tail, limit);
}

/** The line appended to an alert when someone acted on it or it resolved. */
export function noteHtml(text: string, bold = false): string {
  return bold ? `<b>${esc(text, TITLE_CAP)}</b>` : `<i>${esc(text, TITLE_CAP)}</i>`;
}

/** Splits a table into `<pre>` blocks that each fit, repeating the header in every block. */
function tableBlocks(lines: string[], limit: number): string[] {
  const [header = '', rule = '', ...rows] = lines.map((l) => cap(l, LINE_CAP));
  const open = `<pre>${escapeHtml(header)}\n${escapeHtml(rule)}`;
  const blocks: string[] = [];
  let cur = open;
  for (const row of rows) {
    const add = `\n${escapeHtml(row)}`;
    // A block always takes at least one row, so a very wide row cannot loop forever.
    if (cur !== open && cur.length + add.length + '</pre>'.length > limit) {
      blocks.push(`${cur}</pre>`);
      cur = open;
    }
    cur += add;
  }
  blocks.push(`${cur}</pre>`);
  return blocks;
}

/** Packs blocks into messages of at most `limit` characters, never splitting a block. */
export function pack(blocks: string[], limit = MESSAGE_LIMIT): string[] {
  const parts: string[] = [];
  let cur: string[] = [];
  let len = 0;
  const flush = () => {
    while (cur.length && cur[cur.length - 1] === '') cur.pop();
    if (cur.length) parts.push(cur.join('\n'));
    cur = [];
    len = 0;
  };
  for (const b of blocks) {
    if (cur.length === 0 && b === '') continue;
    const add = (cur.length ? 1 : 0) + b.length;
    if (cur.length && len + add > limit) flush();
    if (cur.length === 0 && b === '') continue;
    len += (cur.length ? 1 : 0) + b.length;
    cur.push(b);
  }
  flush();
  return parts;
}

export interface RenderedReply {
  /** Messages to send, in order; each fits MESSAGE_LIMIT. */
  parts: string[];
  /** True when parts were dropped: send the full text as a file too. */
  cut: boolean;
}

/** A command's Reply as one or more HTML messages. */
export function renderReply(r: Reply, limit = MESSAGE_LIMIT, maxParts = MAX_REPLY_PARTS): RenderedReply {
  const blocks: string[] = [];
  const icon = SEVERITY_ICON[r.severity];
  const prefix = icon ? `${icon} ` : '';
  let lines = r.lines;
  if (r.title) blocks.push(`${prefix}<b>${esc(r.title, TITLE_CAP)}</b>`);
  else if (lines.length) {
    // An error has no title: its first line is the message, marked like one.
    blocks.push(`${prefix}${esc(lines[0] as string)}`);
    lines = lines.slice(1);
  }
  blocks.push(...lines.map((l) => esc(l)));
  if (r.fields.length) blocks.push('', ...r.fields.map((f) => field(f.label, f.value)));
  if (r.table) blocks.push('', ...tableBlocks(formatTable(r.table), limit));
  let parts = pack(blocks, limit);
  if (parts.length === 0) parts = [r.attachment ? `📎 ${esc(r.attachment.name)}` : '✅'];
  const cut = parts.length > maxParts;
  return { parts: cut ? parts.slice(0, maxParts) : parts, cut };
}

/** A button as Telegram shows it: `danger` gets a warning sign, since buttons have no colours. */
export function buttonLabel(b: Button | ReplyButton): string {
  return 'style' in b && b.style === 'danger' ? `⚠️ ${b.label}` : b.label;
}

/** Buttons per keyboard row: two fit a phone screen with their labels readable. */
export const BUTTONS_PER_ROW = 2;

/** Telegram's limit for callback_data, in bytes. */
export const CALLBACK_DATA_LIMIT = 64;

/** A file name Telegram clients show as is: no directories, no control characters. */
export function safeFileName(name: string): string {
  const base = name.replace(/^.*[\\/]/, '').replace(/[\p{Cc}"]/gu, '');
  return cap(base || 'lookout.txt', 120);
}
