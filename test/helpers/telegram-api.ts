/**
 * A fake Telegram Bot API on loopback for driving the real telegraf client:
 * `POST /bot<token>/<method>` with JSON or multipart bodies, `{ ok, result }`
 * answers, a long-polling `getUpdates`, and the methods Lookout uses. It parses
 * HTML the way Telegram does (known tags only, entities required for `<`, `>`
 * and `&`, 4,096 characters after parsing) and answers 400 otherwise, so a
 * rendering or escaping mistake fails here as it would in production.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cutShort, errorPage } from './faults.js';
import type { Fault, FaultPlan } from './faults.js';

type Json = Record<string, unknown>;

export interface ApiCall {
  method: string;
  body: Json;
  /** Files of a multipart call, by field name. */
  files: Record<string, { filename: string; data: string }>;
  /** Epoch ms when the request arrived. */
  at: number;
  /** HTTP status answered. */
  status: number;
  /** The result answered, when ok. */
  result?: unknown;
}

export interface Entity {
  type: string;
  offset: number;
  length: number;
  url?: string;
}

export interface KeyboardButton {
  text: string;
  callback_data?: string;
}

/** A message the bot sent, as Telegram stores it (text after HTML parsing). */
export interface StoredMessage {
  chatId: string;
  messageId: number;
  text: string;
  entities: Entity[];
  /** The last HTML the bot sent or edited in, as sent. */
  html?: string;
  keyboard: KeyboardButton[][];
  replyTo?: number;
  edits: number;
}

export interface User {
  id: number;
  is_bot?: boolean;
  first_name: string;
  username?: string;
}

export interface Injected {
  error_code: number;
  description: string;
  parameters?: { retry_after?: number; migrate_to_chat_id?: number };
  /** Destroy the connection instead of answering (a network error for the client). */
  hangUp?: boolean;
}

export class TelegramError extends Error {}

// ---------------------------------------------------------------------------
// Telegram-style HTML parsing

const TAGS: Record<string, string> = {
  b: 'bold',
  strong: 'bold',
  i: 'italic',
  em: 'italic',
  u: 'underline',
  ins: 'underline',
  s: 'strikethrough',
  strike: 'strikethrough',
  del: 'strikethrough',
  code: 'code',
  pre: 'pre',
  a: 'text_link',
  blockquote: 'blockquote',
  'tg-spoiler': 'spoiler',
};
const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' };

/** Parses Telegram HTML into text and entities; throws with Telegram's wording on what it rejects. */
export function parseHtml(html: string): { text: string; entities: Entity[] } {
  let text = '';
  const entities: Entity[] = [];
  const open: Array<{ tag: string; offset: number; url?: string }> = [];
  let i = 0;
  while (i < html.length) {
    const ch = html[i] as string;
    if (ch === '<') {
      const end = html.indexOf('>', i);
      if (end < 0) throw new TelegramError(`Can't find end of the tag starting at byte offset ${i}`);
      const raw = html.slice(i + 1, end);
      const closing = raw.startsWith('/');
      const m = /^\/?([a-z-]+)(?:\s+href="([^"]*)")?\s*$/i.exec(raw);
      const name = m?.[1]?.toLowerCase();
      if (!m || name === undefined || TAGS[name] === undefined)
        throw new TelegramError(
          `Unsupported ${closing ? 'end' : 'start'} tag "${raw.replace(/^\//, '').split(/\s/)[0] ?? ''}" at byte offset ${i}`,
        );
      if (closing) {
        const top = open.pop();
        if (!top || top.tag !== name)
          throw new TelegramError(`Unmatched end tag at byte offset ${i}, expected "</${top?.tag ?? ''}>"`);
        const e: Entity = {
          type: TAGS[name] as string,
          offset: top.offset,
          length: text.length - top.offset,
        };
        if (top.url !== undefined) e.url = top.url;
        if (e.length > 0) entities.push(e);
      } else {
        const o: { tag: string; offset: number; url?: string } = { tag: name, offset: text.length };
        if (m[2] !== undefined) o.url = m[2];
        open.push(o);
      }
      i = end + 1;
      continue;
    }
    if (ch === '>')
      throw new TelegramError(`Character '>' is reserved and must be escaped (byte offset ${i})`);
    if (ch === '&') {
      const m = /^&(?:([a-z]+)|#(\d+)|#x([0-9a-f]+));/i.exec(html.slice(i, i + 12));
      const named = m?.[1] !== undefined ? NAMED[m[1].toLowerCase()] : undefined;
      if (!m || (m[1] !== undefined && named === undefined))
        throw new TelegramError(`Character '&' must be escaped as &amp; (byte offset ${i})`);
      text +=
        named ??
        String.fromCodePoint(m[2] !== undefined ? Number(m[2]) : Number.parseInt(m[3] as string, 16));
      i += m[0].length;
      continue;
    }
    text += ch;
    i++;
  }
  if (open.length) throw new TelegramError(`Can't find end tag corresponding to start tag "${open[0]?.tag}"`);
  return { text, entities: entities.sort((a, b) => a.offset - b.offset) };
}

