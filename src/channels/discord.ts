/** Discord adapter — being built in its own issue. */
import type { DiscordConfig } from '../config.js';
import type { ChatAdapter, ChatDeps } from './chat.js';

export function createDiscordAdapter(_config: DiscordConfig, _deps: ChatDeps): Promise<ChatAdapter> {
  return Promise.reject(new Error('the discord adapter is not implemented yet'));
}
