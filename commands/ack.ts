/** `ack <name>`: acknowledges the open incident, which stops its reminders. */
import { formatDuration } from '../src/core/duration.js';
import { reply } from '../src/core/reply.js';
import { defineCommand } from './types.js';

export const ack = defineCommand({
  name: 'ack',
  summary: 'acknowledge the open incident',
  usage: 'ack <name>',
  examples: ['ack portal'],
  admin: false,
  args: {
    positional: [
      { name: 'name', type: 'target', required: true, description: 'target with an open incident' },
    ],
  },
  async run(args, ctx) {
    const { monitor } = ctx.services;
    const { actor } = ctx;
    const inc = await monitor.ack(args.name, {
      id: `${actor.platform}:${actor.id}`,
      display: actor.display ?? actor.id,
    });
    return reply({
      title: `Acknowledged ${inc.target}`,
      lines: [
        `by ${inc.ackedBy ?? actor.id}; no more reminders for this incident.`,
        `down for ${formatDuration(ctx.now() - inc.start)}: ${inc.cause}`,
      ],
      severity: 'ok',
    });
  },
});
