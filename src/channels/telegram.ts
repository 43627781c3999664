/** Telegram adapter — being built in its own issue. */
import type { TelegramConfig } from '../config.js';
import type { ChatAdapter, ChatDeps } from './chat.js';

export function createTelegramAdapter(_config: TelegramConfig, _deps: ChatDeps): Promise<ChatAdapter> {
  return Promise.reject(new Error('the telegram adapter is not implemented yet'));
}
