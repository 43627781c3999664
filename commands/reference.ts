/**
 * The Markdown command reference, generated from the definitions so the docs
 * cannot drift from the code. A test checks that docs/commands.md (and README.md,
 * once it has the markers) holds exactly this block; to refresh them run
 * `node --import tsx commands/reference.ts docs/commands.md`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { whoMayRun } from './help.js';
import { commandList } from './index.js';
import type { Command } from './types.js';

export const START_MARKER = '<!-- commands:start -->';
export const END_MARKER = '<!-- commands:end -->';

const cell = (s: string) => s.replace(/\|/g, '\\|');

/** The reference block, markers included. */
export function commandReference(commands: readonly Command[] = commandList): string {
  const out = [
    START_MARKER,
    '<!-- generated from commands/*.ts by commands/reference.ts; do not edit by hand -->',
    '',
    'Type them as `/command args` on Telegram and Discord, `/lookout command args` on Slack,',
    '`lookout command args` in a terminal, or send `{"text": "command args"}` to `POST /api/commands`.',
    'Durations: `90s`, `15m`, `2h`, `1d` (a bare number is seconds). Periods: `24h`, `7d`, `30d`, `90d`.',
    'Names are case-insensitive; a mistyped target name gets a "did you mean".',
    '',
    '| command | does | who |',
    '|---|---|---|',
    ...commands.map((c) => `| \`${cell(c.usage)}\` | ${cell(c.summary)} | ${cell(whoMayRun(c))} |`),
    '',
  ];
  for (const c of commands) {
    out.push(`### ${c.name}`, '', `\`${c.usage}\` — ${c.summary}. Who: ${whoMayRun(c)}.`, '');
    if (c.aliases?.length) out.push(`Also: ${c.aliases.map((a) => `\`${a}\``).join(', ')}.`, '');
    if (c.args.positional.length) {
      for (const a of c.args.positional)
        out.push(`- \`<${a.name}>\`${a.required ? '' : ' (optional)'}: ${a.description}`);
      out.push('');
    }
    if (c.args.keys?.length) {
      out.push('Settings (`key=value`):', '');
      for (const k of c.args.keys) out.push(`- \`${k.name}\`: ${k.description}`);
      out.push('');
    }
    out.push('Examples:', '', '```', ...c.examples, '```', '');
  }
  out.push(END_MARKER);
  return out.join('\n');
}

/** `text` with the block between the markers replaced; undefined when the markers are missing. */
export function replaceReference(text: string, block = commandReference()): string | undefined {
  const a = text.indexOf(START_MARKER);
  const b = text.indexOf(END_MARKER);
  if (a < 0 || b < a) return undefined;
  return text.slice(0, a) + block + text.slice(b + END_MARKER.length);
}

/** The block currently in `text`, markers included; undefined when there is none. */
export function extractReference(text: string): string | undefined {
  const a = text.indexOf(START_MARKER);
  const b = text.indexOf(END_MARKER);
  return a < 0 || b < a ? undefined : text.slice(a, b + END_MARKER.length);
}

// Run directly: rewrite the block in each file named on the command line.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const file of process.argv.slice(2)) {
    const next = replaceReference(readFileSync(file, 'utf8'));
    if (next === undefined) {
      process.stderr.write(`${file}: no ${START_MARKER} … ${END_MARKER} markers\n`);
      process.exitCode = 1;
    } else writeFileSync(file, next);
  }
}
