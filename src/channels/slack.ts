/**
 * Slack through Bolt: alerts as Block Kit messages (a DOWN opens a thread, its
 * RECOVERED lands in it and marks the root resolved), the `/lookout` slash command
 * and the alert buttons. HTTP mode serves `POST /slack/events` on Lookout's own
 * listener; Socket Mode (SLACK_APP_TOKEN) needs no public URL.
 *
 * Every Web API call fails fast (no retries, 429 rejected): the outbox owns retrying,
 * and @slack/web-api's default would hold an alert for up to 30 minutes.
 */
import { App, SocketModeReceiver, webApi } from '@slack/bolt';
import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { chatActor, dispatch, findCommand } from '../../commands/index.js';
import type { SlackConfig } from '../config.js';
import { ConfigError, DeliveryError } from '../core/errors.js';
import type { AlertMessage } from '../core/message.js';
import type { Reply } from '../core/reply.js';
import type { ChatAdapter, ChatDeps } from './chat.js';
import { MountedReceiver, boltLogger } from './slack-receiver.js';
import {
  ACTION_PREFIX,
  renderActed,
  renderAlert,
  renderAttachmentInline,
  renderResolvedRoot,
  replyPayload,
} from './slack-render.js';
import type { Channel, DeliveryContext, SentRef } from './types.js';

type WebClient = webApi.WebClient;
type WebClientOptions = webApi.WebClientOptions;

/** Options beyond the environment, for tests and unusual deployments. */
export interface SlackAdapterOptions {
  /** Time budget for answering a slash command in the ack itself; slower commands get "working on it…" first. Default 2,000 ms (Slack allows 3 s). */
  ackBudgetMs?: number;
  /** Timeout of each Web API call. Default 10,000 ms. */
  requestTimeoutMs?: number;
  /** How long `start()` waits for the Socket Mode connection before leaving it to connect in the background. Default 10,000 ms. */
  connectWaitMs?: number;
}

/** Commands that may take longer than Slack's 3 seconds: acked at once, answered through response_url. */
const SLOW_COMMANDS = new Set(['history', 'speedtest', 'check']);

/**
 * Slack error codes that no retry can fix: the token, the channel or the payload
 * itself is wrong. Anything else (rate limits, 5xx, network) is worth retrying.
 */
const PERMANENT = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'no_permission',
  'missing_scope',
  'not_allowed_token_type',
  'team_access_not_granted',
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'restricted_action',
  'invalid_blocks',
  'invalid_blocks_format',
  'msg_too_long',
  'no_text',
  'invalid_arguments',
  'message_not_found',
  'cant_update_message',
  'edit_window_closed',
]);

/** Errors about the bot token itself: reconnecting cannot help until someone changes it. */
const TOKEN_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
]);

const HINTS: Record<string, string> = {
  invalid_auth: 'SLACK_BOT_TOKEN must be the Bot User OAuth Token (xoxb-…) of the installed app',
  not_authed: 'SLACK_BOT_TOKEN must be the Bot User OAuth Token (xoxb-…) of the installed app',
  token_revoked: 'the app was uninstalled or its token revoked; reinstall it and update SLACK_BOT_TOKEN',
  account_inactive: 'the app was uninstalled or its token revoked; reinstall it and update SLACK_BOT_TOKEN',
  token_expired: 'the token expired (token rotation is on); turn rotation off for the app or reinstall it',
  channel_not_found:
    "check SLACK_ALERT_CHANNEL or the target's notify channel (use a channel id such as C0123ABCD)",
  not_in_channel: 'invite the bot to the channel (/invite @Lookout) or grant the chat:write.public scope',
  is_archived: 'the channel is archived; unarchive it or choose another channel',
  missing_scope: 'reinstall the app with the scopes in deploy/slack-app-manifest.yaml',
};

const ErrorCode = webApi.ErrorCode;

