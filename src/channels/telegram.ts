/**
 * Telegram: an alert channel and the command surface, on telegraf's API client and
 * update router. Long polling by default; webhook mode (`POST /telegram/webhook`
 * on Lookout's own listener) when `webhookUrl` is set.
 *
 * Polling is our own loop around `getUpdates` rather than `bot.launch()`: launch
 * cannot be stopped while it is still connecting, gives up on 401/409 by rejecting,
 * sleeps unabortably between retries and says nothing about its health. Updates
 * still go through `bot.handleUpdate`, so routing, contexts and `bot.catch` are telegraf's.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { Telegraf, TelegramError } from 'telegraf';
import type { Context } from 'telegraf';
import type {
  InlineKeyboardButton,
  InlineKeyboardMarkup,
  MessageEntity,
  Opts,
  Telegram,
} from 'telegraf/types';
import { chatActor, commandList, dispatch, findCommand } from '../../commands/index.js';
import type { Actor } from '../../commands/index.js';
import { tokenize } from '../../commands/parse.js';
import type { TelegramConfig } from '../config.js';
import { DeliveryError } from '../core/errors.js';
import type { AlertMessage } from '../core/message.js';
import { errorReply, infoReply, replyText } from '../core/reply.js';
import type { Reply } from '../core/reply.js';
import type { ChatAdapter, ChatDeps } from './chat.js';
import {
  BUTTONS_PER_ROW,
  CALLBACK_DATA_LIMIT,
  CAPTION_LIMIT,
  MESSAGE_LIMIT,
  buttonLabel,
  noteHtml,
  renderAlert,
  renderReply,
  safeFileName,
} from './telegram-render.js';
import type { Channel, DeliveryContext, SentRef } from './types.js';

type Methods = Telegram;
type CallOptions = NonNullable<Parameters<Telegraf['telegram']['callApi']>[2]>;

/** Timeouts and limits; the defaults suit production, tests shorten nothing. */
const SEND_TIMEOUT_MS = 20_000;
/** Telegram holds a long poll for up to `timeout` seconds; past that plus a margin the connection is dead. */
const POLL_TIMEOUT_S = 50;
const POLL_ABORT_MS = (POLL_TIMEOUT_S + 15) * 1000;
const MAX_BACKOFF_MS = 60_000;
/** A reply waits this long at most for a 429 before giving up (alerts are retried by the outbox instead). */
const REPLY_MAX_RETRY_AFTER_S = 30;
/** Marking a DOWN resolved is retried this often, waiting at most this long each time. */
const RESOLVE_ATTEMPTS = 3;
const RESOLVE_MAX_WAIT_MS = 10_000;
const WEBHOOK_PATH = '/telegram/webhook';
const WEBHOOK_BODY_LIMIT = 1024 * 1024;
const MEMBER_CACHE_MS = 5 * 60_000;
const PRIVATE_KEEP_MS = 3600e3;
/** Bounds on what is kept in `meta` (the frequently written data file must stay small). */
const MAX_ROOTS = 100;
const MAX_ACTIONS = 500;
const KEEP_MS = 30 * 86400e3;
const ALLOWED_UPDATES = ['message', 'callback_query'] as const;
const CHAT_ID = /^(-?\d+|@\w+)$/;

/** An alert that opened a thread, kept so RECOVERED and acks can edit it (Telegram cannot fetch a message). */
interface RootRecord {
  html: string;
  at: number;
  target?: string;
  incidentId?: string;
  buttons: Array<{ label: string; action: string; id?: string }>;
}

/** What this adapter keeps in `meta.telegram`. */
interface TelegramMeta {
  /** Button actions too long for callback_data, by short id. */
  actions: Record<string, { action: string; at: number }>;
  /** Thread roots by `${chat}:${messageId}`. */
  roots: Record<string, RootRecord>;
}

/** The parts of an update this adapter reads, checked at runtime: updates are input, not trusted shapes. */
interface ChatLike {
  id: number | string;
  type?: string;
  username?: string;
}
interface UserLike {
  id: number;
  is_bot?: boolean;
  username?: string;
  first_name?: string;
}
interface TextMessageLike {
  message_id: number;
  date: number;
  chat: ChatLike;
  from?: UserLike;
  text?: string;
  entities?: MessageEntity[];
  reply_markup?: InlineKeyboardMarkup;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

function isChat(v: unknown): v is ChatLike {
  return isObject(v) && (typeof v.id === 'number' || typeof v.id === 'string');
}
function isUser(v: unknown): v is UserLike {
  return isObject(v) && typeof v.id === 'number';
}
function isMessage(v: unknown): v is TextMessageLike {
  return isObject(v) && typeof v.message_id === 'number' && isChat(v.chat);
}

/** Where a button press or message came from, for per-chat ordering of updates. */
function chatKey(update: Record<string, unknown>): string {
  const m = update.message ?? (isObject(update.callback_query) ? update.callback_query.message : undefined);
  if (isObject(m) && isChat(m.chat)) return String(m.chat.id);
  const q = update.callback_query;
  if (isObject(q) && isUser(q.from)) return `user:${q.from.id}`;
  return 'other';
}

/** Runs `p` but stops waiting after `ms`. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
    timer.unref?.();
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const cut = (s: string, max: number) => ([...s].length > max ? `${[...s].slice(0, max - 1).join('')}…` : s);

/** Classified failure of a Bot API call. */
interface Failure {
  message: string;
  permanent: boolean;
  retryAfterMs?: number;
  status?: number;
}

/**
 * Builds the Telegram adapter. Commands are answered in the alert chat, in chats a
 * target routes alerts to, by admins anywhere, and by members of the alert chat
 * in a private chat with the bot; without TELEGRAM_ALERT_CHAT_ID, by everyone.
 */
export function createTelegramAdapter(config: TelegramConfig, deps: ChatDeps): Promise<ChatAdapter> {
  return Promise.resolve(new TelegramAdapter(config, deps));
}

class TelegramAdapter implements ChatAdapter {
  readonly channel: Channel;
  readonly mounts: ChatAdapter['mounts'];
  private readonly bot: Telegraf;
  private readonly log: ChatDeps['log'];
  private readonly secrets: string[];
  private stopped = false;
  private readonly stopAbort = new AbortController();
  private running: Promise<void> | undefined;
  private offset = 0;
  private status = { ok: false, detail: 'not started' };
  /** Per-chat chains: commands in one chat run in the order they were typed; chats do not wait for each other. */
  private readonly queues = new Map<string, Promise<void>>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly seenUpdates: number[] = [];
  /** Per alert id, the chats that already have it: the outbox retries whole messages. */
  private readonly progress = new Map<string, Map<string, SentRef | 'failed'>>();
  private readonly members = new Map<string, { ok: boolean; at: number }>();
  /** Groups upgraded to supergroups get a new id; alerts follow it until the config is fixed. */
  private readonly migrated = new Map<string, string>();
  private readonly hinted = new Set<string>();
  /** Private answers waiting for their person to open a chat with the bot. */
  private readonly privateLater = new Map<string, { reply: Reply; at: number }>();

