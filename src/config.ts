/**
 * Environment variables (SPEC §1) plus the optional CONFIG_FILE → one validated,
 * typed Config. Every problem becomes a ConfigError naming the key and the fix.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import cron from 'node-cron';
import { z } from 'zod';
import { ConfigError } from './core/errors.js';
import { formatIssues, TargetInputSchema } from './schema.js';
import type { TargetInput } from './schema.js';
import { parseDuration } from './core/duration.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const secondsSetting = (min: number, max: number) =>
  z
    .preprocess(
      (v) => (typeof v === 'string' || typeof v === 'number' ? (parseDuration(v) ?? v) : v),
      z.number({ error: 'must be a duration like 300, 90s, 15m, 2h or 1d' }),
    )
    .pipe(z.number().min(min).max(max));

/** `settings:` in the config file. Every key is optional; the defaults are in the JSDoc. */
export const SettingsSchema = z.strictObject({
  /** Seconds between two DOWN alerts for one target. Default 300. */
  alertCooldown: secondsSetting(0, 86400).default(300),
  /** Remind every N seconds while DOWN and not acknowledged; 0 = off. Default 0. */
  remindEvery: secondsSetting(0, 7 * 86400).default(0),
  /** Flapping: more than `transitions` flips within `window` seconds. Defaults 4 / 600. */
  flapping: z
    .strictObject({
      transitions: z.number().int().min(2).max(100).default(4),
      window: secondsSetting(60, 86400).default(600),
    })
    .prefault({}),
  /** Hand a message to email when every chat channel has failed for this long. Default 600 s. */
  emailFallbackAfter: secondsSetting(0, 86400).default(600),
  /** Checks running at once, at most. Default 256. */
  concurrency: z.number().int().min(1).max(10000).default(256),
  /** How long history is kept. */
  retention: z
    .strictObject({
      rawHours: z
        .number()
        .min(1)
        .max(24 * 14)
        .default(24),
      hourlyDays: z.number().min(1).max(400).default(30),
      dailyDays: z.number().min(1).max(3660).default(365),
    })
    .prefault({}),
  /** Probe self-check: reference targets checked when most targets fail at once. */
  probe: z
    .strictObject({
      references: z.array(z.string().min(1)).default([]),
      /** Fraction of targets failing in one round that triggers the self-check. Default 0.8. */
      threshold: z.number().min(0.1).max(1).default(0.8),
    })
    .prefault({}),
  speedtest: z
    .strictObject({
      server: z.url({ error: 'must be an http(s) URL' }).default('https://speed.cloudflare.com'),
      protocol: z.enum(['cloudflare', 'librespeed']).default('cloudflare'),
      /** Cron expression, e.g. "0,30 * * * *" (every half hour); none = on demand only. */
      schedule: z
        .string()
        .trim()
        .min(1)
        .refine((expr) => cron.validate(expr), { error: 'must be a cron expression like "*/30 * * * *"' })
        .optional(),
      /** Serve /speedtest/… endpoints. Default true. */
      serve: z.boolean().default(true),
      thresholds: z
        .strictObject({
          minDownloadMbps: z.number().positive().optional(),
          minUploadMbps: z.number().positive().optional(),
          planDownloadMbps: z.number().positive().optional(),
          planUploadMbps: z.number().positive().optional(),
          minPercentOfPlan: z.number().min(1).max(100).default(80),
          maxLatencyMs: z.number().positive().optional(),
          breaches: z.number().int().min(1).default(3),
          window: z.number().int().min(1).default(5),
        })
        .prefault({}),
    })
    .prefault({}),
});

export type Settings = z.infer<typeof SettingsSchema>;

const ConfigFileSchema = z.strictObject({
  settings: SettingsSchema.prefault({}),
  targets: z.array(z.unknown()).default([]),
});

export interface TelegramConfig {
  token: string;
  alertChatId?: string;
  adminIds: string[];
  apiRoot: string;
  /** Public base URL: when set, webhook mode at `${webhookUrl}/telegram/webhook` instead of polling. */
  webhookUrl?: string;
  webhookSecret?: string;
}
export interface SlackConfig {
  botToken: string;
  signingSecret?: string;
  appToken?: string;
  alertChannel?: string;
  adminIds: string[];
  apiUrl: string;
}
export interface DiscordConfig {
  token: string;
  applicationId: string;
  alertChannelId?: string;
  adminIds: string[];
  apiUrl: string;
  guildId?: string;
}
export interface EmailConfig {
  smtpUrl: string;
  from: string;
  to: string[];
}

