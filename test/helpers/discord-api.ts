/**
 * A fake Discord on loopback for the real discord.js client: the REST API under
 * `/api/v10` and the gateway WebSocket on the same port. It records every request
 * and gateway frame, keeps the messages the bot posts (so a test can hand one
 * back in a button interaction), and lets a test inject interactions, answer a
 * route with an error once (429 with Retry-After, 404, 5xx) and drop the
 * gateway connection. Shapes follow what discord.js 14 needs (PLATFORMS.md):
 * READY with `guilds` and `application`, interactions with `entitlements` and
 * `authorizing_integration_owners`, op 11 for every heartbeat.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';
import { cutShort, errorPage } from './faults.js';
import type { FaultPlan } from './faults.js';

// ---------------------------------------------------------------------------
// The parts of Discord's JSON the tests read

export interface Embed {
  title?: string;
  description?: string;
  color?: number;
  fields?: Array<{ name: string; value: string; inline?: boolean }>;
  footer?: { text: string };
  timestamp?: string;
}

export interface Button {
  type: number;
  style: number;
  label?: string;
  custom_id?: string;
}

export interface Row {
  type: number;
  components: Button[];
}

export interface MessageBody {
  content?: string;
  embeds?: Embed[];
  components?: Row[];
  flags?: number;
  message_reference?: { message_id: string; channel_id?: string; fail_if_not_exists?: boolean };
  allowed_mentions?: { parse?: string[] };
  attachments?: Array<{ id: string | number; filename?: string }>;
}

export interface CallbackBody {
  type: number;
  data?: MessageBody & { choices?: Array<{ name: string; value: string | number }> };
}

export interface CommandOption {
  type: number;
  name: string;
  description: string;
  required?: boolean;
  autocomplete?: boolean;
  choices?: Array<{ name: string; value: string | number }>;
}

export interface CommandBody {
  name: string;
  description: string;
  type?: number;
  options?: CommandOption[];
  contexts?: number[];
}

export interface StoredMessage extends MessageBody {
  id: string;
  channel_id: string;
  author: {
    id: string;
    username: string;
    discriminator: string;
    bot: boolean;
    avatar: null;
    global_name: null;
  };
  timestamp: string;
  edited_timestamp: string | null;
  type: number;
  embeds: Embed[];
  components: Row[];
  content: string;
}

export interface UploadedFile {
  /** Multipart field name, e.g. `files[0]`. */
  field: string;
  name: string;
  contentType: string;
  text: string;
}

export interface RecordedRequest {
  method: string;
  /** After `/api/v10`, percent-decoded: `/webhooks/1/tok/messages/@original`. */
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
  /** Parsed JSON body; for multipart the `payload_json` part. */
  body: unknown;
  files: UploadedFile[];
  /** Status the fake answered with. */
  status: number;
  /** The JSON it answered with (a created message carries its id). */
  response?: unknown;
  /** Epoch ms when the request arrived. */
  at: number;
}

export interface GatewayFrame {
  direction: 'in' | 'out';
  op: number;
  t?: string | null;
  s?: number | null;
  d?: unknown;
  at: number;
}

/** An answer forced on the next matching request(s) instead of the normal one. */
export interface Failure {
  method?: string;
  path: RegExp;
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** How many matching requests get it. Default 1. */
  times?: number;
}

export interface InteractionUser {
  id: string;
  username: string;
}

export interface FakeDiscordOptions {
  token: string;
  applicationId: string;
  /** Guild the injected interactions come from. */
  guildId?: string;
  /** Channel the injected interactions come from. */
  channelId?: string;
  /** HELLO's heartbeat interval. Default 1,500 ms: a few beats in every test, cheap on a slow machine. */
  heartbeatIntervalMs?: number;
}

const DISCORD_EPOCH = 1420070400000n;
const CALLBACK = /^\/interactions\/(\d+)\/([^/]+)\/callback$/;
const WEBHOOK_MESSAGE = /^\/webhooks\/(\d+)\/([^/]+)\/messages\/([^/]+)$/;
const WEBHOOK = /^\/webhooks\/(\d+)\/([^/]+)$/;
const CHANNEL_MESSAGES = /^\/channels\/(\d+)\/messages$/;
const CHANNEL_MESSAGE = /^\/channels\/(\d+)\/messages\/(\d+)$/;
const CHANNEL = /^\/channels\/(\d+)$/;
const COMMANDS = /^\/applications\/(\d+)(?:\/guilds\/(\d+))?\/commands$/;

