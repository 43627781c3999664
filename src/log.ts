/**
 * pino, with every configured secret scrubbed from the final line: redaction by
 * path cannot catch a token inside an error message or a URL, value scrubbing can.
 */
import { pino } from 'pino';
import type { Logger, DestinationStream } from 'pino';

export type { Logger };

export function createLogger(level: string, secrets: string[] = [], dest?: DestinationStream): Logger {
  const scrub = secrets.filter((s) => s.length >= 4);
  return pino(
    {
      level,
      base: undefined,
      hooks:
        scrub.length === 0
          ? {}
          : {
              streamWrite: (line: string) => scrub.reduce((acc, s) => acc.split(s).join('[redacted]'), line),
            },
    },
    dest ?? pino.destination({ fd: 1, sync: false }),
  );
}
