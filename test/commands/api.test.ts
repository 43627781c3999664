/** POST /api/commands: the Reply as JSON through the same dispatch chat uses; bearer token required. */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { harness } from './harness.js';
import type { Harness } from './harness.js';
import { Router } from '../../src/http/router.js';
import { registerCommandsApi } from '../../src/http/commands-api.js';
import type { Reply } from '../../src/core/reply.js';

const TOKEN = 'commands-api-token-0123456789';
let h: Harness;
const servers: Server[] = [];
let url = '';
let readOnlyUrl = '';

async function serve(apiToken: string | undefined): Promise<string> {
  const router = new Router(() => undefined);
  registerCommandsApi(router, {
    apiToken,
    context: {
      services: { monitor: h.app.monitor, history: h.app.history },
      runCheck: h.runCheck,
      now: () => h.clock.t,
    },
  });
  const server = createServer((req, res) => void router.handle(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

before(async () => {
  h = await harness();
  url = await serve(TOKEN);
  readOnlyUrl = await serve(undefined);
});
after(async () => {
  for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
  await h.close();
});

async function post(body: string, o: { token?: string | null; type?: string; base?: string } = {}) {
  const headers: Record<string, string> = { 'content-type': o.type ?? 'application/json' };
  const token = o.token === undefined ? TOKEN : o.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${o.base ?? url}/api/commands`, { method: 'POST', headers, body });
  return { status: res.status, body: (await res.json()) as { reply?: Reply; error?: string } };
}

describe('POST /api/commands', () => {
  test('a command runs as an admin and answers its Reply', async () => {
    const r = await post(JSON.stringify({ text: 'add portal https://portal.example.net interval=30' }));
    assert.equal(r.status, 200);
    assert.equal(r.body.reply?.title, 'Added portal');
    assert.equal(r.body.reply?.severity, 'ok');
    assert.equal(h.app.monitor.get('portal').source, 'api');
  });

  test('an error reply is still 200: the exchange worked, the reply says what was wrong', async () => {
    const r = await post(JSON.stringify({ text: 'uptime portl 7d' }));
    assert.equal(r.status, 200);
    assert.equal(r.body.reply?.severity, 'error');
    assert.deepEqual(r.body.reply?.lines, ['no target "portl" — did you mean "portal"?']);
  });

  test('usage examples carry no prefix on the API, and "cli" clients get the terminal one', async () => {
    const api = await post(JSON.stringify({ text: 'add web https://example.com interval=1' }));
    assert.deepEqual(api.body.reply?.lines, [
      'interval must be at least 5 seconds (got 1). Example: add web https://example.com interval=30',
    ]);
    const cli = await post(JSON.stringify({ text: 'add web https://example.com interval=1', client: 'cli' }));
    assert.match(cli.body.reply?.lines[0] ?? '', /Example: lookout add web/);
  });

  test('attachments come back as UTF-8 text in the JSON', async () => {
    const r = await post(JSON.stringify({ text: 'history portal json' }));
    const a = r.body.reply?.attachment;
    assert.equal(a?.mime, 'application/json');
    assert.equal((JSON.parse(a?.data ?? '') as { target: string }).target, 'portal');
  });

  const bad: Array<
    [string, { body: string; token?: string | null; type?: string; ro?: boolean }, number, RegExp]
  > = [
    ['no token', { body: '{"text":"status"}', token: null }, 401, /send Authorization: Bearer <API_TOKEN>/],
    ['a wrong token', { body: '{"text":"status"}', token: 'nope' }, 401, /wrong API token/],
    ['an instance without API_TOKEN', { body: '{"text":"status"}', ro: true }, 403, /set API_TOKEN/],
    ['not JSON', { body: 'status' }, 400, /not valid JSON/],
    [
      'not a JSON object',
      { body: '["status"]' },
      400,
      /send a JSON object like \{"text": "uptime portal 7d"\}/,
    ],
    ['no text', { body: '{"command":"status"}' }, 400, /"text" is required/],
    ['text not a string', { body: '{"text":42}' }, 400, /"text" is required/],
    [
      'text too long',
      { body: JSON.stringify({ text: 'x'.repeat(2001) }) },
      400,
      /"text" is too long \(at most 2000 characters\)/,
    ],
    [
      'an unknown client',
      { body: '{"text":"status","client":"bot"}' },
      400,
      /"client" must be "api" or "cli"/,
    ],
    [
      'the wrong content type',
      { body: '{"text":"status"}', type: 'text/plain' },
      415,
      /Content-Type: application\/json/,
    ],
  ];
  for (const [name, o, status, message] of bad)
    test(`${name} → ${status}, nothing runs`, async () => {
      const before = h.snapshot();
      const r = await post(o.body, {
        ...(o.token !== undefined ? { token: o.token } : {}),
        ...(o.type ? { type: o.type } : {}),
        ...(o.ro ? { base: readOnlyUrl } : {}),
      });
      assert.equal(r.status, status);
      assert.match(r.body.error ?? '', message);
      assert.equal(h.snapshot(), before);
    });

  test('a mutation is refused without the token and nothing changes', async () => {
    const before = h.snapshot();
    const r = await post(JSON.stringify({ text: 'remove portal confirm' }), { token: null });
    assert.equal(r.status, 401);
    assert.equal(h.snapshot(), before);
    assert.ok(h.app.monitor.find('portal'));
  });
});
