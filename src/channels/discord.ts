/**
 * Discord: alerts go out as embeds through the REST API; slash commands, target
 * autocomplete and alert buttons come in over the gateway (discord.js) and run
 * through the same `dispatch` as every other surface.
 *
 * Alerts use a REST client of their own that never waits out a rate limit (a
 * 429 becomes a DeliveryError with the wait, and the outbox schedules the retry)
 * and gives up on a request after a timeout, so a stuck Discord holds up neither
 * other channels nor other alerts. The gateway is discord.js's job: it connects
 * in the background, resumes after a drop, and Lookout only reports its state.
 */
import {
  Client,
  DiscordAPIError,
  DiscordjsErrorCodes,
  Events,
  GatewayIntentBits,
  HTTPError,
  MessageFlags,
  RateLimitError,
  REST,
  Routes,
} from 'discord.js';
import type {
  APIEmbed,
  APIMessage,
  AutocompleteInteraction,
  ButtonInteraction,
  ChatInputCommandInteraction,
  Interaction,
  InteractionEditReplyOptions,
  InteractionReplyOptions,
  RESTOptions,
  RESTPostAPIChannelMessageJSONBody,
} from 'discord.js';
import { chatActor, commandList, completeTargets, dispatch, findCommand } from '../../commands/index.js';
import type { CommandContext } from '../../commands/types.js';
import type { DiscordConfig } from '../config.js';
import { DeliveryError } from '../core/errors.js';
import type { AlertMessage } from '../core/message.js';
import { errorReply } from '../core/reply.js';
import type { ChatAdapter, ChatDeps } from './chat.js';
import {
  commandDefinitions,
  commandLine,
  commandsHash,
  isTargetOption,
  SLOW_COMMANDS,
} from './discord-commands.js';
import {
  afterButton,
  NO_MENTIONS,
  parseCustomId,
  renderAlert,
  renderReply,
  resolvedRootEdit,
} from './discord-render.js';
import type { RenderedReply } from './discord-render.js';
import type { Channel, DeliveryContext, SentRef } from './types.js';

/**
 * @discordjs/rest's default sends through undici's `request` and whatever global
 * dispatcher the process has; with our undici 7 loaded first, a multipart body (a
 * reply with a file) fails with "action is not a function". Its bodies are built
 * with the global FormData, which Node's own fetch always understands.
 */
// The cast bridges two copies of the same fetch type declarations (Node's and undici's).
const viaGlobalFetch = ((url: string, init: RequestInit) =>
  fetch(url, init)) as unknown as RESTOptions['makeRequest'];

export { commandDefinitions, commandLine } from './discord-commands.js';
export { renderAlert, renderReply } from './discord-render.js';

/** Tuning for tests and unusual networks; the defaults suit production. */
export interface DiscordOptions {
  /** How long one REST request may take before it is abandoned (ms). Default 10,000. */
  requestTimeoutMs?: number;
  /** First wait before retrying a failed login or command registration (ms); doubles up to 5 min. Default 5,000. */
  retryDelayMs?: number;
  /** How long to wait for an answer before deferring an interaction (ms). Discord allows 3 s. Default 2,000. */
  deferAfterMs?: number;
}

/** Where the hash of the registered command definitions is kept in `meta`. */
export const COMMANDS_HASH_KEY = 'discordCommandsHash';

const MAX_RETRY_DELAY_MS = 300_000;
/** Discord's error code for a message that no longer exists (the DOWN alert was deleted). */
const UNKNOWN_MESSAGE = 10008;

/** An error as it may be logged: no request URLs (interaction tokens) and no request bodies. */
function safeError(err: unknown): { type: string; message: string; status?: number; code?: number | string } {
  if (err instanceof DiscordAPIError)
    return { type: err.name, message: err.message, status: err.status, code: err.code };
  if (err instanceof HTTPError) return { type: err.name, message: err.message, status: err.status };
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      type: err.name,
      message: err.message,
      ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    };
  }
  return { type: typeof err, message: String(err) };
}

/** Waits that stop() can cut short, so a retry loop never outlives the adapter. */
class Sleeper {
  private readonly pending = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.pending.delete(entry);
          resolve();
        }, ms),
        wake: resolve,
      };
      entry.timer.unref();
      this.pending.add(entry);
    });
  }

  wakeAll(): void {
    for (const e of this.pending) {
      clearTimeout(e.timer);
      e.wake();
    }
    this.pending.clear();
  }
}

