/**
 * Validation at the edges: one zod schema per shape that comes from outside
 * (config file, API bodies, command arguments) and one formatter that turns
 * zod's issues into a sentence a person can act on.
 */
import { z } from 'zod';
import { parseDuration } from './core/duration.js';
import { NAME_RE, TARGET_DEFAULTS, defaultTimeout, inferKind, splitHostPort } from './core/targets.js';
import { DNS_RECORD_TYPES, KINDS } from './core/types.js';
import type { Target, TargetSource } from './core/types.js';
import { UsageError } from './core/errors.js';

/** Units shown in messages, by key. */
const UNITS: Record<string, string> = {
  interval: 'seconds',
  timeout: 'seconds',
  retryInterval: 'seconds',
  grace: 'seconds',
  alertCooldown: 'seconds',
  remindEvery: 'seconds',
};

const seconds = (key: string) =>
  z.preprocess(
    (v) => {
      if (typeof v === 'string' || typeof v === 'number') return parseDuration(v) ?? v;
      return v;
    },
    z.number({ error: `${key} must be a duration like 30, 90s, 15m, 2h or 1d` }),
  );

const int = (key: string) =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : v),
    z.number({ error: `${key} must be a whole number` }).int({ error: `${key} must be a whole number` }),
  );

const bool = z.preprocess(
  (v) => {
    if (typeof v !== 'string') return v;
    const s = v.toLowerCase();
    return ['true', 'yes', 'on', '1'].includes(s)
      ? true
      : ['false', 'no', 'off', '0'].includes(s)
        ? false
        : v;
  },
  z.boolean({ error: 'must be true or false' }),
);

const list = z.preprocess(
  (v) =>
    typeof v === 'string'
      ? v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : v,
  z.array(z.string().min(1)),
);

const ACCEPT_RE = /^\s*\d{3}(\s*-\s*\d{3})?(\s*,\s*\d{3}(\s*-\s*\d{3})?)*\s*$/;

/** Every setting a target may carry, all optional (used for add and for edit). */
const targetSettings = {
  kind: z.enum(KINDS, { error: `kind must be one of ${KINDS.join(', ')}` }),
  interval: seconds('interval').pipe(z.number().min(TARGET_DEFAULTS.minInterval).max(86400)),
  timeout: seconds('timeout').pipe(z.number().min(0.1).max(TARGET_DEFAULTS.maxTimeout)),
  failThreshold: int('failThreshold').pipe(z.number().min(1).max(100)),
  recoverThreshold: int('recoverThreshold').pipe(z.number().min(1).max(100)),
  retryInterval: seconds('retryInterval').pipe(z.number().min(TARGET_DEFAULTS.minInterval).max(86400)),
  tags: list.pipe(z.array(z.string().regex(/^[a-z0-9][a-z0-9\-_.]{0,31}$/i, 'tags are short words'))),
  dependsOn: z.string().regex(NAME_RE, 'dependsOn must name another target'),
  notify: z.strictObject({
    email: list.pipe(z.array(z.email({ error: 'notify.email must be email addresses' }))).optional(),
    channels: list.optional(),
  }),
  paused: bool,
  accept: z.string().regex(ACCEPT_RE, 'accept must be status codes like 200-399 or 200,204,301-302'),
  keyword: z.string().min(1).max(500),
  regex: z
    .string()
    .min(1)
    .max(500)
    .refine((s) => {
      try {
        new RegExp(s);
        return true;
      } catch {
        return false;
      }
    }, 'regex is not a valid regular expression'),
  maxRedirects: int('maxRedirects').pipe(z.number().min(0).max(20)),
  maxResponseMs: int('maxResponseMs').pipe(z.number().min(1).max(600000)),
  slowMs: int('slowMs').pipe(z.number().min(1).max(600000)),
  method: z.preprocess(
    (v) => (typeof v === 'string' ? v.toUpperCase() : v),
    z.enum(['GET', 'HEAD', 'POST'], { error: 'method must be GET, HEAD or POST' }),
  ),
  recordType: z.preprocess(
    (v) => (typeof v === 'string' ? v.toUpperCase() : v),
    z.enum(DNS_RECORD_TYPES, { error: `recordType must be one of ${DNS_RECORD_TYPES.join(', ')}` }),
  ),
  expect: z.string().min(1).max(500),
  resolver: z
    .string()
    .regex(/^(\[[0-9a-f:.]+\]|[0-9a-f:.]+)(:\d{1,5})?$/i, 'resolver must be an IP address[:port]'),
  pings: int('pings').pipe(z.number().min(1).max(20)),
  minReplies: int('minReplies').pipe(z.number().min(1).max(20)),
  grace: seconds('grace').pipe(z.number().min(0).max(86400)),
};

