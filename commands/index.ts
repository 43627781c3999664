/**
 * The command registry and the one entry point every surface uses: chat adapters,
 * buttons, the CLI and `POST /api/commands` all call `dispatch(text, ctx)`, so a
 * command behaves the same wherever it is typed. Dispatch never throws.
 */
import { UsageError } from '../src/core/errors.js';
import { errorReply } from '../src/core/reply.js';
import type { Reply } from '../src/core/reply.js';
import { ack } from './ack.js';
import { add } from './add.js';
import { check } from './check.js';
import { edit } from './edit.js';
import { helpCommand } from './help.js';
import { history } from './history.js';
import { list } from './list.js';
import { ArgumentError, bind, commandPrefix, commandWord, shown, suggestWord, tokenize } from './parse.js';
import { pause } from './pause.js';
import { remove } from './remove.js';
import { resume } from './resume.js';
import { speedtest } from './speedtest.js';
import { status } from './status.js';
import { uptime } from './uptime.js';
import type { Actor, ArgSpec, Command, CommandContext, CommandServices, Platform } from './types.js';

export type { Actor, Command, CommandContext, CommandServices, Platform } from './types.js';

const help = helpCommand(() => commandList);

/** Every command, by name, in the order help lists them (SPEC §4). */
export const commands = {
  add,
  remove,
  edit,
  list,
  status,
  uptime,
  history,
  speedtest,
  pause,
  resume,
  ack,
  check,
  help,
} satisfies Record<string, Command<ArgSpec>>;

export type CommandName = keyof typeof commands;

export const commandList: readonly Command[] = Object.values(commands) as readonly Command[];

/** The command a word names (name or alias, any case, with or without `/` and `@bot`). */
export function findCommand(word: string): Command | undefined {
  const w = commandWord(word);
  return commandList.find((c) => c.name === w || c.aliases?.includes(w));
}

/** The env var that lists a platform's admins. */
export const ADMIN_ENV: Record<Platform, string> = {
  slack: 'SLACK_ADMIN_IDS',
  discord: 'DISCORD_ADMIN_IDS',
  telegram: 'TELEGRAM_ADMIN_IDS',
  cli: 'API_TOKEN',
  api: 'API_TOKEN',
};

const PLATFORM_NAMES: Record<Platform, string> = {
  slack: 'Slack',
  discord: 'Discord',
  telegram: 'Telegram',
  cli: 'CLI',
  api: 'API',
};

/** An actor from a chat platform: admin when the user id is in the platform's `*_ADMIN_IDS`. */
export function chatActor(
  platform: 'slack' | 'discord' | 'telegram',
  id: string,
  adminIds: readonly string[],
  display?: string,
): Actor {
  const actor: Actor = { platform, id, admin: adminIds.includes(id) };
  if (display !== undefined) actor.display = display;
  return actor;
}

/** Target names for autocomplete (Discord): prefix matches first, then substring matches. */
export function completeTargets(services: CommandServices, partial: string, limit = 25): string[] {
  const q = partial.trim().toLowerCase();
  const names = services.monitor.names().sort();
  const starts = names.filter((n) => n.startsWith(q));
  const contains = names.filter((n) => !n.startsWith(q) && n.includes(q));
  return [...starts, ...contains].slice(0, limit);
}

function refusal(what: string, actor: Actor): Reply {
  if (actor.platform === 'cli' || actor.platform === 'api')
    return errorReply(`only admins can run ${what}; send the API token (API_TOKEN of the instance)`);
  return errorReply(
    `only admins can run ${what}; ask an admin to add your id to ${ADMIN_ENV[actor.platform]}`,
    [`your ${PLATFORM_NAMES[actor.platform]} id: ${actor.id}`],
  );
}

function unknownCommand(word: string, prefix: string): Reply {
  const hint = suggestWord(
    word,
    commandList.map((c) => c.name),
  );
  return errorReply(
    `no command "${shown(word)}"${hint ? ` — did you mean "${hint}"?` : '.'} Try ${prefix}help.`,
  );
}

/**
 * `message. Example: /add web …` (and the usage line when the words did not fit
 * the command's shape): what someone needs to type it again correctly.
 */
function argumentReply(e: ArgumentError, c: Command, prefix: string): Reply {
  const example = c.examples[0];
  const first =
    example === undefined
      ? e.message
      : `${e.message}${/[.?!]$/.test(e.message) ? '' : '.'} Example: ${prefix}${example}`;
  return errorReply(first, e.showUsage ? [`Usage: ${prefix}${c.usage}`] : []);
}

/**
 * Parses and runs one command line for `ctx.actor`. Always resolves with a Reply:
 * a UsageError becomes an error reply with its message (plus usage and an example
 * for argument errors); anything else is logged and answered "internal error, see logs".
 */
export async function dispatch(text: string, ctx: CommandContext): Promise<Reply> {
  let command: Command | undefined;
  const prefix = commandPrefix(ctx.actor.platform);
  try {
    const tokens = tokenize(typeof text === 'string' ? text : '');
    const first = tokens[0];
    const word = first === undefined ? '' : commandWord(first);
    if (word === '') return await help.run({ command: undefined, keys: {} }, ctx);
    command = findCommand(word);
    if (!command) return unknownCommand(word, prefix);
    // Refuse before looking at the arguments: a non-admin learns nothing from validation.
    if (command.admin === true && !ctx.actor.admin) return refusal(command.name, ctx.actor);
    const args = bind(command.args, tokens.slice(1), {
      command: command.name,
      isTarget: (n) => ctx.services.monitor.find(n) !== undefined,
    });
    if (typeof command.admin === 'object' && !ctx.actor.admin && command.admin.when(args))
      return refusal(shown(`${command.name} ${tokens.slice(1).join(' ')}`.trim(), 60), ctx.actor);
    return await command.run(args, ctx);
  } catch (e) {
    if (e instanceof ArgumentError)
      return command ? argumentReply(e, command, prefix) : errorReply(e.message);
    if (e instanceof UsageError) return errorReply(e.message);
    try {
      ctx.log?.(e, {
        text: shown(String(text), 200),
        ...(command ? { command: command.name } : {}),
        actor: `${ctx.actor.platform}:${ctx.actor.id}`,
      });
    } catch {
      // A broken logger must not turn a reply into an exception.
    }
    return errorReply('internal error, see logs');
  }
}
