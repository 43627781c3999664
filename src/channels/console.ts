/** Alerts as log lines: always on, so `npm start` without any chat token still tells you what broke. */
import type { Logger } from '../log.js';
import type { Channel, SentRef } from './types.js';

export function createConsoleChannel(log: Logger): Channel {
  return {
    name: 'console',
    send(msg) {
      const line = `ALERT ${msg.title}`;
      const ctx = { alert: msg.kind, target: msg.target, incident: msg.incidentId };
      if (msg.severity === 'critical') log.warn(ctx, line);
      else log.info(ctx, line);
      return Promise.resolve<SentRef[]>([{ id: msg.id, to: 'stdout' }]);
    },
  };
}
