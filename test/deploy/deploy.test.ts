/**
 * The container image and the systemd unit, checked without a Docker engine: the
 * Dockerfile's required instructions, the production tree built exactly as the
 * Dockerfile does (production dependencies only) started and asked /healthz, and
 * `systemd-analyze verify` on the unit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { GLIBC_TUNABLES } from '../../src/memory.js';

const dockerfile = readFileSync('Dockerfile', 'utf8');
const lines = dockerfile.split('\n').map((l) => l.trim());
const instr = (name: string) => lines.filter((l) => l.toUpperCase().startsWith(`${name} `));

test('Dockerfile: multi-stage on the official Node slim image, non-root, fping, healthcheck, volume', () => {
  const froms = instr('FROM');
  assert.ok(froms.length >= 2, 'multi-stage');
  for (const f of froms) assert.match(f, /^FROM node:\$\{NODE_VERSION\}-bookworm-slim( AS \w+)?$/);
  assert.match(dockerfile, /^ARG NODE_VERSION=\d+$/m);
  assert.match(dockerfile, /npm ci --omit=dev/);
  assert.match(dockerfile, /apt-get install -y --no-install-recommends fping/);
  assert.match(dockerfile, /setcap cap_net_raw\+ep \/usr\/bin\/fping/);
  assert.deepEqual(instr('USER'), ['USER node']);
  assert.match(dockerfile, /HTTP_HOST=0\.0\.0\.0/);
  assert.deepEqual(instr('EXPOSE'), ['EXPOSE 8080']);
  assert.deepEqual(instr('VOLUME'), ['VOLUME /app/data']);
  assert.deepEqual(instr('STOPSIGNAL'), ['STOPSIGNAL SIGTERM']);
  const hc = dockerfile.slice(dockerfile.indexOf('HEALTHCHECK'));
  assert.match(hc, /CMD \["node", "-e", ".*\/healthz/, 'the healthcheck uses node, not curl');
  assert.match(instr('CMD').at(-1) ?? '', /^CMD \["node", "dist\/src\/main\.js"\]$/);
  // Every COPY from the build context names something that exists.
  for (const c of instr('COPY').filter((l) => !l.includes('--from='))) {
    const parts = c.split(/\s+/).slice(1, -1);
    for (const p of parts) assert.ok(existsSync(p), `COPY source ${p} exists`);
  }
  const ignore = readFileSync('.dockerignore', 'utf8').split('\n');
  for (const must of ['node_modules', 'data', '.git'])
    assert.ok(ignore.includes(must), `.dockerignore has ${must}`);
});

test('every way of starting Lookout runs it with the memory settings of src/memory.ts', () => {
  const unit = readFileSync('deploy/lookout.service', 'utf8');
  const start = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: { start: string } }).scripts
    .start;
  assert.match(dockerfile, /NODE_OPTIONS="--max-semi-space-size=2 --v8-pool-size=1" /);
  assert.ok(dockerfile.includes(`GLIBC_TUNABLES=${GLIBC_TUNABLES} `), 'the image sets GLIBC_TUNABLES');
  assert.match(unit, /^Environment="NODE_OPTIONS=--max-semi-space-size=2 --v8-pool-size=1"$/m);
  assert.ok(
    unit.includes(`\nEnvironment=GLIBC_TUNABLES=${GLIBC_TUNABLES}\n`),
    'the unit sets GLIBC_TUNABLES',
  );
  assert.ok(
    start.includes(`GLIBC_TUNABLES=${GLIBC_TUNABLES} node --max-semi-space-size=2 --v8-pool-size=1 `),
    start,
  );
});

test("the memory settings keep undici's HTTP parser out of TurboFan, whose 30 MB compile made the start-up peak", () => {
  // A loopback server and 500 requests: well past V8's budget for tiering a hot wasm function up.
  const script = (tune: boolean) => `
    import { createServer } from 'node:http';
    import { request } from 'undici';
    import { tuneMemory } from './src/memory.ts';
    if (${tune}) tuneMemory();
    const server = createServer((_req, res) => res.end('ok')).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const url = 'http://127.0.0.1:' + server.address().port + '/';
    for (let i = 0; i < 500; i++) await (await request(url)).body.text();
    server.close();
  `;
  // tsx compiles a few small wasm functions of its own with TurboFan; only a compile this big matters.
  const bigCompiles = (tune: boolean) => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--trace-wasm-compilation-times', '--input-type=module', '-e', script(tune)],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    return [...r.stdout.matchAll(/using TurboFan, took \d+ ms and (\d+) \//g)].filter(
      (m) => Number(m[1]) > 10_000_000,
    ).length;
  };
  assert.ok(
    bigCompiles(false) > 0,
    'without the settings the parser is recompiled (else this test proves nothing)',
  );
  assert.equal(bigCompiles(true), 0);
});

test('compose.yaml and .env.example cover the deployment and every SPEC variable', () => {
  const compose = readFileSync('compose.yaml', 'utf8');
  assert.match(compose, /restart: unless-stopped/);
  assert.match(compose, /env_file: \.env/);
  assert.match(compose, /\/app\/data/);
  const env = readFileSync('.env.example', 'utf8');
  const spec = [
    'DATA_DIR',
    'CONFIG_FILE',
    'HTTP_HOST',
    'HTTP_PORT',
    'API_TOKEN',
    'TZ',
    'TELEGRAM_BOT_TOKEN',
    'TELEGRAM_ALERT_CHAT_ID',
    'TELEGRAM_ADMIN_IDS',
    'TELEGRAM_API_ROOT',
    'SLACK_BOT_TOKEN',
    'SLACK_SIGNING_SECRET',
    'SLACK_APP_TOKEN',
    'SLACK_ALERT_CHANNEL',
    'SLACK_ADMIN_IDS',
    'SLACK_API_URL',
    'DISCORD_TOKEN',
    'DISCORD_APPLICATION_ID',
    'DISCORD_ALERT_CHANNEL_ID',
    'DISCORD_ADMIN_IDS',
    'DISCORD_API_URL',
    'SMTP_URL',
    'EMAIL_FROM',
    'EMAIL_TO',
    'LOG_LEVEL',
    'HEARTBEAT_URL',
  ];
  for (const v of spec) assert.match(env, new RegExp(`^${v}=`, 'm'), `.env.example lists ${v}`);
});

test('the systemd unit passes systemd-analyze verify', (t) => {
  const which = spawnSync('sh', ['-c', 'command -v systemd-analyze']);
  if (which.status !== 0) return t.skip('systemd-analyze is not installed');
  const unit = readFileSync('deploy/lookout.service', 'utf8');
  for (const must of [
    'DynamicUser=yes',
    'AmbientCapabilities=CAP_NET_RAW',
    'Restart=always',
    'ProtectSystem=strict',
    'StateDirectory=lookout',
  ])
    assert.ok(unit.includes(must), `unit has ${must}`);
  const r = spawnSync('systemd-analyze', ['verify', 'deploy/lookout.service'], { encoding: 'utf8' });
  const complaints = (r.stderr + r.stdout)
    .split('\n')
    .filter(
      (l) =>
        l.trim() &&
        !/node\b.*(No such file|is not executable)/.test(l) &&
        !/Failed to open.*\/opt\/lookout/.test(l),
    );
  assert.equal(r.status === 0 || complaints.length === 0, true, complaints.join('\n'));
});

test(
  'the production tree, built as the Dockerfile does, starts and answers /healthz',
  { timeout: 300_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-prod-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    for (const f of ['package.json', 'package-lock.json']) await cp(f, join(dir, f));
    const ci = spawnSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: dir,
      encoding: 'utf8',
    });
    assert.equal(ci.status, 0, ci.stderr);
    const mods = await readdir(join(dir, 'node_modules'));
    assert.ok(!mods.includes('typescript') && !mods.includes('tsx'), 'no dev dependencies in the image');
    const build = spawnSync(
      process.execPath,
      ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json', '--outDir', join(dir, 'dist')],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(build.status, 0, build.stdout + build.stderr);
    if (existsSync('src/http/assets'))
      await cp('src/http/assets', join(dir, 'src/http/assets'), { recursive: true });

    const data = join(dir, 'data');
    const proc = spawn(process.execPath, ['dist/src/main.js'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        HTTP_HOST: '127.0.0.1',
        HTTP_PORT: '0',
        DATA_DIR: data,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => proc.on('exit', r));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no start-up line:\n${out}`)), 30_000);
        proc.stdout.on('data', () => {
          const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m[1] as string);
          }
        });
      });
      const res = await fetch(`${url}/healthz`);
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { status: string }).status, 'ok');
    } finally {
      proc.kill('SIGTERM');
    }
    assert.equal(await exited, 0, out);
  },
);