const nameSchema = z.preprocess(
  (v) => (typeof v === 'string' ? v.trim().toLowerCase() : v),
  z
    .string({ error: 'name is required' })
    .regex(
      NAME_RE,
      'name must be 1–63 characters of a-z, 0-9, "-", "_" or ".", starting with a letter or digit',
    ),
);

/** A new target as given by a config file, the API or a command. */
export const TargetInputSchema = z.strictObject({
  name: nameSchema,
  address: z.string().trim().max(2048).optional(),
  ...Object.fromEntries(Object.entries(targetSettings).map(([k, s]) => [k, s.optional()])),
}) as unknown as z.ZodType<TargetInput>;

/** A partial change (edit / PATCH). Renames are not supported: remove and add instead. */
export const TargetPatchSchema = z.strictObject({
  address: z.string().trim().min(1).max(2048).optional(),
  ...Object.fromEntries(Object.entries(targetSettings).map(([k, s]) => [k, s.optional()])),
}) as unknown as z.ZodType<TargetPatch>;

/** The keys a target accepts, for "unknown key" messages and help. */
export const TARGET_KEYS = ['name', 'address', ...Object.keys(targetSettings)];

type Settings = Omit<
  Target,
  'name' | 'address' | 'source' | 'createdAt' | 'pushToken' | 'pausedUntil' | 'tags' | 'notify'
> & { tags: string[]; notify: { email?: string[]; channels?: string[] } };
export type TargetPatch = Partial<Settings> & { address?: string };
export type TargetInput = TargetPatch & { name: string };

/** One line from zod's issues: `interval must be at least 5 seconds (got 1)`. */
export function formatIssues(error: z.ZodError, prefix = ''): string {
  return error.issues
    .slice(0, 3)
    .map((i) => formatIssue(i, prefix))
    .join('; ');
}

