/**
 * Block Kit rendering for Slack: alerts, the edits made to them (resolved, acted on)
 * and command replies. Pure functions over the neutral message model, so the layout
 * can be tested without Bolt or a server.
 */
import type { types } from '@slack/bolt';
import type { AlertKind, AlertMessage, Field, Severity } from '../core/message.js';
import type { Reply, ReplyAttachment, ReplyButton, ReplySeverity } from '../core/reply.js';
import { formatTable, formatTime, replyText } from '../core/reply.js';

export type Block = types.KnownBlock;

/** What chat.postMessage, chat.update, ack() and respond() take: blocks plus the notification text. */
export interface Rendered {
  text: string;
  blocks: Block[];
}

/** Button `action_id`s start with this, so one listener takes every Lookout button and nothing else. */
export const ACTION_PREFIX = 'lookout:';

// Slack's documented limits; a message over any of them is refused as a whole (invalid_blocks).
const HEADER_MAX = 150;
const SECTION_MAX = 3000;
const FIELD_MAX = 2000;
const FIELDS_PER_SECTION = 10;
const BUTTON_LABEL_MAX = 75;
const BUTTON_VALUE_MAX = 2000;
const BUTTONS_PER_BLOCK = 25;
const BLOCKS_MAX = 50;
const TEXT_MAX = 3000;

/**
 * Escapes the three characters Slack's mrkdwn treats as markup. Without it a target
 * name or an error body could ping `<!channel>` or forge a link.
 */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

const KIND_EMOJI = {
  down: '🔴',
  recovered: '✅',
  reminder: '⏰',
  flapping: '🔁',
  stable: '🟢',
  warning: '⚠️',
  'probe-offline': '📡',
  digest: '🔴',
  speedtest: '📶',
} satisfies Record<AlertKind, string>;

const SEVERITY_EMOJI = {
  critical: '🔴',
  warning: '⚠️',
  ok: '✅',
  info: 'ℹ️',
  error: '❌',
} satisfies Record<Severity | ReplySeverity, string>;

function emojiOf(msg: AlertMessage): string {
  // A stable target that settled DOWN must not look green.
  if (msg.kind === 'stable' && msg.severity !== 'ok') return SEVERITY_EMOJI[msg.severity];
  return KIND_EMOJI[msg.kind];
}

function header(text: string): Block {
  return { type: 'header', text: { type: 'plain_text', text: clip(text, HEADER_MAX), emoji: true } };
}

function mrkdwn(text: string): { type: 'mrkdwn'; text: string } {
  return { type: 'mrkdwn', text };
}

/** Lines as few sections as fit, each under Slack's 3,000-character limit. */
function sections(lines: string[]): Block[] {
  const out: Block[] = [];
  let chunk = '';
  for (const raw of lines) {
    const line = clip(escapeMrkdwn(raw), SECTION_MAX);
    if (chunk && chunk.length + 1 + line.length > SECTION_MAX) {
      out.push({ type: 'section', text: mrkdwn(chunk) });
      chunk = '';
    }
    chunk = chunk ? `${chunk}\n${line}` : line;
  }
  if (chunk.trim()) out.push({ type: 'section', text: mrkdwn(chunk) });
  return out;
}

function fieldSections(fields: Field[]): Block[] {
  const out: Block[] = [];
  for (let i = 0; i < fields.length; i += FIELDS_PER_SECTION) {
    out.push({
      type: 'section',
      fields: fields
        .slice(i, i + FIELDS_PER_SECTION)
        .map((f) => mrkdwn(clip(`*${escapeMrkdwn(f.label)}*\n${escapeMrkdwn(f.value || '—')}`, FIELD_MAX))),
    });
  }
  return out;
}

