/** `help [command]`: the command list, or one command's usage, arguments and examples. */
import { UsageError } from '../src/core/errors.js';
import { reply } from '../src/core/reply.js';
import { commandPrefix, shown, suggestWord } from './parse.js';
import { defineCommand } from './types.js';
import type { Command } from './types.js';

/** `admin`, `all` or the conditional note, for help and the reference. */
export function whoMayRun(c: Command): string {
  if (c.admin === true) return 'admin';
  if (c.admin === false) return 'all';
  return c.admin.note;
}

/** Built from the registry lazily, because the registry contains help itself. */
export function helpCommand(all: () => readonly Command[]) {
  return defineCommand({
    name: 'help',
    aliases: ['start', '?'],
    summary: 'the list of commands, or how to use one',
    usage: 'help [command]',
    examples: ['help', 'help add'],
    admin: false,
    args: {
      positional: [{ name: 'command', type: 'string', description: 'command to explain' }],
    },
    async run(args, ctx) {
      const p = commandPrefix(ctx.actor.platform);
      const commands = all();
      if (args.command === undefined) {
        return reply({
          title: 'Lookout commands',
          lines: [
            ...commands.map((c) => {
              const who = whoMayRun(c);
              return `${p}${c.usage} — ${c.summary}${who === 'all' ? '' : ` (${who})`}`;
            }),
            `Durations: 90s, 15m, 2h, 1d. Details and examples: ${p}help <command>`,
          ],
          severity: 'info',
        });
      }
      const word = args.command.replace(/^\/+/, '').toLowerCase();
      const c = commands.find((x) => x.name === word || x.aliases?.includes(word));
      if (!c) {
        const hint = suggestWord(
          word,
          commands.map((x) => x.name),
        );
        throw new UsageError(
          `no command "${shown(word)}"${hint ? ` — did you mean "${hint}"?` : '.'} Try ${p}help.`,
        );
      }
      const who = whoMayRun(c);
      const lines = [
        `${c.summary}.`,
        who === 'all'
          ? 'Anyone may run it.'
          : who === 'admin'
            ? 'Admins only.'
            : `Anyone may run it; ${who}.`,
      ];
      for (const a of c.args.positional)
        lines.push(`<${a.name}>${a.required ? '' : ' (optional)'}: ${a.description}`);
      if (c.args.keys?.length) {
        lines.push('Settings (key=value):');
        for (const k of c.args.keys) lines.push(`  ${k.name}: ${k.description}`);
      }
      lines.push('Examples:', ...c.examples.map((e) => `  ${p}${e}`));
      if (c.aliases?.length) lines.push(`Also: ${c.aliases.join(', ')}`);
      return reply({ title: `${p}${c.usage}`, lines, severity: 'info' });
    },
  });
}