function formatIssue(i: z.core.$ZodIssue, prefix: string): string {
  const key = prefix + i.path.map(String).join('.');
  const unit = UNITS[String(i.path[i.path.length - 1])];
  const shown =
    'input' in i && i.input !== undefined && typeof i.input !== 'object'
      ? JSON.stringify(i.input)
      : undefined;
  // Echo what was typed, but never a whole pasted document back at the user.
  const got = shown === undefined ? '' : ` (got ${shown.length > 40 ? `${shown.slice(0, 37)}…` : shown})`;
  // Custom messages name their own key ("interval must be …"); put the rest of the path in front of it.
  const keyed = (message: string) => {
    const last = String(i.path[i.path.length - 1] ?? '');
    if (last && message.startsWith(last)) return `${key.slice(0, key.length - last.length)}${message}`;
    return `${key ? `${key} ` : ''}${message}`;
  };
  switch (i.code) {
    case 'too_small':
      return i.origin === 'string' || i.origin === 'array'
        ? `${key} must not be empty`
        : `${key} must be at least ${String(i.minimum)}${unit ? ' ' + unit : ''}${got}`;
    case 'too_big':
      return i.origin === 'string'
        ? `${key} is too long (at most ${String(i.maximum)} characters)`
        : `${key} must be at most ${String(i.maximum)}${unit ? ' ' + unit : ''}${got}`;
    case 'unrecognized_keys': {
      const base = key === prefix ? prefix : `${key}.`;
      return `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${base}${k}"`).join(', ')}`;
    }
    case 'invalid_value':
      return `${key} must be one of ${i.values.map(String).join(', ')}${got}`;
    case 'invalid_type':
      if (i.input === undefined) return `${key} is required`;
      return i.message.startsWith('Invalid input')
        ? `${key} has the wrong type${got}`
        : `${keyed(i.message)}${got}`;
    default:
      return i.message.startsWith('Invalid') ? `${key} is not valid${got}` : `${keyed(i.message)}${got}`;
  }
}

/** Parses with a schema or throws a `UsageError` with one readable line. */
export function parseOrThrow<T>(schema: z.ZodType<T>, input: unknown, prefix = ''): T {
  const r = schema.safeParse(input, { reportInput: true });
  if (!r.success) throw new UsageError(formatIssues(r.error, prefix));
  return r.data;
}

/**
 * Turns validated input into a complete target: infers the kind, checks the
 * address fits it and applies defaults. Throws `UsageError` on a mismatch.
 */
export function buildTarget(input: TargetInput, source: TargetSource, now: number): Target {
  const address = input.address?.trim() ?? '';
  const kind = input.kind ?? (address === '' ? undefined : inferKind(address));
  if (!kind) throw new UsageError('address is required (or kind=push for a heartbeat target)');
  validateAddress(kind, address);
  const interval = input.interval ?? TARGET_DEFAULTS.interval;
  const t: Target = {
    ...input,
    name: input.name,
    kind,
    address,
    interval,
    timeout: input.timeout ?? defaultTimeout(interval),
    failThreshold: input.failThreshold ?? TARGET_DEFAULTS.failThreshold,
    recoverThreshold: input.recoverThreshold ?? TARGET_DEFAULTS.recoverThreshold,
    tags: input.tags ?? [],
    source,
    createdAt: now,
  };
  checkConsistency(t);
  return t;
}

/** Applies a patch to a target, re-validating the combination. */
export function patchTarget(t: Target, patch: TargetPatch): Target {
  // A new address keeps the kind unless a kind is given: the address must then fit it.
  const next: Target = { ...t, ...patch };
  if (patch.interval !== undefined && patch.timeout === undefined && t.timeout > patch.interval) {
    next.timeout = defaultTimeout(patch.interval);
  }
  validateAddress(next.kind, next.address);
  checkConsistency(next);
  return next;
}

function checkConsistency(t: Target): void {
  if (t.timeout > t.interval)
    throw new UsageError(`timeout (${t.timeout}s) must not be longer than interval (${t.interval}s)`);
  if (t.dependsOn === t.name) throw new UsageError('a target cannot depend on itself');
  if (t.minReplies !== undefined && t.minReplies > (t.pings ?? 3))
    throw new UsageError(`minReplies (${t.minReplies}) cannot exceed pings (${t.pings ?? 3})`);
}

function validateAddress(kind: Target['kind'], address: string): void {
  const example: Record<Target['kind'], string> = {
    http: 'https://example.com/health',
    tcp: 'db.example.net:5432',
    ping: '10.0.0.1 or router.example.net',
    tls: 'example.com or example.com:8443',
    dns: 'example.com',
    push: '(none)',
  };
  const bad = (why: string) => new UsageError(`${why} for a ${kind} target (example: ${example[kind]})`);
  if (kind === 'push') {
    if (address !== '') throw new UsageError('a push target has no address: leave it out');
    return;
  }
  if (address === '') throw bad('address is required');
  if (/\s/.test(address)) throw bad(`address "${address}" contains spaces`);
  if (kind === 'http') {
    let u: URL;
    try {
      u = new URL(address);
    } catch {
      throw bad(`"${address}" is not a valid URL`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw bad('the URL must start with http:// or https://');
    return;
  }
  if (kind === 'tcp' && !splitHostPort(address)) throw bad(`"${address}" is not host:port`);
  if (kind === 'ping' || kind === 'dns') {
    if (!/^[a-z0-9\-_.:[\]]+$/i.test(address) || address.length > 253)
      throw bad(`"${address}" is not a host name or IP`);
  }
  if (kind === 'tls') {
    const hostPart = address.replace(/^https:\/\//i, '').replace(/\/.*$/, '');
    if (!/^[a-z0-9\-_.:[\]]+$/i.test(hostPart)) throw bad(`"${address}" is not host[:port]`);
  }
}
