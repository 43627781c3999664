/**
 * Bad input never crashes Lookout and is always answered: 100 malformed API
 * bodies against the real listener, and 20 broken config files against the real
 * process (one clear line, exit 2, no stack trace).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeApp } from '../helpers/app.js';
import { runLookout } from '../helpers/proc.js';
import { prng } from '../helpers/prng.js';

test('100 malformed API bodies: each answered 4xx with a message, nothing stored, still healthy', async (t) => {
  const token = 'bad-input-token-0123456789';
  const app = await makeApp({ API_TOKEN: token });
  t.after(() => app.stop());
  const rnd = prng(42);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const values: unknown[] = [
    null,
    true,
    -1,
    0,
    1e308,
    'x'.repeat(5000),
    '',
    [],
    {},
    [1, 2],
    { a: { b: 1 } },
    '\u0000',
    '😀',
    NaN,
  ];
  const keys = [
    'name',
    'address',
    'interval',
    'timeout',
    'kind',
    'tags',
    'notify',
    'dependsOn',
    'accept',
    'regex',
    'bogus',
    '__proto__',
    'constructor',
  ];
  const bodies: string[] = [
    '',
    '{',
    'null',
    '[]',
    '"text"',
    '{"name":',
    '{"name":"a","address":"https://x.y"}}',
    '\u0000\u0001',
    '{"__proto__":{"admin":true}}',
    'x'.repeat(70_000),
  ];
  while (bodies.length < 100) {
    const o: Record<string, unknown> = {};
    const n = 1 + Math.floor(rnd() * 4);
    for (let i = 0; i < n; i++) o[pick(keys)] = pick(values);
    if (rnd() < 0.3) o.name = pick(['ok-name', 'BAD NAME', '-x', 'a'.repeat(70)]);
    bodies.push(JSON.stringify(o));
  }
  const paths = [
    ['POST', '/api/targets'],
    ['PATCH', '/api/targets/nope'],
    ['POST', '/api/commands'],
  ] as const;
  let stored = 0;
  for (const [i, body] of bodies.entries()) {
    const [method, path] = paths[i % paths.length] as (typeof paths)[number];
    const res = await fetch(`${app.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body,
    });
    const text = await res.text();
    if (res.status === 201) {
      stored++;
      continue;
    }
    // The commands endpoint answers a well-formed request with a Reply, even for a wrong command.
    if (path === '/api/commands' && res.status === 200) {
      assert.ok((JSON.parse(text) as { reply?: unknown }).reply, text);
      continue;
    }
    assert.ok(
      res.status >= 400 && res.status < 500,
      `${method} ${path} ${body.slice(0, 80)} → ${res.status}`,
    );
    const { error } = JSON.parse(text) as { error: string };
    assert.equal(typeof error, 'string');
    assert.ok(error.length > 0 && error.length < 400 && !error.includes('\n    at '), error);
  }
  const { targets } = (await (await fetch(`${app.url}/api/targets`)).json()) as { targets: unknown[] };
  assert.equal(targets.length, stored, 'only valid bodies created targets');
  assert.equal((await fetch(`${app.url}/healthz`)).status, 200);
  assert.equal(({} as Record<string, unknown>).admin, undefined, 'no prototype pollution');
});

test('20 broken config files: exit 2 with one line naming the problem, no stack trace', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lookout-badcfg-'));
  const files: Array<[string, RegExp]> = [
    ['targets: [', /not valid YAML\/JSON/],
    ['{"targets": ', /not valid YAML\/JSON/],
    ['- a\n- b\n', /must be a mapping/],
    ['42', /must be a mapping/],
    ['settings: 5', /settings/],
    ['targets: 5', /targets/],
    ['targets:\n  - 5\n', /targets\[0\]/],
    ['targets:\n  - name: web\n', /address is required|targets\[0\]/],
    ['targets:\n  - name: Web Site\n    address: 10.0.0.1\n', /targets\[0\]\.name must be/],
    [
      'targets:\n  - name: web\n    address: https://x.y\n    interval: 2\n',
      /targets\[0\]\.interval must be at least 5 seconds/,
    ],
    [
      'targets:\n  - name: web\n    address: https://x.y\n    interval: soon\n',
      /targets\[0\]\.interval must be a duration/,
    ],
    [
      'targets:\n  - name: web\n    address: https://x.y\n    colour: red\n',
      /unknown key "targets\[0\]\.colour"/,
    ],
    ['targets:\n  - { name: a, address: 10.0.0.1 }\n  - { name: a, address: 10.0.0.2 }\n', /used twice/],
    ['targets:\n  - { name: a, address: 10.0.0.1, dependsOn: b }\n', /dependsOn/],
    ['targets:\n  - { name: a, address: 10.0.0.1, dependsOn: a }\n', /cannot depend on itself/],
    ['targets:\n  - { name: a, address: "db:99999" }\n', /not host:port|not a host name/],
    [
      'targets:\n  - { name: a, address: https://x.y, regex: "(" }\n',
      /regex is not a valid regular expression/,
    ],
    ['settings:\n  alertCooldown: -5\n', /settings\.alertCooldown/],
    [
      'settings:\n  speedtest:\n    protocol: ookla\n',
      /settings\.speedtest\.protocol must be one of cloudflare, librespeed/,
    ],
    ['settings:\n  retention:\n    rawHours: 0\n', /settings\.retention\.rawHours must be at least 1/],
  ];
  assert.equal(files.length, 20);
  for (const [i, [content, re]] of files.entries()) {
    const path = join(dir, `c${i}.yaml`);
    await writeFile(path, content);
    const { exited, out } = runLookout({ DATA_DIR: join(dir, `data${i}`), CONFIG_FILE: path });
    const { code } = await exited;
    assert.equal(code, 2, `${content}\n${out.stderr}`);
    const lines = out.stderr.trim().split('\n');
    assert.equal(lines.length, 1, out.stderr);
    assert.match(lines[0] as string, /^lookout: CONFIG_FILE: /);
    assert.match(lines[0] as string, re, content);
    assert.doesNotMatch(out.stderr, /\n\s+at /);
  }
});
