/**
 * The shape of a chat command, independent of any platform. One definition feeds
 * the parser, the admin check, help, the generated README reference, Discord's
 * typed options and autocomplete, Slack's subcommands and Telegram's command list.
 * Commands reach the engine only through the interfaces below, which the concrete
 * Monitor and HistoryStore satisfy structurally.
 */
import type { HistoryStats, SampleRow, SeriesRow } from '../src/core/history.js';
import type { Reply } from '../src/core/reply.js';
import type { CheckResult, Incident, Target, TargetSource, TargetState } from '../src/core/types.js';
import type { TargetInput, TargetPatch } from '../src/schema.js';

/** How a positional argument is read and offered (Discord: option type, choices, autocomplete). */
export type ArgType =
  /** An existing target's name; case-insensitive, autocompleted, "did you mean" on a typo. */
  | 'target'
  | 'string'
  /** URL, host or host:port. */
  | 'address'
  /** `90s`, `15m`, `2h`, `1d`, or a bare number of seconds → seconds. */
  | 'duration'
  /** `24h`, `7d`, `30d`, `90d` (any duration from 1h to 400d) → a Period. */
  | 'period'
  /** `csv` or `json`. */
  | 'format'
  /** One of `choices`. */
  | 'enum'
  | 'int';

export interface PositionalSpec {
  name: string;
  type: ArgType;
  /** Default false. */
  required?: boolean;
  /** Allowed values for `enum` and `format` (lower-case). */
  choices?: readonly string[];
  description: string;
}

/** A `key=value` setting; the value is validated by the command (for targets, by the shared schema). */
export interface KeySpec {
  name: string;
  type: 'duration' | 'int' | 'string' | 'bool' | 'list' | 'enum';
  choices?: readonly string[];
  description: string;
}

export interface ArgSpec {
  positional: readonly PositionalSpec[];
  /** `key=value` settings the command accepts; none when absent. */
  keys?: readonly KeySpec[];
  /** Keys refused with a specific message, by lower-case name (e.g. `name` on edit: renames are not supported). */
  refusedKeys?: Readonly<Record<string, string>>;
}

export interface Period {
  /** As typed, normalised: `24h`, `7d`. */
  label: string;
  ms: number;
}

type ValueOf<P> = P extends { type: 'duration' | 'int' }
  ? number
  : P extends { type: 'period' }
    ? Period
    : string;

/** The bound arguments of a spec: one property per positional (typed by its `type`) plus `keys`. */
export type ArgsOf<S extends ArgSpec> = {
  [P in S['positional'][number] as P['name']]: P extends { required: true }
    ? ValueOf<P>
    : ValueOf<P> | undefined;
} & {
  /** Canonical key name → raw value; dotted keys (`notify.email`) stay dotted. */
  keys: Record<string, string>;
};

/** Which commands only admins may run: always, never, or depending on the arguments. */
export type AdminRule<S extends ArgSpec> =
  | boolean
  | {
      /** For help and the reference, e.g. "admin for `now`". */
      note: string;
      when(args: ArgsOf<S>): boolean;
    };

export interface Command<S extends ArgSpec = ArgSpec> {
  name: string;
  /** Other words that run it (`rm`, `ls`); not registered as platform commands. */
  aliases?: readonly string[];
  /** One line, lower-case start, no final period: "add a target". */
  summary: string;
  /** Without a prefix: `add <name> <address> [kind] [key=value …]`. */
  usage: string;
  /** Command lines without a prefix; the first is shown after argument errors. */
  examples: readonly string[];
  admin: AdminRule<S>;
  args: S;
  // Method syntax on purpose: a Command<SpecificSpec> must fit the registry's Command<ArgSpec>.
  run(args: ArgsOf<S>, ctx: CommandContext): Promise<Reply>;
}

/** Identity that keeps the spec's literal types, so `run` sees typed arguments. */
export function defineCommand<const S extends ArgSpec>(command: Command<S>): Command<S> {
  return command;
}

// ---------------------------------------------------------------------------
// What commands may use

/** The monitor's surface the commands use (satisfied by `Monitor`). */
export interface MonitorService {
  list(tag?: string): Target[];
  names(): string[];
  /** Throws NotFoundError with a "did you mean" suggestion. */
  get(name: string): Target;
  find(name: string): Target | undefined;
  state(name: string): TargetState;
  incidents(name?: string): Incident[];
  openIncident(name: string): Incident | undefined;
  add(input: TargetInput, source: TargetSource): Promise<Target>;
  edit(name: string, patch: TargetPatch): Promise<Target>;
  remove(name: string): Promise<Target>;
  pause(name: string, until?: number): Promise<Target>;
  resume(name: string): Promise<Target>;
  ack(name: string, actor: { id: string; display?: string }): Promise<Incident>;
}

/** Reading history (satisfied by `HistoryStore`). Times are epoch ms. */
export interface HistoryReader {
  stats(name: string, from: number, to: number, now: number): HistoryStats;
  trail(name: string, n: number): SampleRow[];
  series(name: string, from: number, to: number, now: number): SeriesRow[];
}

export interface CommandServices {
  monitor: MonitorService;
  history: HistoryReader;
}

/** The fields of a speed-test result the commands show (a `SpeedtestResult` fits). */
export interface SpeedSample {
  downloadMbps: number;
  uploadMbps: number;
  latencyMs: number;
  jitterMs: number;
  durationMs: number;
  server: string;
  /** Epoch ms. */
  at: number;
  error?: { code: string; message: string };
}

/** Speed tests as the commands need them; the service (schedule, storage, thresholds) lives elsewhere. */
export interface SpeedtestService {
  /** Runs one test now and stores it; resolves with the result even when it failed. */
  run(): Promise<SpeedSample>;
  latest(): SpeedSample | undefined;
  /** Stored results in [from, to), oldest first. */
  history(from: number, to: number): SpeedSample[];
}

export type Platform = 'slack' | 'discord' | 'telegram' | 'cli' | 'api';

export interface Actor {
  platform: Platform;
  /** The platform's user id (Slack `U…`, Discord snowflake, Telegram number); for cli/api a local name. */
  id: string;
  /** Shown in messages ("acknowledged by Ann"). */
  display?: string;
  /** Decided by the adapter: in the platform's `*_ADMIN_IDS`, or holding the API token. */
  admin: boolean;
}

/** Runs one check of a throwaway target (the `check` command). Must not throw for a host that is down. */
export type CheckRunner = (target: Target) => Promise<CheckResult>;

/** Receives unexpected errors with what the user typed; the user only sees "internal error, see logs". */
export type CommandLog = (err: unknown, context: { text: string; command?: string; actor: string }) => void;

export interface CommandContext {
  services: CommandServices;
  actor: Actor;
  now(): number;
  runCheck: CheckRunner;
  /** Absent until speed tests are configured on this instance. */
  speedtest?: SpeedtestService;
  log?: CommandLog;
  /** Base URL for links in replies (push URLs), e.g. `https://lookout.example.net`. */
  publicUrl?: string;
  /** Alert delivery per channel (the outbox's view), so `status` can show a broken channel. */
  deliveries?: () => DeliveryHealth[];
}

export interface DeliveryHealth {
  channel: string;
  pending: number;
  dead: number;
  lastError: string | null;
  /** Set when a permanent error stopped delivery on this channel. */
  disabled: string | null;
}
