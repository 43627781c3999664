/**
 * Slack's HTTP mode on Lookout's own listener. Bolt's receivers each want a server
 * of their own; this one is a Bolt `Receiver` whose `handle` the app mounts at
 * `POST /slack/events`, built from Bolt's exported pieces so that Bolt's own
 * signature and freshness check (`parseAndVerifyHTTPRequest`) guards every request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AuthorizationError, HTTPModuleFunctions, HTTPResponseAck, LogLevel } from '@slack/bolt';
import type { App, Logger as BoltLogger, Receiver, ReceiverEvent } from '@slack/bolt';
import type { Logger } from '../log.js';

export interface MountedReceiverOptions {
  signingSecret: string;
  logger: BoltLogger;
  /** False until the bot token is verified: requests meanwhile get 503 and Slack retries. */
  ready: () => boolean;
  /** Largest body accepted, in bytes. Default 1 MB: slash commands and button payloads are a few kB. */
  bodyLimit?: number;
}

const { buildContentResponse, buildNoBodyResponse, buildSSLCheckResponse, buildUrlVerificationResponse } =
  HTTPModuleFunctions;

export class MountedReceiver implements Receiver {
  private app: App | undefined;
  private readonly inflight = new Set<Promise<void>>();

  constructor(private readonly o: MountedReceiverOptions) {}

  init(app: App): void {
    this.app = app;
  }

  /** Nothing to listen on: Lookout's HTTP listener is already up. */
  start(): Promise<void> {
    return Promise.resolve();
  }

  /** Waits for requests being processed, so their replies are not cut off at shutdown. */
  async stop(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
  }

  /** Handles one request to `/slack/events`; resolves when it has been answered and processed. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const p = this.process(req, res).catch((err: unknown) => {
      this.o.logger.error(`handling a Slack request failed: ${(err as Error).message}`);
      if (!res.headersSent) buildNoBodyResponse(res, 500);
    });
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
    return p;
  }

  private async process(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { logger } = this.o;
    let buffered;
    try {
      buffered = await HTTPModuleFunctions.parseAndVerifyHTTPRequest(
        { enabled: true, signingSecret: this.o.signingSecret, bodyLimit: this.o.bodyLimit ?? 1024 * 1024 },
        req,
      );
    } catch (err) {
      if (
        HTTPModuleFunctions.isRawBodyError(err) &&
        (err.type === 'entity.too.large' || err.statusCode === 413)
      ) {
        buildNoBodyResponse(res, 413);
        return;
      }
      // Bolt's message says which check failed (signature, stale timestamp, missing header), never the secret.
      logger.warn(`refused a request to /slack/events: ${(err as Error).message}`);
      buildNoBodyResponse(res, 401);
      return;
    }

    let body: Record<string, unknown>;
    try {
      body = HTTPModuleFunctions.parseHTTPRequestBody(buffered) as Record<string, unknown>;
    } catch (err) {
      logger.warn(`malformed Slack request body: ${(err as Error).message}`);
      buildNoBodyResponse(res, 400);
      return;
    }
    if (body.ssl_check === '1') {
      buildSSLCheckResponse(res);
      return;
    }
    if (body.type === 'url_verification') {
      buildUrlVerificationResponse(res, body);
      return;
    }
    const app = this.app;
    if (!app || !this.o.ready()) {
      res.writeHead(503, { 'retry-after': '10' });
      res.end();
      return;
    }

    const ack = new HTTPResponseAck({
      logger,
      processBeforeResponse: false,
      httpRequest: buffered,
      httpRequestBody: body,
      httpResponse: res,
    });
    const event: ReceiverEvent = {
      body,
      ack: ack.bind(),
      retryNum: HTTPModuleFunctions.extractRetryNumFromHTTPRequest(req),
      retryReason: HTTPModuleFunctions.extractRetryReasonFromHTTPRequest(req),
    };
    try {
      await app.processEvent(event);
      if (ack.storedResponse !== undefined) buildContentResponse(res, ack.storedResponse);
    } catch (err) {
      logger.error(`a Slack listener failed: ${(err as Error).message}`);
      if (res.headersSent) return;
      buildNoBodyResponse(res, err instanceof AuthorizationError ? 401 : 500);
    }
  }
}

const LEVELS: Record<string, LogLevel> = {
  trace: LogLevel.DEBUG,
  debug: LogLevel.DEBUG,
  info: LogLevel.INFO,
  warn: LogLevel.WARN,
};

/**
 * Bolt, the Web API client and the Socket Mode client log through this into pino, so
 * LOG_LEVEL is the one knob and the secret scrubbing of src/log.ts applies to them too.
 */
export function boltLogger(log: Logger): BoltLogger {
  let name = 'slack';
  const line = (parts: unknown[]): string =>
    parts
      .map((p) => {
        if (p instanceof Error) return p.message;
        if (typeof p === 'string') return p;
        try {
          return JSON.stringify(p);
        } catch {
          return String(p);
        }
      })
      .join(' ');
  return {
    debug: (...m: unknown[]) => log.debug({ lib: name }, line(m)),
    info: (...m: unknown[]) => log.info({ lib: name }, line(m)),
    warn: (...m: unknown[]) => log.warn({ lib: name }, line(m)),
    error: (...m: unknown[]) => log.error({ lib: name }, line(m)),
    // Bolt sets its own default level on the logger it is given; LOG_LEVEL must win.
    setLevel: () => undefined,
    getLevel: () => LEVELS[log.level] ?? LogLevel.ERROR,
    setName: (n: string) => {
      name = n;
    },
  };
}
