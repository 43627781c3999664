#!/usr/bin/env node
/**
 * `lookout <command …>`: the chat commands in a terminal. Sends the command line
 * to a running instance (`POST /api/commands`, LOOKOUT_URL and LOOKOUT_TOKEN from
 * the environment), prints the Reply as text and saves attachments in the current
 * directory. `check`, `help` and unknown commands are answered right here, so they
 * work with no instance at all.
 *
 * Exit codes: 0 the command ran (whatever it reported), 1 the reply is an error
 * (bad input, refused, not found), 2 no reply: Lookout unreachable, token refused,
 * or an answer that is not a reply.
 */
import { open } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { checkRunner } from '../commands/check.js';
import { dispatch, findCommand } from '../commands/index.js';
import { quoteToken, tokenize } from '../commands/parse.js';
import type { CommandServices } from '../commands/types.js';
import { createChecks, PushBeats } from './checks/index.js';
import { UsageError } from './core/errors.js';
import { replyText } from './core/reply.js';
import type { Reply, ReplySeverity } from './core/reply.js';

const DEFAULT_URL = 'http://127.0.0.1:8080';
/** A speed test may run for 30 s and a check for 60 s: leave room for both. */
const REQUEST_TIMEOUT_MS = 120_000;
/** Commands that need no instance. */
const LOCAL = new Set(['check', 'help']);

interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
  cwd: string;
  /** Colours only for a terminal, and never with NO_COLOR. */
  color: boolean;
}

const ANSI: Record<ReplySeverity, string> = {
  ok: '\x1b[1;32m',
  info: '\x1b[1m',
  warning: '\x1b[1;33m',
  critical: '\x1b[1;31m',
  error: '\x1b[1;31m',
};

function usage(): string {
  return [
    'usage: lookout <command> [args…]     e.g. lookout status, lookout uptime portal 7d',
    '       lookout --json <command> …    print the reply as JSON',
    `env:   LOOKOUT_URL (default ${DEFAULT_URL}), LOOKOUT_TOKEN (or API_TOKEN): the instance's API_TOKEN`,
    'run "lookout help" for the commands.',
  ].join('\n');
}

/** No monitor here: the local commands (check, help) never touch it. */
const offline = new Proxy({} as CommandServices, {
  get() {
    return new Proxy(() => undefined, {
      get: () => () => {
        throw new UsageError('this command needs a running Lookout: set LOOKOUT_URL');
      },
      apply: () => {
        throw new UsageError('this command needs a running Lookout: set LOOKOUT_URL');
      },
    });
  },
});

async function runLocal(text: string): Promise<Reply> {
  const now = Date.now;
  const checks = createChecks({ beats: new PushBeats(), now });
  return dispatch(text, {
    services: offline,
    actor: { platform: 'cli', id: userInfo().username, admin: true },
    now,
    runCheck: checkRunner(checks, now),
  });
}

class NoReply extends Error {}

/** The most telling part of a network error: its errno code, else the innermost message ("bad port"). */
function errnoOf(e: unknown): string {
  let message = e instanceof Error ? e.message : String(e);
  for (let c: unknown = e, i = 0; c && i < 5; c = (c as { cause?: unknown }).cause, i++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    if (c instanceof Error) message = c.message;
  }
  return message;
}

