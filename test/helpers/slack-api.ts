/**
 * A fake Slack on loopback for the Slack adapter's tests: the Web API methods Lookout
 * calls (`POST /api/<method>`, form-encoded as @slack/web-api sends them), the file
 * upload URL, `response_url` endpoints and a Socket Mode WebSocket server. It records
 * every request and keeps the messages it was sent, so tests assert on what a
 * channel would show. Errors can be injected per method.
 */
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';
import { cutShort, errorPage } from './faults.js';
import type { FaultPlan } from './faults.js';

/** One Web API call as the server received it. */
export interface ApiCall {
  method: string;
  /** Form fields; `blocks` and other JSON fields parsed. */
  args: Record<string, unknown>;
  authorization: string | undefined;
  /** Epoch ms when the request arrived. */
  at: number;
  /** The status the server answered with. */
  status: number;
  /** What the server answered (`ok`, `error`). */
  answer: Record<string, unknown>;
}

export interface SlackMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks: unknown[];
  /** Earlier versions, oldest first, when chat.update changed it. */
  history: Array<{ text: string; blocks: unknown[] }>;
}

export interface Injection {
  /** HTTP status; 200 with `body` for a Slack platform error. */
  status?: number;
  headers?: Record<string, string>;
  body?: Record<string, unknown>;
}

export interface SocketAck {
  envelope_id: string;
  payload?: Record<string, unknown>;
}

const JSON_FIELDS = new Set(['blocks', 'attachments', 'files', 'metadata']);

export class FakeSlack {
  readonly calls: ApiCall[] = [];
  readonly messages: SlackMessage[] = [];
  /** Bodies POSTed to response_url endpoints (`/response/<id>`), parsed JSON. */
  readonly responses: Array<{ path: string; body: Record<string, unknown>; at: number }> = [];
  /** Uploaded file contents by file id. */
  readonly uploads = new Map<string, string>();
  /** Messages received on Socket Mode connections. */
  readonly socketMessages: Array<Record<string, unknown>> = [];
  /** Workspace identity auth.test answers with. */
  identity = { team_id: 'T0LOOKOUT', team: 'Lookout Test', user_id: 'UBOT', user: 'lookout', bot_id: 'BBOT' };
  /** Tokens auth.test and every method accept; anything else is `invalid_auth`. */
  validTokens = new Set<string>();
  /** Accepted app-level token for apps.connections.open. */
  appToken: string | undefined;
  /**
   * Asked with the Web API method (`chat.postMessage`) before each call is handled; a call
   * it fails is recorded with the status answered (0 for a hang, -1 for a drop) and not processed.
   */
  faults: FaultPlan | undefined;

  private server: Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly clients = new Set<WebSocket>();
  private readonly injected = new Map<string, Injection[]>();
  private readonly connectionWaiters: Array<(ws: WebSocket) => void> = [];
  private pingTimer: NodeJS.Timeout | undefined;
  private seq = 0;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The base to configure as SLACK_API_URL. */
  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  /** A response_url the test can hand Slack-style to the bot. */
  responseUrl(id = String(++this.seq)): string {
    return `${this.url}/response/${id}`;
  }

  /** The next `times` calls of `method` answer with `injection` instead of normally. */
  inject(method: string, injection: Injection, times = 1): void {
    const list = this.injected.get(method) ?? [];
    for (let i = 0; i < times; i++) list.push(injection);
    this.injected.set(method, list);
  }

  callsOf(method: string): ApiCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  inChannel(channel: string): SlackMessage[] {
    return this.messages.filter((m) => m.channel === channel && m.thread_ts === undefined);
  }

