/**
 * How Lookout looks on Discord: alerts and command replies as embeds with buttons.
 * Pure functions from the neutral AlertMessage / Reply to Discord's JSON, so the
 * adapter only moves bytes and tests can read what a user would see.
 */
import { ButtonStyle, ComponentType, escapeMarkdown } from 'discord.js';
import type {
  APIActionRowComponent,
  APIButtonComponentWithCustomId,
  APIEmbed,
  APIEmbedField,
  RESTPatchAPIChannelMessageJSONBody,
  RESTPostAPIChannelMessageJSONBody,
} from 'discord.js';
import type { AlertMessage } from '../core/message.js';
import { formatTable } from '../core/reply.js';
import type { Reply, ReplyButton, ReplySeverity } from '../core/reply.js';

/** Embed colours by severity: the stripe people scan a channel by. */
export const COLOURS = {
  critical: 0xd93025,
  error: 0xd93025,
  warning: 0xf29900,
  ok: 0x1e8e3e,
  info: 0x1a73e8,
} satisfies Record<ReplySeverity, number>;

/** Discord's documented limits; a payload over any of them is rejected whole with a 400. */
const LIMIT = {
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  embed: 6000,
  customId: 100,
  label: 80,
  buttonsPerRow: 5,
  rows: 5,
} as const;

export type ButtonRow = APIActionRowComponent<APIButtonComponentWithCustomId>;

/** Nobody is pinged by anything Lookout posts: names and error texts are not ours to trust. */
export const NO_MENTIONS = { parse: [] as [] };

// ---------------------------------------------------------------------------
// Text

/** Cuts to at most `max` UTF-16 units (what Discord counts), never inside a surrogate pair. */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  let out = '';
  for (const ch of s) {
    if (out.length + ch.length > max - 1) break;
    out += ch;
  }
  return `${out}…`;
}

const URL_PATTERN = /\bhttps?:\/\/[^\s<>]+/g;

function escapePart(s: string): string {
  // Brackets are escaped on their own: a masked link `[text](url)` is split by the URL
  // handling below, so the library's masked-link rule would never see it whole.
  return escapeMarkdown(s, { heading: true, bulletedList: true, numberedList: true }).replace(
    /[[\]]/g,
    '\\$&',
  );
}

/**
 * Plain text (a target name, an error from a remote server) made safe for Discord
 * markdown. URLs stay as they are: a backslash inside one would break the link,
 * and Discord does not apply markdown within an auto-linked URL.
 */
