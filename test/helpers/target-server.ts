/**
 * A real HTTP target on loopback that a test can break and repair: answer 200,
 * answer 500, hang after accepting, or stop listening and come back on the same port.
 */
import { createServer } from 'node:http';
import type { Server, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Mode = 'ok' | 'error' | 'hang';

export class TargetServer {
  mode: Mode = 'ok';
  body = 'all systems ok';
  hits = 0;
  port = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** Custom handler for special cases (redirects, big bodies…); return true when handled. */
  custom?: (req: IncomingMessage, res: ServerResponse) => boolean;

  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      this.hits++;
      if (this.custom?.(req, res)) return;
      if (this.mode === 'hang') return; // accept, read, never answer
      res.writeHead(this.mode === 'ok' ? 200 : 500, { 'content-type': 'text/plain' });
      res.end(this.mode === 'ok' ? this.body : 'internal <b>error</b> & <script>alert(1)</script>');
    });
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  /** Stops listening (connection refused from now on); start() again reuses the port. */
  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    for (const sock of this.sockets) sock.destroy();
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
