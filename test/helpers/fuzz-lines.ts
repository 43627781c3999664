/**
 * Seeded command lines for fuzzing: near-misses of real commands, odd values,
 * Unicode, quotes, control characters, empty lines and over-long ones. The same
 * seed gives the same lines on every machine, so a failing line can be replayed
 * (test/commands/fuzz.test.ts through dispatch, test/faults/chat-fuzz.test.ts
 * through every chat platform and the HTTP command API).
 */
import { findCommand } from '../../commands/index.js';
import type { Command } from '../../commands/index.js';
import { TARGET_KEYS, tokenize } from '../../commands/parse.js';
import { prng } from './prng.js';

/** Words a line may start with: commands, aliases, typos and punctuation. */
export const WORDS: readonly string[] = [
  'add',
  'remove',
  'edit',
  'list',
  'status',
  'uptime',
  'history',
  'speedtest',
  'pause',
  'resume',
  'ack',
  'check',
  'help',
  '/status',
  '/add@lookout_bot',
  'STATUS',
  'rm',
  'ls',
  'unpause',
  'start',
  'stauts',
  'lsit',
  'remvoe',
  '',
  '/',
  '@',
  '?',
];

/** Target names: the seeded ones, their typos, and names that are not valid. */
export const TARGETS: readonly string[] = [
  'web',
  'router',
  'db',
  'WEB',
  'wbe',
  'portal',
  'new1',
  'new-2',
  'x',
  '7d',
  'a'.repeat(64),
  '.bad',
  'Ω',
];

/** Values for positionals and settings: numbers at the edges, durations, periods, kinds, addresses. */
export const VALUES: readonly string[] = [
  '0',
  '-1',
  '1',
  '5',
  '30',
  '1.5',
  '1e400',
  '99999999999999999999',
  'NaN',
  'Infinity',
  '90s',
  '15m',
  '2h',
  '1d',
  '1h30m',
  '400d',
  '0s',
  'abc',
  '24h',
  '7d',
  '30d',
  '90d',
  'week',
  'csv',
  'json',
  'xml',
  'now',
  'history',
  'confirm',
  'yes',
  'http',
  'push',
  'ping',
  'tcp',
  'tls',
  'dns',
  'https://example.com',
  'http://',
  'ftp://x',
  '10.0.0.1',
  'host:80',
  '[::1]:80',
  'host:99999',
  'example.com',
  'true',
  'prod,web',
  'a@b.c',
  '200-399',
];

/** Characters renderers and parsers get wrong: bidi overrides, NUL, lone surrogates, markup, shell. */
export const UNICODE: readonly string[] = [
  '🙂',
  'ü',
  'Ω',
  '\u202e',
  '\u0000',
  '𝓊𝓃𝒾',
  '\u200b',
  'e\u0301',
  '٣',
  '\uFEFF',
  '\uD800',
  '中文',
  '\n',
  '\t',
  '\\',
  '$(rm -rf /)',
  '<script>',
  '&amp;',
  '%00',
  '${x}',
  '`x`',
];

/** Straight, curly and unbalanced quotes. */
export const QUOTES: readonly string[] = ['"', "'", '“a b”', '"a b"', "'c d'", '„x“', '«y»'];

/** A stream of fuzz lines and the random source behind them. */
export interface Fuzzer {
  /** The generator's own stream: a test that draws from it between lines replays exactly. */
  rand(): number;
  pick<T>(xs: readonly T[]): T;
  /** An integer in [0, n). */
  int(n: number): number;
  /** `key=value` with a setting name (real, misspelt or empty) and a value, sometimes quoted. */
  keyValue(): string;
  /** One word of any kind. */
  token(): string;
  /** The next line; `i` only shapes the names of targets plausible lines add. */
  line(i: number): string;
}