export function escapeText(s: string): string {
  let out = '';
  let last = 0;
  for (const m of s.matchAll(URL_PATTERN)) {
    out += escapePart(s.slice(last, m.index)) + m[0];
    last = m.index + m[0].length;
  }
  return out + escapePart(s.slice(last));
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// ---------------------------------------------------------------------------
// Buttons

const CUSTOM_ID = /^lookout:([a-z]+):(.+)$/s;

/**
 * A button's `custom_id`: `lookout:<button id>:<command line>`. The command line
 * is what dispatch runs for whoever presses it, so the button needs no state of
 * our own and still works after a restart. Undefined when it would exceed 100 chars.
 */
export function buttonCustomId(b: { id: string; action: string }): string | undefined {
  const id = `lookout:${b.id}:${b.action}`;
  return id.length <= LIMIT.customId ? id : undefined;
}

export function parseCustomId(customId: string): { id: string; action: string } | undefined {
  const m = CUSTOM_ID.exec(customId);
  if (!m) return undefined;
  const [, id = '', action = ''] = m;
  return { id, action };
}

type AnyButton = Pick<ReplyButton, 'label' | 'action' | 'style'> & { id: string };

function styleOf(b: AnyButton): APIButtonComponentWithCustomId['style'] {
  if (b.style === 'danger') return ButtonStyle.Danger;
  if (b.style === 'primary' || b.id === 'ack') return ButtonStyle.Primary;
  return ButtonStyle.Secondary;
}

function toButton(b: AnyButton): APIButtonComponentWithCustomId | undefined {
  const custom_id = buttonCustomId(b);
  if (custom_id === undefined) return undefined;
  return { type: ComponentType.Button, style: styleOf(b), label: truncate(b.label, LIMIT.label), custom_id };
}

function rowsOf(buttons: APIButtonComponentWithCustomId[]): ButtonRow[] {
  const rows: ButtonRow[] = [];
  const unique = buttons.filter((b, i) => buttons.findIndex((x) => x.custom_id === b.custom_id) === i);
  for (let i = 0; i < unique.length && rows.length < LIMIT.rows; i += LIMIT.buttonsPerRow)
    rows.push({ type: ComponentType.ActionRow, components: unique.slice(i, i + LIMIT.buttonsPerRow) });
  return rows;
}

/** Action rows for buttons; one whose command line does not fit a custom_id is left out. */
export function buttonRows(buttons: readonly AnyButton[] | undefined): ButtonRow[] {
  return rowsOf((buttons ?? []).flatMap((b) => toButton(b) ?? []));
}

// ---------------------------------------------------------------------------
// Embeds

function field(label: string, value: string): APIEmbedField {
  return {
    name: truncate(escapeText(oneLine(label)), LIMIT.fieldName) || '\u200b',
    // Discord rejects an empty field value.
    value: truncate(escapeText(value), LIMIT.fieldValue) || '—',
    inline: value.length <= 40 && !value.includes('\n'),
  };
}

function embedSize(e: APIEmbed): number {
  return (
    (e.title?.length ?? 0) +
    (e.description?.length ?? 0) +
    (e.footer?.text.length ?? 0) +
    (e.author?.name.length ?? 0) +
    (e.fields ?? []).reduce((n, f) => n + f.name.length + f.value.length, 0)
  );
}

/** Keeps an embed within the 6,000-character total: the description gives way first, then trailing fields. */
export function fitEmbed(e: APIEmbed): APIEmbed {
  const out: APIEmbed = { ...e, ...(e.fields ? { fields: e.fields.slice(0, LIMIT.fields) } : {}) };
  let over = embedSize(out) - LIMIT.embed;
  if (over > 0 && out.description) {
    out.description = truncate(out.description, Math.max(1, out.description.length - over - 1));
    over = embedSize(out) - LIMIT.embed;
  }
  while (over > 0 && out.fields?.length) {
    out.fields = out.fields.slice(0, -1);
    over = embedSize(out) - LIMIT.embed;
  }
  return out;
}

function isoTime(ms: number): string | undefined {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

// The kind rides in the footer so that a later edit can tell a digest (shared by
// several incidents) from a single DOWN, even after a restart emptied our caches.
const FOOTER = (kind: string) => `Lookout · ${kind}`;

export function alertEmbed(msg: AlertMessage): APIEmbed {
  const e: APIEmbed = {
    title: truncate(escapeText(oneLine(msg.title)), LIMIT.title),
    color: COLOURS[msg.severity],
    footer: { text: FOOTER(msg.kind) },
  };
  const at = isoTime(msg.at);
  if (at) e.timestamp = at;
  if (msg.lines.length > 0) e.description = truncate(msg.lines.map(escapeText).join('\n'), LIMIT.description);
  if (msg.fields.length > 0) e.fields = msg.fields.slice(0, LIMIT.fields).map((f) => field(f.label, f.value));
  return fitEmbed(e);
}

/** One alert as a channel message: an embed, its buttons, no pings. */
export function renderAlert(msg: AlertMessage): RESTPostAPIChannelMessageJSONBody {
  const body: RESTPostAPIChannelMessageJSONBody = {
    embeds: [alertEmbed(msg)],
    allowed_mentions: NO_MENTIONS,
  };
  const rows = buttonRows(msg.buttons);
  if (rows.length > 0) body.components = rows;
  return body;
}

/** Only the embed keys we write; a fetched embed carries more (type, proxy URLs) that an edit must not echo. */
function cleanEmbed(e: APIEmbed): APIEmbed {
  const out: APIEmbed = {};
  if (e.title !== undefined) out.title = e.title;
  if (e.description !== undefined) out.description = e.description;
  if (e.color !== undefined) out.color = e.color;
  if (e.timestamp !== undefined) out.timestamp = e.timestamp;
  if (e.footer !== undefined) out.footer = { text: e.footer.text };
  if (e.fields !== undefined) out.fields = e.fields.map((f) => ({ ...f }));
  return out;
}

function withLine(description: string | undefined, line: string, first = false): string {
  if (!description) return line;
  const joined = first ? `${line}\n\n${description}` : `${description}\n${line}`;
  return joined.length <= LIMIT.description ? joined : truncate(joined, LIMIT.description);
}

/**
 * The edit that marks an incident's root message resolved: green, "✅ Resolved after
 * 14m" on top, buttons gone. A digest root is shared by several incidents, so it only
 * gains a line for the one that recovered. Without the root's embed (deleted, not
 * readable) the note goes into the message content and the original embed stays.
 */
export function resolvedRootEdit(
  root: APIEmbed | undefined,
  msg: AlertMessage,
): RESTPatchAPIChannelMessageJSONBody {
  const note = escapeText(msg.resolvedNote ?? 'resolved');
  if (!root) return { content: `✅ **${capitalise(note)}**`, components: [], allowed_mentions: NO_MENTIONS };
  const base = cleanEmbed(root);
  if (base.footer?.text === FOOTER('digest')) {
    const line = `✅ ${escapeText(msg.target ?? 'a target')}: ${note}`;
    return { embeds: [fitEmbed({ ...base, description: withLine(base.description, line) })] };
  }
  const line = `✅ **${capitalise(note)}**`;
  return {
    embeds: [fitEmbed({ ...base, color: COLOURS.ok, description: withLine(base.description, line, true) })],
    components: [],
    allowed_mentions: NO_MENTIONS,
  };
}

// ---------------------------------------------------------------------------
// Command replies

export interface RenderedFile {
  name: string;
  data: Buffer;
  contentType: string;
}

export interface RenderedReply {
  embeds: APIEmbed[];
  components: ButtonRow[];
  files: RenderedFile[];
  /** Only the person who asked sees it (Discord's ephemeral flag). */
  ephemeral: boolean;
}

/** Inside a code block only a backtick can break out; a look-alike keeps the table readable. */
function codeSafe(s: string): string {
  return s.replace(/`/g, 'ˋ');
}

function codeBlock(lines: string[]): string {
  return `\`\`\`\n${codeSafe(lines.join('\n'))}\n\`\`\``;
}

export function renderReply(r: Reply): RenderedReply {
  const files: RenderedFile[] = [];
  const parts: string[] = [];
  if (r.lines.length > 0) parts.push(r.lines.map(escapeText).join('\n'));
  if (r.table) {
    const [header = '', rule = '', ...rows] = formatTable(r.table);
    const room = LIMIT.description - (parts[0]?.length ?? 0) - 100;
    let used = codeBlock([header, rule]).length;
    let shown = 0;
    for (const row of rows) {
      if (used + row.length + 1 > room) break;
      used += row.length + 1;
      shown++;
    }
    parts.push(codeBlock([header, rule, ...rows.slice(0, shown)]));
    if (shown < rows.length) {
      // A long table is still all there: the full text goes along as a file.
      files.push({
        name: 'table.txt',
        data: Buffer.from(formatTable(r.table).join('\n') + '\n'),
        contentType: 'text/plain; charset=utf-8',
      });
      parts.push(`${rows.length - shown} more rows in the attached table.txt`);
    }
  }
  if (r.attachment) {
    const name = r.attachment.name.replace(/[\\/]/g, '_');
    // Discord lists the file under the message; the reply's own lines say what it is.
    files.push({ name, data: Buffer.from(r.attachment.data, 'utf8'), contentType: r.attachment.mime });
  }
  const e: APIEmbed = { color: COLOURS[r.severity] };
  if (r.title) e.title = truncate(escapeText(oneLine(r.title)), LIMIT.title);
  if (parts.length > 0) e.description = truncate(parts.join('\n\n'), LIMIT.description);
  if (r.fields.length > 0) e.fields = r.fields.slice(0, LIMIT.fields).map((f) => field(f.label, f.value));
  if (!e.title && !e.description && !e.fields) e.description = 'done';
  return {
    embeds: [fitEmbed(e)],
    components: buttonRows(r.buttons),
    files,
    ephemeral: r.ephemeral === true || r.severity === 'error',
  };
}

/** Buttons of a message as Discord sent it back (other component kinds are left alone). */
function buttonsOf(rows: readonly unknown[]): APIButtonComponentWithCustomId[] {
  const out: APIButtonComponentWithCustomId[] = [];
  for (const row of rows) {
    const r = row as { type?: number; components?: unknown[] };
    if (r.type !== ComponentType.ActionRow) continue;
    for (const c of r.components ?? []) {
      const b = c as Partial<APIButtonComponentWithCustomId>;
      if (b.type === ComponentType.Button && typeof b.custom_id === 'string')
        out.push(b as APIButtonComponentWithCustomId);
    }
  }
  return out;
}

/**
 * The message after someone pressed one of its buttons and the command worked:
 * the same embed plus "✅ Acknowledged portal by @alice", the pressed button gone,
 * and the buttons the command offers next (Pause → Resume) added.
 */
export function afterButton(
  embeds: readonly APIEmbed[],
  rows: readonly unknown[],
  pressed: string,
  reply: Reply,
  userId: string,
): { embeds: APIEmbed[]; components: ButtonRow[] } {
  const line = `✅ ${escapeText(oneLine(reply.title ?? 'Done'))} by <@${userId}>`;
  const [first, ...rest] = embeds.map(cleanEmbed);
  const top: APIEmbed = first
    ? fitEmbed({ ...first, description: withLine(first.description, line) })
    : { description: line, color: COLOURS.info };
  const kept = buttonsOf(rows).filter((b) => b.custom_id !== pressed);
  const next = (reply.buttons ?? []).flatMap((b) => toButton(b) ?? []);
  return { embeds: [top, ...rest], components: rowsOf([...kept, ...next]) };
}