interface Session {
  id: string;
  seq: number;
  socket: WebSocket | undefined;
  /** Every dispatch of the session, for replay on RESUME. */
  sent: Array<{ s: number; frame: string }>;
}

export class FakeDiscord {
  readonly requests: RecordedRequest[] = [];
  readonly frames: GatewayFrame[] = [];
  /** Messages per channel id, as the bot posted and edited them. */
  readonly channels = new Map<string, StoredMessage[]>();
  /** Messages created through interaction webhooks (follow-ups, edited originals), by token. */
  readonly webhookMessages = new Map<string, StoredMessage>();
  /** Channel ids answered 404 Unknown Channel. */
  readonly unknownChannels = new Set<string>();
  readonly botUser = { id: '900000000000000001', username: 'Lookout', discriminator: '0', bot: true };
  identifies = 0;
  /**
   * Asked with `METHOD /path` (after `/api/v10`, e.g. `POST /channels/1/messages`) before each
   * REST request is handled; a request it fails is recorded with the status answered (0 for a
   * hang, -1 for a drop) and not processed.
   */
  faults: FaultPlan | undefined;
  /** While true, an IDENTIFY is answered only when the test calls `releaseReady()`. */
  holdReady = false;
  resumes: Array<{ session_id: string; seq: number }> = [];
  heartbeats = 0;
  connections = 0;

  private readonly failures: Array<Failure & { left: number }> = [];
  private readonly sessions = new Map<string, Session>();
  private heldReady: (() => void) | undefined;
  private current: Session | undefined;
  private server: Server | undefined;
  private wss: WebSocketServer | undefined;
  private counter = 0n;
  private port = 0;

  private constructor(readonly o: FakeDiscordOptions) {}

  static async start(o: FakeDiscordOptions): Promise<FakeDiscord> {
    const f = new FakeDiscord(o);
    await f.listen();
    return f;
  }

  /** `DISCORD_API_URL` for the app under test. */
  get apiUrl(): string {
    return `http://127.0.0.1:${this.port}/api`;
  }

  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  get guildId(): string {
    return this.o.guildId ?? '800000000000000001';
  }

  get channelId(): string {
    return this.o.channelId ?? '800000000000000002';
  }

  /** A new snowflake, later than every one before it. */
  snowflake(): string {
    this.counter++;
    return String(((BigInt(Date.now()) - DISCORD_EPOCH) << 22n) | (this.counter & 0x3fffffn));
  }

