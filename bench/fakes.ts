/**
 * The four alert channels pointed at the loopback fakes the tests use, so a benchmark
 * can run the engine with every chat SDK loaded and connected, as a full install does.
 * The fakes live in the benchmark's parent process: their memory is not the engine's.
 */
import { FakeBotApi } from '../test/helpers/telegram-api.js';
import { FakeSlack } from '../test/helpers/slack-api.js';
import { FakeDiscord } from '../test/helpers/discord-api.js';
import { startSmtpServer } from '../test/helpers/smtp.js';
import { randomBytes } from 'node:crypto';

// Made per run: only the loopback fakes ever see them, and no credential-shaped literal is committed.
const fake = () => randomBytes(12).toString('hex');
const TELEGRAM_TOKEN = `1:${fake()}`;
const SLACK_BOT = `xoxb-${fake()}`;
const SLACK_APP = `xapp-${fake()}`;
const DISCORD_TOKEN = fake();
const DISCORD_APP = '123456789012345678';
const DISCORD_CHANNEL = '800000000000000002';

export async function startChannelFakes(): Promise<{
  env: Record<string, string>;
  close: () => Promise<void>;
}> {
  const telegram = await new FakeBotApi(TELEGRAM_TOKEN).start();
  const slack = await new FakeSlack().start();
  slack.validTokens.add(SLACK_BOT);
  slack.appToken = SLACK_APP;
  const discord = await FakeDiscord.start({
    token: DISCORD_TOKEN,
    applicationId: DISCORD_APP,
    channelId: DISCORD_CHANNEL,
    // Discord's real interval is ~41 s; the fakes' short default would cost CPU a real gateway does not.
    heartbeatIntervalMs: 41_250,
  });
  const smtp = await startSmtpServer();
  return {
    env: {
      TELEGRAM_BOT_TOKEN: TELEGRAM_TOKEN,
      TELEGRAM_API_ROOT: telegram.url,
      TELEGRAM_ALERT_CHAT_ID: '-1001',
      // Socket Mode: the WebSocket client a Pi behind NAT would use, so it is loaded and connected too.
      SLACK_BOT_TOKEN: SLACK_BOT,
      SLACK_APP_TOKEN: SLACK_APP,
      SLACK_API_URL: slack.apiUrl,
      SLACK_ALERT_CHANNEL: 'C0ALERTS',
      DISCORD_TOKEN,
      DISCORD_APPLICATION_ID: DISCORD_APP,
      DISCORD_API_URL: discord.apiUrl,
      DISCORD_ALERT_CHANNEL_ID: DISCORD_CHANNEL,
      SMTP_URL: smtp.url(),
      EMAIL_FROM: 'lookout@example.net',
      EMAIL_TO: 'noc@example.net',
    },
    async close() {
      await Promise.all([telegram.close(), slack.close(), discord.close(), smtp.stop()]);
    },
  };
}
