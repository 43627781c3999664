/**
 * The chat platforms, one line each. A platform's SDK is imported only when its
 * credentials are set: discord.js alone adds ~50 MB of RSS (PLATFORMS.md).
 */
import type { Config } from '../config.js';
import type { ChatAdapter, ChatDeps } from './chat.js';

type Factory = (config: Config, deps: ChatDeps) => Promise<ChatAdapter> | undefined;

export const platforms = {
  telegram: (c, d) =>
    c.telegram ? import('./telegram.js').then((m) => m.createTelegramAdapter(c.telegram!, d)) : undefined,
  slack: (c, d) =>
    c.slack ? import('./slack.js').then((m) => m.createSlackAdapter(c.slack!, d)) : undefined,
  discord: (c, d) =>
    c.discord ? import('./discord.js').then((m) => m.createDiscordAdapter(c.discord!, d)) : undefined,
} satisfies Record<'telegram' | 'slack' | 'discord', Factory>;
