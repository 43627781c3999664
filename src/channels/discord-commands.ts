/**
 * Lookout's commands as Discord application commands, generated from the same
 * definitions every surface uses (commands/), and the way back: a slash
 * command's typed options rebuilt into the command line `dispatch` reads.
 *
 * One top-level command per Lookout command (`/status portal`), not `/lookout
 * status portal`: every usage line and error example the commands produce for
 * Discord already starts with `/` (commandPrefix), Discord's picker then lists
 * each command with its own summary and options, and a subcommand tree would add
 * a level to type without adding anything. Thirteen commands are far below
 * Discord's limit of 100.
 */
import { createHash } from 'node:crypto';
import { ApplicationCommandOptionType, ApplicationCommandType, InteractionContextType } from 'discord.js';
import type {
  APIApplicationCommandBasicOption,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import { quoteToken } from '../../commands/parse.js';
import type { Command, PositionalSpec } from '../../commands/types.js';

/** The periods offered as choices; the parser accepts any duration from 1h to 400d when typed elsewhere. */
const PERIODS = ['24h', '7d', '30d', '90d'] as const;

/** Option name for `key=value …` settings on commands that take them (add, edit, check). */
export const SETTINGS_OPTION = 'settings';

/** Commands that may take longer than Discord's 3-second answer window: deferred at once. */
export const SLOW_COMMANDS: ReadonlySet<string> = new Set(['history', 'check', 'speedtest']);

function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** Discord option names are lower-case, at most 32 characters of letters, digits, `-` and `_`. */
export function optionName(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^\p{Ll}\p{Lo}\p{N}_-]/gu, '_')
      .slice(0, 32) || 'value'
  );
}

function choicesOf(p: PositionalSpec): readonly string[] | undefined {
  if (p.type === 'period') return PERIODS;
  if ((p.type === 'format' || p.type === 'enum') && p.choices && p.choices.length <= 25) return p.choices;
  return undefined;
}

function positionalOption(p: PositionalSpec): APIApplicationCommandBasicOption {
  const base = {
    name: optionName(p.name),
    description: cut(p.description || p.name, 100),
    required: p.required === true,
  };
  if (p.type === 'int') return { ...base, type: ApplicationCommandOptionType.Integer };
  const choices = choicesOf(p);
  if (choices) {
    return {
      ...base,
      type: ApplicationCommandOptionType.String,
      choices: choices.map((c) => ({ name: c, value: c })),
    };
  }
  if (p.type === 'target') return { ...base, type: ApplicationCommandOptionType.String, autocomplete: true };
  return { ...base, type: ApplicationCommandOptionType.String, max_length: 2000 };
}

/**
 * The application command for one Lookout command. Options keep the command's
 * order, except that Discord requires every required option before the optional ones.
 */
export function commandDefinition(
  c: Command,
  global: boolean,
): RESTPostAPIChatInputApplicationCommandsJSONBody {
  const options = c.args.positional.map(positionalOption);
  if (c.args.keys && c.args.keys.length > 0 && !options.some((o) => o.name === SETTINGS_OPTION)) {
    const example = c.args.keys
      .slice(0, 2)
      .map((k) => `${k.name}=…`)
      .join(' ');
    options.push({
      type: ApplicationCommandOptionType.String,
      name: SETTINGS_OPTION,
      description: cut(`settings as key=value, e.g. ${example}`, 100),
      required: false,
      max_length: 2000,
    });
  }
  const sorted = [...options.filter((o) => o.required), ...options.filter((o) => !o.required)];
  const def: RESTPostAPIChatInputApplicationCommandsJSONBody = {
    type: ApplicationCommandType.ChatInput,
    name: optionName(c.name),
    description: cut(c.summary, 100),
    options: sorted.slice(0, 25),
  };
  // Commands are for the server the bot monitors from, not DMs with whoever shares a server with it.
  // `contexts` applies to global commands only; guild commands live in their guild anyway.
  if (global) def.contexts = [InteractionContextType.Guild];
  return def;
}

export function commandDefinitions(
  list: readonly Command[],
  global: boolean,
): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  return list.map((c) => commandDefinition(c, global));
}

/** Identifies a registration: what would be PUT, and where. Equal hash → nothing to do. */
export function commandsHash(route: string, body: unknown): string {
  return createHash('sha256').update(route).update('\n').update(JSON.stringify(body)).digest('hex');
}

/**
 * The command line for a slash command's options: positionals in the command's
 * order (values quoted when they contain spaces), then the free-text settings.
 * Options left out are skipped; the parser places the rest by their type.
 */
export function commandLine(c: Command, options: ReadonlyMap<string, string | number | boolean>): string {
  const words = [c.name];
  for (const p of c.args.positional) {
    const v = options.get(optionName(p.name));
    if (v === undefined || v === '') continue;
    words.push(quoteToken(String(v).trim()));
  }
  const settings = options.get(SETTINGS_OPTION);
  if (typeof settings === 'string' && settings.trim() !== '') words.push(settings.trim());
  return words.join(' ');
}

/** The positional a focused option stands for, if it is a target name (autocompleted). */
export function isTargetOption(c: Command, option: string): boolean {
  return c.args.positional.some((p) => p.type === 'target' && optionName(p.name) === option);
}
