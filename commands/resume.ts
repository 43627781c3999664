/** `resume <name>`: ends a maintenance window early; the next checks decide the state. */
import { reply } from '../src/core/reply.js';
import { defineCommand } from './types.js';

export const resume = defineCommand({
  name: 'resume',
  aliases: ['unpause'],
  summary: 'end a maintenance window',
  usage: 'resume <name>',
  examples: ['resume portal'],
  admin: true,
  args: {
    positional: [{ name: 'name', type: 'target', required: true, description: 'paused target' }],
  },
  async run(args, ctx) {
    const t = await ctx.services.monitor.resume(args.name);
    return reply({
      title: `Resumed ${t.name}`,
      lines: ['checking again now; its state is unknown until the next result.'],
      severity: 'ok',
    });
  },
});
