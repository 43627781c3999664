/** Slack adapter — being built in its own issue. */
import type { SlackConfig } from '../config.js';
import type { ChatAdapter, ChatDeps } from './chat.js';

export function createSlackAdapter(_config: SlackConfig, _deps: ChatDeps): Promise<ChatAdapter> {
  return Promise.reject(new Error('the slack adapter is not implemented yet'));
}