  constructor(
    private readonly config: TelegramConfig,
    private readonly deps: ChatDeps,
  ) {
    this.log = deps.log;
    this.secrets = [config.token, config.webhookSecret].filter((s): s is string => !!s && s.length >= 4);
    const apiRoot = config.apiRoot.endsWith('/') ? config.apiRoot : `${config.apiRoot}/`;
    // webhookReply off: answers go out as API calls we can check, not inside the webhook response.
    this.bot = new Telegraf(config.token, {
      telegram: { apiRoot, webhookReply: false },
      handlerTimeout: 120_000,
    });
    this.bot.on('message', (ctx) => this.onMessage(ctx.message, ctx.botInfo.username));
    this.bot.on('callback_query', (ctx) => this.onCallback(ctx.callbackQuery));
    this.bot.catch((err, ctx) => this.onHandlerError(err, ctx));
    this.channel = {
      name: 'telegram',
      accepts: (msg) => this.destinations(msg).length > 0,
      send: (msg, ctx) => this.send(msg, ctx),
    };
    this.mounts = config.webhookUrl
      ? [{ prefix: WEBHOOK_PATH, handler: (req, res, sub) => this.onWebhook(req, res, sub) }]
      : [];
  }

  // ---------------------------------------------------------------------------
  // Lifecycle