/** A fuzz line generator seeded with `seed`. */
export function fuzzer(seed: number): Fuzzer {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const int = (n: number) => Math.floor(rand() * n);
  const keys = [
    ...TARGET_KEYS.map((k) => k.name),
    'name',
    'address',
    'colour',
    'Interval',
    'fail_threshold',
    'notify',
    '',
  ];

  function keyValue(): string {
    const v = rand() < 0.7 ? pick(VALUES) : pick(UNICODE) + pick(VALUES);
    return `${pick(keys)}=${rand() < 0.2 ? `"${v} ${v}"` : v}`;
  }

  function token(): string {
    const r = rand();
    if (r < 0.25) return pick(TARGETS);
    if (r < 0.5) return pick(VALUES);
    if (r < 0.65) return keyValue();
    if (r < 0.75) return pick(UNICODE);
    if (r < 0.82) return pick(QUOTES);
    if (r < 0.88) return String(rand() * 10 ** int(40));
    if (r < 0.9) return 'a'.repeat(int(2500));
    return Array.from({ length: 1 + int(12) }, () => String.fromCodePoint(int(0x2ffff))).join('');
  }

  /** Lines close to valid ones, so mutations happen and the "allowed to change" side is exercised too. */
  function plausible(i: number): string {
    const name = pick(['web', 'router', 'db', `n${i % 20}`]);
    return pick([
      `add n${i % 20} 10.0.${int(3)}.${int(300)} ${rand() < 0.5 ? keyValue() : ''}`,
      `add n${i % 20} https://n${i}.example.com interval=${pick(VALUES)}`,
      `edit ${name} ${keyValue()}`,
      `edit ${name} interval=${pick(['30', '5', '1', '2m', 'x'])}`,
      `pause ${name} ${pick(['', '1h', '0', '15m', 'soon'])}`,
      `resume ${name}`,
      `ack ${name}`,
      `remove ${name}${rand() < 0.5 ? ' confirm' : ''}`,
    ]);
  }

  function line(i: number): string {
    const r = rand();
    // The rare shapes are tested first: behind the 30% of plausible lines they could never be drawn.
    if (r < 0.03) return '';
    if (r < 0.05) return ' '.repeat(int(50));
    if (r < 0.08)
      return Array.from({ length: int(3000) }, () => String.fromCodePoint(int(0x10ffff))).join('');
    if (r < 0.1) return Array.from({ length: 40 + int(40) }, token).join(' ');
    if (r < 0.4) return plausible(i);
    const n = int(6);
    return [pick(WORDS), ...Array.from({ length: n }, token)].join(rand() < 0.1 ? '  ' : ' ');
  }

  return { rand, pick, int, keyValue, token, line };
}

/** `n` lines from `seed`: the same list on every machine. */
export function fuzzLines(n: number, seed: number): string[] {
  const f = fuzzer(seed);
  return Array.from({ length: n }, (_, i) => f.line(i));
}

/** Commands that change the store when they succeed. */
export const MUTATING: ReadonlySet<string> = new Set(['add', 'remove', 'edit', 'pause', 'resume', 'ack']);

/** The command a line names, or undefined when it names none or does not even tokenize. */
export function commandOf(text: string): Command | undefined {
  let word: string | undefined;
  try {
    word = tokenize(text)[0];
  } catch {
    return undefined;
  }
  return word === undefined ? undefined : findCommand(word);
}

/**
 * Whether the line may have changed the store: a mutating command whose reply is
 * not an error, run by someone allowed to run it (`ack` is open to everyone, SPEC §4).
 */
export function mayMutate(text: string, admin: boolean, replySeverity: string): boolean {
  const command = commandOf(text);
  return (
    replySeverity !== 'error' &&
    command !== undefined &&
    MUTATING.has(command.name) &&
    (command.admin !== true || admin)
  );
}

/**
 * At most `max` UTF-16 code units of `s`, without splitting a surrogate pair:
 * platforms count message length in UTF-16 units, so this is what a client can send.
 */
export function clip(s: string, max: number): string {
  if (s.length <= max) return s;
  const code = s.charCodeAt(max - 1);
  const end = code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
  return s.slice(0, end);
}
