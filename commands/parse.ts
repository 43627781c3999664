/**
 * Reading what people type in chat: quotes (straight and the curly ones phones
 * insert), `key=value`, stray zero-width characters from copy and paste, any case,
 * optional arguments left out. Every problem is a UsageError that says exactly
 * what was wrong; nothing here throws anything else for any input.
 */
import { parseDuration, formatDuration } from '../src/core/duration.js';
import { UsageError } from '../src/core/errors.js';
import { suggestName } from '../src/core/targets.js';
import { DNS_RECORD_TYPES, KINDS } from '../src/core/types.js';
import type { ArgSpec, ArgsOf, KeySpec, Period, Platform, PositionalSpec } from './types.js';

/** Longest command line accepted, in characters (code points). */
export const MAX_CHARS = 2000;
/** Most words in one command line. */
export const MAX_TOKENS = 50;

/** Longest duration argument (pause): a year, so `until` stays a sane date. */
const MAX_DURATION_S = 366 * 86400;
const HOUR_MS = 3600e3;
const DAY_MS = 86400e3;

/**
 * A bad argument. Dispatch answers it with the message plus the command's usage
 * and first example, which is what someone needs to retype it correctly.
 */
export class ArgumentError extends UsageError {
  override name = 'ArgumentError';
  constructor(
    message: string,
    /** The words do not fit the command's shape (missing, extra): show its usage line too. */
    readonly showUsage = false,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------
// Tokens

/** Closing quote for each opening quote; curly quotes come from phone keyboards. */
const QUOTES: Record<string, string> = {
  '"': '"',
  "'": "'",
  '“': '”',
  '”': '”',
  '‘': '’',
  '„': '“',
  '«': '»',
};
/** Invisible characters pasted along with text; they would make `portal` ≠ `portal`. */
const INVISIBLE = /[\u200B-\u200D\u2060\uFEFF\u00AD]/g;
/** Control characters other than whitespace never mean anything in a command. */
const CONTROL = /(?![\t\n\r])\p{Cc}/gu;

/**
 * The command a mistyped word most likely meant. Swapped letters (`stauts`, `lsit`)
 * are the commonest chat typo and cost 2 in plain edit distance, as much as a
 * different word (`edit`), so a word with the same letters wins first.
 */
export function suggestWord(word: string, names: readonly string[]): string | undefined {
  const letters = (s: string) => [...s].sort().join('');
  return names.find((n) => n.length > 2 && letters(n) === letters(word)) ?? suggestName(word, names);
}

/** Cuts user input for echoing in a message. */
export function shown(s: string, max = 40): string {
  const chars = [...s];
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : s;
}

/**
 * Splits a command line into words. A quote opens only at the start of a word or
 * right after `=` (`keyword="all good"`), so an apostrophe inside a word is a letter.
 */
export function tokenize(text: string): string[] {
  if (text.length > MAX_CHARS * 2 || [...text].length > MAX_CHARS)
    throw new UsageError(
      `the command is too long (${[...text].length.toLocaleString('en-US')} characters; at most ${MAX_CHARS.toLocaleString('en-US')})`,
    );
  const clean = text.replace(INVISIBLE, '').replace(CONTROL, '');
  const tokens: string[] = [];
  let cur = '';
  let open = false;
  let close: string | undefined;
  let opener = '';
  for (const ch of clean) {
    if (close !== undefined) {
      // Straight double quotes close curly ones too: keyboards mix them.
      if (ch === close || (ch === '"' && opener !== "'")) close = undefined;
      else cur += ch;
      continue;
    }
    const q = QUOTES[ch];
    if (q !== undefined && (!open || cur.endsWith('='))) {
      close = q;
      opener = ch;
      open = true;
      continue;
    }
    if (/\s/u.test(ch)) {
      if (open) {
        tokens.push(cur);
        if (tokens.length > MAX_TOKENS) break;
      }
      cur = '';
      open = false;
      continue;
    }
    cur += ch;
    open = true;
  }
  if (close !== undefined) throw new UsageError(`a quote (${opener}) is not closed`);
  if (open) tokens.push(cur);
  if (tokens.length > MAX_TOKENS)
    throw new UsageError(`too many words (more than ${MAX_TOKENS}); shorten the command`);
  return tokens;
}

/** Quotes a value for a command line when it needs it, so adapters can rebuild text from typed options. */
export function quoteToken(s: string): string {
  if (s !== '' && !/[\s"'“”‘’„«»]/u.test(s)) return s;
  return s.includes('"') ? `'${s}'` : `"${s}"`;
}

/**
 * The command word as typed in chat: `/status@lookout_bot` (Telegram in groups)
 * and `/Status` are `status`.
 */
export function commandWord(token: string): string {
  return token
    .replace(/^\/+/, '')
    .replace(/@[\w.-]*$/, '')
    .toLowerCase();
}

/** How a command line starts on each platform, for usage lines and examples in replies. */
export function commandPrefix(platform: Platform): string {
  switch (platform) {
    case 'slack':
      return '/lookout ';
    case 'cli':
      return 'lookout ';
    case 'api':
      return '';
    default:
      return '/';
  }
}

// ---------------------------------------------------------------------------
// Values

const PERIODS: Record<string, string> = {
  '24h': '24h',
  '1d': '24h',
  day: '24h',
  '7d': '7d',
  '1w': '7d',
  week: '7d',
  '30d': '30d',
  month: '30d',
  '90d': '90d',
  quarter: '90d',
};

/** `24h`, `7d`, `30d`, `90d` (and `week`, `month`…), or any duration from 1h to 400d. */
export function parsePeriod(text: string): Period | undefined {
  const s = text.trim().toLowerCase();
  const named = PERIODS[s];
  if (named !== undefined) return { label: named, ms: (parseDuration(named) ?? 0) * 1000 };
  // A bare number is seconds for durations; as a period it is surely a typo.
  if (/^\d+(\.\d+)?$/.test(s)) return undefined;
  const sec = parseDuration(s);
  if (sec === undefined || sec * 1000 < HOUR_MS || sec * 1000 > 400 * DAY_MS) return undefined;
  return { label: formatDuration(sec * 1000).replace(/ /g, ''), ms: sec * 1000 };
}

const SPECIFIC: ReadonlySet<PositionalSpec['type']> = new Set([
  'duration',
  'period',
  'format',
  'enum',
  'int',
]);

function accepts(slot: PositionalSpec, token: string): boolean {
  const t = token.toLowerCase();
  switch (slot.type) {
    case 'duration': {
      const s = parseDuration(t);
      return s !== undefined && s > 0 && s <= MAX_DURATION_S;
    }
    case 'period':
      return parsePeriod(t) !== undefined;
    case 'format':
    case 'enum':
      return (slot.choices ?? []).includes(t);
    case 'int':
      return /^-?\d{1,15}$/.test(t);
    default:
      return true;
  }
}

function convert(slot: PositionalSpec, token: string): unknown {
  switch (slot.type) {
    case 'duration':
      return parseDuration(token.toLowerCase());
    case 'period':
      return parsePeriod(token);
    case 'int':
      return Number(token);
    case 'target':
    case 'format':
    case 'enum':
      return token.trim().toLowerCase();
    default:
      return token;
  }
}

function oneOf(choices: readonly string[]): string {
  return choices.length <= 1
    ? (choices[0] ?? '')
    : `${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}`;
}

function rejection(slot: PositionalSpec, token: string): string {
  const got = `(got "${shown(token)}")`;
  switch (slot.type) {
    case 'duration': {
      const s = parseDuration(token.toLowerCase());
      if (s === 0) return `${slot.name} must be longer than 0 ${got}`;
      if (s !== undefined) return `${slot.name} must be at most 366d ${got}`;
      return `${slot.name} must be a duration like 90s, 15m, 2h or 1d ${got}`;
    }
    case 'period':
      return `${slot.name} must be 24h, 7d, 30d or 90d ${got}`;
    case 'format':
    case 'enum':
      return `${slot.name} must be ${slot.choices && slot.choices.length > 2 ? 'one of ' : ''}${oneOf(slot.choices ?? [])} ${got}`;
    case 'int':
      return `${slot.name} must be a whole number ${got}`;
    default:
      return `${slot.name} is not valid ${got}`;
  }
}

// ---------------------------------------------------------------------------
// Binding

const KEY_TOKEN = /^([A-Za-z][A-Za-z0-9_.-]{0,40})=(.*)$/su;
/** `failthreshold`, `fail_threshold` and `fail-threshold` all mean `failThreshold`. */
const norm = (k: string) => k.toLowerCase().replace(/[-_]/g, '');

export interface BindOptions {
  /** Whether a target of this name exists: `uptime 7d` is a period unless a target is called `7d`. */
  isTarget(name: string): boolean;
  /** Command name, for messages. */
  command: string;
}

/**
 * Binds words to a spec: positionals in order, where an optional argument that
 * was left out is skipped when the word fits a later one (`uptime 7d`,
 * `history portal csv`), and `key=value` words to the spec's keys.
 */
export function bind<S extends ArgSpec>(spec: S, tokens: readonly string[], o: BindOptions): ArgsOf<S> {
  const out: Record<string, unknown> = {};
  const keys: Record<string, string> = {};
  const byNorm = new Map((spec.keys ?? []).map((k) => [norm(k.name), k.name]));
  const positional: string[] = [];

  for (const token of tokens) {
    const m = KEY_TOKEN.exec(token);
    if (!m) {
      positional.push(token);
      continue;
    }
    const [, rawKey = '', value = ''] = m;
    const refused = spec.refusedKeys?.[norm(rawKey)];
    if (refused !== undefined) throw new ArgumentError(refused);
    if (byNorm.size === 0)
      throw new ArgumentError(`${o.command} takes no key=value settings (got "${shown(token)}")`);
    const key = byNorm.get(norm(rawKey));
    if (key === undefined) {
      const hint = suggestName(norm(rawKey), byNorm.keys());
      const named = hint === undefined ? undefined : byNorm.get(hint);
      throw new ArgumentError(
        `unknown key "${shown(rawKey)}"${named ? ` — did you mean "${named}"?` : `; ${o.command} accepts ${[...byNorm.values()].join(', ')}`}`,
      );
    }
    if (key in keys) throw new ArgumentError(`${key} is given twice`);
    keys[key] = value;
  }

  const slots = spec.positional;
  let si = 0;
  for (let ti = 0; ti < positional.length; ti++) {
    const token = positional[ti] as string;
    for (;;) {
      const slot = slots[si];
      if (slot === undefined)
        throw new ArgumentError(tooMany(spec, token, positional[ti + 1], o.command), true);
      const laterFits = slots.slice(si + 1).some((s) => accepts(s, token));
      const laterFitsSpecific = slots.slice(si + 1).some((s) => SPECIFIC.has(s.type) && accepts(s, token));
      const skip =
        !slot.required &&
        ((!SPECIFIC.has(slot.type) &&
          laterFitsSpecific &&
          !(slot.type === 'target' && o.isTarget(token.toLowerCase()))) ||
          (!accepts(slot, token) && laterFits));
      si++;
      if (skip) continue;
      if (!accepts(slot, token)) throw new ArgumentError(rejection(slot, token));
      out[slot.name] = convert(slot, token);
      break;
    }
  }
  for (const slot of slots) {
    if (slot.required && !(slot.name in out)) throw new ArgumentError(`missing <${slot.name}>`, true);
  }
  return { ...out, keys } as ArgsOf<S>;
}

function tooMany(spec: ArgSpec, token: string, nextToken: string | undefined, command: string): string {
  const key = (spec.keys ?? []).find((k) => norm(k.name) === norm(token));
  if (key) return `write settings as key=value, e.g. ${key.name}=${shown(nextToken ?? '…', 20)}`;
  if (spec.positional.length === 0) return `${command} takes no arguments (got "${shown(token)}")`;
  return `unexpected "${shown(token)}"`;
}

// ---------------------------------------------------------------------------
// Target settings as key=value (add, edit, check)

/** Every target setting a command line may set, in help order; the shared schema validates the values. */
export const TARGET_KEYS: readonly KeySpec[] = [
  { name: 'kind', type: 'enum', choices: KINDS, description: 'check kind; inferred from the address' },
  { name: 'interval', type: 'duration', description: 'time between checks (default 60s, minimum 5s)' },
  { name: 'timeout', type: 'duration', description: 'time one check may take (default 10s)' },
  { name: 'failThreshold', type: 'int', description: 'consecutive failures before DOWN (default 3)' },
  { name: 'recoverThreshold', type: 'int', description: 'consecutive successes before UP (default 1)' },
  { name: 'retryInterval', type: 'duration', description: 'faster re-checks while failing' },
  { name: 'tags', type: 'list', description: 'comma-separated tags, e.g. prod,web' },
  { name: 'dependsOn', type: 'string', description: 'parent target; its outage covers this one' },
  { name: 'notify.email', type: 'list', description: 'extra alert email recipients, comma-separated' },
  { name: 'notify.channels', type: 'list', description: 'extra chat channels for alerts, comma-separated' },
  { name: 'paused', type: 'bool', description: 'true to stop checks and alerts' },
  { name: 'accept', type: 'string', description: 'http: accepted status codes (default 200-399)' },
  { name: 'keyword', type: 'string', description: 'http: text the response must contain' },
  { name: 'regex', type: 'string', description: 'http: regular expression the response must match' },
  { name: 'maxRedirects', type: 'int', description: 'http: redirects to follow (default 5)' },
  { name: 'maxResponseMs', type: 'int', description: 'http: slower than this (ms) fails' },
  { name: 'slowMs', type: 'int', description: 'http: slower than this (ms) warns' },
  { name: 'method', type: 'enum', choices: ['GET', 'HEAD', 'POST'], description: 'http: request method' },
  {
    name: 'recordType',
    type: 'enum',
    choices: DNS_RECORD_TYPES,
    description: 'dns: record type (default A)',
  },
  { name: 'expect', type: 'string', description: 'dns: value expected among the answers' },
  { name: 'resolver', type: 'string', description: 'dns: resolver ip[:port]' },
  { name: 'pings', type: 'int', description: 'ping: echo requests per check (default 3)' },
  { name: 'minReplies', type: 'int', description: 'ping: replies needed for UP (default 1)' },
  { name: 'grace', type: 'duration', description: 'push: extra time after the interval (default 60s)' },
];

/** `{ interval: '30', 'notify.email': 'a@b' }` → `{ interval: '30', notify: { email: 'a@b' } }`, for the schema. */
export function nestKeys(keys: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(keys)) {
    const [head, sub] = k.split('.', 2) as [string, string | undefined];
    if (sub === undefined) out[head] = v;
    else out[head] = { ...(out[head] as Record<string, unknown> | undefined), [sub]: v };
  }
  return out;
}

/** Runs `fn`, turning a UsageError from validation into an ArgumentError (so an example follows it). */
export async function asArgumentError<T>(fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof UsageError && !(e instanceof ArgumentError) && e.code === 'usage')
      throw new ArgumentError(e.message);
    throw e;
  }
}