export interface Config {
  dataDir: string;
  configFile?: string;
  http: { host: string; port: number };
  apiToken?: string;
  tz?: string;
  logLevel: (typeof LOG_LEVELS)[number];
  heartbeatUrl?: string;
  telegram?: TelegramConfig;
  slack?: SlackConfig;
  discord?: DiscordConfig;
  email?: EmailConfig;
  settings: Settings;
  /** Targets named in CONFIG_FILE, validated. */
  targets: TargetInput[];
}

type Env = Record<string, string | undefined>;

const ids = (v: string | undefined): string[] =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function nonEmpty(env: Env, key: string): string | undefined {
  const v = env[key]?.trim();
  return v === '' ? undefined : v;
}

function url(env: Env, key: string, fallback: string): string {
  const v = nonEmpty(env, key) ?? fallback;
  try {
    const u = new URL(v);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
  } catch {
    throw new ConfigError(key, `must be an http(s) URL (got "${v}")`);
  }
  return v;
}

/** Reads the whole configuration; throws ConfigError on the first problem. */
export function loadConfig(env: Env = process.env, cwd = process.cwd()): Config {
  const portText = nonEmpty(env, 'HTTP_PORT') ?? '8080';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535)
    throw new ConfigError('HTTP_PORT', `must be a port number from 0 to 65535 (got "${portText}")`);

  const logLevel = (nonEmpty(env, 'LOG_LEVEL') ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel))
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')} (got "${logLevel}")`);

  const tz = nonEmpty(env, 'TZ');
  if (tz) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz.replace(/^:/, '') });
    } catch {
      throw new ConfigError('TZ', `"${tz}" is not a time zone; use an IANA name like Europe/Berlin or UTC`);
    }
  }

  const apiToken = nonEmpty(env, 'API_TOKEN');
  if (apiToken !== undefined && apiToken.length < 16)
    throw new ConfigError('API_TOKEN', 'must be at least 16 characters (e.g. `openssl rand -hex 24`)');

  const config: Config = {
    dataDir: resolve(cwd, nonEmpty(env, 'DATA_DIR') ?? './data'),
    http: { host: nonEmpty(env, 'HTTP_HOST') ?? '127.0.0.1', port },
    logLevel: logLevel as Config['logLevel'],
    settings: SettingsSchema.parse({}),
    targets: [],
  };
  if (apiToken) config.apiToken = apiToken;
  if (tz) config.tz = tz;
  const hb = nonEmpty(env, 'HEARTBEAT_URL');
  if (hb) config.heartbeatUrl = url(env, 'HEARTBEAT_URL', hb);

  const tgToken = nonEmpty(env, 'TELEGRAM_BOT_TOKEN');
  if (tgToken) {
    config.telegram = {
      token: tgToken,
      adminIds: ids(env.TELEGRAM_ADMIN_IDS),
      apiRoot: url(env, 'TELEGRAM_API_ROOT', 'https://api.telegram.org'),
    };
    const chat = nonEmpty(env, 'TELEGRAM_ALERT_CHAT_ID');
    if (chat) {
      if (!/^(-?\d+|@\w+)$/.test(chat))
        throw new ConfigError(
          'TELEGRAM_ALERT_CHAT_ID',
          `must be a numeric chat id or @channel (got "${chat}")`,
        );
      config.telegram.alertChatId = chat;
    }
    const wh = nonEmpty(env, 'TELEGRAM_WEBHOOK_URL');
    if (wh) {
      config.telegram.webhookUrl = url(env, 'TELEGRAM_WEBHOOK_URL', wh).replace(/\/+$/, '');
      const secret = nonEmpty(env, 'TELEGRAM_WEBHOOK_SECRET');
      if (!secret || !/^[A-Za-z0-9_-]{16,256}$/.test(secret))
        throw new ConfigError(
          'TELEGRAM_WEBHOOK_SECRET',
          'webhook mode needs a secret of 16–256 characters from A-Z, a-z, 0-9, _ and -',
        );
      config.telegram.webhookSecret = secret;
    }
  }

  const slackToken = nonEmpty(env, 'SLACK_BOT_TOKEN');
  if (slackToken) {
    const signingSecret = nonEmpty(env, 'SLACK_SIGNING_SECRET');
    const appToken = nonEmpty(env, 'SLACK_APP_TOKEN');
    if (!signingSecret && !appToken)
      throw new ConfigError(
        'SLACK_SIGNING_SECRET',
        'Slack needs SLACK_SIGNING_SECRET (HTTP mode) or SLACK_APP_TOKEN (Socket Mode)',
      );
    if (appToken && !appToken.startsWith('xapp-'))
      throw new ConfigError('SLACK_APP_TOKEN', 'must be an app-level token starting with xapp-');
    config.slack = {
      botToken: slackToken,
      adminIds: ids(env.SLACK_ADMIN_IDS),
      apiUrl: url(env, 'SLACK_API_URL', 'https://slack.com/api/'),
    };
    if (signingSecret) config.slack.signingSecret = signingSecret;
    if (appToken) config.slack.appToken = appToken;
    const ch = nonEmpty(env, 'SLACK_ALERT_CHANNEL');
    if (ch) config.slack.alertChannel = ch;
  }

  const discordToken = nonEmpty(env, 'DISCORD_TOKEN');
  if (discordToken) {
    const appId = nonEmpty(env, 'DISCORD_APPLICATION_ID');
    if (!appId || !/^\d{5,25}$/.test(appId))
      throw new ConfigError('DISCORD_APPLICATION_ID', 'Discord needs the numeric application id of your bot');
    config.discord = {
      token: discordToken,
      applicationId: appId,
      adminIds: ids(env.DISCORD_ADMIN_IDS),
      apiUrl: url(env, 'DISCORD_API_URL', 'https://discord.com/api'),
    };
    const ch = nonEmpty(env, 'DISCORD_ALERT_CHANNEL_ID');
    if (ch) {
      if (!/^\d{5,25}$/.test(ch))
        throw new ConfigError('DISCORD_ALERT_CHANNEL_ID', 'must be a numeric channel id');
      config.discord.alertChannelId = ch;
    }
    const guild = nonEmpty(env, 'DISCORD_GUILD_ID');
    if (guild) config.discord.guildId = guild;
  }

  const smtp = nonEmpty(env, 'SMTP_URL');
  if (smtp) {
    if (!/^smtps?:\/\//i.test(smtp))
      throw new ConfigError('SMTP_URL', 'must look like smtp://user:pass@host:587 or smtps://host:465');
    const from = nonEmpty(env, 'EMAIL_FROM');
    if (!from || !/@/.test(from))
      throw new ConfigError(
        'EMAIL_FROM',
        'email needs a sender address, e.g. EMAIL_FROM="Lookout <noc@example.net>"',
      );
    const to = ids(env.EMAIL_TO);
    const badTo = to.find((a) => !/^[^@\s]+@[^@\s]+$/.test(a));
    if (badTo) throw new ConfigError('EMAIL_TO', `"${badTo}" is not an email address`);
    config.email = { smtpUrl: smtp, from, to };
  }

  const file = nonEmpty(env, 'CONFIG_FILE');
  if (file) {
    config.configFile = resolve(cwd, file);
    Object.assign(config, readConfigFile(config.configFile));
  }
  return config;
}