/** A Web API failure as the outbox understands it, with a message that says what to fix. */
export function slackDeliveryError(err: unknown, what: string): DeliveryError {
  if (err instanceof DeliveryError) return err;
  const e = err as { code?: unknown; message?: string };
  switch (e.code) {
    case ErrorCode.RateLimitedError: {
      const s = (err as webApi.WebAPIRateLimitedError).retryAfter;
      return new DeliveryError(`${what}: rate limited by Slack, retry after ${s}s`, false, s * 1000, {
        cause: err,
      });
    }
    case ErrorCode.PlatformError: {
      const code = String((err as webApi.WebAPIPlatformError).data.error);
      const hint = HINTS[code];
      if (code === 'ratelimited')
        return new DeliveryError(`${what}: rate limited by Slack`, false, undefined, { cause: err });
      return new DeliveryError(
        `${what} failed: ${code}${hint ? ` — ${hint}` : ''}`,
        PERMANENT.has(code),
        undefined,
        {
          cause: err,
        },
      );
    }
    case ErrorCode.HTTPError:
      return new DeliveryError(
        `${what} failed: HTTP ${(err as webApi.WebAPIHTTPError).statusCode} from Slack`,
        false,
        undefined,
        {
          cause: err,
        },
      );
    case ErrorCode.RequestError: {
      const original = (err as webApi.WebAPIRequestError).original;
      const cause = (original.cause as { code?: string } | undefined)?.code;
      return new DeliveryError(
        `${what} failed: ${cause ?? original.message} (cannot reach Slack)`,
        false,
        undefined,
        {
          cause: err,
        },
      );
    }
    default:
      return new DeliveryError(`${what} failed: ${e.message ?? String(err)}`, false, undefined, {
        cause: err,
      });
  }
}

/** The Slack error code of a Web API failure (`invalid_auth`), if it was one. */
function platformCode(err: unknown): string | undefined {
  return (err as { code?: unknown }).code === ErrorCode.PlatformError
    ? String((err as webApi.WebAPIPlatformError).data.error)
    : undefined;
}

/** Where each alert goes: SLACK_ALERT_CHANNEL and the target's `slack:` notify channels. */
export function slackDestinations(config: Pick<SlackConfig, 'alertChannel'>, msg: AlertMessage): string[] {
  const out = new Set<string>();
  if (config.alertChannel) out.add(config.alertChannel);
  for (const c of msg.route?.channels ?? []) {
    if (!c.startsWith('slack:')) continue;
    const id = c.slice('slack:'.length).trim();
    if (id) out.add(id);
  }
  return [...out];
}

/** What the adapter keeps in the data file's `meta`, so that it survives a restart. */
interface SlackMeta {
  /** Steps already done at Slack for a message whose delivery failed half-way, so the retry repeats none. */
  partial: Record<string, { at: number; steps: Record<string, SentRef> }>;
  /** Digest roots (`channel/ts`): one member's recovery must not mark the whole digest resolved. */
  digests: string[];
}

function slackMeta(meta: Record<string, unknown>): SlackMeta {
  const m = meta.slack as Partial<SlackMeta> | undefined;
  if (!m || typeof m !== 'object' || typeof m.partial !== 'object' || !Array.isArray(m.digests)) {
    const fresh: SlackMeta = { partial: {}, digests: [] };
    meta.slack = fresh;
    return fresh;
  }
  return m as SlackMeta;
}

/** `p`'s value if it settles within `ms`, otherwise undefined (p keeps running). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((r) => {
    timer = setTimeout(() => r(undefined), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Builds the Slack adapter. Nothing talks to Slack until `start()`: the bot token is
 * verified there (auth.test) and retried with backoff while Slack is unreachable.
 */