  async start(): Promise<void> {
    let ready!: () => void;
    const readyP = new Promise<void>((resolve) => (ready = resolve));
    this.running = this.run(ready).catch((err: unknown) =>
      this.log.error({ err: this.safe(err) }, 'telegram: the connection loop crashed'),
    );
    // A Bot API that is down must not hold up start-up: the loop keeps retrying on its own.
    await within(readyP, 10_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopAbort.abort();
    if (this.running) await within(this.running, 5000);
    if (!this.config.webhookUrl && this.offset > 0) {
      // Confirms the updates handled so far, so a restart does not run those commands again.
      await this.call('getUpdates', { offset: this.offset, limit: 1, timeout: 0 }, 3000).catch(
        () => undefined,
      );
    }
    await within(Promise.allSettled([...this.inflight]), 5000);
  }

  health(): { ok: boolean; detail: string } {
    return { ...this.status };
  }

  private setStatus(ok: boolean, detail: string): void {
    this.status = { ok, detail };
  }

  /** Connects, registers commands, then polls or registers the webhook; retries until stopped. */
  private async run(ready: () => void): Promise<void> {
    let delay = 1000;
    while (!this.stopped) {
      try {
        this.bot.botInfo = await this.call('getMe', {}, SEND_TIMEOUT_MS);
        break;
      } catch (err) {
        const f = this.failure(err);
        this.setStatus(false, `cannot reach the Bot API: ${f.message}`);
        this.log.warn({ error: f.message, retryInMs: delay }, 'telegram: getMe failed; retrying');
        await this.pause(f.retryAfterMs ?? delay);
        delay = Math.min(delay * 2, MAX_BACKOFF_MS);
      }
    }
    if (this.stopped) return ready();
    const me = this.bot.botInfo?.username ?? '?';
    await this.registerCommands();
    if (this.config.webhookUrl) {
      const ok = await this.registerWebhook();
      ready();
      if (!ok) await this.retryWebhook();
      return;
    }
    await this.call('deleteWebhook', { drop_pending_updates: false }, SEND_TIMEOUT_MS).catch((err: unknown) =>
      this.log.warn({ error: this.failure(err).message }, 'telegram: deleteWebhook failed'),
    );
    this.setStatus(true, `polling as @${me}`);
    ready();
    await this.poll(me);
  }

  private async registerCommands(): Promise<void> {
    const commands = commandList
      .filter((c) => /^[a-z0-9_]{1,32}$/.test(c.name))
      .map((c) => ({ command: c.name, description: cut(c.summary, 256) }));
    try {
      await this.call('setMyCommands', { commands }, SEND_TIMEOUT_MS);
    } catch (err) {
      // The menu is a convenience: typed commands work without it.
      this.log.warn({ error: this.failure(err).message }, 'telegram: setMyCommands failed');
    }
  }

  private async registerWebhook(): Promise<boolean> {
    const url = `${this.config.webhookUrl}${WEBHOOK_PATH}`;
    try {
      await this.call(
        'setWebhook',
        {
          url,
          allowed_updates: [...ALLOWED_UPDATES],
          ...(this.config.webhookSecret ? { secret_token: this.config.webhookSecret } : {}),
        },
        SEND_TIMEOUT_MS,
      );
      this.setStatus(true, `webhook at ${url}`);
      return true;
    } catch (err) {
      const f = this.failure(err);
      this.setStatus(false, `setWebhook failed: ${f.message}`);
      this.log.error({ error: f.message, url }, 'telegram: setWebhook failed; retrying');
      return false;
    }
  }

  private async retryWebhook(): Promise<void> {
    let delay = 5000;
    while (!this.stopped) {
      await this.pause(delay);
      if (this.stopped || (await this.registerWebhook())) return;
      delay = Math.min(delay * 2, MAX_BACKOFF_MS * 10);
    }
  }

  private async poll(me: string): Promise<void> {
    let delay = 1000;
    while (!this.stopped) {
      try {
        const signal = AbortSignal.any([this.stopAbort.signal, AbortSignal.timeout(POLL_ABORT_MS)]);
        const updates = await this.bot.telegram.callApi(
          'getUpdates',
          { timeout: POLL_TIMEOUT_S, offset: this.offset, allowed_updates: [...ALLOWED_UPDATES] },
          { signal } as unknown as CallOptions,
        );
        if (!this.status.ok) this.log.info('telegram: polling again');
        this.setStatus(true, `polling as @${me}`);
        delay = 1000;
        for (const u of Array.isArray(updates) ? updates : []) {
          if (isObject(u) && typeof u.update_id === 'number')
            this.offset = Math.max(this.offset, u.update_id + 1);
          this.feed(u);
        }
      } catch (err) {
        if (this.stopped) return;
        const f = this.failure(err);
        let wait = f.retryAfterMs ?? delay;
        if (f.status === 409 && /webhook/i.test(f.message)) {
          // A webhook left over from an earlier webhook-mode run blocks polling.
          await this.call('deleteWebhook', { drop_pending_updates: false }, SEND_TIMEOUT_MS).catch(
            () => undefined,
          );
        } else if (f.status === 409 || f.status === 401 || f.status === 404) {
          // Another process polls with this token, or the token is wrong: loud, and slowly retried.
          wait = Math.max(wait, 30_000);
        }
        this.setStatus(false, `getUpdates failed: ${f.message}`);
        this.log.warn({ error: f.message, retryInMs: wait }, 'telegram: polling failed; retrying');
        await this.pause(wait);
        delay = Math.min(delay * 2, MAX_BACKOFF_MS);
      }
    }
  }

  private async pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.stopAbort.signal }).catch(() => undefined);
  }

  // ---------------------------------------------------------------------------
  // Updates in

  /** Hands one update to telegraf, after the earlier updates of the same chat. */
  private feed(update: unknown): void {
    if (!isObject(update) || typeof update.update_id !== 'number') {
      this.log.warn('telegram: ignored an update without update_id');
      return;
    }
    // Telegram redelivers webhook updates it thinks failed; a command must not run twice.
    if (this.seenUpdates.includes(update.update_id)) return;
    this.seenUpdates.push(update.update_id);
    if (this.seenUpdates.length > 500) this.seenUpdates.shift();
    const key = chatKey(update);
    const prev = this.queues.get(key) ?? Promise.resolve();
    const next = prev
      .then(() => this.bot.handleUpdate(update as unknown as Parameters<Telegraf['handleUpdate']>[0]))
      .catch((err: unknown) =>
        this.log.error({ err: this.safe(err), update: update.update_id }, 'telegram: update failed'),
      );
    this.queues.set(key, next);
    this.inflight.add(next);
    void next.finally(() => {
      this.inflight.delete(next);
      if (this.queues.get(key) === next) this.queues.delete(key);
    });
  }

  private async onWebhook(req: IncomingMessage, res: ServerResponse, subpath: string): Promise<boolean> {
    if (subpath !== '') return false;
    const answer = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      const text = body === undefined ? '' : JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(text),
        ...headers,
      });
      res.end(text);
    };
    if ((req.method ?? '').toUpperCase() !== 'POST') {
      answer(405, { error: 'Telegram posts updates here; use POST' }, { allow: 'POST' });
      return true;
    }
    if (!this.secretMatches(req.headers['x-telegram-bot-api-secret-token'])) {
      this.log.warn({ ip: req.socket.remoteAddress }, 'telegram: webhook call with a wrong secret token');
      answer(403, { error: 'wrong or missing X-Telegram-Bot-Api-Secret-Token' });
      return true;
    }
    let update: unknown;
    try {
      update = JSON.parse(await readBody(req, WEBHOOK_BODY_LIMIT));
    } catch (err) {
      const tooBig = err instanceof BodyTooLarge;
      answer(tooBig ? 413 : 400, { error: tooBig ? 'the update is too large' : 'the body is not JSON' });
      return true;
    }
    // Answer first: Telegram retries a webhook that answers slowly, which would run a command twice.
    answer(200);
    this.feed(update);
    return true;
  }

  private secretMatches(got: string | string[] | undefined): boolean {
    const want = this.config.webhookSecret;
    if (!want || typeof got !== 'string') return false;
    const a = createHash('sha256').update(got).digest();
    const b = createHash('sha256').update(want).digest();
    return timingSafeEqual(a, b);
  }

  private async onMessage(message: unknown, username: string): Promise<void> {
    if (!isMessage(message) || typeof message.text !== 'string') return;
    const { text, chat, from } = message;
    if (!isUser(from) || from.is_bot) return;
    const entities = Array.isArray(message.entities) ? message.entities : [];
    const entity = entities.find((e) => isObject(e) && e.type === 'bot_command' && e.offset === 0);
    if (!entity) return;
    const word = text.slice(1, entity.length);
    const at = word.indexOf('@');
    // In groups, `/status@otherbot` is for another bot.
    if (at >= 0 && word.slice(at + 1).toLowerCase() !== username.toLowerCase()) return;
    const line = `${at >= 0 ? word.slice(0, at) : word}${text.slice(entity.length)}`;
    const chatId = String(chat.id);
    const actor = this.actor(from);
    if (!this.config.alertChatId && !this.hinted.has(chatId)) {
      this.hinted.add(chatId);
      this.log.info(
        { chat: chatId },
        'telegram: a command arrived; set TELEGRAM_ALERT_CHAT_ID to this chat id for alerts here',
      );
    }
    const waiting = chat.type === 'private' ? this.privateLater.get(actor.id) : undefined;
    if (waiting) {
      this.privateLater.delete(actor.id);
      if (Date.now() - waiting.at < PRIVATE_KEEP_MS) await this.sendReply(chatId, waiting.reply);
    }
    if (!(await this.mayUse(chat, actor.id))) {
      await this.sendReply(chatId, this.refusal(actor.id), message.message_id);
      return;
    }
    // A speed test takes tens of seconds: say so at once, then put the result in that message.
    const placeholder =
      actor.admin && /^speedtest\s+now\b/i.test(line.trim())
        ? await this.call('sendMessage', {
            chat_id: chatId,
            text: '⏳ running a speed test…',
            reply_parameters: { message_id: message.message_id, allow_sending_without_reply: true },
          }).catch(() => undefined)
        : undefined;
    const reply = await dispatch(line, { ...this.deps.commands, actor });
    if (placeholder && (await this.editInPlace(chatId, placeholder.message_id, reply))) return;
    if (reply.ephemeral && reply.severity !== 'error' && chat.type !== 'private')
      await this.sendPrivately(chatId, actor.id, reply, message.message_id, username);
    else await this.sendReply(chatId, reply, message.message_id);
    if (reply.severity !== 'error') await this.afterCommand(line, actor);
  }

  /**
   * Telegram has no "only you can see this" in groups, and the one private reply
   * (a push target's URL) is a secret: it goes to the person's private chat.
   */
  private async sendPrivately(
    chat: string,
    userId: string,
    reply: Reply,
    replyTo: number,
    username: string,
  ): Promise<void> {
    try {
      await this.sendReply(userId, reply);
    } catch (err) {
      // Bots cannot write first: it waits (in memory) until the person opens the private chat.
      this.log.info({ error: this.failure(err).message }, 'telegram: cannot write to the user privately yet');
      this.privateLater.set(userId, { reply, at: Date.now() });
      if (this.privateLater.size > 100)
        this.privateLater.delete(this.privateLater.keys().next().value as string);
      await this.sendReply(
        chat,
        infoReply(undefined, [
          `📩 the answer contains a secret, so it goes to your private chat: open a chat with @${username} and press Start to get it`,
        ]),
        replyTo,
      );
      return;
    }
    await this.sendReply(
      chat,
      infoReply(undefined, ['📩 sent you the answer privately: it contains a secret']),
      replyTo,
    );
  }

  private async onCallback(query: unknown): Promise<void> {
    if (!isObject(query) || typeof query.id !== 'string' || !isUser(query.from)) return;
    const id = query.id;
    const data = typeof query.data === 'string' ? query.data : undefined;
    const action = data === undefined ? undefined : this.decodeAction(data);
    if (data === undefined || action === undefined) {
      await this.answerCallback(id, 'This button has expired; type the command instead.', true);
      return;
    }
    const message = isMessage(query.message) ? query.message : undefined;
    const actor = this.actor(query.from);
    if (!(await this.mayUse(message?.chat ?? { id: query.from.id, type: 'private' }, actor.id))) {
      await this.answerCallback(id, cut(this.refusal(actor.id).lines.join(' '), 200), true);
      return;
    }
    const reply = await dispatch(action, { ...this.deps.commands, actor });
    if (reply.severity === 'error') {
      // Refused or failed: say why to the one who pressed; the message stays as it was.
      await this.answerCallback(id, cut(reply.lines.join(' '), 200), true);
      return;
    }
    await this.answerCallback(id, cut(reply.title ?? reply.lines[0] ?? 'Done', 200), false);
    const command = this.commandOf(action);
    const note = this.noteFor(command?.name, reply, actor);
    let pressedKey: string | undefined;
    // date 0 marks a message the bot can no longer access (too old): nothing to edit.
    if (message && message.date !== 0) {
      pressedKey = `${message.chat.id}:${message.message_id}`;
      await this.markPressed(message, data, note, reply);
    }
    if (command?.name === 'ack' && command.target) await this.markAcked(command.target, actor, pressedKey);
    this.persist();
  }

  private async onHandlerError(err: unknown, ctx: Context): Promise<void> {
    this.log.error(
      { err: this.safe(err), update: ctx.update?.update_id, type: ctx.updateType },
      'telegram: handling an update failed',
    );
    try {
      const q = ctx.callbackQuery;
      if (q) await this.answerCallback(q.id, 'internal error, see logs', true);
      else if (ctx.chat) await this.sendText(String(ctx.chat.id), 'internal error, see logs');
    } catch {
      // The error is logged; a failing apology must not become a second one.
    }
  }

  // ---------------------------------------------------------------------------
  // Who may do what

  private actor(from: UserLike): Actor {
    const display = from.username ? `@${from.username}` : (from.first_name ?? String(from.id));
    return chatActor('telegram', String(from.id), this.config.adminIds, display);
  }

  private refusal(userId: string): Reply {
    return errorReply('this bot answers members of its alert chat only', [
      `your Telegram id: ${userId}; an admin can add it to TELEGRAM_ADMIN_IDS`,
    ]);
  }

  /**
   * SPEC §1: read-only commands are for everyone in the configured chat. A bot is
   * reachable by anyone who finds its name, and `status` shows internal addresses,
   * so other chats are answered only for admins and members of the alert chat.
   */
  private async mayUse(chat: ChatLike, userId: string): Promise<boolean> {
    const alert = this.config.alertChatId;
    if (!alert) return true;
    if (this.config.adminIds.includes(userId)) return true;
    const chatId = String(chat.id);
    if (chatId === alert || (chat.username && `@${chat.username}`.toLowerCase() === alert.toLowerCase()))
      return true;
    const routed = `telegram:${chatId}`;
    if (this.deps.commands.services.monitor.list().some((t) => t.notify?.channels?.includes(routed)))
      return true;
    return this.isMember(alert, userId);
  }

  private async isMember(alertChat: string, userId: string): Promise<boolean> {
    const now = Date.now();
    const cached = this.members.get(userId);
    if (cached && now - cached.at < MEMBER_CACHE_MS) return cached.ok;
    let ok = false;
    try {
      const m = await this.call('getChatMember', { chat_id: alertChat, user_id: Number(userId) }, 10_000);
      ok =
        m.status === 'creator' ||
        m.status === 'administrator' ||
        m.status === 'member' ||
        (m.status === 'restricted' && m.is_member);
    } catch (err) {
      this.log.warn({ error: this.failure(err).message }, 'telegram: getChatMember failed');
    }
    this.members.set(userId, { ok, at: now });
    if (this.members.size > 1000) this.members.delete(this.members.keys().next().value as string);
    return ok;
  }

  // ---------------------------------------------------------------------------
  // Buttons

  private meta(): TelegramMeta {
    const m = this.deps.meta.telegram;
    if (isObject(m) && isObject(m.actions) && isObject(m.roots)) return m as unknown as TelegramMeta;
    const fresh: TelegramMeta = { actions: {}, roots: {} };
    this.deps.meta.telegram = fresh;
    return fresh;
  }

  private persist(): void {
    void this.deps
      .saveMeta()
      .catch((err: unknown) => this.log.warn({ err: this.safe(err) }, 'telegram: saving meta failed'));
  }

  /**
   * callback_data holds at most 64 bytes: short actions travel as they are, long
   * ones (long target names) as a hash kept in meta, so buttons survive a restart.
   * The data is not trusted: whatever it says runs as the presser, with their rights.
   */
  private encodeAction(action: string): string {
    const direct = `a:${action}`;
    if (Buffer.byteLength(direct) <= CALLBACK_DATA_LIMIT) return direct;
    const id = createHash('sha256').update(action).digest('base64url').slice(0, 16);
    const actions = this.meta().actions;
    actions[id] = { action, at: this.deps.commands.now() };
    const ids = Object.keys(actions);
    if (ids.length > MAX_ACTIONS) {
      ids.sort((x, y) => (actions[x]?.at ?? 0) - (actions[y]?.at ?? 0));
      for (const old of ids.slice(0, ids.length - MAX_ACTIONS)) delete actions[old];
    }
    return `h:${id}`;
  }

  private decodeAction(data: string): string | undefined {
    if (data.startsWith('a:')) return data.slice(2);
    if (data.startsWith('h:')) return this.meta().actions[data.slice(2)]?.action;
    return undefined;
  }

  private keyboard(buttons: ReadonlyArray<{ label: string; action: string }>): InlineKeyboardMarkup {
    const flat: InlineKeyboardButton[] = buttons.map((b) => ({
      text: buttonLabel(b as Parameters<typeof buttonLabel>[0]),
      callback_data: this.encodeAction(b.action),
    }));
    return { inline_keyboard: rows(flat) };
  }

  private commandOf(action: string): { name: string; target?: string } | undefined {
    try {
      const [first, second] = tokenize(action);
      const c = first === undefined ? undefined : findCommand(first);
      if (!c) return undefined;
      const target =
        second === undefined ? undefined : this.deps.commands.services.monitor.find(second)?.name;
      return target ? { name: c.name, target } : { name: c.name };
    } catch {
      return undefined;
    }
  }

  private noteFor(command: string | undefined, reply: Reply, actor: Actor): string {
    const who = actor.display ?? actor.id;
    if (command === 'ack') return `✔️ Acknowledged by ${who}`;
    if (command === 'pause') return `⏸️ ${reply.title ?? 'Paused'} by ${who}`;
    if (command === 'resume') return `▶️ ${reply.title ?? 'Resumed'} by ${who}`;
    return `☑️ ${reply.title ?? 'Done'} — ${who}`;
  }

  /** Edits the message whose button was pressed: who did what, and the buttons that still make sense. */
  private async markPressed(
    message: TextMessageLike,
    data: string,
    note: string,
    reply: Reply,
  ): Promise<void> {
    const chat = String(message.chat.id);
    const key = `${chat}:${message.message_id}`;
    const old = (message.reply_markup?.inline_keyboard ?? []).flat();
    const kept = old.filter((b) => !('callback_data' in b && b.callback_data === data));
    const added = this.keyboard(reply.buttons ?? []).inline_keyboard.flat();
    const dataOf = (b: InlineKeyboardButton) => ('callback_data' in b ? b.callback_data : b.text);
    const seen = new Set(kept.map(dataOf));
    const markup = { inline_keyboard: rows([...kept, ...added.filter((b) => !seen.has(dataOf(b)))]) };
    const rec = this.meta().roots[key];
    try {
      if (rec) {
        const html = `${rec.html}\n\n${noteHtml(note)}`;
        rec.buttons = [
          ...rec.buttons.filter((b) => this.encodeAction(b.action) !== data),
          ...(reply.buttons ?? []).filter((b) => !rec.buttons.some((x) => x.action === b.action)),
        ];
        if (html.length <= MESSAGE_LIMIT) rec.html = html;
        await this.edit(chat, message.message_id, { html: rec.html, markup });
        return;
      }
      const text = message.text ?? '';
      const full = `${text}\n\n${note}`;
      if (!text || full.length > MESSAGE_LIMIT) {
        await this.call('editMessageReplyMarkup', {
          chat_id: chat,
          message_id: message.message_id,
          reply_markup: markup,
        });
        return;
      }
      // The message's own entities keep its formatting; the note is appended after them.
      const entities: MessageEntity[] = [
        ...(message.entities ?? []),
        { type: 'italic', offset: text.length + 2, length: note.length },
      ];
      await this.call('editMessageText', {
        chat_id: chat,
        message_id: message.message_id,
        text: full,
        entities,
        link_preview_options: { is_disabled: true },
        reply_markup: markup,
      });
    } catch (err) {
      this.log.warn(
        { error: this.failure(err).message, chat },
        'telegram: editing the pressed message failed',
      );
    }
  }

  /** After an ack (typed or pressed), the incident's root alerts say so and lose their Ack button. */
  private async markAcked(target: string, actor: Actor, skipKey?: string): Promise<void> {
    const inc = this.deps.commands.services.monitor.openIncident(target);
    const note = `✔️ Acknowledged by ${actor.display ?? actor.id}`;
    for (const [key, rec] of Object.entries(this.meta().roots)) {
      if (key === skipKey || rec.target !== target || (inc && rec.incidentId !== inc.id)) continue;
      const html = `${rec.html}\n\n${noteHtml(note)}`;
      if (html.length <= MESSAGE_LIMIT) rec.html = html;
      rec.buttons = rec.buttons.filter((b) => b.id !== 'ack' && !/^ack\b/i.test(b.action));
      const [chat, id] = splitKey(key);
      try {
        await this.edit(chat, id, { html: rec.html, markup: this.keyboard(rec.buttons) });
      } catch (err) {
        this.log.warn(
          { error: this.failure(err).message, chat },
          'telegram: marking the alert acknowledged failed',
        );
      }
    }
  }

  private async afterCommand(line: string, actor: Actor): Promise<void> {
    const c = this.commandOf(line);
    if (c?.name === 'ack' && c.target) {
      await this.markAcked(c.target, actor);
      this.persist();
    }
  }

  // ---------------------------------------------------------------------------
  // Alerts out

  private destinations(msg: AlertMessage): string[] {
    const out = new Set<string>();
    if (this.config.alertChatId) out.add(this.config.alertChatId);
    for (const c of msg.route?.channels ?? []) {
      if (!c.startsWith('telegram:')) continue;
      const id = c.slice('telegram:'.length).trim();
      if (CHAT_ID.test(id)) out.add(id);
      else this.log.warn({ channel: c }, 'telegram: ignoring a route that is not a chat id or @channel');
    }
    return [...out];
  }

  /**
   * Sends one alert to every destination chat. Each chat is tried even when
   * another fails. A chat that got the message is remembered (in memory) per
   * alert id, so the outbox's retry of the whole message reaches only the rest;
   * after a restart mid-retry those chats may get it twice. Chats failing
   * permanently are logged and skipped; the error is permanent only when no chat got it.
   */
  private async send(msg: AlertMessage, ctx: DeliveryContext): Promise<SentRef[]> {
    const chats = this.destinations(msg);
    if (chats.length === 0) return [];
    const done = this.progress.get(msg.id) ?? new Map<string, SentRef | 'failed'>();
    this.progress.set(msg.id, done);
    if (this.progress.size > 500) this.progress.delete(this.progress.keys().next().value as string);
    const html = renderAlert(msg);
    const buttons = msg.buttons ?? [];
    const errors: DeliveryError[] = [];
    for (const chat of chats) {
      if (done.has(chat)) continue;
      try {
        const root = ctx.root?.find((r) => r.to === chat);
        done.set(chat, await this.sendAlert(chat, msg, html, buttons, root));
      } catch (err) {
        const f = this.failure(err);
        const e = new DeliveryError(`telegram: ${f.message} (chat ${chat})`, f.permanent, f.retryAfterMs);
        if (f.permanent) {
          done.set(chat, 'failed');
          this.log.error(
            { chat, alert: msg.title, error: f.message },
            'telegram: this chat cannot get alerts',
          );
        }
        errors.push(e);
      }
    }
    const refs = chats.map((c) => done.get(c)).filter((r): r is SentRef => typeof r === 'object');
    const transient = errors.filter((e) => !e.permanent);
    if (transient.length > 0) {
      const waits = transient.map((e) => e.retryAfterMs).filter((w): w is number => w !== undefined);
      const first = transient[0] as DeliveryError;
      const partly = refs.length ? ` (delivered to ${refs.length} of ${chats.length} chats so far)` : '';
      throw new DeliveryError(
        `${first.message}${partly}`,
        false,
        waits.length ? Math.max(...waits) : undefined,
        { cause: first },
      );
    }
    this.progress.delete(msg.id);
    if (refs.length === 0 && errors[0]) throw errors[0];
    return refs;
  }

  private async sendAlert(
    chat: string,
    msg: AlertMessage,
    html: string,
    buttons: NonNullable<AlertMessage['buttons']>,
    root: SentRef | undefined,
  ): Promise<SentRef> {
    const rootId = root ? Number(root.id) : NaN;
    const sent = await this.sendTo(chat, (to) => ({
      chat_id: to,
      text: html,
      parse_mode: 'HTML',
      link_preview_options: { is_disabled: true },
      ...(buttons.length ? { reply_markup: this.keyboard(buttons) } : {}),
      // A reply to the DOWN; if that message was deleted, the reply still goes out on its own.
      ...(Number.isSafeInteger(rootId)
        ? { reply_parameters: { message_id: rootId, allow_sending_without_reply: true } }
        : {}),
    }));
    const ref: SentRef = { id: String(sent.message_id), to: chat };
    if (msg.threadRoot && msg.kind === 'down') this.rememberRoot(ref, html, msg);
    if (msg.resolvedNote && root) await this.resolveRoot(root, msg.resolvedNote);
    return ref;
  }

  /** Sends to a chat, following a group's upgrade to a supergroup (Telegram answers with the new id). */
  private async sendTo(
    chat: string,
    payload: (to: string) => Opts<'sendMessage'>,
  ): Promise<ReturnType<Methods['sendMessage']>> {
    const to = this.migrated.get(chat) ?? chat;
    try {
      return await this.call('sendMessage', payload(to));
    } catch (err) {
      const moved = err instanceof TelegramError ? err.parameters?.migrate_to_chat_id : undefined;
      if (moved === undefined) throw err;
      this.migrated.set(chat, String(moved));
      this.log.warn(
        { from: to, to: String(moved) },
        'telegram: the group became a supergroup; update TELEGRAM_ALERT_CHAT_ID (or the route) to the new id',
      );
      return this.call('sendMessage', payload(String(moved)));
    }
  }

  /**
   * Kept in meta, which the outbox writes to disk right after a successful send
   * (it commits the whole data file), so no extra write is needed here.
   */
  private rememberRoot(ref: SentRef, html: string, msg: AlertMessage): void {
    const roots = this.meta().roots;
    const now = this.deps.commands.now();
    const rec: RootRecord = {
      html,
      at: now,
      buttons: (msg.buttons ?? []).map((b) => ({ label: b.label, action: b.action, id: b.id })),
    };
    if (msg.target) rec.target = msg.target;
    if (msg.incidentId) rec.incidentId = msg.incidentId;
    roots[`${ref.to}:${ref.id}`] = rec;
    const keys = Object.keys(roots).sort((a, b) => (roots[a]?.at ?? 0) - (roots[b]?.at ?? 0));
    for (const [i, k] of keys.entries())
      if (i < keys.length - MAX_ROOTS || now - (roots[k]?.at ?? 0) > KEEP_MS) delete roots[k];
  }

  /**
   * A RECOVERED edits its DOWN: the note appended, the buttons gone. The reply is
   * already out, so a failure is not thrown (that would send it again); a passing
   * one (429, 5xx, network) is retried a few times here instead, so a storm does not
   * leave the DOWN looking open. A root that is not remembered (a digest, or
   * pruned) is left as it is.
   */
  private async resolveRoot(root: SentRef, note: string): Promise<void> {
    const key = `${root.to}:${root.id}`;
    const roots = this.meta().roots;
    const rec = roots[key];
    if (!rec) return;
    delete roots[key];
    const html = `${rec.html}\n\n✅ ${noteHtml(note, true)}`;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.edit(this.migrated.get(root.to) ?? root.to, Number(root.id), {
          html: html.length <= MESSAGE_LIMIT ? html : rec.html,
          markup: { inline_keyboard: [] },
        });
        return;
      } catch (err) {
        const f = this.failure(err);
        const wait = f.retryAfterMs ?? attempt * 1000;
        if (f.permanent || attempt >= RESOLVE_ATTEMPTS || wait > RESOLVE_MAX_WAIT_MS || this.stopped) {
          this.log.warn({ error: f.message, chat: root.to }, 'telegram: editing the DOWN alert failed');
          return;
        }
        await this.pause(wait);
      }
    }
  }

  private async edit(
    chat: string,
    messageId: number,
    o: { html: string; markup: InlineKeyboardMarkup },
  ): Promise<void> {
    await this.call('editMessageText', {
      chat_id: chat,
      message_id: messageId,
      text: o.html,
      parse_mode: 'HTML',
      link_preview_options: { is_disabled: true },
      reply_markup: o.markup,
    });
  }

  // ---------------------------------------------------------------------------
  // Replies out

  /** Replaces a placeholder message with a reply that fits in one message; false when it does not. */
  private async editInPlace(chat: string, messageId: number, reply: Reply): Promise<boolean> {
    const { parts, cut: wasCut } = renderReply(reply);
    if (parts.length !== 1 || wasCut || reply.attachment || reply.ephemeral) {
      await this.call('deleteMessage', { chat_id: chat, message_id: messageId }).catch(() => undefined);
      return false;
    }
    try {
      await this.callPatiently('editMessageText', {
        chat_id: chat,
        message_id: messageId,
        text: parts[0] as string,
        parse_mode: 'HTML',
        link_preview_options: { is_disabled: true },
        ...(reply.buttons?.length ? { reply_markup: this.keyboard(reply.buttons) } : {}),
      });
      return true;
    } catch {
      return false;
    }
  }

  private async sendReply(chat: string, reply: Reply, replyTo?: number): Promise<void> {
    const { parts, cut: wasCut } = renderReply(reply);
    const markup = reply.buttons?.length ? this.keyboard(reply.buttons) : undefined;
    for (const [i, html] of parts.entries()) {
      await this.callPatiently('sendMessage', {
        chat_id: chat,
        text: html,
        parse_mode: 'HTML',
        link_preview_options: { is_disabled: true },
        ...(i === 0 && replyTo !== undefined
          ? { reply_parameters: { message_id: replyTo, allow_sending_without_reply: true } }
          : {}),
        ...(i === parts.length - 1 && markup ? { reply_markup: markup } : {}),
      });
    }
    if (reply.attachment)
      await this.sendFile(chat, safeFileName(reply.attachment.name), reply.attachment.data);
    if (wasCut)
      await this.sendFile(
        chat,
        'lookout-reply.txt',
        replyText(reply),
        'The answer is too long for Telegram messages; here it is in full.',
      );
  }

  private async sendFile(chat: string, filename: string, data: string, caption?: string): Promise<void> {
    await this.callPatiently('sendDocument', {
      chat_id: chat,
      document: { source: Buffer.from(data, 'utf8'), filename },
      ...(caption ? { caption: cut(caption, CAPTION_LIMIT) } : {}),
    });
  }

  private async sendText(chat: string, text: string): Promise<void> {
    await this.call('sendMessage', { chat_id: chat, text });
  }

  private async answerCallback(id: string, text: string, alert: boolean): Promise<void> {
    try {
      await this.call('answerCallbackQuery', { callback_query_id: id, text, show_alert: alert });
    } catch (err) {
      // Callback queries expire after a while; the action itself already happened.
      this.log.warn({ error: this.failure(err).message }, 'telegram: answerCallbackQuery failed');
    }
  }

  // ---------------------------------------------------------------------------
  // Calls and errors

  /** One Bot API call with a timeout (telegraf's own is 500 s, which would stall the outbox). */
  private call<M extends keyof Methods>(
    method: M,
    payload: Opts<M>,
    timeoutMs = SEND_TIMEOUT_MS,
  ): Promise<ReturnType<Methods[M]>> {
    const signal = AbortSignal.timeout(timeoutMs);
    return this.bot.telegram.callApi(method, payload, { signal } as unknown as CallOptions);
  }

  /** A reply is worth a short wait when rate-limited; there is no outbox behind it. */
  private async callPatiently<M extends keyof Methods>(
    method: M,
    payload: Opts<M>,
  ): Promise<ReturnType<Methods[M]>> {
    try {
      return await this.call(method, payload);
    } catch (err) {
      const after =
        err instanceof TelegramError && err.code === 429 ? err.parameters?.retry_after : undefined;
      if (after === undefined || after > REPLY_MAX_RETRY_AFTER_S || this.stopped) throw err;
      await this.pause(after * 1000);
      return this.call(method, payload);
    }
  }

  private scrub(s: string): string {
    let out = s;
    for (const secret of this.secrets) out = out.split(secret).join('[redacted]');
    // telegraf redacts `bot<id>:<secret>/` in network errors; a token of another shape is caught here.
    return out.replace(/\/bot[^/\s]+\//g, '/bot[redacted]/');
  }

  /** An error as a log field without secrets (a raw telegraf error carries the whole request payload). */
  private safe(err: unknown): { type: string; message: string; code?: unknown } {
    const e = err as { name?: unknown; message?: unknown; code?: unknown };
    const out: { type: string; message: string; code?: unknown } = {
      type: typeof e?.name === 'string' ? e.name : typeof err,
      message: this.scrub(typeof e?.message === 'string' ? e.message : String(err)),
    };
    if (typeof e?.code === 'string' || typeof e?.code === 'number') out.code = e.code;
    return out;
  }

  /** Classifies a failed call: who failed, whether retrying can help, and how long to wait. */
  private failure(err: unknown): Failure {
    if (err instanceof TelegramError) {
      const status = err.code;
      const message = this.scrub(err.message);
      if (status === 429) {
        const after = err.parameters?.retry_after;
        return {
          message,
          permanent: false,
          retryAfterMs: (typeof after === 'number' ? after : 5) * 1000,
          status,
        };
      }
      // 401/404: the token is wrong; 403: blocked or removed from the chat; 400: chat not found or a
      // message Telegram will never accept. None of these get better by sending again.
      const permanent = status === 400 || status === 401 || status === 403 || status === 404;
      return { message, permanent, status };
    }
    const e = err as { name?: string; message?: string; code?: string };
    if (e?.name === 'AbortError' || e?.name === 'TimeoutError')
      return { message: 'the Bot API did not answer in time', permanent: false };
    const code = typeof e?.code === 'string' ? ` (${e.code})` : '';
    return { message: `network error${code}: ${this.scrub(e?.message ?? String(err))}`, permanent: false };
  }
}

function rows(buttons: InlineKeyboardButton[]): InlineKeyboardButton[][] {
  const out: InlineKeyboardButton[][] = [];
  for (let i = 0; i < buttons.length; i += BUTTONS_PER_ROW) out.push(buttons.slice(i, i + BUTTONS_PER_ROW));
  return out;
}

function splitKey(key: string): [string, number] {
  const i = key.lastIndexOf(':');
  return [key.slice(0, i), Number(key.slice(i + 1))];
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