async function runRemote(text: string, env: NodeJS.ProcessEnv): Promise<Reply> {
  const base = (env.LOOKOUT_URL?.trim() || DEFAULT_URL).replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(`${base}/api/commands`);
  } catch {
    throw new NoReply(`LOOKOUT_URL is not a URL (got "${base}"); e.g. ${DEFAULT_URL}`);
  }
  const token = env.LOOKOUT_TOKEN?.trim() || env.API_TOKEN?.trim() || '';
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ text, client: 'cli' }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (e) {
    if (e instanceof Error && e.name === 'TimeoutError')
      throw new NoReply(`Lookout at ${base} did not answer within ${REQUEST_TIMEOUT_MS / 1000}s`);
    throw new NoReply(`cannot reach Lookout at ${base} (${errnoOf(e)}); is it running? set LOOKOUT_URL`);
  }
  const body = (await res.json().catch(() => undefined)) as { reply?: Reply; error?: string } | undefined;
  if (res.status === 401 || res.status === 403)
    throw new NoReply(
      `Lookout at ${base} refused the request: ${body?.error ?? res.statusText}${token ? '' : '; set LOOKOUT_TOKEN to its API_TOKEN'}`,
    );
  if (res.status === 404)
    throw new NoReply(`${base} has no /api/commands: is LOOKOUT_URL a Lookout instance?`);
  if (!res.ok || !body?.reply || !Array.isArray(body.reply.lines))
    throw new NoReply(`Lookout at ${base} answered ${res.status}: ${body?.error ?? 'not a command reply'}`);
  return body.reply;
}

/** Writes the attachment beside the user without overwriting anything; returns the path. */
async function save(name: string, data: string, cwd: string): Promise<string> {
  // The name comes from the server: keep only a plain file name.
  const safe =
    name
      .replace(/[/\\]/g, '_')
      .replace(/[^\w.-]/g, '_')
      .replace(/^\.+/, '') || 'attachment';
  const ext = extname(safe);
  const stem = safe.slice(0, safe.length - ext.length);
  for (let i = 0; ; i++) {
    const path = resolve(join(cwd, i === 0 ? safe : `${stem}-${i}${ext}`));
    try {
      const fh = await open(path, 'wx');
      try {
        await fh.writeFile(data, 'utf8');
      } finally {
        await fh.close();
      }
      return path;
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST' || i >= 99) throw e;
    }
  }
}

/** Runs one CLI invocation; resolves with the exit code. */
async function main(argv: string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  let args = argv;
  let json = false;
  if (args[0] === '--json') [json, args] = [true, args.slice(1)];
  if (args[0] === '-h' || args[0] === '--help') {
    io.out(usage());
    return 0;
  }
  if (args[0] === 'doctor') {
    // Checks this machine's setup, so it runs locally with this environment, not through an instance.
    const { doctor, doctorReport } = await import('./doctor.js');
    const findings = await doctor(env);
    io.out(doctorReport(findings));
    return findings.every((f) => f.ok) ? 0 : 1;
  }
  // The shell already split the words: quote each so `keyword="all good"` stays one.
  const text = args.map(quoteToken).join(' ');
  let first: string | undefined;
  try {
    first = tokenize(text)[0];
  } catch {
    first = undefined;
  }
  // Unknown words are answered here too: the registry is the same, and a typo needs no instance.
  const known = first === undefined ? undefined : findCommand(first);
  const local = known === undefined || LOCAL.has(known.name);

  let r: Reply;
  try {
    r = local ? await runLocal(text) : await runRemote(text, env);
  } catch (e) {
    io.err(e instanceof NoReply ? e.message : `lookout: ${e instanceof Error ? e.message : String(e)}`);
    return 2;
  }
  if (json) {
    io.out(JSON.stringify(r, null, 2));
    return r.severity === 'error' ? 1 : 0;
  }
  const { attachment, ...rest } = r;
  const text2 = replyText(rest, {
    title: io.color ? (t, sev) => `${ANSI[sev]}${t}\x1b[0m` : undefined,
  });
  (r.severity === 'error' ? io.err : io.out)(text2);
  if (attachment) {
    try {
      io.out(`saved ${await save(attachment.name, attachment.data, io.cwd)}`);
    } catch (e) {
      io.err(`could not save ${attachment.name}: ${errnoOf(e)}`);
      return 1;
    }
  }
  return r.severity === 'error' ? 1 : 0;
}

const isTty = Boolean(process.stdout.isTTY);
process.exitCode = await main(process.argv.slice(2), process.env, {
  out: (s) => process.stdout.write(`${s}\n`),
  err: (s) => process.stderr.write(`${s}\n`),
  cwd: process.cwd(),
  color: isTty && !process.env.NO_COLOR,
});