  private async listen(): Promise<void> {
    const server = createServer((req, res) => {
      void this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) this.json(res, 500, { message: String(err), code: 0 });
        else res.destroy();
      });
    });
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    server.on('upgrade', (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    this.wss = wss;
  }

  async close(): Promise<void> {
    for (const ws of this.wss?.clients ?? []) ws.terminate();
    this.wss?.close();
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  // -------------------------------------------------------------------------
  // Test controls

  /** The next matching request(s) get this answer. */
  fail(f: Failure): void {
    this.failures.push({ ...f, left: f.times ?? 1 });
  }

  /** A 429 with `Retry-After` (seconds) on the next matching request. */
  rateLimit(method: string, path: RegExp, retryAfterS: number): void {
    this.fail({
      method,
      path,
      status: 429,
      headers: { 'retry-after': String(retryAfterS), 'x-ratelimit-scope': 'user' },
      body: { message: 'You are being rate limited.', retry_after: retryAfterS, global: false },
    });
  }

  /** Cuts the gateway connection without a close frame, as a network failure would. */
  dropGateway(): void {
    const s = this.current;
    const ws = s?.socket;
    if (!s || !ws) throw new Error('no gateway connection to drop');
    s.socket = undefined;
    ws.terminate();
  }

  /** Sends a dispatch on the live session; while disconnected it is kept for the RESUME replay. */
  dispatch(t: string, d: unknown): number {
    const s = this.current;
    if (!s) throw new Error('no gateway session yet');
    s.seq++;
    const frame = JSON.stringify({ op: 0, t, s: s.seq, d });
    s.sent.push({ s: s.seq, frame });
    if (s.socket) this.sendFrame(s.socket, frame);
    return s.seq;
  }

  /** Whether a session is identified and its socket is open. */
  get connected(): boolean {
    return this.current?.socket !== undefined;
  }

  /** Resolves when `probe` returns something other than undefined (polling, bounded). */
  async waitFor<T>(probe: () => T | undefined | false, what: string, timeoutMs = 15_000): Promise<T> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const v = probe();
      if (v !== undefined && v !== false) return v;
      if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 15));
    }
  }

  /** Waits until the bot has an identified, connected gateway session. */
  async ready(timeoutMs = 15_000): Promise<void> {
    await this.waitFor(() => this.connected, 'the bot to identify on the gateway', timeoutMs);
  }

  /** Every `PUT …/commands` body, in order. */
  commandPuts(): Array<{ path: string; body: CommandBody[] }> {
    return this.requests
      .filter((r) => r.method === 'PUT' && COMMANDS.test(r.path))
      .map((r) => ({ path: r.path, body: r.body as CommandBody[] }));
  }

  /** Messages in a channel, oldest first. */
  messages(channelId: string): StoredMessage[] {
    return this.channels.get(channelId) ?? [];
  }

  /** Requests for one method and path pattern. */
  find(method: string, path: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && path.test(r.path));
  }

  // -------------------------------------------------------------------------
  // Interactions

  private baseInteraction(type: number, user: InteractionUser) {
    const id = this.snowflake();
    return {
      id,
      application_id: this.o.applicationId,
      type,
      token: `interaction-token-${id}`,
      version: 1,
      guild_id: this.guildId,
      channel_id: this.channelId,
      channel: { id: this.channelId, type: 0, guild_id: this.guildId, name: 'alerts' },
      member: {
        user: { id: user.id, username: user.username, discriminator: '0', global_name: null, avatar: null },
        roles: [],
        permissions: '2248473465835073',
        joined_at: new Date(0).toISOString(),
        deaf: false,
        mute: false,
        flags: 0,
      },
      app_permissions: '2248473465835073',
      locale: 'en-US',
      guild_locale: 'en-US',
      entitlements: [],
      authorizing_integration_owners: { '0': this.guildId },
      context: 0,
      attachment_size_limit: 10_485_760,
    };
  }

  /** An INTERACTION_CREATE for a slash command; options as Discord sends them (`{ name, type, value }`). */
  slashCommand(
    name: string,
    options: Array<{ name: string; type: number; value: string | number; focused?: boolean }>,
    user: InteractionUser,
    type = 2,
  ): { id: string; token: string } {
    const i = {
      ...this.baseInteraction(type, user),
      data: { id: this.commandId(name), name, type: 1, options, guild_id: this.guildId },
    };
    this.dispatch('INTERACTION_CREATE', i);
    return { id: i.id, token: i.token };
  }

  /** An autocomplete interaction with the focused option's partial value. */
  autocomplete(
    name: string,
    options: Array<{ name: string; type: number; value: string | number; focused?: boolean }>,
    user: InteractionUser,
  ): { id: string; token: string } {
    return this.slashCommand(name, options, user, 4);
  }

  /** A button press on a message the bot posted. */
  pressButton(
    message: StoredMessage,
    customId: string,
    user: InteractionUser,
  ): { id: string; token: string } {
    const i = {
      ...this.baseInteraction(3, user),
      channel_id: message.channel_id,
      channel: { id: message.channel_id, type: 0, guild_id: this.guildId, name: 'alerts' },
      message,
      data: { custom_id: customId, component_type: 2 },
    };
    this.dispatch('INTERACTION_CREATE', i);
    return { id: i.id, token: i.token };
  }

  /** Waits for the bot's callback to an interaction. */
  async callback(i: { id: string; token: string }, timeoutMs?: number): Promise<RecordedRequest> {
    return this.waitFor(
      () =>
        this.requests.find(
          (r) => r.method === 'POST' && r.path === `/interactions/${i.id}/${i.token}/callback`,
        ),
      `the callback of interaction ${i.id}`,
      timeoutMs,
    );
  }

  private commandId(name: string): string {
    const all = this.commandPuts().at(-1)?.body as Array<CommandBody & { id?: string }> | undefined;
    return all?.find((c) => c.name === name)?.id ?? '700000000000000001';
  }

  // -------------------------------------------------------------------------
  // Gateway

  private sendFrame(ws: WebSocket, frame: string): void {
    const p = JSON.parse(frame) as { op: number; t?: string; s?: number; d?: unknown };
    this.frames.push({ direction: 'out', op: p.op, t: p.t ?? null, s: p.s ?? null, d: p.d, at: Date.now() });
    ws.send(frame);
  }

  private onConnection(ws: WebSocket): void {
    this.connections++;
    ws.on('error', () => undefined);
    ws.on('close', () => {
      for (const s of this.sessions.values()) if (s.socket === ws) s.socket = undefined;
    });
    ws.on('message', (raw: RawData) => this.onFrame(ws, raw));
    this.sendFrame(
      ws,
      JSON.stringify({ op: 10, d: { heartbeat_interval: this.o.heartbeatIntervalMs ?? 1500 } }),
    );
  }

  private onFrame(ws: WebSocket, raw: RawData): void {
    let p: { op?: number; d?: unknown };
    try {
      p = JSON.parse(String(raw)) as { op?: number; d?: unknown };
    } catch {
      ws.close(4002, 'Error while decoding payload.');
      return;
    }
    this.frames.push({ direction: 'in', op: p.op ?? -1, d: p.d, at: Date.now() });
    switch (p.op) {
      case 1:
        this.heartbeats++;
        this.sendFrame(ws, JSON.stringify({ op: 11 }));
        return;
      case 2: {
        const d = p.d as { token?: string };
        if (d.token !== this.o.token) {
          ws.close(4004, 'Authentication failed.');
          return;
        }
        this.identifies++;
        const session: Session = { id: `session-${this.snowflake()}`, seq: 0, socket: ws, sent: [] };
        this.sessions.set(session.id, session);
        const ready = () => this.sendReady(session);
        if (this.holdReady) this.heldReady = ready;
        else ready();
        return;
      }
      case 6: {
        const d = p.d as { token?: string; session_id?: string; seq?: number };
        const session = d.session_id === undefined ? undefined : this.sessions.get(d.session_id);
        this.resumes.push({ session_id: d.session_id ?? '', seq: d.seq ?? -1 });
        if (!session || d.token !== this.o.token) {
          this.sendFrame(ws, JSON.stringify({ op: 9, d: false }));
          return;
        }
        session.socket = ws;
        this.current = session;
        for (const e of session.sent) if (e.s > (d.seq ?? 0)) this.sendFrame(ws, e.frame);
        this.dispatch('RESUMED', {});
        return;
      }
      default:
        return;
    }
  }

  /** Lets a held READY go out. */
  releaseReady(): void {
    const r = this.heldReady;
    this.heldReady = undefined;
    r?.();
  }

  private sendReady(session: Session): void {
    this.current = session;
    this.dispatch('READY', {
      v: 10,
      user: { ...this.botUser, avatar: null, global_name: null, flags: 0 },
      guilds: [],
      session_id: session.id,
      resume_gateway_url: this.gatewayUrl,
      application: { id: this.o.applicationId, flags: 0 },
      private_channels: [],
      relationships: [],
    });
  }

  // -------------------------------------------------------------------------
  // REST

  private json(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    if (status === 204) {
      res.writeHead(204, headers).end();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  }

  private async readBody(req: IncomingMessage): Promise<{ body: unknown; files: UploadedFile[] }> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const buf = Buffer.concat(chunks);
    const type = req.headers['content-type'] ?? '';
    if (buf.length === 0) return { body: undefined, files: [] };
    if (type.startsWith('multipart/form-data')) {
      const form = await new Response(buf, { headers: { 'content-type': type } }).formData();
      let body: unknown;
      const files: UploadedFile[] = [];
      for (const [field, value] of form.entries()) {
        if (typeof value === 'string') {
          if (field === 'payload_json') body = JSON.parse(value);
          continue;
        }
        files.push({ field, name: value.name, contentType: value.type, text: await value.text() });
      }
      return { body, files };
    }
    return { body: JSON.parse(buf.toString('utf8')), files: [] };
  }

  private message(channelId: string, body: MessageBody): StoredMessage {
    return {
      ...body,
      id: this.snowflake(),
      channel_id: channelId,
      author: { ...this.botUser, avatar: null, global_name: null },
      timestamp: new Date().toISOString(),
      edited_timestamp: null,
      type: body.message_reference ? 19 : 0,
      content: body.content ?? '',
      embeds: body.embeds ?? [],
      components: body.components ?? [],
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const prefix = '/api/v10';
    const path = decodeURIComponent(
      url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : url.pathname,
    );
    const fault = url.pathname.startsWith(prefix) ? this.faults?.(`${method} ${path}`) : undefined;
    const rec: RecordedRequest = {
      method,
      path,
      query: url.searchParams,
      authorization: req.headers.authorization,
      body: undefined,
      files: [],
      status: 0,
      at: Date.now(),
    };
    if (fault && cutShort(fault, req, res)) {
      rec.status = fault.kind === 'drop' ? -1 : 0;
      this.requests.push(rec);
      return;
    }
    Object.assign(rec, await this.readBody(req));
    const { body } = rec;
    this.requests.push(rec);
    const answer = (status: number, payload?: unknown, headers?: Record<string, string>) => {
      rec.status = status;
      rec.response = payload;
      this.json(res, status, payload, headers);
    };

    if (!url.pathname.startsWith(prefix)) return answer(404, { message: '404: Not Found', code: 0 });
    if (fault?.kind === 'status') {
      if (fault.status >= 500) {
        rec.status = fault.status;
        res.writeHead(fault.status, { 'content-type': 'text/html' }).end(errorPage(fault.status));
        return;
      }
      const after = fault.retryAfterS ?? 1;
      return fault.status === 429
        ? answer(
            429,
            { message: 'You are being rate limited.', retry_after: after, global: false },
            { 'retry-after': String(after), 'x-ratelimit-scope': 'user' },
          )
        : answer(fault.status, { message: 'injected failure', code: 0 });
    }
    const forced = this.failures.find(
      (f) => f.left > 0 && (!f.method || f.method === method) && f.path.test(rec.path),
    );
    if (forced) {
      forced.left--;
      return answer(forced.status, forced.body ?? { message: 'forced failure', code: 0 }, forced.headers);
    }

    const p = rec.path;
    let m: RegExpExecArray | null;
    // Interaction callbacks and webhooks are authorised by their token in the path, not the bot token.
    if ((m = CALLBACK.exec(p)) && method === 'POST') return answer(204);
    if ((m = WEBHOOK.exec(p)) && method === 'POST') {
      const msg = this.message(this.channelId, body as MessageBody);
      this.webhookMessages.set(`${m[2]}/${msg.id}`, msg);
      return answer(200, msg);
    }
    if ((m = WEBHOOK_MESSAGE.exec(p))) {
      const key = `${m[2]}/${m[3]}`;
      if (method === 'DELETE') {
        this.webhookMessages.delete(key);
        return answer(204);
      }
      if (method === 'PATCH') {
        const old = this.webhookMessages.get(key) ?? this.message(this.channelId, {});
        const msg = { ...old, ...(body as MessageBody), edited_timestamp: new Date().toISOString() };
        this.webhookMessages.set(key, msg);
        return answer(200, msg);
      }
      const msg = this.webhookMessages.get(key);
      return msg ? answer(200, msg) : answer(404, { message: 'Unknown Message', code: 10008 });
    }

    if (req.headers.authorization !== `Bot ${this.o.token}`)
      return answer(401, { message: '401: Unauthorized', code: 0 });

    if (p === '/gateway/bot' && method === 'GET')
      return answer(200, {
        url: this.gatewayUrl,
        shards: 1,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 0, max_concurrency: 1 },
      });
    if ((m = COMMANDS.exec(p)) && method === 'PUT') {
      if (m[1] !== this.o.applicationId) return answer(403, { message: 'Missing Access', code: 50001 });
      const out = (body as CommandBody[]).map((c) => ({
        ...c,
        id: this.snowflake(),
        application_id: this.o.applicationId,
        version: this.snowflake(),
        ...(m?.[2] ? { guild_id: m[2] } : {}),
      }));
      return answer(200, out);
    }
    if ((m = CHANNEL_MESSAGES.exec(p)) && method === 'POST') {
      const channelId = m[1] as string;
      if (this.unknownChannels.has(channelId))
        return answer(404, { message: 'Unknown Channel', code: 10003 });
      const msg = this.message(channelId, body as MessageBody);
      const list = this.channels.get(channelId) ?? [];
      list.push(msg);
      this.channels.set(channelId, list);
      return answer(200, msg);
    }
    if ((m = CHANNEL_MESSAGE.exec(p))) {
      const msg = this.messages(m[1] as string).find((x) => x.id === m?.[2]);
      if (!msg) return answer(404, { message: 'Unknown Message', code: 10008 });
      if (method === 'PATCH') {
        Object.assign(msg, body as MessageBody, { edited_timestamp: new Date().toISOString() });
        return answer(200, msg);
      }
      if (method === 'GET') return answer(200, msg);
    }
    if ((m = CHANNEL.exec(p)) && method === 'GET') {
      if (this.unknownChannels.has(m[1] as string))
        return answer(404, { message: 'Unknown Channel', code: 10003 });
      return answer(200, { id: m[1], type: 0, name: 'alerts', guild_id: this.guildId });
    }
    return answer(404, { message: '404: Not Found', code: 0 });
  }
}
