/**
 * The terminal CLI end to end: the real `src/cli.ts` in a child process against a
 * running Lookout on loopback (POST /api/commands), offline `check` and `help`, and
 * the messages and exit codes when the instance is down or the token is wrong.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createApp } from '../src/app.js';
import type { App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { testLogger } from './helpers/log-capture.js';
import { TargetServer } from './helpers/target-server.js';
import { closedPort } from './helpers/wait.js';

const TOKEN = 'cli-test-token-0123456789abcdef';
const CLI = resolve('src/cli.ts');
const TSX = import.meta.resolve('tsx');

let app: App;
let url = '';
let downUrl = '';
let cwd = '';
let dataDir = '';
const target = new TargetServer();

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI like a user would: its own process, env for URL and token, a working directory. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
      cwd,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        LOOKOUT_URL: url,
        LOOKOUT_TOKEN: TOKEN,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', fail);
    p.on('close', (code) => done({ code, stdout, stderr }));
  });
}

before(async () => {
  await target.start();
  cwd = await mkdtemp(join(tmpdir(), 'lookout-cli-cwd-'));
  dataDir = await mkdtemp(join(tmpdir(), 'lookout-cli-data-'));
  const config = loadConfig({ DATA_DIR: dataDir, HTTP_PORT: '0', API_TOKEN: TOKEN });
  app = await createApp({ config, log: testLogger(config) });
  await app.start();
  url = app.url;
  // A port nobody listens on: the instance is down.
  downUrl = `http://127.0.0.1:${await closedPort()}`;
});
after(async () => {
  await app.stop();
  await target.stop();
  await rm(cwd, { recursive: true, force: true });
  await rm(dataDir, { recursive: true, force: true });
});

describe('against a running instance', () => {
  test('add: exit 0 and the reply as text', async () => {
    const r = await cli(['add', 'web', target.url, 'interval=5']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^Added web\nhttp check of http:\/\/127\.0\.0\.1:\d+\/ every 5s; alerts after 3 failures in a row\.\n/,
    );
    assert.equal(r.stderr, '');
    assert.equal(app.monitor.get('web').source, 'api');
  });

  test('a value with spaces stays one argument', async () => {
    const r = await cli(['edit', 'web', 'keyword=all systems']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /keyword: \(not set\) → all systems/);
    assert.equal(app.monitor.get('web').keyword, 'all systems');
  });

  test('list: an aligned table, no colours when not a terminal', async () => {
    // Let the first check land so the row has a state.
    for (let i = 0; i < 100 && app.monitor.state('web').status === 'unknown'; i++)
      await new Promise((r) => setTimeout(r, 50));
    const r = await cli(['list']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], '1 target');
    assert.match(lines[2] ?? '', /^name {2}state +uptime 24h +latency$/);
    assert.match(lines[3] ?? '', /^-{4} {2}-+ {2}-{10} {2}-+$/);
    assert.match(lines[4] ?? '', /^web {3}up \d+s +\S+ +[\d.]+ ms$/);
    assert.ok(!r.stdout.includes('\u001b['), 'no ANSI colour codes');
  });

  test('history: the attachment is written to the current directory, never over an existing file', async () => {
    const first = await cli(['history', 'web', '24h', 'csv']);
    assert.equal(first.code, 0, first.stderr);
    const m = /^saved (.+\.csv)$/m.exec(first.stdout);
    assert.ok(m, first.stdout);
    const path = m[1] as string;
    assert.equal(resolve(path, '..'), resolve(cwd));
    assert.match(await readFile(path, 'utf8'), /^time,type,ok,ms,code,/);
    assert.doesNotMatch(first.stdout, /^attachment:/m);

    const second = await cli(['history', 'web', '24h', 'csv']);
    const again = /^saved (.+)$/m.exec(second.stdout)?.[1] ?? '';
    assert.notEqual(again, path);
    assert.match(again, /-1\.csv$/);
    assert.equal((await readdir(cwd)).filter((f) => f.endsWith('.csv')).length, 2);
  });

  test('an error reply: exit 1, the message on stderr', async () => {
    const r = await cli(['add', 'web2', 'https://example.com', 'interval=1']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      'interval must be at least 5 seconds (got 1). Example: lookout add web https://example.com interval=30\n',
    );
  });

  test('a typo in a target name', async () => {
    const r = await cli(['status', 'wbe']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'no target "wbe" — did you mean "web"?\n');
  });

  test('--json prints the Reply itself', async () => {
    const r = await cli(['--json', 'status', 'web']);
    assert.equal(r.code, 0, r.stderr);
    const reply = JSON.parse(r.stdout) as { title: string; severity: string };
    assert.equal(reply.title, 'web is up');
  });

  test('API_TOKEN works when LOOKOUT_TOKEN is not set', async () => {
    const r = await cli(['status'], { LOOKOUT_TOKEN: '', API_TOKEN: TOKEN });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^1 target: 1 up, 0 down/);
  });

  test('a wrong token: exit 2 and why', async () => {
    const r = await cli(['status'], { LOOKOUT_TOKEN: 'wrong-token' });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `Lookout at ${url} refused the request: wrong API token\n`);
  });

  test('no token at all: exit 2 and how to set it', async () => {
    const r = await cli(['status'], { LOOKOUT_TOKEN: '' });
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      `Lookout at ${url} refused the request: send Authorization: Bearer <API_TOKEN>; set LOOKOUT_TOKEN to its API_TOKEN\n`,
    );
  });

  test('remove asks first, then removes', async () => {
    const ask = await cli(['remove', 'web']);
    assert.equal(ask.code, 0);
    assert.match(
      ask.stdout,
      /Remove web\?\n.*all its history.*\nTo go ahead: remove web confirm\n\[Remove web\] → remove web confirm/,
    );
    assert.ok(app.monitor.find('web'));
    const done = await cli(['remove', 'web', 'confirm']);
    assert.equal(done.code, 0);
    assert.equal(app.monitor.find('web'), undefined);
  });
});

describe('without an instance', () => {
  test('status: exit 2 with a clear message', async () => {
    const r = await cli(['status'], { LOOKOUT_URL: downUrl });
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      `cannot reach Lookout at ${downUrl} (ECONNREFUSED); is it running? set LOOKOUT_URL\n`,
    );
  });

  test('check runs locally with the real checks', async () => {
    const r = await cli(['check', target.url], { LOOKOUT_URL: downUrl });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^${target.url.replace(/[/.]/g, '\\$&')} is up \\([\\d.]+ ms\\)\n`));
    assert.match(r.stdout, /status: +200/);
    assert.match(r.stdout, /timing: +connect [\d.]+ ms → first byte [\d.]+ ms → total [\d.]+ ms/);
  });

  test('a failing check is reported, exit 0 (the command ran)', async () => {
    const r = await cli(['check', downUrl.replace('http://', '')], { LOOKOUT_URL: downUrl });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /is DOWN: /);
  });

  test('help works offline, with the terminal prefix', async () => {
    const r = await cli(['help'], { LOOKOUT_URL: downUrl });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^Lookout commands\nlookout add <name> <address> \[kind\] \[key=value …\] — add a target \(admin\)\n/,
    );
    const none = await cli([], { LOOKOUT_URL: downUrl });
    assert.equal(none.code, 0);
    assert.match(none.stdout, /^Lookout commands/);
  });

  test('a mistyped command is answered offline with a suggestion', async () => {
    const r = await cli(['stauts'], { LOOKOUT_URL: downUrl });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'no command "stauts" — did you mean "status"? Try lookout help.\n');
  });

  test('a LOOKOUT_URL that is not a URL', async () => {
    const r = await cli(['status'], { LOOKOUT_URL: 'not a url' });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'LOOKOUT_URL is not a URL (got "not a url"); e.g. http://127.0.0.1:8080\n');
  });
});
