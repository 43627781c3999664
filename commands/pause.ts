/**
 * `pause <name> [duration]`: a maintenance window. Without a duration the target
 * stays paused until someone resumes it; the reply says which, so nobody forgets.
 */
import { formatDuration } from '../src/core/duration.js';
import { formatTime, reply } from '../src/core/reply.js';
import { defineCommand } from './types.js';

export const pause = defineCommand({
  name: 'pause',
  summary: 'maintenance window: no checks, no alerts; until resumed when no duration',
  usage: 'pause <name> [duration]',
  examples: ['pause portal 2h', 'pause router 15m', 'pause backup'],
  admin: true,
  args: {
    positional: [
      { name: 'name', type: 'target', required: true, description: 'target to pause' },
      {
        name: 'duration',
        type: 'duration',
        description: 'e.g. 90s, 15m, 2h, 1d; until resumed when left out',
      },
    ],
  },
  async run(args, ctx) {
    const { monitor } = ctx.services;
    const name = monitor.get(args.name).name;
    const until = args.duration === undefined ? undefined : ctx.now() + args.duration * 1000;
    const t = await monitor.pause(name, until);
    const buttons = [{ id: 'resume' as const, label: 'Resume', action: `resume ${t.name}` }];
    if (until === undefined)
      return reply({
        title: `Paused ${t.name} until resumed`,
        lines: [`no checks and no alerts until someone runs: resume ${t.name}`],
        severity: 'info',
        buttons,
      });
    return reply({
      title: `Paused ${t.name} for ${formatDuration(until - ctx.now())}`,
      lines: [`no checks and no alerts until ${formatTime(until)}; resume ${t.name} ends it early.`],
      severity: 'info',
      buttons,
    });
  },
});