  thread(channel: string, ts: string): SlackMessage[] {
    return this.messages.filter((m) => m.channel === channel && m.thread_ts === ts);
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      void this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(err));
      });
    });
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    server.on('upgrade', (req, socket, head) => {
      if (!req.url?.startsWith('/socket')) {
        socket.destroy();
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    this.wss = wss;
    // The Socket Mode client drops a connection that the server has not pinged for 30 s.
    this.pingTimer = setInterval(() => {
      for (const ws of this.clients) ws.ping();
    }, 10_000);
    this.pingTimer.unref();
    return this;
  }

  async close(): Promise<void> {
    clearInterval(this.pingTimer);
    for (const ws of this.clients) ws.terminate();
    this.wss?.close();
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    for (const sock of this.sockets) sock.destroy();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Resolves with the next Socket Mode connection (or the current one, if there is one). */
  connection(): Promise<WebSocket> {
    const open = [...this.clients].find((c) => c.readyState === c.OPEN);
    if (open) return Promise.resolve(open);
    return new Promise((resolve) => this.connectionWaiters.push(resolve));
  }

  /**
   * Sends a Socket Mode envelope the way Slack does and resolves with the client's
   * acknowledgement (`{ envelope_id, payload }`).
   */
  async envelope(type: string, payload: Record<string, unknown>, timeoutMs = 10_000): Promise<SocketAck> {
    const ws = await this.connection();
    const envelope_id = `env-${++this.seq}`;
    const acked = new Promise<SocketAck>((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.off('message', on);
        reject(new Error(`no ack for ${type} envelope ${envelope_id} within ${timeoutMs} ms`));
      }, timeoutMs);
      const on = (data: RawData) => {
        const m = JSON.parse(data.toString()) as SocketAck;
        if (m.envelope_id !== envelope_id) return;
        clearTimeout(timer);
        ws.off('message', on);
        resolve(m);
      };
      ws.on('message', on);
    });
    ws.send(JSON.stringify({ envelope_id, type, accepts_response_payload: true, payload }));
    return acked;
  }

  private onSocket(ws: WebSocket): void {
    this.clients.add(ws);
    ws.on('close', () => this.clients.delete(ws));
    ws.on('message', (data) => {
      try {
        this.socketMessages.push(JSON.parse(data.toString()) as Record<string, unknown>);
      } catch {
        this.socketMessages.push({ raw: data.toString() });
      }
    });
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: 1,
        debug_info: { host: 'fake-slack', approximate_connection_time: 3600 },
        connection_info: { app_id: 'A0LOOKOUT' },
      }),
    );
    for (const w of this.connectionWaiters.splice(0)) w(ws);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const apiMethod = url.pathname.startsWith('/api/') ? url.pathname.slice('/api/'.length) : undefined;
    const fault = apiMethod === undefined ? undefined : this.faults?.(apiMethod);
    if (fault && cutShort(fault, req, res)) {
      this.calls.push({
        method: apiMethod as string,
        args: {},
        authorization: req.headers.authorization,
        at: Date.now(),
        status: fault.kind === 'drop' ? -1 : 0,
        answer: {},
      });
      return;
    }
    const raw = await readBody(req);
    if (url.pathname.startsWith('/response/')) {
      this.responses.push({
        path: url.pathname,
        body: JSON.parse(raw.toString('utf8')) as Record<string, unknown>,
        at: Date.now(),
      });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
      return;
    }
    if (url.pathname.startsWith('/upload/')) {
      const id = url.pathname.slice('/upload/'.length);
      this.uploads.set(id, raw.toString('utf8'));
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`OK - ${raw.length}`);
      return;
    }
    if (!url.pathname.startsWith('/api/')) {
      res.writeHead(404);
      res.end();
      return;
    }
    const method = url.pathname.slice('/api/'.length);
    const args = parseArgs(req.headers['content-type'] ?? '', raw);
    const authorization = req.headers.authorization;
    const call: ApiCall = { method, args, authorization, at: Date.now(), status: 200, answer: {} };
    this.calls.push(call);

    if (fault?.kind === 'status') {
      call.status = fault.status;
      if (fault.status >= 500) {
        res.writeHead(fault.status, { 'content-type': 'text/html' }).end(errorPage(fault.status));
        return;
      }
      call.answer = { ok: false, error: fault.status === 429 ? 'ratelimited' : 'fatal_error' };
      res.writeHead(fault.status, {
        'content-type': 'application/json',
        ...(fault.status === 429 ? { 'retry-after': String(fault.retryAfterS ?? 1) } : {}),
      });
      res.end(JSON.stringify(call.answer));
      return;
    }
    const injection = this.injected.get(method)?.shift();
    if (injection) {
      call.status = injection.status ?? 200;
      call.answer = injection.body ?? {};
      res.writeHead(call.status, { 'content-type': 'application/json', ...injection.headers });
      res.end(JSON.stringify(call.answer));
      return;
    }
    call.answer = this.answer(method, args, authorization);
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(call.answer));
  }

  private answer(
    method: string,
    args: Record<string, unknown>,
    authorization: string | undefined,
  ): Record<string, unknown> {
    const token =
      /^Bearer (.+)$/.exec(authorization ?? '')?.[1] ?? (typeof args.token === 'string' ? args.token : '');
    if (method === 'apps.connections.open') {
      if (!this.appToken || token !== this.appToken) return { ok: false, error: 'invalid_auth' };
      return { ok: true, url: `ws://127.0.0.1:${this.port}/socket?ticket=${++this.seq}` };
    }
    if (!this.validTokens.has(token)) return { ok: false, error: 'invalid_auth' };
    const channel = typeof args.channel === 'string' ? channelId(args.channel) : '';
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://lookout-test.slack.com/', ...this.identity };
      case 'chat.postMessage': {
        if (!channel) return { ok: false, error: 'channel_not_found' };
        const ts = this.nextTs();
        const m: SlackMessage = {
          channel,
          ts,
          text: String(args.text ?? ''),
          blocks: Array.isArray(args.blocks) ? args.blocks : [],
          history: [],
        };
        if (typeof args.thread_ts === 'string') m.thread_ts = args.thread_ts;
        this.messages.push(m);
        return {
          ok: true,
          channel,
          ts,
          message: { type: 'message', text: m.text, ts, bot_id: this.identity.bot_id },
        };
      }
      case 'chat.update': {
        const m = this.messages.find((x) => x.channel === channel && x.ts === args.ts);
        if (!m) return { ok: false, error: 'message_not_found' };
        m.history.push({ text: m.text, blocks: m.blocks });
        m.text = String(args.text ?? m.text);
        if (Array.isArray(args.blocks)) m.blocks = args.blocks;
        return { ok: true, channel, ts: m.ts, text: m.text };
      }
      case 'chat.postEphemeral':
        if (!channel) return { ok: false, error: 'channel_not_found' };
        return { ok: true, message_ts: this.nextTs() };
      case 'files.getUploadURLExternal': {
        const id = `F${++this.seq}`;
        return { ok: true, upload_url: `${this.url}/upload/${id}`, file_id: id };
      }
      case 'files.completeUploadExternal': {
        const files = Array.isArray(args.files) ? (args.files as Array<{ id: string; title?: string }>) : [];
        return {
          ok: true,
          files: files.map((f) => ({ id: f.id, title: f.title ?? '', name: f.title ?? '' })),
        };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  private nextTs(): string {
    return `${Math.floor(Date.now() / 1000)}.${String(++this.seq).padStart(6, '0')}`;
  }
}

/** `#ops` is answered as channel id `C_OPS`, the way Slack answers with ids for names. */
function channelId(c: string): string {
  return c.startsWith('#') ? `C_${c.slice(1).toUpperCase()}` : c;
}

function parseArgs(contentType: string, raw: Buffer): Record<string, unknown> {
  const text = raw.toString('utf8');
  if (/application\/json/i.test(contentType)) return JSON.parse(text || '{}') as Record<string, unknown>;
  if (!/application\/x-www-form-urlencoded/i.test(contentType)) return { raw: text };
  const out: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(text)) {
    if (JSON_FIELDS.has(k)) {
      try {
        out[k] = JSON.parse(v);
        continue;
      } catch {
        // Kept as text: a test may want to see what was malformed.
      }
    }
    out[k] = v;
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

// ---------------------------------------------------------------------------
// Requests as Slack sends them to the app

export interface SignOptions {
  /** Seconds since the epoch written in x-slack-request-timestamp. Default now. */
  timestamp?: number;
  /** Overrides the computed signature (forgeries). */
  signature?: string;
}

/** Slack's v0 signature: HMAC-SHA256 over `v0:<timestamp>:<raw body>`. */
export function slackSignature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

/** POSTs a body to the app signed exactly as Slack signs it. */
export async function postSigned(
  url: string,
  secret: string,
  body: string,
  contentType: string,
  o: SignOptions = {},
): Promise<Response> {
  const timestamp = o.timestamp ?? Math.floor(Date.now() / 1000);
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': contentType,
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': o.signature ?? slackSignature(secret, timestamp, body),
    },
    body,
  });
}