// ---------------------------------------------------------------------------
// Multipart

function parseMultipart(body: Buffer, contentType: string): { fields: Json; files: ApiCall['files'] } {
  const boundary = /boundary=([^;]+)/.exec(contentType)?.[1];
  const fields: Json = {};
  const files: ApiCall['files'] = {};
  if (!boundary) return { fields, files };
  const text = body.toString('latin1');
  for (const part of text.split(`--${boundary}`)) {
    const sep = part.indexOf('\r\n\r\n');
    if (sep < 0) continue;
    const head = part.slice(0, sep);
    const value = Buffer.from(part.slice(sep + 4).replace(/\r\n$/, ''), 'latin1').toString('utf8');
    const name = /name="([^"]*)"/.exec(head)?.[1];
    if (name === undefined) continue;
    const filename = /filename="([^"]*)"/.exec(head)?.[1];
    if (filename !== undefined) files[name] = { filename, data: value };
    else fields[name] = value;
  }
  // Telegram reads these fields of a multipart call as JSON.
  for (const k of ['reply_markup', 'reply_parameters', 'link_preview_options', 'caption_entities'])
    if (typeof fields[k] === 'string') fields[k] = JSON.parse(fields[k]);
  return { fields, files };
}

// ---------------------------------------------------------------------------

export class FakeBotApi {
  readonly bot: User = { id: 7000001, is_bot: true, first_name: 'Lookout', username: 'lookout_test_bot' };
  readonly calls: ApiCall[] = [];
  readonly messages = new Map<string, StoredMessage>();
  /** Membership in chats for getChatMember: `${chat}:${user}` → status. */
  readonly members = new Map<string, string>();
  /** How long an empty long poll is held before answering `[]`. */
  holdMs = 1000;
  /**
   * Asked with the method name (`sendMessage`) before each call is handled; a call it
   * fails is recorded with the status answered (0 for a hang, -1 for a drop) and not processed.
   */
  faults: FaultPlan | undefined;
  url = '';
  private server: Server | undefined;
  private readonly updates: Json[] = [];
  private nextUpdateId = 1;
  private nextMessageId = 1000;
  private readonly waiters = new Set<() => void>();
  private readonly listeners = new Set<() => void>();
  private readonly injected: Array<{ method: string; error: Injected; when?: (body: Json) => boolean }> = [];

  constructor(readonly token: string) {}

