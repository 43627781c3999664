/** The check registry: one line per kind, checked by the compiler against `Kind`. */
import type { Clock, Kind } from '../core/types.js';
import type { Check } from './types.js';
import type { Logger } from '../log.js';
import { createHttpCheck } from './http.js';
import { tcpCheck } from './tcp.js';
import { createPingCheck } from './ping.js';
import { createTlsCheck } from './tls.js';
import { createDnsCheck } from './dns.js';
import { createPushCheck } from './push.js';

export interface Beat {
  at: number;
  ok: boolean;
  msg?: string;
  ms?: number;
}

/** Last heartbeat per push target, fed by /push/<token>. */
export class PushBeats {
  private readonly beats = new Map<string, Beat>();
  last(name: string): Beat | undefined {
    return this.beats.get(name);
  }
  record(name: string, beat: Beat): void {
    this.beats.set(name, beat);
  }
  forget(name: string): void {
    this.beats.delete(name);
  }
}

export function createChecks(deps: { beats: PushBeats; now: Clock; log?: Logger }): Record<Kind, Check> {
  const ping = createPingCheck();
  if (ping.backend === 'none')
    deps.log?.warn(
      'neither fping nor ping is installed: ping targets will fail until you install fping (apt-get install fping)',
    );
  return {
    http: createHttpCheck(),
    tcp: tcpCheck,
    ping,
    tls: createTlsCheck(),
    dns: createDnsCheck(),
    push: createPushCheck(deps.beats, deps.now()),
  } satisfies Record<Kind, Check>;
}
