/**
 * TLS certificate checks: one handshake, then the certificate is judged here
 * rather than by `rejectUnauthorized`, so that a bad certificate still yields
 * its expiry, issuer and a precise reason instead of a bare socket error.
 */
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import type { DetailedPeerCertificate, SecureContext } from 'node:tls';
import type { CheckResult } from '../core/types.js';
import { failed } from './types.js';
import type { Check } from './types.js';

/** Days before expiry at which a warning is raised, loosest first. */
export const CERT_EXPIRY_WARN_DAYS = [30, 14, 7, 1] as const;

const DAY_MS = 86_400_000;
const DEFAULT_PORT = 443;

/** Options for {@link createTlsCheck}. */
export interface TlsCheckOptions {
  /**
   * Extra CA certificates (PEM) to trust besides Node's bundled roots, e.g. an
   * internal CA. Default: the bundled roots only.
   */
  ca?: string | Buffer | (string | Buffer)[];
}

/** Host and port from `host`, `host:port`, `[v6]:port` or an `https://…` URL. */
export function parseTlsAddress(address: string): { host: string; port: number } | undefined {
  const a = address.trim();
  let host: string | undefined;
  let port: string | undefined;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(a)) {
    try {
      const url = new URL(a);
      host = url.hostname.replace(/^\[(.*)\]$/, '$1');
      port = url.port;
    } catch {
      return undefined;
    }
  } else if (isIP(a) === 6) {
    host = a;
  } else {
    const m = /^(?:\[([^\]]+)\]|([^:/\s[\]]+))(?::(\d+))?$/.exec(a);
    host = m?.[1] ?? m?.[2];
    port = m?.[3];
  }
  const portNumber = port ? Number(port) : DEFAULT_PORT;
  if (!host || !Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65_535) return undefined;
  return { host, port: portNumber };
}

/** The tightest expiry warning crossed, e.g. `cert-expiry-7` with 5 days left; undefined when none. */
export function expiryWarning(msLeft: number): string | undefined {
  const crossed = CERT_EXPIRY_WARN_DAYS.filter((days) => msLeft <= days * DAY_MS);
  const tightest = crossed.at(-1);
  return tightest === undefined ? undefined : `cert-expiry-${tightest}`;
}