  async start(): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    this.server = server;
    return this;
  }

  async close(): Promise<void> {
    for (const w of this.waiters) w();
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** The next `times` calls of `method` (whose body matches `when`, if given) fail with `error`. */
  fail(method: string, error: Injected, times = 1, when?: (body: Json) => boolean): void {
    for (let i = 0; i < times; i++) this.injected.push({ method, error, ...(when ? { when } : {}) });
  }

  /** Queues an update (update_id assigned) and wakes a waiting long poll. */
  queue(update: Json): number {
    const id = this.nextUpdateId++;
    this.updates.push({ update_id: id, ...update });
    for (const w of [...this.waiters]) w();
    return id;
  }

  /** Queues a command message as a Telegram client sends it (with its bot_command entity). */
  command(
    text: string,
    from: User,
    chat: { id: number; type?: string; title?: string } = { id: -1001 },
  ): { updateId: number; messageId: number } {
    const messageId = this.nextMessageId++;
    const length = /^\/\S*/.exec(text)?.[0].length ?? 0;
    const updateId = this.queue({
      message: {
        message_id: messageId,
        date: Math.floor(Date.now() / 1000),
        chat: { type: chat.id < 0 ? 'supergroup' : 'private', title: 'NOC', ...chat },
        from,
        text,
        ...(length ? { entities: [{ type: 'bot_command', offset: 0, length }] } : {}),
      },
    });
    return { updateId, messageId };
  }

  /** Queues a press of the button labelled `label` (or carrying that callback_data) on a stored message. */
  press(msg: StoredMessage, label: string, from: User): { updateId: number; queryId: string } {
    const button = msg.keyboard
      .flat()
      .find((b) => b.text === label || b.text.endsWith(label) || b.callback_data === label);
    if (!button?.callback_data) throw new Error(`no button "${label}" on message ${msg.messageId}`);
    const queryId = `q${this.nextUpdateId}`;
    const updateId = this.queue({
      callback_query: {
        id: queryId,
        from,
        chat_instance: 'ci-1',
        data: button.callback_data,
        message: this.messageObject(msg),
      },
    });
    return { updateId, queryId };
  }

  /** Calls of a method (answered ok unless `all`). */
  callsOf(method: string, all = false): ApiCall[] {
    return this.calls.filter((c) => c.method === method && (all || c.status === 200));
  }

  /** Resolves with the first call (past or future) that matches; rejects after `timeoutMs`. */
  waitFor(
    pred: (c: ApiCall) => boolean,
    timeoutMs = 10_000,
    what = 'a matching Bot API call',
  ): Promise<ApiCall> {
    const found = this.calls.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(
          new Error(`timed out waiting for ${what}; calls: ${this.calls.map((c) => c.method).join(', ')}`),
        );
      }, timeoutMs);
      const check = () => {
        const c = this.calls.find(pred);
        if (!c) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve(c);
      };
      this.listeners.add(check);
    });
  }

  /** A sent message whose text (after parsing) matches. */
  async waitForMessage(re: RegExp, timeoutMs = 10_000): Promise<StoredMessage> {
    const c = await this.waitFor(
      (x) => x.method === 'sendMessage' && x.status === 200 && re.test(this.textOf(x)),
      timeoutMs,
      `a message matching ${re}`,
    );
    const r = c.result as { message_id: number; chat: { id: number | string } };
    return this.messages.get(`${r.chat.id}:${r.message_id}`) as StoredMessage;
  }

  /** The reply to a message the test sent. */
  async waitForReply(messageId: number, timeoutMs = 10_000): Promise<StoredMessage> {
    const c = await this.waitFor(
      (x) =>
        x.method === 'sendMessage' &&
        x.status === 200 &&
        (x.body.reply_parameters as { message_id?: number } | undefined)?.message_id === messageId,
      timeoutMs,
      `the reply to message ${messageId}`,
    );
    const r = c.result as { message_id: number; chat: { id: number | string } };
    return this.messages.get(`${r.chat.id}:${r.message_id}`) as StoredMessage;
  }

  /** The visible text of a sendMessage/editMessageText call. */
  textOf(c: ApiCall): string {
    const text = String(c.body.text ?? '');
    if (c.body.parse_mode !== 'HTML') return text;
    try {
      return parseHtml(text).text;
    } catch {
      return text;
    }
  }

  message(chatId: string | number, messageId: number): StoredMessage | undefined {
    return this.messages.get(`${chatId}:${messageId}`);
  }

  // ---------------------------------------------------------------------------

  private messageObject(m: StoredMessage): Json {
    const id = Number(m.chatId);
    return {
      message_id: m.messageId,
      date: Math.floor(Date.now() / 1000),
      chat: Number.isNaN(id)
        ? { id: m.chatId, type: 'channel' }
        : { id, type: id < 0 ? 'supergroup' : 'private' },
      from: this.bot,
      text: m.text,
      ...(m.entities.length ? { entities: m.entities } : {}),
      ...(m.keyboard.length ? { reply_markup: { inline_keyboard: m.keyboard } } : {}),
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const m = /^\/bot([^/]+)\/(\w+)$/.exec(new URL(req.url ?? '/', 'http://x').pathname);
    const fault = m ? this.faults?.(m[2] as string) : undefined;
    if (fault && cutShort(fault, req, res)) {
      const status = fault.kind === 'drop' ? -1 : 0;
      this.calls.push({ method: m?.[2] ?? '?', body: {}, files: {}, at: Date.now(), status });
      for (const l of [...this.listeners]) l();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    const raw = Buffer.concat(chunks);
    const call: ApiCall = { method: m?.[2] ?? '?', body: {}, files: {}, at: Date.now(), status: 0 };
    const type = req.headers['content-type'] ?? '';
    try {
      if (type.startsWith('multipart/form-data')) {
        const p = parseMultipart(raw, type);
        call.body = p.fields;
        call.files = p.files;
      } else if (raw.length) call.body = JSON.parse(raw.toString('utf8')) as Json;
    } catch {
      call.body = {};
    }
    this.calls.push(call);
    const answer = (status: number, payload: Json) => {
      call.status = status;
      if (payload.ok) call.result = payload.result;
      const text = JSON.stringify(payload);
      if (!res.writableEnded) {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(text);
      }
      for (const l of [...this.listeners]) l();
    };
    if (!m || decodeURIComponent(m[1] as string) !== this.token) {
      answer(m ? 401 : 404, {
        ok: false,
        error_code: m ? 401 : 404,
        description: m ? 'Unauthorized' : 'Not Found',
      });
      return;
    }
    if (fault?.kind === 'status') {
      this.answerFault(res, fault);
      call.status = fault.status;
      for (const l of [...this.listeners]) l();
      return;
    }
    const inj = this.injected.findIndex((x) => x.method === call.method && (x.when?.(call.body) ?? true));
    if (inj >= 0) {
      const { error } = this.injected.splice(inj, 1)[0] as { error: Injected };
      if (error.hangUp) {
        call.status = -1;
        res.socket?.destroy();
        for (const l of [...this.listeners]) l();
        return;
      }
      answer(error.error_code, { ok: false, ...error });
      return;
    }
    try {
      const result = await this.run(call, res);
      if (result === undefined) return;
      answer(200, { ok: true, result });
    } catch (e) {
      const description = e instanceof TelegramError ? `Bad Request: ${e.message}` : String(e);
      answer(400, { ok: false, error_code: 400, description });
    }
  }

  /** A 429 the way the Bot API sends it; a 5xx as the HTML page of the proxy in front of it. */
  private answerFault(res: ServerResponse, f: Extract<Fault, { kind: 'status' }>): void {
    if (f.status >= 500) {
      res.writeHead(f.status, { 'content-type': 'text/html' }).end(errorPage(f.status));
      return;
    }
    const after = f.retryAfterS ?? 1;
    const body =
      f.status === 429
        ? {
            ok: false,
            error_code: 429,
            description: `Too Many Requests: retry after ${after}`,
            parameters: { retry_after: after },
          }
        : { ok: false, error_code: f.status, description: 'Injected failure' };
    res
      .writeHead(f.status, {
        'content-type': 'application/json',
        ...(f.status === 429 ? { 'retry-after': String(after) } : {}),
      })
      .end(JSON.stringify(body));
  }

  private async run(call: ApiCall, res: ServerResponse): Promise<unknown> {
    const b = call.body;
    switch (call.method) {
      case 'getMe':
        return this.bot;
      case 'deleteWebhook':
      case 'setWebhook':
      case 'setMyCommands':
      case 'answerCallbackQuery':
        return true;
      case 'getChatMember': {
        const status = this.members.get(`${String(b.chat_id)}:${String(b.user_id)}`) ?? 'left';
        return { status, user: { id: b.user_id, is_bot: false, first_name: 'Someone' } };
      }
      case 'getUpdates':
        return this.getUpdates(b, res);
      case 'sendMessage':
        return this.store(String(b.chat_id), b, this.nextMessageId++);
      case 'sendDocument': {
        const chat = String(b.chat_id);
        const id = this.nextMessageId++;
        const file = call.files.document;
        if (!file) throw new TelegramError('there is no document in the request');
        return {
          message_id: id,
          date: Math.floor(Date.now() / 1000),
          chat: { id: chat },
          document: { file_name: file.filename, file_size: Buffer.byteLength(file.data) },
          ...(b.caption ? { caption: b.caption } : {}),
        };
      }
      case 'editMessageText': {
        const key = `${String(b.chat_id)}:${String(b.message_id)}`;
        const old = this.messages.get(key);
        if (!old) throw new TelegramError('message to edit not found');
        const next = this.parse(b);
        const keyboard = (b.reply_markup as { inline_keyboard?: KeyboardButton[][] } | undefined)
          ?.inline_keyboard;
        if (
          next.text === old.text &&
          JSON.stringify(keyboard ?? old.keyboard) === JSON.stringify(old.keyboard)
        )
          throw new TelegramError(
            'message is not modified: specified new message content and reply markup are exactly the same',
          );
        Object.assign(old, next, { keyboard: keyboard ?? [], edits: old.edits + 1 });
        if (b.parse_mode === 'HTML') old.html = String(b.text);
        return this.messageObject(old);
      }
      case 'editMessageReplyMarkup': {
        const key = `${String(b.chat_id)}:${String(b.message_id)}`;
        const old = this.messages.get(key);
        if (!old) throw new TelegramError('message to edit not found');
        old.keyboard =
          (b.reply_markup as { inline_keyboard?: KeyboardButton[][] } | undefined)?.inline_keyboard ?? [];
        old.edits++;
        return this.messageObject(old);
      }
      default:
        throw new TelegramError(`method ${call.method} is not implemented by the fake`);
    }
  }

  private parse(b: Json): { text: string; entities: Entity[] } {
    const raw = String(b.text ?? '');
    const parsed =
      b.parse_mode === 'HTML' ? parseHtml(raw) : { text: raw, entities: (b.entities as Entity[]) ?? [] };
    if (parsed.text.trim() === '') throw new TelegramError('message text is empty');
    if (parsed.text.length > 4096) throw new TelegramError('message is too long');
    return parsed;
  }

  private store(chatId: string, b: Json, messageId: number): Json {
    if (!/^(-?\d+|@\w+)$/.test(chatId)) throw new TelegramError('chat not found');
    const parsed = this.parse(b);
    const replyTo = (b.reply_parameters as { message_id?: number } | undefined)?.message_id;
    const msg: StoredMessage = {
      chatId,
      messageId,
      ...parsed,
      keyboard:
        (b.reply_markup as { inline_keyboard?: KeyboardButton[][] } | undefined)?.inline_keyboard ?? [],
      edits: 0,
    };
    if (b.parse_mode === 'HTML') msg.html = String(b.text);
    if (replyTo !== undefined) msg.replyTo = replyTo;
    this.messages.set(`${chatId}:${messageId}`, msg);
    return this.messageObject(msg);
  }

  private getUpdates(b: Json, res: ServerResponse): Promise<Json[] | undefined> {
    const offset = typeof b.offset === 'number' ? b.offset : 0;
    // Confirmed updates are gone for good, as on Telegram.
    while (this.updates.length && ((this.updates[0] as Json).update_id as number) < offset)
      this.updates.shift();
    const limit = typeof b.limit === 'number' ? b.limit : 100;
    const ready = () => this.updates.filter((u) => (u.update_id as number) >= offset).slice(0, limit);
    const timeout = typeof b.timeout === 'number' ? b.timeout : 0;
    if (ready().length || timeout === 0) return Promise.resolve(ready());
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        // A poll the client gave up on (aborted at stop) gets no answer.
        resolve(res.destroyed ? undefined : ready());
      };
      const timer = setTimeout(done, this.holdMs);
      this.waiters.add(done);
      // Node 20: the request's 'close' fires once the body is read; the response's marks a gone client.
      res.on('close', done);
    });
  }
}

/** People in the tests. */
export const ALICE: User = { id: 42, first_name: 'Alice', username: 'alice' };
export const BOB: User = { id: 77, first_name: 'Bob', username: 'bob' };
export const MALLORY: User = { id: 666, first_name: 'Mallory' };