/** Parses CONFIG_FILE (YAML or JSON; JSON is valid YAML). */
export function readConfigFile(path: string): Pick<Config, 'settings' | 'targets'> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(
      'CONFIG_FILE',
      `cannot read ${path} (${code ?? 'error'}); check the path and permissions`,
    );
  }
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: false }) ?? {};
  } catch (e) {
    const where = (e as { linePos?: { line: number }[] }).linePos?.[0]?.line;
    throw new ConfigError(
      'CONFIG_FILE',
      `${path} is not valid YAML/JSON${where ? ` (line ${where})` : ''}: ${(e as Error).message.split('\n')[0]}`,
    );
  }
  if (typeof raw !== 'object' || Array.isArray(raw))
    throw new ConfigError('CONFIG_FILE', `${path} must be a mapping with "settings" and/or "targets"`);
  const top = ConfigFileSchema.safeParse(raw, { reportInput: true });
  if (!top.success) throw new ConfigError('CONFIG_FILE', `${path}: ${formatIssues(top.error)}`);
  const targets: TargetInput[] = [];
  const seen = new Set<string>();
  top.data.targets.forEach((t, i) => {
    const r = TargetInputSchema.safeParse(t, { reportInput: true });
    if (!r.success)
      throw new ConfigError('CONFIG_FILE', `${path}: ${formatIssues(r.error, `targets[${i}].`)}`);
    if (seen.has(r.data.name))
      throw new ConfigError('CONFIG_FILE', `${path}: targets[${i}].name "${r.data.name}" is used twice`);
    seen.add(r.data.name);
    targets.push(r.data);
  });
  return { settings: top.data.settings, targets };
}

/** Secrets to scrub from logs: every token/password that came from the environment. */
export function secretsOf(c: Config): string[] {
  const out = [
    c.apiToken,
    c.telegram?.token,
    c.telegram?.webhookSecret,
    c.slack?.botToken,
    c.slack?.signingSecret,
  ];
  out.push(c.slack?.appToken, c.discord?.token);
  if (c.email) {
    try {
      const u = new URL(c.email.smtpUrl);
      out.push(decodeURIComponent(u.password) || undefined);
    } catch {
      /* validated at load */
    }
  }
  return out.filter((s): s is string => typeof s === 'string' && s.length >= 4);
}