/** Slack shows `<!date…>` in each reader's own time zone; the fallback is UTC. */
function slackDate(ms: number): string {
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${formatTime(ms)}>`;
}

function context(text: string): Block {
  return { type: 'context', elements: [mrkdwn(clip(text, SECTION_MAX))] };
}

interface ButtonLike {
  id: string;
  label: string;
  action: string;
  style?: 'primary' | 'danger';
}

function actions(buttons: ButtonLike[], blockId: string): Block[] {
  const usable = buttons.filter((b) => b.action.length <= BUTTON_VALUE_MAX).slice(0, BUTTONS_PER_BLOCK);
  if (usable.length === 0) return [];
  return [
    {
      type: 'actions',
      block_id: blockId,
      elements: usable.map((b, i) => ({
        type: 'button' as const,
        // Unique within the block even when two buttons share an id.
        action_id: `${ACTION_PREFIX}${b.id}:${i}`,
        text: { type: 'plain_text' as const, text: clip(b.label, BUTTON_LABEL_MAX), emoji: true },
        value: b.action,
        ...(b.style ? { style: b.style } : {}),
      })),
    },
  ];
}

/** The 50-block cap, keeping the first blocks and saying that some were left out. */
function capBlocks(blocks: Block[]): Block[] {
  if (blocks.length <= BLOCKS_MAX) return blocks;
  return [
    ...blocks.slice(0, BLOCKS_MAX - 1),
    context('_(message shortened: Slack shows at most 50 blocks)_'),
  ];
}

/** The notification line: what phones and the sidebar show. It is mrkdwn too, so escaped. */
function fallback(text: string): string {
  return clip(escapeMrkdwn(text.replace(/\s+/g, ' ').trim()), TEXT_MAX);
}

// ---------------------------------------------------------------------------
// Alerts

/**
 * An alert as a Block Kit message: a header with the state emoji and title, the
 * lines, the fields (target, address, since, cause, latency), the buttons and the time.
 */
export function renderAlert(msg: AlertMessage): Rendered {
  const blocks: Block[] = [
    header(`${emojiOf(msg)} ${msg.title}`),
    ...sections(msg.lines),
    ...fieldSections(msg.fields),
    ...actions(
      (msg.buttons ?? []).map((b) => ({ ...b, ...(b.id === 'ack' ? { style: 'primary' as const } : {}) })),
      'lookout_actions',
    ),
    context(`Lookout · ${slackDate(msg.at)}`),
  ];
  return { text: fallback(`${emojiOf(msg)} ${msg.title}`), blocks: capBlocks(blocks) };
}

/**
 * What the root of an incident becomes when its RECOVERED arrives: the same facts,
 * marked resolved (`resolved after 14m`), without buttons that no longer apply.
 */
export function renderResolvedRoot(recovered: AlertMessage): Rendered {
  const note = recovered.resolvedNote ?? 'resolved';
  const subject = recovered.target ?? recovered.title;
  const blocks: Block[] = [
    header(`✅ ${subject} — ${note}`),
    ...fieldSections(recovered.fields),
    context(`Resolved ${slackDate(recovered.at)} · details in the thread`),
  ];
  return { text: fallback(`✅ ${subject} — ${note}`), blocks: capBlocks(blocks) };
}

/**
 * The message a button was pressed on, after the command it ran succeeded: the
 * pressed button is gone, buttons the reply offers are added (e.g. Resume after a
 * pause) and a context line says who did what ("Acknowledged portal by <@U123>").
 */
export function renderActed(
  original: unknown[],
  pressedActionId: string,
  reply: Reply,
  userId: string,
  at: number,
): Block[] {
  const what = reply.title ?? reply.lines[0] ?? 'Done';
  const note = `${SEVERITY_EMOJI.ok} ${escapeMrkdwn(what)} by <@${escapeMrkdwn(userId)}> · ${slackDate(at)}`;
  const kept: Block[] = [];
  const offered = new Set<string>();
  for (const raw of original) {
    if (!isObject(raw)) continue;
    if (raw.type !== 'actions' || !Array.isArray(raw.elements)) {
      kept.push(raw as unknown as Block);
      continue;
    }
    const elements = (raw.elements as unknown[]).filter(
      (e) => !(isObject(e) && e.action_id === pressedActionId),
    );
    for (const e of elements) if (isObject(e) && typeof e.value === 'string') offered.add(e.value);
    if (elements.length > 0) kept.push({ ...raw, elements } as unknown as Block);
  }
  const extra = (reply.buttons ?? []).filter((b) => !offered.has(b.action));
  const extraBlocks = actions(extra, `lookout_more_${kept.length}`);
  return capBlocks([...kept, ...extraBlocks, context(note)]);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

// ---------------------------------------------------------------------------
// Command replies

/** Text inside a ``` block: escaped, and no ``` that would close it early. */
function codeBlock(text: string, max = SECTION_MAX - 8): string {
  const safe = escapeMrkdwn(text).replace(/```/g, '`\u200b``');
  const body = safe.length <= max ? safe : `${safe.slice(0, max - 1)}…`;
  return `\`\`\`${body}\`\`\``;
}