/** A certificate field may repeat (two O= entries); show them joined. */
function field(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

function describeIssuer(cert: DetailedPeerCertificate): string {
  const cn = field(cert.issuer?.CN);
  const org = field(cert.issuer?.O);
  if (cn && org && cn !== org) return `${cn} (${org})`;
  return cn ?? org ?? 'unknown issuer';
}

function nameOf(cert: DetailedPeerCertificate): string {
  return field(cert.subject?.CN) ?? field(cert.subject?.O) ?? 'unnamed certificate';
}

/** Leaf first, then each issuer Node could find, stopping at the self-signed root. */
function chainOf(leaf: DetailedPeerCertificate): DetailedPeerCertificate[] {
  const chain: DetailedPeerCertificate[] = [];
  const seen = new Set<string>();
  let cert: DetailedPeerCertificate | undefined = leaf;
  while (cert && cert.fingerprint256 && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    chain.push(cert);
    cert = cert.issuerCertificate;
  }
  return chain;
}

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** OpenSSL verify codes that mean "nobody vouches for this certificate but itself". */
const SELF_SIGNED = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN']);

/** Why the connection failed before a certificate could be judged. */
function connectFailure(err: NodeJS.ErrnoException, where: string): { code: string; message: string } {
  switch (err.code) {
    case 'ECONNREFUSED':
      return {
        code: 'connection_refused',
        message: `${where} refused the connection: is the service listening?`,
      };
    case 'ENOTFOUND':
      return { code: 'dns_unresolved', message: `cannot resolve ${where}: no such host, check the spelling` };
    case 'EAI_AGAIN':
      return { code: 'dns_unresolved', message: `cannot resolve ${where} right now: check the DNS server` };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return { code: 'host_unreachable', message: `no route to ${where}: check the network path` };
    case 'ECONNRESET':
      return {
        code: 'tls_handshake_failed',
        message: `${where} reset the connection during the TLS handshake: is this port TLS?`,
      };
  }
  const text = err.message.split('\n')[0] ?? err.message;
  if (/wrong version number|packet length too long/i.test(text)) {
    return {
      code: 'tls_handshake_failed',
      message: `${where} does not speak TLS (it answered with something else): check the port`,
    };
  }
  if (err.code?.startsWith('ERR_SSL') || err.code === 'EPROTO') {
    return { code: 'tls_handshake_failed', message: `TLS handshake with ${where} failed: ${text}` };
  }
  return { code: 'connection_failed', message: `cannot connect to ${where}: ${err.code ?? text}` };
}

/**
 * Judges the certificate of a completed handshake. Expiry is computed from
 * the chain with the check's clock; trust comes from OpenSSL's verdict.
 */
function judge(socket: tls.TLSSocket, host: string, where: string, now: number, ms: number): CheckResult {
  const leaf = socket.getPeerCertificate(true);
  if (!leaf || !leaf.valid_to) {
    return failed(now, ms, 'tls_handshake_failed', `${where} sent no certificate`);
  }
  const chain = chainOf(leaf);
  const validTo = (c: DetailedPeerCertificate): number => Date.parse(c.valid_to);
  // When OpenSSL accepted the chain, an expired certificate in what the server
  // sent is a stale cross-sign it routed around: it must not count as expiring.
  const counted = socket.authorized ? chain.filter((c) => validTo(c) > now) : chain;
  const earliest = (counted.length > 0 ? counted : chain).reduce((a, b) => (validTo(b) < validTo(a) ? b : a));
  const msLeft = validTo(earliest) - now;
  const detail: CheckResult['detail'] = {
    daysLeft: Math.floor(msLeft / DAY_MS),
    validTo: new Date(validTo(earliest)).toISOString(),
    subject: nameOf(leaf),
    issuer: describeIssuer(leaf),
    expiresFirst: earliest === leaf ? undefined : nameOf(earliest),
    protocol: socket.getProtocol() ?? undefined,
    authorized: socket.authorized,
  };
  const whose =
    earliest === leaf
      ? `certificate of ${where}`
      : `certificate "${nameOf(earliest)}" in the chain of ${where}`;

  const verifyCode = socket.authorized ? undefined : String(socket.authorizationError ?? 'unknown error');
  if (msLeft <= 0 || verifyCode === 'CERT_HAS_EXPIRED') {
    const ago = Math.max(0, Math.floor(-msLeft / DAY_MS));
    return failed(
      now,
      ms,
      'cert_expired',
      `${whose} expired on ${isoDate(validTo(earliest))} (${ago} day${ago === 1 ? '' : 's'} ago): renew it`,
      detail,
    );
  }
  const notYet = chain.find((c) => Date.parse(c.valid_from) > now);
  if (notYet || verifyCode === 'CERT_NOT_YET_VALID') {
    const from = Date.parse((notYet ?? leaf).valid_from);
    return failed(
      now,
      ms,
      'cert_not_yet_valid',
      `certificate of ${where} is not valid before ${isoDate(from)}: check the server's clock or the certificate`,
      detail,
    );
  }
  if (verifyCode !== undefined && SELF_SIGNED.has(verifyCode)) {
    return failed(
      now,
      ms,
      'cert_self_signed',
      `certificate of ${where} is self-signed: no trusted CA vouches for it; use a CA-issued certificate`,
      detail,
    );
  }
  if (verifyCode !== undefined) {
    const hint =
      verifyCode === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'
        ? ': the issuer is unknown or the server does not send its intermediate certificates'
        : '';
    return failed(
      now,
      ms,
      'cert_untrusted',
      `certificate of ${where} is not trusted (${verifyCode})${hint}`,
      detail,
    );
  }
  const mismatch = tls.checkServerIdentity(host, leaf);
  if (mismatch) {
    const names = leaf.subjectaltname?.replace(/DNS:|IP Address:/g, '') || nameOf(leaf);
    return failed(
      now,
      ms,
      'cert_hostname_mismatch',
      `certificate of ${where} is for ${names}, not ${host}: fix the address or the certificate's names`,
      detail,
    );
  }
  const warning = expiryWarning(msLeft);
  return { ok: true, ms, at: now, detail, ...(warning ? { warnings: [warning] } : {}) };
}

/** The TLS check. One `SecureContext` is built on first use and shared by every handshake. */
export function createTlsCheck(opts: TlsCheckOptions = {}): Check {
  let context: SecureContext | undefined;
  const secureContext = (): SecureContext => {
    if (!context) {
      const extra = opts.ca === undefined ? [] : Array.isArray(opts.ca) ? opts.ca : [opts.ca];
      context = tls.createSecureContext(extra.length > 0 ? { ca: [...tls.rootCertificates, ...extra] } : {});
    }
    return context;
  };

  return {
    kind: 'tls',
    run(target, ctx) {
      const t0 = performance.now();
      const elapsed = (): number => Math.round((performance.now() - t0) * 1000) / 1000;
      const parsed = parseTlsAddress(target.address);
      if (!parsed) {
        return Promise.resolve(
          failed(
            ctx.now(),
            0,
            'invalid_address',
            `"${target.address}" is not a TLS address: use host, host:port or https://host[:port]`,
          ),
        );
      }
      const { host, port } = parsed;
      const where = `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
      const timeoutMs = target.timeout * 1000;

      return new Promise<CheckResult>((resolve) => {
        let done = false;
        let connected = false;
        const socket = tls.connect({
          host,
          port,
          // SNI carries names only; an IP literal there is a protocol violation.
          ...(isIP(host) ? {} : { servername: host }),
          rejectUnauthorized: false,
          // Node would fold a name mismatch into `authorized`; the name is judged
          // separately so that `authorized` means "a trusted CA signed it".
          checkServerIdentity: () => undefined,
          secureContext: secureContext(),
        });
        const finish = (result: CheckResult): void => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          ctx.signal?.removeEventListener('abort', onAbort);
          socket.destroy();
          resolve(result);
        };
        const fail = (code: string, message: string): void => {
          finish(failed(ctx.now(), elapsed(), code, message));
        };
        const timer = setTimeout(
          () =>
            fail(
              'timeout',
              connected
                ? `${where} accepted the connection but completed no TLS handshake within ${target.timeout}s`
                : `no connection to ${where} within ${target.timeout}s`,
            ),
          timeoutMs,
        );
        const onAbort = (): void => fail('aborted', 'check cancelled because Lookout is stopping');
        ctx.signal?.addEventListener('abort', onAbort, { once: true });
        if (ctx.signal?.aborted) onAbort();

        socket.once('connect', () => {
          connected = true;
        });
        socket.once('secureConnect', () => {
          finish(judge(socket, host, where, ctx.now(), elapsed()));
        });
        socket.on('error', (err: NodeJS.ErrnoException) => {
          const { code, message } = connectFailure(err, where);
          fail(code, message);
        });
        socket.once('close', () =>
          fail('tls_handshake_failed', `${where} closed the connection during the TLS handshake`),
        );
      });
    },
  };
}

/** The TLS check trusting Node's bundled root CAs. */
export const tlsCheck: Check = createTlsCheck();