/** A bounded map: the oldest entries go first once it is full. */
class Memo<V> extends Map<string, V> {
  constructor(private readonly max: number) {
    super();
  }

  override set(key: string, value: V): this {
    this.delete(key);
    super.set(key, value);
    while (this.size > this.max) {
      const oldest = this.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
    }
    return this;
  }
}

async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function replyOptions(r: RenderedReply): InteractionReplyOptions {
  const o: InteractionReplyOptions = {
    embeds: r.embeds,
    components: r.components,
    files: r.files.map((f) => ({ attachment: f.data, name: f.name })),
    allowedMentions: NO_MENTIONS,
  };
  if (r.ephemeral) o.flags = MessageFlags.Ephemeral;
  return o;
}

function editOptions(r: RenderedReply): InteractionEditReplyOptions {
  return {
    embeds: r.embeds,
    components: r.components,
    files: r.files.map((f) => ({ attachment: f.data, name: f.name })),
    allowedMentions: NO_MENTIONS,
  };
}

export async function createDiscordAdapter(
  config: DiscordConfig,
  deps: ChatDeps,
  options: DiscordOptions = {},
): Promise<ChatAdapter> {
  const { log } = deps;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const retryDelayMs = options.retryDelayMs ?? 5_000;
  const deferAfterMs = options.deferAfterMs ?? 2_000;

  // Alerts and registration: every 429 is handed back (the outbox and the loops below
  // own retrying) and nothing is retried here, so one request costs at most one timeout.
  const rest = new REST({
    api: config.apiUrl,
    makeRequest: viaGlobalFetch,
    timeout: requestTimeoutMs,
    retries: 0,
    rejectOnRateLimit: () => true,
  }).setToken(config.token);

  let stopped = true;
  let client: Client | undefined;
  let gateway: { ok: boolean; detail: string } = { ok: false, detail: 'not started' };
  const sleeper = new Sleeper();
  const inflight = new Set<Promise<void>>();
  /** True while the gateway is between connecting and READY/RESUMED. */
  let handshaking = false;
  const handshakeWaiters = new Set<() => void>();

  function handshakeOver(): void {
    handshaking = false;
    for (const w of handshakeWaiters) w();
    handshakeWaiters.clear();
  }

  // -------------------------------------------------------------------------
  // Alerts

  /** Steps already done for a message per destination, so a retry after a partial failure repeats none. */
  const done = new Memo<SentRef | true>(2000);
  /** Embeds of the roots we posted, so marking one resolved needs no read (which needs Read Message History). */
  const rootEmbeds = new Memo<APIEmbed>(500);
  const badRoutes = new Set<string>();

  function destinations(msg: AlertMessage): string[] {
    const out: string[] = config.alertChannelId ? [config.alertChannelId] : [];
    for (const entry of msg.route?.channels ?? []) {
      if (!entry.startsWith('discord:')) continue;
      const id = entry.slice('discord:'.length).trim();
      if (!/^\d{5,25}$/.test(id)) {
        if (!badRoutes.has(entry)) {
          badRoutes.add(entry);
          log.warn({ route: entry }, 'notify.channels entry is not discord:<numeric channel id>; ignored');
        }
        continue;
      }
      if (!out.includes(id)) out.push(id);
    }
    return out;
  }

  function toDeliveryError(err: unknown, channelId: string): DeliveryError {
    if (err instanceof DeliveryError) return err;
    const fail = (message: string, permanent: boolean, retryAfterMs?: number) =>
      new DeliveryError(message, permanent, retryAfterMs, { cause: err });
    if (err instanceof RateLimitError)
      return fail(
        `Discord rate limit on ${err.route}; retrying in ${Math.ceil(err.retryAfter / 1000)} s`,
        false,
        Math.max(0, err.retryAfter),
      );
    if (err instanceof DiscordAPIError) {
      const what = `Discord answered ${err.status} ${err.message}`;
      switch (true) {
        case err.status === 401:
          return fail(`${what}: DISCORD_TOKEN is not valid; reset the bot token and update it`, true);
        case err.status === 403:
          return fail(
            `${what}: the bot may not post in channel ${channelId}; give it View Channel, Send Messages and Embed Links there`,
            true,
          );
        case err.status === 404:
          return fail(`${what}: channel ${channelId} does not exist or the bot is not in its server`, true);
        case err.status === 408 || err.status === 429 || err.status >= 500:
          return fail(what, false);
        default:
          // Any other 4xx is about the request itself: sending it again would fail again.
          return fail(what, true);
      }
    }
    if (err instanceof HTTPError) return fail(`Discord answered ${err.status} ${err.message}`, false);
    const e = safeError(err);
    const why = e.type === 'AbortError' ? `no answer within ${requestTimeoutMs / 1000} s` : e.message;
    return fail(`Discord is unreachable: ${why}`, false);
  }

  async function editRoot(channelId: string, rootId: string, msg: AlertMessage): Promise<void> {
    const key = `${channelId}/${rootId}`;
    let embed = rootEmbeds.get(key);
    if (!embed) {
      try {
        const m = (await rest.get(Routes.channelMessage(channelId, rootId))) as APIMessage;
        embed = m.embeds[0];
      } catch (err) {
        if (err instanceof RateLimitError) throw err;
        if (err instanceof DiscordAPIError && err.code === UNKNOWN_MESSAGE) {
          log.info(
            { channel: channelId, message: rootId },
            'the DOWN alert was deleted; not marking it resolved',
          );
          return;
        }
        // Unreadable (no Read Message History): the edit below still adds the note as text.
        log.debug({ channel: channelId, error: safeError(err) }, 'could not read the DOWN alert to edit it');
      }
    }
    const body = resolvedRootEdit(embed, msg);
    try {
      await rest.patch(Routes.channelMessage(channelId, rootId), { body });
      const edited = body.embeds?.[0];
      if (edited) rootEmbeds.set(key, edited);
    } catch (err) {
      const de = toDeliveryError(err, channelId);
      if (!de.permanent) throw de;
      // The recovery itself was posted; a root that cannot be edited is not worth losing it over.
      log.warn(
        { channel: channelId, message: rootId, error: de.message },
        'could not mark the DOWN alert resolved',
      );
    }
  }

  async function deliverTo(
    msg: AlertMessage,
    channelId: string,
    root: SentRef | undefined,
  ): Promise<SentRef> {
    const step = `${msg.id}|${channelId}`;
    let ref = done.get(`${step}|post`);
    if (typeof ref !== 'object') {
      const body: RESTPostAPIChannelMessageJSONBody = renderAlert(msg);
      if (root)
        body.message_reference = { message_id: root.id, channel_id: channelId, fail_if_not_exists: false };
      const posted = (await rest.post(Routes.channelMessages(channelId), { body })) as APIMessage;
      ref = { id: posted.id, to: channelId };
      done.set(`${step}|post`, ref);
      const embed = body.embeds?.[0];
      if (msg.threadRoot && embed) rootEmbeds.set(`${channelId}/${posted.id}`, embed);
    }
    if (msg.resolvedNote !== undefined && root && !done.has(`${step}|edit`)) {
      await editRoot(channelId, root.id, msg);
      done.set(`${step}|edit`, true);
    }
    return ref;
  }

  const channel: Channel = {
    name: 'discord',
    accepts: (msg) => destinations(msg).length > 0,
    async send(msg: AlertMessage, ctx: DeliveryContext): Promise<SentRef[]> {
      // @discordjs/rest forgets the token after any 401; one bad answer must not mute the channel for good.
      rest.setToken(config.token);
      const refs: SentRef[] = [];
      const dead: DeliveryError[] = [];
      let retry: DeliveryError | undefined;
      for (const channelId of destinations(msg)) {
        // A later message of an incident replies to the root on the same channel; roots reply to nothing.
        const root = msg.threadRoot ? undefined : ctx.root?.find((r) => r.to === channelId);
        try {
          refs.push(await deliverTo(msg, channelId, root));
        } catch (err) {
          const de = toDeliveryError(err, channelId);
          if (de.permanent) dead.push(de);
          else retry ??= de;
        }
      }
      if (retry) throw retry;
      if (refs.length === 0 && dead.length > 0)
        throw new DeliveryError(dead.map((d) => d.message).join('; '), true, undefined, { cause: dead[0] });
      for (const d of dead)
        log.error(
          { alert: msg.title, error: d.message },
          'a Discord destination refused the alert; the others got it',
        );
      for (const key of [...done.keys()]) if (key.startsWith(`${msg.id}|`)) done.delete(key);
      return refs;
    },
    close() {
      rest.clearHashSweeper();
      rest.clearHandlerSweeper();
      return Promise.resolve();
    },
  };

  // -------------------------------------------------------------------------
  // Commands and buttons

  function contextFor(i: Interaction): CommandContext {
    const actor = chatActor('discord', i.user.id, config.adminIds, i.user.globalName ?? i.user.username);
    return { ...deps.commands, actor };
  }

  async function onCommand(i: ChatInputCommandInteraction): Promise<void> {
    const c = findCommand(i.commandName);
    if (!c) {
      await i.reply(
        replyOptions(renderReply(errorReply(`/${i.commandName} is not a Lookout command; try /help`))),
      );
      return;
    }
    const values = new Map<string, string | number | boolean>();
    for (const o of i.options.data) if (o.value !== undefined) values.set(o.name, o.value);
    const pending = dispatch(commandLine(c, values), contextFor(i));
    let deferred = SLOW_COMMANDS.has(c.name);
    if (deferred) await i.deferReply();
    else if (!(await settlesWithin(pending, deferAfterMs))) {
      await i.deferReply();
      deferred = true;
    }
    const r = renderReply(await pending);
    if (!deferred) await i.reply(replyOptions(r));
    else if (r.ephemeral) {
      // A deferred answer is public; an error should only reach the one who asked.
      await i.deleteReply();
      await i.followUp(replyOptions(r));
    } else await i.editReply(editOptions(r));
  }

  async function onAutocomplete(i: AutocompleteInteraction): Promise<void> {
    const c = findCommand(i.commandName);
    const focused = i.options.getFocused(true);
    const names =
      c && isTargetOption(c, focused.name)
        ? completeTargets(deps.commands.services, String(focused.value))
        : [];
    await i.respond(names.slice(0, 25).map((n) => ({ name: n, value: n })));
  }

  async function onButton(i: ButtonInteraction): Promise<void> {
    const button = parseCustomId(i.customId);
    if (!button) {
      await i.reply(
        replyOptions(
          renderReply(errorReply('this button is not one of Lookout’s; type the command instead')),
        ),
      );
      return;
    }
    const pending = dispatch(button.action, contextFor(i));
    let deferred = false;
    if (!(await settlesWithin(pending, deferAfterMs))) {
      await i.deferUpdate();
      deferred = true;
    }
    const reply = await pending;
    if (reply.severity === 'error') {
      const r = renderReply(reply);
      if (deferred) await i.followUp(replyOptions(r));
      else await i.reply(replyOptions(r));
      return;
    }
    const next = afterButton(
      i.message.embeds.map((e) => e.toJSON()),
      i.message.components.map((c) => c.toJSON()),
      i.customId,
      reply,
      i.user.id,
    );
    const update = { embeds: next.embeds, components: next.components, allowedMentions: NO_MENTIONS };
    if (deferred) await i.editReply(update);
    else await i.update(update);
    // Marking the incident resolved later starts from this embed, so "acknowledged by" stays on it.
    const key = `${i.message.channelId}/${i.message.id}`;
    const top = next.embeds[0];
    if (top && rootEmbeds.has(key)) rootEmbeds.set(key, top);
  }

  async function onInteraction(i: Interaction): Promise<void> {
    try {
      if (config.guildId && i.guildId !== config.guildId) {
        if (i.isAutocomplete()) await i.respond([]);
        else if (i.isRepliable())
          await i.reply(
            replyOptions(renderReply(errorReply('Lookout answers only in the server it monitors from'))),
          );
        return;
      }
      if (i.isAutocomplete()) await onAutocomplete(i);
      else if (i.isChatInputCommand()) await onCommand(i);
      else if (i.isButton()) await onButton(i);
    } catch (err) {
      log.error(
        { interaction: i.id, type: i.type, error: safeError(err) },
        'answering a Discord interaction failed',
      );
      if (i.isRepliable() && !i.replied && !i.deferred)
        await i
          .reply(replyOptions(renderReply(errorReply('internal error, see logs'))))
          .catch(() => undefined);
    }
  }

  // -------------------------------------------------------------------------
  // Gateway

  /**
   * discord.js builds interactions from gateway payloads without checking them: an
   * INTERACTION_CREATE without `entitlements` or `authorizing_integration_owners`
   * throws inside its packet handler, which surfaces as an unhandled rejection and
   * ends the process (PLATFORMS.md). The two fields get their empty defaults, and
   * any other packet the library cannot read is logged and dropped.
   */
  function guardPackets(c: Client): void {
    const ws = c.ws as unknown as { handlePacket?: (packet?: unknown, shard?: unknown) => boolean };
    const original = ws.handlePacket;
    if (typeof original !== 'function') {
      log.warn('discord.js internals changed: malformed gateway events are not guarded');
      return;
    }
    ws.handlePacket = function guarded(this: unknown, packet?: unknown, shard?: unknown): boolean {
      const p = packet as { t?: unknown; d?: unknown } | undefined;
      try {
        if (p?.t === 'INTERACTION_CREATE' && typeof p.d === 'object' && p.d !== null) {
          const d = p.d as Record<string, unknown>;
          d.entitlements ??= [];
          d.authorizing_integration_owners ??= {};
        }
        return original.call(this, packet, shard);
      } catch (err) {
        log.warn(
          { event: String(p?.t), error: safeError(err) },
          'ignored a gateway event discord.js could not read',
        );
        return true;
      }
    };
  }

  function makeClient(): Client {
    const c = new Client({
      // Slash commands and buttons arrive without any intent; Guilds keeps discord.js's caches sane.
      intents: [GatewayIntentBits.Guilds],
      rest: {
        api: config.apiUrl,
        makeRequest: viaGlobalFetch,
        timeout: requestTimeoutMs,
        // An interaction token lives 15 minutes; a longer wait is not worth queueing for.
        rejectOnRateLimit: (d) => d.retryAfter > 10_000,
      },
      // Interactions are queued until every guild has arrived; do not hold them for the default 15 s.
      waitGuildTimeout: 5_000,
      failIfNotExists: false,
      allowedMentions: NO_MENTIONS,
    });
    guardPackets(c);
    c.on(Events.ClientReady, (ready) => {
      handshakeOver();
      gateway = { ok: true, detail: `connected as ${ready.user.tag}` };
      log.info({ user: ready.user.tag }, 'connected to the Discord gateway');
    });
    c.on(Events.ShardResume, (_id, replayed) => {
      handshakeOver();
      gateway = { ok: true, detail: `connected as ${c.user?.tag ?? 'the bot'} (resumed)` };
      log.info({ replayed }, 'Discord gateway session resumed');
    });
    c.on(Events.ShardReconnecting, () => {
      if (stopped) return;
      handshaking = true;
      gateway = { ok: false, detail: 'reconnecting to the Discord gateway' };
      log.warn('Discord gateway connection lost; reconnecting');
    });
    c.on(Events.ShardDisconnect, (event) => {
      handshakeOver();
      if (stopped) return;
      const hint =
        event.code === 4004
          ? 'DISCORD_TOKEN was rejected; reset the bot token and update it'
          : 'restart Lookout after fixing the cause';
      gateway = { ok: false, detail: `Discord closed the gateway for good (code ${event.code}): ${hint}` };
      log.error({ code: event.code }, `Discord closed the gateway for good: ${hint}`);
    });
    c.on(Events.ShardError, (err) => log.warn({ error: safeError(err) }, 'Discord gateway error'));
    c.on(Events.Error, (err) => log.error({ error: safeError(err) }, 'Discord client error'));
    c.on(Events.Warn, (message) => log.warn({ message }, 'Discord client warning'));
    c.on(Events.InteractionCreate, (i) => {
      if (stopped) return;
      const p = onInteraction(i);
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    });
    return c;
  }

  async function connect(): Promise<void> {
    let delay = retryDelayMs;
    while (!stopped) {
      const c = makeClient();
      client = c;
      gateway = { ok: false, detail: 'connecting to the Discord gateway' };
      try {
        // Resolves once READY arrives; while the gateway is unreachable discord.js keeps trying.
        handshaking = true;
        await c.login(config.token);
        return;
      } catch (err) {
        handshakeOver();
        if (stopped) return;
        if ((err as { code?: unknown }).code === DiscordjsErrorCodes.TokenInvalid) {
          gateway = { ok: false, detail: 'DISCORD_TOKEN was rejected; reset the bot token and update it' };
          log.error(
            'Discord rejected DISCORD_TOKEN; reset the bot token in the Developer Portal and update it',
          );
          return;
        }
        gateway = { ok: false, detail: `cannot reach Discord (${safeError(err).message}); retrying` };
        log.warn({ error: safeError(err), retryInMs: delay }, 'connecting to Discord failed; will retry');
        await sleeper.sleep(delay);
        delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS);
      }
    }
  }

  /** Registers the slash commands unless the same definitions were registered before. */
  async function register(): Promise<void> {
    const global = config.guildId === undefined;
    const route = global
      ? Routes.applicationCommands(config.applicationId)
      : Routes.applicationGuildCommands(config.applicationId, config.guildId as string);
    const body = commandDefinitions(commandList, global);
    const hash = commandsHash(route, body);
    if (deps.meta[COMMANDS_HASH_KEY] === hash) {
      log.debug('Discord slash commands unchanged; not registering them again');
      return;
    }
    let delay = retryDelayMs;
    while (!stopped) {
      try {
        rest.setToken(config.token);
        await rest.put(route, { body });
        deps.meta[COMMANDS_HASH_KEY] = hash;
        await deps.saveMeta();
        log.info(
          { commands: body.length, scope: global ? 'global' : `guild ${config.guildId}` },
          'registered Discord slash commands',
        );
        return;
      } catch (err) {
        if (stopped) return;
        if (err instanceof DiscordAPIError && err.status >= 400 && err.status < 500 && err.status !== 429) {
          // Sending the same definitions with the same credentials would be refused the same way.
          log.error(
            { error: safeError(err) },
            err.status === 401
              ? 'Discord rejected DISCORD_TOKEN; slash commands are not registered'
              : 'Discord refused the slash commands; check that DISCORD_APPLICATION_ID (and DISCORD_GUILD_ID) belong to this bot',
          );
          return;
        }
        const wait = err instanceof RateLimitError ? Math.max(err.retryAfter, delay) : delay;
        log.warn(
          { error: safeError(err), retryInMs: wait },
          'registering Discord slash commands failed; will retry',
        );
        await sleeper.sleep(wait);
        delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS);
      }
    }
  }

  return {
    channel,
    start() {
      stopped = false;
      if (!config.alertChannelId)
        log.info(
          'DISCORD_ALERT_CHANNEL_ID is not set: alerts go only to targets that name discord:<channel id>',
        );
      // In the background: a Discord outage must not hold up Lookout's start.
      void register().catch((err: unknown) =>
        log.error({ error: safeError(err) }, 'registering Discord slash commands failed'),
      );
      void connect().catch((err: unknown) =>
        log.error({ error: safeError(err) }, 'connecting to Discord failed'),
      );
      return Promise.resolve();
    },
    async stop() {
      stopped = true;
      sleeper.wakeAll();
      // Every wait below is bounded: main.ts gives the whole shutdown 8 s before it exits anyway.
      // Answers in flight still need the client's REST, which destroy() disarms.
      if (inflight.size > 0) await settlesWithin(Promise.allSettled([...inflight]), 2_000);
      const c = client;
      client = undefined;
      if (!c) {
        gateway = { ok: false, detail: 'stopped' };
        return;
      }
      if (handshaking) {
        // discord.js 14 cannot be destroyed mid-handshake: the aborted wait for READY makes the
        // shard reconnect on its own and destroy() never returns. Let the handshake finish first.
        await settlesWithin(new Promise<void>((resolve) => handshakeWaiters.add(resolve)), 2_000);
        // READY is announced before the library's own wait for it has cleaned up.
        await new Promise((resolve) => setImmediate(resolve));
      }
      const closed = await settlesWithin(
        c.destroy().catch(() => undefined),
        2_000,
      );
      if (!closed) log.warn('the Discord client did not close within 2 s; leaving it behind');
      gateway = { ok: false, detail: 'stopped' };
    },
    health() {
      return { ...gateway };
    },
  };
}