/** A long text as consecutive code blocks, split on line boundaries. */
function codeSections(lines: string[], maxBlocks: number): Block[] {
  const out: Block[] = [];
  const limit = SECTION_MAX - 200; // escaping can grow a chunk
  let chunk: string[] = [];
  let size = 0;
  const flush = () => {
    if (chunk.length) out.push({ type: 'section', text: mrkdwn(codeBlock(chunk.join('\n'))) });
    chunk = [];
    size = 0;
  };
  for (const line of lines) {
    if (size + line.length + 1 > limit) flush();
    chunk.push(line);
    size += line.length + 1;
  }
  flush();
  if (out.length <= maxBlocks) return out;
  return [...out.slice(0, maxBlocks), context('_(table shortened to fit in Slack)_')];
}

/**
 * A command's Reply as Block Kit: bold title, lines, fields, the table as a code
 * block and the buttons. An attachment is not included here; see `renderAttachmentInline`.
 */
export function renderReply(r: Reply): Rendered {
  const blocks: Block[] = [];
  const mark = r.severity === 'error' ? `${SEVERITY_EMOJI.error} ` : '';
  const lines = [...r.lines];
  if (r.title)
    blocks.push({ type: 'section', text: mrkdwn(clip(`${mark}*${escapeMrkdwn(r.title)}*`, SECTION_MAX)) });
  else if (mark && lines.length > 0) lines[0] = `${mark}${lines[0]}`;
  blocks.push(...sections(lines));
  blocks.push(...fieldSections(r.fields));
  if (r.table) blocks.push(...codeSections(formatTable(r.table), 30));
  blocks.push(...actions((r.buttons ?? []) as ReplyButton[], 'lookout_reply_actions'));
  if (blocks.length === 0) blocks.push({ type: 'section', text: mrkdwn('_(no output)_') });
  const { attachment: _attachment, ...rest } = r;
  return { text: fallback(`${mark}${replyText(rest)}`), blocks: capBlocks(blocks) };
}

/**
 * An attachment that could not be uploaded, shown in the message instead, with a
 * note saying why. Long files are cut, since a message holds at most ~40 kB.
 */
export function renderAttachmentInline(a: ReplyAttachment, why: string): Block[] {
  const lines = a.data.replace(/\s+$/, '').split(/\r?\n/);
  const shown = codeSections(lines, 10);
  return [
    context(`📎 ${escapeMrkdwn(a.name)} could not be attached (${escapeMrkdwn(why)}); its content:`),
    ...shown,
  ];
}

/** A slash-command answer for ack() or respond(): ephemeral when the reply asks for it or failed. */
export function replyPayload(
  r: Reply,
  extra: Block[] = [],
): Rendered & { response_type: 'ephemeral' | 'in_channel' } {
  const rendered = renderReply(r);
  return {
    response_type: r.ephemeral || r.severity === 'error' ? 'ephemeral' : 'in_channel',
    text: rendered.text,
    blocks: capBlocks([...rendered.blocks, ...extra]),
  };
}
