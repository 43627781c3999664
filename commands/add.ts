/** `add <name> <address> [kind] [key=value …]`: adds a target, validated exactly as the API validates it. */
import { formatDuration } from '../src/core/duration.js';
import { ConflictError } from '../src/core/errors.js';
import { reply } from '../src/core/reply.js';
import { KINDS } from '../src/core/types.js';
import type { TargetSource } from '../src/core/types.js';
import { buildTarget, parseOrThrow, TargetInputSchema } from '../src/schema.js';
import { ArgumentError, asArgumentError, nestKeys, TARGET_KEYS } from './parse.js';
import { defineCommand } from './types.js';
import type { Actor } from './types.js';

/** Targets added from chat are `chat`; through the token-holding CLI or API, `api`. */
export function sourceOf(actor: Actor): TargetSource {
  return actor.platform === 'cli' || actor.platform === 'api' ? 'api' : 'chat';
}

export const add = defineCommand({
  name: 'add',
  summary: 'add a target',
  usage: 'add <name> <address> [kind] [key=value …]',
  examples: [
    'add web https://example.com interval=30',
    'add router 10.0.0.1',
    'add db db.example.net:5432 tags=prod',
    'add portal https://portal.example.net/health keyword="ok" dependsOn=router',
    'add backup push interval=1d',
  ],
  admin: true,
  args: {
    positional: [
      { name: 'name', type: 'string', required: true, description: 'new name: a-z, 0-9, "-", "_", "."' },
      { name: 'address', type: 'address', description: 'URL, host or host:port; none for a push target' },
      { name: 'kind', type: 'enum', choices: KINDS, description: 'check kind; inferred from the address' },
    ],
    keys: TARGET_KEYS,
  },
  async run(args, ctx) {
    const { monitor } = ctx.services;
    let address = args.address;
    let kind = args.kind;
    // `add backup push`: a push target has no address, so the kind lands in the address slot.
    if (kind === undefined && address?.toLowerCase() === 'push') [kind, address] = ['push', undefined];
    if (kind !== undefined && args.keys.kind !== undefined) throw new ArgumentError('kind is given twice');
    const raw: Record<string, unknown> = { ...nestKeys(args.keys), name: args.name };
    if (address !== undefined) raw.address = address;
    if (kind !== undefined) raw.kind = kind;

    const source = sourceOf(ctx.actor);
    const input = await asArgumentError(() => parseOrThrow(TargetInputSchema, raw));
    if (monitor.find(input.name))
      throw new ConflictError(
        `a target named "${input.name}" already exists; change it with edit ${input.name} key=value`,
      );
    // Validates the address against the kind before anything is stored.
    await asArgumentError(() => buildTarget(input, source, ctx.now()));
    const t = await asArgumentError(() => monitor.add(input, source));

    const every = formatDuration(t.interval * 1000);
    const lines =
      t.kind === 'push'
        ? [
            `send a heartbeat at least every ${every} to:`,
            `${ctx.publicUrl ?? ''}/push/${t.pushToken ?? ''}`,
            'keep this URL secret: anyone who has it can report for this target.',
          ]
        : [
            `${t.kind} check of ${t.address} every ${every}; alerts after ${t.failThreshold} failures in a row.`,
          ];
    const fields = [
      { label: 'kind', value: t.kind },
      { label: 'interval', value: every },
      { label: 'timeout', value: formatDuration(t.timeout * 1000) },
    ];
    if (t.tags.length) fields.push({ label: 'tags', value: t.tags.join(', ') });
    if (t.dependsOn) fields.push({ label: 'depends on', value: t.dependsOn });
    // A push URL is a secret: only the person who added the target should see it.
    return reply({ title: `Added ${t.name}`, lines, fields, severity: 'ok', ephemeral: t.kind === 'push' });
  },
});
