/**
 * What a chat platform adapter (Telegram, Slack, Discord) gets from the app and
 * gives back. Each adapter is two things: an alert `Channel` the outbox delivers
 * through, and a command surface that hands what people type (or press) to the
 * platform-neutral `dispatch` in commands/ and renders the Reply.
 */
import type { CommandContext } from '../../commands/types.js';
import type { Logger } from '../log.js';
import type { Mount } from '../http/router.js';
import type { Channel } from './types.js';

export interface ChatDeps {
  /** Everything a command needs except the actor, which the adapter sets per message. */
  commands: Omit<CommandContext, 'actor'>;
  log: Logger;
  /** Small persistent values (e.g. Discord's registered-commands hash). Writes are saved by the caller's store. */
  meta: Record<string, unknown>;
  /** Saves `meta` to disk now. */
  saveMeta: () => Promise<void>;
}

export interface ChatAdapter {
  channel: Channel;
  /** Connects (polling, socket, gateway) and registers commands. Must not throw for a platform that is down: log and retry. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** HTTP routes on Lookout's listener (Slack events, Telegram webhook), mounted by the app. */
  mounts?: Array<{ prefix: string; handler: Mount }>;
  /** For /healthz and `lookout doctor`: connected or not, and why. */
  health(): { ok: boolean; detail: string };
}
