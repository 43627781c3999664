/**
 * `remove <name> [confirm]`: deleting a target also deletes its history, so the
 * first answer only asks; `remove <name> confirm` (or the button) does it.
 */
import { ForbiddenError, UsageError } from '../src/core/errors.js';
import { reply } from '../src/core/reply.js';
import { defineCommand } from './types.js';

export const remove = defineCommand({
  name: 'remove',
  aliases: ['rm', 'delete'],
  summary: 'remove a target (its history goes too, after confirmation)',
  usage: 'remove <name> [confirm]',
  examples: ['remove portal', 'remove portal confirm'],
  admin: true,
  args: {
    positional: [
      { name: 'name', type: 'target', required: true, description: 'target to remove' },
      { name: 'confirm', type: 'enum', choices: ['confirm'], description: '"confirm" to really remove it' },
    ],
  },
  async run(args, ctx) {
    const { monitor } = ctx.services;
    const t = monitor.get(args.name);
    // Asking for a confirmation that can only fail would waste the user's second step.
    if (t.source === 'config')
      throw new ForbiddenError(`${t.name} is defined in CONFIG_FILE; remove it there and restart Lookout`);
    const dependents = monitor.list().filter((o) => o.dependsOn === t.name);
    if (dependents.length)
      throw new UsageError(
        `${dependents.map((d) => d.name).join(', ')} depend${dependents.length === 1 ? 's' : ''} on ${t.name}; edit them first (dependsOn=)`,
      );
    if (args.confirm === undefined) {
      const incidents = monitor.incidents(t.name).length;
      return reply({
        title: `Remove ${t.name}?`,
        lines: [
          `This deletes ${t.name} (${t.address || 'push'}) and all its history${incidents ? `, including ${incidents} incident${incidents === 1 ? '' : 's'}` : ''}. It cannot be undone.`,
          `To go ahead: remove ${t.name} confirm`,
        ],
        severity: 'warning',
        buttons: [
          { id: 'confirm', label: `Remove ${t.name}`, action: `remove ${t.name} confirm`, style: 'danger' },
        ],
      });
    }
    await monitor.remove(t.name);
    return reply({ title: `Removed ${t.name}`, lines: ['its history is gone too.'], severity: 'ok' });
  },
});
