/**
 * `lookout doctor`: checks what Lookout needs before you rely on it — the
 * configuration, the data directory, ICMP, and each configured chat API and SMTP
 * server — and prints one line per check with what to do when it fails.
 */
import { access, constants, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { loadConfig } from './config.js';
import type { Config } from './config.js';
import { ConfigError } from './core/errors.js';
import { validateData } from './store/data.js';
import { findExecutable } from './checks/ping.js';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';

export interface Finding {
  ok: boolean;
  /** What was checked, e.g. "data directory". */
  what: string;
  /** What was found, or what to do about it. */
  detail: string;
}

type Env = Record<string, string | undefined>;

const TIMEOUT = 8000;

async function httpCheck(
  url: string,
  init: RequestInit,
  judge: (status: number, body: unknown) => string | undefined,
): Promise<string | undefined> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).name;
    return `cannot reach ${new URL(url).origin} (${cause}); check the network, DNS and any proxy`;
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  return judge(res.status, body);
}

async function ping(): Promise<Finding> {
  const fping = findExecutable('fping');
  if (!fping) {
    const sys = findExecutable('ping');
    return {
      ok: false,
      what: 'ICMP',
      detail: sys
        ? 'fping is not installed: ping targets fall back to one ping process each; install fping (apt-get install fping)'
        : 'neither fping nor ping is installed: ping targets will fail; install fping (apt-get install fping)',
    };
  }
  const out = await new Promise<{ code: number | null; err: string }>((resolve) => {
    const p = spawn(fping, ['-c', '1', '-t', '500', '-q', '127.0.0.1'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('exit', (code) => resolve({ code, err }));
    p.on('error', (e) => resolve({ code: -1, err: e.message }));
  });
  if (out.code === 0) return { ok: true, what: 'ICMP', detail: `fping works (${fping})` };
  const perm = /permission|not permitted|can't create raw socket/i.test(out.err);
  return {
    ok: false,
    what: 'ICMP',
    detail: perm
      ? `fping may not send ICMP: run as root, or: setcap cap_net_raw+ep ${fping} (systemd: AmbientCapabilities=CAP_NET_RAW)`
      : `fping failed: ${out.err.trim().split('\n')[0] ?? 'no output'}`,
  };
}

async function dataDir(c: Config): Promise<Finding[]> {
  const out: Finding[] = [];
  try {
    await mkdir(c.dataDir, { recursive: true });
    await access(c.dataDir, constants.W_OK);
    const probe = join(c.dataDir, `.doctor-${process.pid}`);
    await writeFile(probe, 'ok');
    await rm(probe);
    out.push({ ok: true, what: 'data directory', detail: `${c.dataDir} is writable` });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    out.push({
      ok: false,
      what: 'data directory',
      detail: `${c.dataDir} is not writable (${code}); fix its owner or permissions, or set DATA_DIR`,
    });
    return out;
  }
  const file = join(c.dataDir, 'lookout.json');
  try {
    const d = validateData(JSON.parse(await readFile(file, 'utf8')));
    out.push({
      ok: true,
      what: 'data file',
      detail: `${file}: ${d.targets.length} targets, ${d.outbox.length} outbox entries`,
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      out.push({
        ok: true,
        what: 'data file',
        detail: `${file} does not exist yet (created at first start)`,
      });
    else
      out.push({
        ok: false,
        what: 'data file',
        detail: `${file} cannot be used: ${(e as Error).message}; see ${file}.bak`,
      });
  }
  return out;
}

async function platforms(c: Config): Promise<Finding[]> {
  const out: Finding[] = [];
  if (c.telegram) {
    const t = c.telegram;
    const problem = await httpCheck(
      `${t.apiRoot.replace(/\/+$/, '')}/bot${t.token}/getMe`,
      {},
      (status, body) => {
        const b = body as { ok?: boolean; result?: { username?: string }; description?: string } | undefined;
        if (b?.ok) return undefined;
        return status === 401 || status === 404
          ? 'TELEGRAM_BOT_TOKEN is not accepted; copy it again from @BotFather'
          : `Telegram answered ${status}: ${b?.description ?? ''}`;
      },
    );
    out.push({
      ok: !problem,
      what: 'Telegram',
      detail: problem ?? `bot token accepted by ${new URL(t.apiRoot).host}`,
    });
    if (!t.alertChatId)
      out.push({
        ok: false,
        what: 'Telegram',
        detail: 'TELEGRAM_ALERT_CHAT_ID is not set: commands work, but alerts have nowhere to go',
      });
  }
  if (c.slack) {
    const s = c.slack;
    const problem = await httpCheck(
      `${s.apiUrl.replace(/\/?$/, '/')}auth.test`,
      { method: 'POST', headers: { authorization: `Bearer ${s.botToken}` } },
      (status, body) => {
        const b = body as { ok?: boolean; error?: string } | undefined;
        if (b?.ok) return undefined;
        return b?.error === 'invalid_auth' || b?.error === 'not_authed'
          ? 'SLACK_BOT_TOKEN is not accepted; reinstall the app and copy the xoxb- token'
          : `Slack answered ${status}: ${b?.error ?? ''}`;
      },
    );
    out.push({
      ok: !problem,
      what: 'Slack',
      detail: problem ?? `bot token accepted (${s.appToken ? 'Socket Mode' : 'HTTP mode at /slack/events'})`,
    });
    if (!s.alertChannel)
      out.push({
        ok: false,
        what: 'Slack',
        detail: 'SLACK_ALERT_CHANNEL is not set: commands work, but alerts have nowhere to go',
      });
  }
  if (c.discord) {
    const d = c.discord;
    const problem = await httpCheck(
      `${d.apiUrl.replace(/\/+$/, '')}/v10/users/@me`,
      { headers: { authorization: `Bot ${d.token}` } },
      (status) =>
        status === 200
          ? undefined
          : status === 401
            ? 'DISCORD_TOKEN is not accepted; reset the bot token in the developer portal'
            : `Discord answered ${status}`,
    );
    out.push({ ok: !problem, what: 'Discord', detail: problem ?? 'bot token accepted' });
    if (!d.alertChannelId)
      out.push({
        ok: false,
        what: 'Discord',
        detail: 'DISCORD_ALERT_CHANNEL_ID is not set: commands work, but alerts have nowhere to go',
      });
  }
  if (c.email) {
    const { createTransport } = await import('nodemailer');
    const tr = createTransport({
      url: c.email.smtpUrl,
      connectionTimeout: TIMEOUT,
      greetingTimeout: TIMEOUT,
      socketTimeout: TIMEOUT,
    } as SMTPTransport.Options);
    try {
      await tr.verify();
      out.push({
        ok: true,
        what: 'email',
        detail: `SMTP server ${new URL(c.email.smtpUrl).host} accepted the connection${c.email.to.length ? '' : ' (EMAIL_TO is empty: only targets with notify.email get mail)'}`,
      });
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'error';
      const hint =
        code === 'EAUTH' ? 'check the user and password in SMTP_URL' : 'check the host and port in SMTP_URL';
      out.push({
        ok: false,
        what: 'email',
        detail: `SMTP ${new URL(c.email.smtpUrl).host}: ${code}; ${hint}`,
      });
    } finally {
      tr.close();
    }
  }
  if (!c.telegram && !c.slack && !c.discord && !c.email)
    out.push({
      ok: true,
      what: 'alerts',
      detail: 'no chat platform or email configured: alerts go to the log only',
    });
  return out;
}

/** Runs every check; never throws. */
export async function doctor(env: Env = process.env): Promise<Finding[]> {
  const findings: Finding[] = [];
  let config: Config | undefined;
  try {
    config = loadConfig(env);
    findings.push({
      ok: true,
      what: 'configuration',
      detail: `valid${config.configFile ? ` (${config.targets.length} targets in ${config.configFile})` : ''}; API ${config.apiToken ? 'read-write' : 'read-only (no API_TOKEN)'}`,
    });
  } catch (e) {
    findings.push({
      ok: false,
      what: 'configuration',
      detail: e instanceof ConfigError ? e.message : String(e),
    });
  }
  if (config) findings.push(...(await dataDir(config)));
  findings.push(await ping());
  if (config) findings.push(...(await platforms(config)));
  return findings;
}

/** The report as text: one line per finding. */
export function doctorReport(findings: Finding[]): string {
  const bad = findings.filter((f) => !f.ok).length;
  const lines = findings.map((f) => `${f.ok ? '✓' : '✗'} ${f.what}: ${f.detail}`);
  lines.push(bad === 0 ? 'all checks passed' : `${bad} problem${bad === 1 ? '' : 's'} found`);
  return lines.join('\n');
}
