import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/app.js';
import type { App } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { testLogger } from '../helpers/log-capture.js';

const TOKEN = 'api-test-token-0123456789';
let app: App;
let readOnly: App;

async function make(env: Record<string, string>): Promise<App> {
  const dataDir = await mkdtemp(join(tmpdir(), 'lookout-api-'));
  const config = loadConfig({ DATA_DIR: dataDir, HTTP_PORT: '0', ...env });
  const a = await createApp({ config, log: testLogger(config) });
  await a.start();
  return a;
}

before(async () => {
  app = await make({ API_TOKEN: TOKEN });
  readOnly = await make({});
});
after(async () => {
  await app.stop();
  await readOnly.stop();
});

async function call(
  a: App,
  method: string,
  path: string,
  body?: unknown,
  token: string | null = TOKEN,
  raw?: string,
) {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined || raw !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${a.url}${path}`, {
    method,
    headers,
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as Record<string, unknown> };
}

test('healthz is 200 with scheduler and store status', async () => {
  const r = await call(app, 'GET', '/healthz', undefined, null);
  assert.equal(r.status, 200);
  assert.equal(r.body.status, 'ok');
  assert.equal((r.body.store as { writable: boolean }).writable, true);
});

test('without API_TOKEN mutations are refused with how to enable them', async () => {
  const r = await call(readOnly, 'POST', '/api/targets', { name: 'web', address: 'https://x.y' }, null);
  assert.equal(r.status, 403);
  assert.match(String(r.body.error), /set API_TOKEN/);
  assert.equal((await call(readOnly, 'GET', '/api/targets', undefined, null)).status, 200, 'reads stay open');
});

test('a missing or wrong token is 401 and changes nothing', async () => {
  assert.equal(
    (await call(app, 'POST', '/api/targets', { name: 'a', address: '10.0.0.1' }, null)).status,
    401,
  );
  assert.equal(
    (await call(app, 'POST', '/api/targets', { name: 'a', address: '10.0.0.1' }, 'wrong')).status,
    401,
  );
  assert.equal((await call(app, 'DELETE', '/api/targets/a', undefined, 'wrong')).status, 401);
  assert.deepEqual((await call(app, 'GET', '/api/targets')).body.targets, []);
});

test('bad bodies are 400 with a message; nothing is stored', async () => {
  const table: Array<[string | undefined, unknown, RegExp]> = [
    ['{"name": "web",', undefined, /not valid JSON/],
    [undefined, [1, 2], /send a JSON object/],
    [
      undefined,
      { name: 'web', address: 'https://x.y', interval: 1 },
      /^interval must be at least 5 seconds \(got 1\)$/,
    ],
    [undefined, { name: 'web', address: 'https://x.y', color: 'red' }, /^unknown key "color"$/],
    [undefined, { name: 'Web Site', address: 'https://x.y' }, /^name must be/],
    [undefined, { name: 'web', address: 'not a url' }, /contains spaces/],
    [undefined, { name: 'web', address: 'https://x.y', dependsOn: 'nothing' }, /no target "nothing"/],
  ];
  for (const [raw, body, re] of table) {
    const r = await call(app, 'POST', '/api/targets', body, TOKEN, raw);
    assert.equal(r.status, 400, JSON.stringify(body ?? raw));
    assert.match(String(r.body.error), re);
  }
  assert.equal(((await call(app, 'GET', '/api/targets')).body.targets as unknown[]).length, 0);
  const noType = await fetch(`${app.url}/api/targets`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}` },
    body: 'x',
  });
  assert.equal(noType.status, 415);
});

test('create, duplicate, read, patch, 404 with suggestion, delete', async () => {
  const created = await call(app, 'POST', '/api/targets', {
    name: 'portal',
    address: 'https://portal.example.net',
    interval: '2m',
  });
  assert.equal(created.status, 201);
  assert.equal((created.body.target as { interval: number }).interval, 120);
  assert.equal((created.body.target as { kind: string }).kind, 'http');

  const dup = await call(app, 'POST', '/api/targets', { name: 'portal', address: 'https://other' });
  assert.equal(dup.status, 409);
  assert.match(String(dup.body.error), /already exists/);

  const one = await call(app, 'GET', '/api/targets/portal');
  assert.equal(one.status, 200);
  assert.equal((one.body.target as { state: { status: string } }).state.status, 'unknown');

  const patched = await call(app, 'PATCH', '/api/targets/portal', { interval: 30, keyword: 'ok' });
  assert.equal(patched.status, 200);
  assert.equal((patched.body.target as { interval: number }).interval, 30);
  const badPatch = await call(app, 'PATCH', '/api/targets/portal', { interval: 2 });
  assert.equal(badPatch.status, 400);
  assert.equal((await call(app, 'PATCH', '/api/targets/portal', { name: 'x' })).status, 400);

  const typo = await call(app, 'GET', '/api/targets/portl');
  assert.equal(typo.status, 404);
  assert.equal(typo.body.error, 'no target "portl" — did you mean "portal"?');

  assert.equal((await call(app, 'DELETE', '/api/targets/portal')).status, 200);
  assert.equal((await call(app, 'GET', '/api/targets/portal')).status, 404);
  assert.equal((await call(app, 'GET', '/api/nope')).status, 404);
  assert.equal((await call(app, 'PUT', '/api/targets')).status, 405);
});

test('push targets: the URL is shown once; beats are accepted; unknown tokens are 404', async () => {
  const created = await call(app, 'POST', '/api/targets', { name: 'backup', kind: 'push', interval: 3600 });
  assert.equal(created.status, 201);
  const pushUrl = String(created.body.pushUrl);
  assert.match(pushUrl, /\/push\/[A-Za-z0-9_-]{22,}$/);
  const listed = await call(app, 'GET', '/api/targets/backup');
  assert.equal(
    JSON.stringify(listed.body).includes(pushUrl.split('/push/')[1] as string),
    false,
    'the token is not listed',
  );
  const path = new URL(pushUrl).pathname;
  assert.equal((await fetch(`${app.url}${path}`)).status, 200);
  assert.equal(
    (await fetch(`${app.url}${path}?status=down&msg=disk%20full`, { method: 'POST' })).status,
    200,
  );
  const unknown = await fetch(`${app.url}/push/not-a-real-token`);
  assert.equal(unknown.status, 404);
  assert.deepEqual(await unknown.json(), { error: 'not found' });
});
