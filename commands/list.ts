/** `list [tag]`: every target with its state, 24-hour uptime and latency, as a table. */
import { formatMs, formatPercent, reply } from '../src/core/reply.js';
import { last24h, stateText } from './status.js';
import { defineCommand } from './types.js';

export const list = defineCommand({
  name: 'list',
  aliases: ['ls'],
  summary: 'every target with state, uptime 24h and latency',
  usage: 'list [tag]',
  examples: ['list', 'list prod'],
  admin: false,
  args: {
    positional: [{ name: 'tag', type: 'string', description: 'only targets with this tag' }],
  },
  async run(args, ctx) {
    const { monitor } = ctx.services;
    const now = ctx.now();
    const tag = args.tag?.toLowerCase();
    const targets = monitor.list(tag);
    if (targets.length === 0) {
      if (tag === undefined)
        return reply({ title: 'No targets yet', lines: ['add one with: add web https://example.com'] });
      const tags = [...new Set(monitor.list().flatMap((t) => t.tags))].sort();
      return reply({
        title: `No targets tagged "${tag}"`,
        lines: [
          tags.length ? `tags in use: ${tags.join(', ')}` : 'no target has tags yet (edit <name> tags=…)',
        ],
      });
    }
    let down = 0;
    const rows = targets.map((t) => {
      const s = monitor.state(t.name);
      if (s.status === 'down') down++;
      const st = last24h(ctx.services, t.name, now);
      return [t.name, stateText(t, s, now), formatPercent(st.uptime), formatMs(st.latency?.p50)];
    });
    const n = targets.length;
    return reply({
      title: `${n} target${n === 1 ? '' : 's'}${tag ? ` tagged ${tag}` : ''}${down ? `, ${down} down` : ''}`,
      table: { columns: ['name', 'state', 'uptime 24h', 'latency'], rows },
      severity: down > 0 ? 'critical' : 'ok',
    });
  },
});
