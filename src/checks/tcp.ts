/** TCP check: the connect succeeds within the timeout. The socket is closed at once. */
import { connect } from 'node:net';
import { splitHostPort } from '../core/targets.js';
import type { CheckResult, Target } from '../core/types.js';
import type { Check, CheckContext } from './types.js';
import { failed } from './types.js';

const CODES: Record<string, [string, string]> = {
  ECONNREFUSED: ['connection_refused', 'connection refused (nothing listening on that port?)'],
  ECONNRESET: ['connection_reset', 'the connection was reset'],
  ENOTFOUND: ['dns_unresolved', 'the host name does not resolve'],
  EAI_AGAIN: ['dns_unresolved', 'the host name could not be resolved (EAI_AGAIN)'],
  EHOSTUNREACH: ['unreachable', 'no route to host'],
  ENETUNREACH: ['unreachable', 'network unreachable'],
};

export const tcpCheck: Check = {
  kind: 'tcp',
  run(target: Target, ctx: CheckContext): Promise<CheckResult> {
    const hp = splitHostPort(target.address);
    if (!hp)
      return Promise.resolve(failed(ctx.now(), 0, 'bad_address', `"${target.address}" is not host:port`));
    const start = performance.now();
    return new Promise<CheckResult>((resolve) => {
      let lookupAt: number | undefined;
      const socket = connect({ host: hp.host, port: hp.port, noDelay: true });
      const settle = (r: CheckResult) => {
        clearTimeout(timer);
        ctx.signal?.removeEventListener('abort', onAbort);
        socket.removeAllListeners();
        socket.on('error', () => undefined);
        socket.destroy();
        resolve(r);
      };
      const elapsed = () => Math.round((performance.now() - start) * 10) / 10;
      const onAbort = () => settle(failed(ctx.now(), elapsed(), 'aborted', 'check aborted (shutting down)'));
      const timer = setTimeout(
        () => settle(failed(ctx.now(), elapsed(), 'timeout', `no connection within ${target.timeout}s`)),
        target.timeout * 1000,
      );
      ctx.signal?.addEventListener('abort', onAbort, { once: true });
      socket.once('lookup', () => (lookupAt = performance.now()));
      socket.once('connect', () => {
        const total = elapsed();
        const dns = lookupAt === undefined ? undefined : Math.round((lookupAt - start) * 10) / 10;
        settle({ ok: true, ms: total, at: ctx.now(), detail: { connect: total, dns } });
      });
      socket.once('error', (e: NodeJS.ErrnoException) => {
        const [code, message] = CODES[e.code ?? ''] ?? ['connect_failed', e.message.slice(0, 200)];
        settle(failed(ctx.now(), elapsed(), code, message));
      });
    });
  },
};