export function createSlackAdapter(
  config: SlackConfig,
  deps: ChatDeps,
  options: SlackAdapterOptions = {},
): Promise<ChatAdapter> {
  const { log } = deps;
  const socketMode = config.appToken !== undefined;
  if (!socketMode && !config.signingSecret)
    return Promise.reject(
      new ConfigError(
        'SLACK_SIGNING_SECRET',
        'Slack needs SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode)',
      ),
    );
  const logger = boltLogger(log);
  const slackApiUrl = config.apiUrl.endsWith('/') ? config.apiUrl : `${config.apiUrl}/`;
  const clientOptions: WebClientOptions = {
    slackApiUrl,
    logger,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: options.requestTimeoutMs ?? 10_000,
  };
  const client = new webApi.WebClient(config.botToken, clientOptions);
  const ackBudgetMs = options.ackBudgetMs ?? 2000;

  let app: App | undefined;
  let socketReceiver: SocketModeReceiver | undefined;
  let stopped = true;
  let retryTimer: NodeJS.Timeout | undefined;
  let attempts = 0;
  let status = { ok: false, detail: 'not started' };
  const setStatus = (ok: boolean, detail: string) => {
    status = { ok, detail };
  };

  const mounted = socketMode
    ? undefined
    : new MountedReceiver({
        signingSecret: config.signingSecret as string,
        logger,
        ready: () => app !== undefined,
      });

  // ---------------------------------------------------------------------------
  // Alerts

  async function resolveRoot(
    msg: AlertMessage,
    root: SentRef,
    steps: Record<string, SentRef>,
  ): Promise<void> {
    const key = `update ${root.to} ${root.id}`;
    if (steps[key]) return;
    try {
      await client.chat.update({ channel: root.to, ts: root.id, ...renderResolvedRoot(msg) });
    } catch (err) {
      const de = slackDeliveryError(err, `chat.update of ${root.to}/${root.id}`);
      if (!de.permanent) throw de;
      // The RECOVERED itself is delivered; a root that can no longer be edited is not worth failing it for.
      log.warn({ error: de.message, target: msg.target }, 'could not mark the Slack alert resolved');
    }
    steps[key] = root;
  }

  const channel: Channel = {
    name: 'slack',
    accepts: (msg) => slackDestinations(config, msg).length > 0,
    async send(msg: AlertMessage, ctx: DeliveryContext): Promise<SentRef[]> {
      // Later messages of an incident go into the thread of its root, wherever that landed.
      const roots = msg.threadRoot || !msg.incidentId ? [] : (ctx.root ?? []);
      const plan: Array<{ channel: string; root?: SentRef }> =
        roots.length > 0
          ? roots.map((root) => ({ channel: root.to, root }))
          : slackDestinations(config, msg).map((c) => ({ channel: c }));
      if (plan.length === 0) return [];

      const meta = slackMeta(deps.meta);
      const now = Date.now();
      for (const [id, p] of Object.entries(meta.partial))
        if (now - p.at > 86_400_000) delete meta.partial[id];
      const progress = (meta.partial[msg.id] ??= { at: now, steps: {} });
      const rendered = renderAlert(msg);
      const sent: SentRef[] = [];
      const refused: DeliveryError[] = [];

      for (const p of plan) {
        const key = `post ${p.channel} ${p.root?.id ?? ''}`;
        try {
          let ref = progress.steps[key];
          if (!ref) {
            const r = await client.chat.postMessage({
              channel: p.channel,
              ...(p.root ? { thread_ts: p.root.id } : {}),
              ...rendered,
              unfurl_links: false,
              unfurl_media: false,
            });
            // The answer names the channel by id even when it was configured by name; edits need the id.
            ref = { id: String(r.ts), to: String(r.channel ?? p.channel) };
            progress.steps[key] = ref;
            if (msg.kind === 'digest') meta.digests = [...meta.digests, `${ref.to}/${ref.id}`].slice(-200);
          }
          sent.push(ref);
          if (msg.resolvedNote && p.root && !meta.digests.includes(`${p.root.to}/${p.root.id}`))
            await resolveRoot(msg, p.root, progress.steps);
        } catch (err) {
          const de = slackDeliveryError(err, `chat.postMessage to ${p.channel}`);
          // Progress is kept: the outbox retries and the steps already done are skipped.
          if (!de.permanent) throw de;
          refused.push(de);
          log.error({ error: de.message, alert: msg.title }, 'a Slack destination refused the alert');
        }
      }
      delete meta.partial[msg.id];
      const first = refused[0];
      if (sent.length === 0 && first) throw first;
      return sent;
    },
  };

  // ---------------------------------------------------------------------------
  // Commands and buttons

  /** The reply as a response payload, with its attachment uploaded to `channelId` (or shown inline when that fails). */
  async function withAttachment(reply: Reply, web: WebClient, channelId: string) {
    const a = reply.attachment;
    if (!a) return replyPayload(reply);
    if (reply.ephemeral) return replyPayload(reply, renderAttachmentInline(a, 'the reply is private'));
    try {
      await web.files.uploadV2({ channel_id: channelId, filename: a.name, title: a.name, content: a.data });
      return replyPayload(reply);
    } catch (err) {
      const code = platformCode(err);
      const why =
        code === 'missing_scope'
          ? 'the app lacks the files:write scope'
          : code === 'not_in_channel' || code === 'channel_not_found'
            ? 'the bot is not in this channel'
            : slackDeliveryError(err, 'upload').message;
      log.warn({ error: why, file: a.name }, 'Slack file upload failed; sending the content inline');
      return replyPayload(reply, renderAttachmentInline(a, why));
    }
  }

  async function onCommand({
    command,
    ack,
    respond,
    client: web,
  }: SlackCommandMiddlewareArgs & AllMiddlewareArgs) {
    const actor = chatActor('slack', command.user_id, config.adminIds, command.user_name);
    const text = typeof command.text === 'string' ? command.text : '';
    const word = text.trim().split(/\s+/)[0] ?? '';
    const slow = SLOW_COMMANDS.has(findCommand(word)?.name ?? '');
    const work = dispatch(text, { ...deps.commands, actor });
    const quick = slow ? undefined : await within(work, ackBudgetMs);
    if (quick && !quick.attachment) {
      await ack(replyPayload(quick));
      return;
    }
    await ack({ response_type: 'ephemeral', text: '⏳ working on it…' });
    const reply = quick ?? (await work);
    await respond(await withAttachment(reply, web, command.channel_id));
  }

  function register(a: App): void {
    // Any command name: the app has one slash command, and a workspace may have had to rename it.
    a.command(/.*/, onCommand);

    a.action({ type: 'block_actions', action_id: new RegExp(`^${ACTION_PREFIX}`) }, async (args) => {
      const { ack, body, action, respond, client: web } = args;
      await ack();
      if (action.type !== 'button' || typeof action.value !== 'string') return;
      const user = body.user;
      const actor = chatActor('slack', user.id, config.adminIds, user.name ?? user.username);
      const reply = await dispatch(action.value, { ...deps.commands, actor });
      const channelId = body.channel?.id;
      const message = body.message;

      if (reply.severity === 'error') {
        // Only the presser learns why; the alert stays as it was.
        const payload = replyPayload(reply);
        try {
          await respond({ ...payload, response_type: 'ephemeral', replace_original: false });
        } catch (err) {
          if (!channelId) throw err;
          await web.chat.postEphemeral({
            channel: channelId,
            user: user.id,
            text: payload.text,
            blocks: payload.blocks,
            ...(typeof message?.thread_ts === 'string' ? { thread_ts: message.thread_ts } : {}),
          });
        }
        return;
      }

      const original: unknown[] = Array.isArray(message?.blocks) ? (message.blocks as unknown[]) : [];
      const blocks = renderActed(original, action.action_id, reply, user.id, deps.commands.now());
      const text =
        typeof message?.text === 'string' && message.text ? message.text : (reply.title ?? 'Lookout');
      const ephemeral = (body.container as { is_ephemeral?: unknown } | undefined)?.is_ephemeral === true;
      if (channelId && message?.ts && !ephemeral) {
        try {
          await web.chat.update({ channel: channelId, ts: message.ts, text, blocks });
          return;
        } catch (err) {
          log.warn(
            { error: slackDeliveryError(err, 'chat.update').message },
            'could not edit the Slack message; replacing it through response_url',
          );
        }
      }
      await respond({ replace_original: true, text, blocks });
    });

    a.error(async (err) => {
      log.error(
        { error: (err as Error).message, code: (err as { code?: unknown }).code },
        'a Slack listener failed',
      );
    });
  }

  // ---------------------------------------------------------------------------
  // Connection

  function scheduleRetry(reason: string): void {
    if (stopped) return;
    attempts++;
    const delay = Math.min(300_000, 5000 * 2 ** Math.min(attempts - 1, 6));
    setStatus(false, `${reason}; retrying in ${Math.round(delay / 1000)}s`);
    log.warn({ error: reason, retryInMs: delay }, 'Slack is not reachable yet; will retry');
    retryTimer = setTimeout(() => void connect(), delay);
    retryTimer.unref();
  }

  function fatal(detail: string): void {
    setStatus(false, detail);
    log.error(detail);
  }

  async function connectSocket(a: App, receiver: SocketModeReceiver): Promise<void> {
    const sm = receiver.client;
    let settle: () => void = () => undefined;
    const settled = new Promise<void>((r) => {
      settle = r;
    });
    // A failed reconnect rejects a promise nobody awaits inside @slack/socket-mode,
    // which would crash the process; report it here instead.
    const startOnce = sm.start.bind(sm);
    sm.start = async () => {
      try {
        return await startOnce();
      } catch (err) {
        const code = platformCode(err);
        fatal(
          code
            ? `Socket Mode refused: ${code} — check SLACK_APP_TOKEN (an xapp- app-level token with connections:write)`
            : `Socket Mode failed: ${(err as Error).message}`,
        );
        settle();
        return undefined as never;
      }
    };
    sm.on('connected', () => {
      attempts = 0;
      setStatus(true, 'Socket Mode connected');
      settle();
    });
    sm.on('reconnecting', () => setStatus(false, 'Socket Mode reconnecting'));
    sm.on('disconnected', () => {
      if (!stopped) setStatus(false, 'Socket Mode disconnected');
    });
    setStatus(false, 'Socket Mode connecting');
    void a.start();
    const waited = await within(settled, options.connectWaitMs ?? 10_000);
    if (waited === undefined && !stopped)
      log.warn('Socket Mode is still connecting; Lookout keeps trying in the background');
  }

  async function connect(): Promise<void> {
    retryTimer = undefined;
    if (stopped || app) return;
    let who: webApi.AuthTestResponse;
    try {
      who = await client.auth.test();
    } catch (err) {
      const code = platformCode(err);
      if (code && TOKEN_ERRORS.has(code))
        fatal(`Slack refused the bot token (${code}): ${HINTS[code] ?? HINTS.invalid_auth}`);
      else scheduleRetry(slackDeliveryError(err, 'auth.test').message);
      return;
    }
    if (stopped) return;
    const receiver = socketMode
      ? new SocketModeReceiver({
          appToken: config.appToken as string,
          logger,
          installerOptions: {
            // apps.connections.open goes to SLACK_API_URL too. A dropped socket must keep
            // trying for as long as it takes, without keeping a stopping process alive.
            clientOptions: {
              slackApiUrl,
              timeout: options.requestTimeoutMs ?? 10_000,
              retryConfig: {
                forever: true,
                factor: 2,
                minTimeout: 1000,
                maxTimeout: 30_000,
                randomize: true,
                unref: true,
                onFailedAttempt: () => {
                  if (stopped) throw new Error('the Slack adapter was stopped');
                },
              } as webApi.RetryOptions,
            },
          },
        })
      : (mounted as MountedReceiver);
    const a = new App({
      token: config.botToken,
      botId: who.bot_id,
      botUserId: who.user_id,
      receiver,
      logger,
      logLevel: logger.getLevel(),
      clientOptions: { ...clientOptions },
      convoStore: false,
    });
    register(a);
    app = a;
    if (receiver instanceof SocketModeReceiver) socketReceiver = receiver;
    attempts = 0;
    const identity = `as ${who.user ?? who.user_id ?? 'bot'} in ${who.team ?? who.team_id ?? 'the workspace'}`;
    if (receiver instanceof SocketModeReceiver) {
      log.info(`Slack: token verified ${identity}; opening Socket Mode`);
      await connectSocket(a, receiver);
    } else {
      setStatus(true, `HTTP mode ${identity}: Slack posts to /slack/events`);
      log.info(`Slack: token verified ${identity}; serving /slack/events`);
    }
  }

  const adapter: ChatAdapter = {
    channel,
    async start() {
      stopped = false;
      await connect();
    },
    async stop() {
      stopped = true;
      if (retryTimer) clearTimeout(retryTimer);
      retryTimer = undefined;
      app = undefined;
      // SocketModeReceiver.stop() does not wait for the socket to close; this does, within reason.
      if (socketReceiver) await within(socketReceiver.client.disconnect(), 3000);
      socketReceiver = undefined;
      // In-flight requests may finish their replies, but a slow command must not hold up shutdown.
      if (mounted) await within(mounted.stop(), 3000);
      setStatus(false, 'stopped');
    },
    health: () => status,
  };
  if (mounted)
    adapter.mounts = [
      {
        prefix: '/slack/events',
        handler: async (req, res, subpath) => {
          if ((subpath !== '' && subpath !== '/') || req.method !== 'POST') return false;
          await mounted.handle(req, res);
          return true;
        },
      },
    ];
  return Promise.resolve(adapter);
}
