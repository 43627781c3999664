/**
 * DNS checks through c-ares (`dns.Resolver`), not `dns.lookup`: lookup goes
 * through getaddrinfo, which cannot pick a server or record type, cannot be
 * timed out, and occupies one of libuv's four threadpool threads while it waits.
 */
import { Resolver } from 'node:dns/promises';
import { performance } from 'node:perf_hooks';
import type { CheckResult, DnsRecordType } from '../core/types.js';
import { failed } from './types.js';
import type { Check } from './types.js';

/** Options for {@link createDnsCheck}. */
export interface DnsCheckOptions {
  /** Server ("ip[:port]") for targets that name none. Default: the system's, from /etc/resolv.conf. */
  resolver?: string;
}

/** Longest answer list kept in `detail.answers` and in messages. */
const MAX_ANSWERS_CHARS = 200;
/** Time allowed past the resolver's own timeout before the query is cancelled. */
const GUARD_MS = 500;

function truncate(text: string, max = MAX_ANSWERS_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Answers as people read them, plus the form `expect` is compared with. */
interface Answer {
  shown: string;
  compared: string[];
}

function canonical(value: string, type: DnsRecordType): string {
  const v = value.trim().toLowerCase().replace(/\.$/, '');
  if (type !== 'AAAA') return v;
  // The URL parser canonicalises IPv6 (zero compression, case), so
  // 2001:DB8:0::1 and 2001:db8::1 compare equal.
  try {
    return new URL(`http://[${v}]/`).hostname.slice(1, -1);
  } catch {
    return v;
  }
}

async function query(resolver: Resolver, name: string, type: DnsRecordType): Promise<Answer[]> {
  const plain = (list: string[]): Answer[] => list.map((a) => ({ shown: a, compared: [a] }));
  switch (type) {
    case 'A':
      return plain(await resolver.resolve4(name));
    case 'AAAA':
      return plain(await resolver.resolve6(name));
    case 'CNAME':
      return plain(await resolver.resolveCname(name));
    case 'MX':
      return (await resolver.resolveMx(name))
        .sort((a, b) => a.priority - b.priority)
        .map((mx) => ({
          shown: `${mx.priority} ${mx.exchange}`,
          compared: [mx.exchange, `${mx.priority} ${mx.exchange}`],
        }));
    case 'TXT':
      // A TXT record arrives in chunks of at most 255 bytes; its value is their concatenation.
      return plain((await resolver.resolveTxt(name)).map((chunks) => chunks.join('')));
  }
}

/** A resolver error as a result code and a message naming the fix. */
function resolveFailure(
  code: string | undefined,
  name: string,
  type: DnsRecordType,
  via: string,
  timeoutS: number,
): { code: string; message: string } {
  switch (code) {
    case 'ENOTFOUND':
      return { code: 'nxdomain', message: `${name} does not exist (NXDOMAIN from ${via}): check the name` };
    case 'ENODATA':
      return { code: 'no_data', message: `${name} exists but has no ${type} record (asked ${via})` };
    case 'ETIMEOUT':
    case 'ECANCELLED':
      return { code: 'timeout', message: `no answer from ${via} for ${name} within ${timeoutS}s` };
    case 'EREFUSED':
      return {
        code: 'refused',
        message: `${via} refused to answer for ${name}: does it allow queries from this host?`,
      };
    case 'ESERVFAIL':
      return {
        code: 'servfail',
        message: `${via} could not resolve ${name} (SERVFAIL): its upstream or the zone's servers are failing`,
      };
    case 'ECONNREFUSED':
      return {
        code: 'resolver_unreachable',
        message: `nothing answers DNS at ${via}: check the resolver address`,
      };
    case 'EBADNAME':
      return { code: 'invalid_address', message: `"${name}" is not a valid DNS name` };
    default:
      return {
        code: 'dns_error',
        message: `resolving ${name} ${type} via ${via} failed (${code ?? 'unknown error'})`,
      };
  }
}

/** The DNS check: resolves `address` for `recordType` (default A), optionally expecting a value. */
export function createDnsCheck(opts: DnsCheckOptions = {}): Check {
  return {
    kind: 'dns',
    async run(target, ctx) {
      const t0 = performance.now();
      const elapsed = (): number => Math.round((performance.now() - t0) * 1000) / 1000;
      const type = target.recordType ?? 'A';
      const name = target.address.trim();
      const server = target.resolver ?? opts.resolver;
      const via = server ?? 'the system resolver';
      const timeoutMs = Math.max(1, Math.round(target.timeout * 1000));

      const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
      if (server !== undefined) {
        try {
          resolver.setServers([server]);
        } catch {
          return failed(
            ctx.now(),
            0,
            'invalid_resolver',
            `resolver "${server}" is not an IP address with an optional port, e.g. 1.1.1.1 or 127.0.0.1:5353`,
          );
        }
      }
      // c-ares tries each configured server in turn; this bounds the whole
      // query by the target's timeout however many servers the system lists.
      const guard = setTimeout(() => resolver.cancel(), timeoutMs + GUARD_MS);
      const onAbort = (): void => resolver.cancel();
      ctx.signal?.addEventListener('abort', onAbort, { once: true });

      let answers: Answer[];
      try {
        answers = await query(resolver, name, type);
      } catch (err) {
        const resolveMs = elapsed();
        if (ctx.signal?.aborted) {
          return failed(ctx.now(), resolveMs, 'aborted', 'check cancelled because Lookout is stopping', {
            resolveMs,
          });
        }
        const f = resolveFailure((err as NodeJS.ErrnoException).code, name, type, via, target.timeout);
        return failed(ctx.now(), resolveMs, f.code, f.message, { resolveMs });
      } finally {
        clearTimeout(guard);
        ctx.signal?.removeEventListener('abort', onAbort);
      }

      const resolveMs = elapsed();
      const shown = truncate(answers.map((a) => a.shown).join(', '));
      const detail: CheckResult['detail'] = { answers: shown, resolveMs };
      if (target.expect !== undefined) {
        const want = canonical(target.expect, type);
        const matched = answers.some((a) => a.compared.some((c) => canonical(c, type) === want));
        if (!matched) {
          return failed(
            ctx.now(),
            resolveMs,
            'unexpected_answer',
            `${name} ${type} is ${shown}, expected ${target.expect}`,
            detail,
          );
        }
      }
      return { ok: true, ms: resolveMs, at: ctx.now(), detail };
    },
  };
}

/** The DNS check using the system's resolver by default. */
export const dnsCheck: Check = createDnsCheck();