export interface SlashCommandInput {
  text: string;
  user_id: string;
  user_name?: string;
  channel_id?: string;
  response_url: string;
  command?: string;
}

/** The form body of a slash command, with the fields Slack sends. */
export function slashCommandBody(c: SlashCommandInput): string {
  return new URLSearchParams({
    token: 'verification-token-unused',
    team_id: 'T0LOOKOUT',
    team_domain: 'lookout-test',
    channel_id: c.channel_id ?? 'C0ALERTS',
    channel_name: 'alerts',
    user_id: c.user_id,
    user_name: c.user_name ?? c.user_id.toLowerCase(),
    command: c.command ?? '/lookout',
    text: c.text,
    api_app_id: 'A0LOOKOUT',
    is_enterprise_install: 'false',
    response_url: c.response_url,
    trigger_id: '1337.42.abcdef',
  }).toString();
}

/** The object Slack sends in `payload=` for a slash command over Socket Mode (same fields). */
export function slashCommandPayload(c: SlashCommandInput): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(slashCommandBody(c)));
}

/** A `block_actions` payload for a button press on `message` (as Slack sends it: `payload=<json>`). */
export function blockActionsBody(o: {
  user_id: string;
  user_name?: string;
  channel: string;
  message: SlackMessage;
  action_id: string;
  value: string;
  response_url: string;
}): string {
  const payload = {
    type: 'block_actions',
    user: {
      id: o.user_id,
      username: o.user_name ?? o.user_id.toLowerCase(),
      name: o.user_name ?? o.user_id.toLowerCase(),
      team_id: 'T0LOOKOUT',
    },
    api_app_id: 'A0LOOKOUT',
    token: 'verification-token-unused',
    container: { type: 'message', message_ts: o.message.ts, channel_id: o.channel, is_ephemeral: false },
    trigger_id: '1337.42.abcdef',
    team: { id: 'T0LOOKOUT', domain: 'lookout-test' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: o.channel, name: 'alerts' },
    message: {
      type: 'message',
      subtype: 'bot_message',
      text: o.message.text,
      ts: o.message.ts,
      bot_id: 'BBOT',
      blocks: o.message.blocks,
      ...(o.message.thread_ts ? { thread_ts: o.message.thread_ts } : {}),
    },
    state: { values: {} },
    response_url: o.response_url,
    actions: [
      {
        action_id: o.action_id,
        block_id: 'lookout_actions',
        text: { type: 'plain_text', text: 'button', emoji: true },
        value: o.value,
        type: 'button',
        action_ts: `${Date.now() / 1000}`,
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}
