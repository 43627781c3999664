/** dispatch and help: unknown commands, slashes and bot names, admin refusal, limits, and never throwing. */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, USER, harness, runCase } from './harness.js';
import type { Case, Harness } from './harness.js';
import { chatActor, commandList, commands, completeTargets, dispatch } from '../../commands/index.js';
import type { Actor } from '../../commands/types.js';
import { replyText } from '../../src/core/reply.js';

let h: Harness;
before(async () => {
  h = await harness({
    runCheck: () => {
      throw new Error('boom: the check registry crashed');
    },
  });
  await h.run('add portal https://portal.example.net');
  await h.run('add router 10.0.0.1');
});
after(() => h.close());

const SLACK: Actor = { platform: 'slack', id: 'U1', admin: false };
const CLI_NO_TOKEN: Actor = { platform: 'cli', id: 'me', admin: false };

describe('dispatch', () => {
  const cases: Case[] = [
    {
      name: 'a typo in the command word',
      text: 'stauts',
      severity: 'error',
      says: ['no command "stauts" — did you mean "status"? Try /help.'],
    },
    {
      name: 'the help hint uses the platform’s prefix',
      text: 'lsit',
      as: SLACK,
      says: ['no command "lsit" — did you mean "list"? Try /lookout help.'],
    },
    {
      name: 'nothing resembles it',
      text: 'frobnicate',
      severity: 'error',
      says: ['no command "frobnicate". Try /help.'],
    },
    { name: 'an empty line is help', text: '', says: ['Lookout commands'] },
    { name: 'a lone slash is help', text: '/', says: ['Lookout commands'] },
    { name: 'Telegram /start is help', text: '/start', says: ['Lookout commands'] },
    {
      name: 'a leading slash and a @bot suffix',
      text: '/status@lookout_bot portal',
      says: ['portal: waiting for its first check'],
    },
    { name: 'any case', text: 'StAtUs PORTAL', says: ['portal: waiting for its first check'] },
    { name: 'aliases', text: 'ls', says: ['2 targets'] },
    {
      name: 'too long',
      text: `status ${'x'.repeat(2000)}`,
      severity: 'error',
      says: ['the command is too long (2,007 characters; at most 2,000)'],
    },
    {
      name: 'too many words',
      text: `help ${'a '.repeat(60)}`,
      severity: 'error',
      says: ['too many words (more than 50); shorten the command'],
    },
    {
      name: 'a CLI caller without the token is told to use it',
      text: 'pause portal',
      as: CLI_NO_TOKEN,
      severity: 'error',
      says: ['only admins can run pause; send the API token (API_TOKEN of the instance)'],
    },
    {
      name: 'an unexpected failure is "internal error, see logs" and nothing else',
      text: 'check https://example.com',
      severity: 'error',
      says: ['internal error, see logs'],
      not: ['boom'],
    },
  ];
  for (const c of cases) test(c.name, () => runCase(h, { as: USER, ...c }).then(() => undefined));

  test('the internal error reaches the log with what was typed and by whom', async () => {
    h.logged.length = 0;
    await h.run('check https://example.com', USER);
    assert.equal(h.logged.length, 1);
    assert.match(String(h.logged[0]?.err), /boom/);
    assert.deepEqual(h.logged[0]?.context, {
      text: 'check https://example.com',
      command: 'check',
      actor: 'telegram:99',
    });
  });

  test('a logger that throws does not make dispatch throw', async () => {
    const ctx = {
      ...h.ctx(USER),
      log: () => {
        throw new Error('log down');
      },
    };
    const r = await dispatch('check https://example.com', ctx);
    assert.equal(replyText(r), 'internal error, see logs');
  });

  test('error replies are ephemeral', async () => {
    assert.equal((await h.run('stauts')).reply.ephemeral, true);
  });

  test('chatActor decides admin from the platform’s id list', () => {
    assert.equal(chatActor('telegram', '42', ['42', '43']).admin, true);
    assert.equal(chatActor('telegram', '4', ['42']).admin, false);
    assert.equal(chatActor('slack', 'U1', [], 'Ann').display, 'Ann');
  });

  test('target names for autocomplete: prefix matches first', () => {
    const s = h.ctx().services;
    assert.deepEqual(completeTargets(s, 'r'), ['router', 'portal']);
    assert.deepEqual(completeTargets(s, 'PO'), ['portal']);
    assert.deepEqual(completeTargets(s, ''), ['portal', 'router']);
  });
});

describe('the registry', () => {
  test('every command of SPEC §4 is there, under its own name', () => {
    assert.deepEqual(Object.keys(commands).sort(), [
      'ack',
      'add',
      'check',
      'edit',
      'help',
      'history',
      'list',
      'pause',
      'remove',
      'resume',
      'speedtest',
      'status',
      'uptime',
    ]);
    for (const [key, c] of Object.entries(commands)) assert.equal(c.name, key);
  });
  test('SPEC §4: who may run what', () => {
    const admin = commandList
      .filter((c) => c.admin === true)
      .map((c) => c.name)
      .sort();
    assert.deepEqual(admin, ['add', 'edit', 'pause', 'remove', 'resume']);
    assert.equal(typeof commands.speedtest.admin, 'object');
  });
  test('no alias shadows another command', () => {
    const words = commandList.flatMap((c) => [c.name, ...(c.aliases ?? [])]);
    assert.equal(new Set(words).size, words.length);
  });
  test('every example parses (an example that fails to parse would teach the wrong thing)', async () => {
    for (const c of commandList)
      for (const e of c.examples) {
        const r = await dispatch(e, {
          ...h.ctx(ADMIN),
          runCheck: async () => ({ ok: true, ms: 1, at: 0, detail: {} }),
        });
        const text = replyText(r);
        assert.doesNotMatch(
          text,
          /must be|unknown key|missing <|unexpected|takes no|no command/,
          `${e} → ${text}`,
        );
      }
  });
});

describe('help', () => {
  const cases: Case[] = [
    {
      name: 'lists every command with its usage, marking admin ones',
      text: 'help',
      says: [
        '/add <name> <address> [kind] [key=value …] — add a target (admin)',
        '/list [tag] — every target with state, uptime 24h and latency',
        '/speedtest [now|history] [period] — run a speed test now, or show recent results (admin for "now")',
        'Details and examples: /help <command>',
      ],
    },
    {
      name: 'one command in detail',
      text: 'help pause',
      says: [
        '/pause <name> [duration]',
        'Admins only.',
        '<duration> (optional): e.g. 90s, 15m, 2h, 1d; until resumed when left out',
        '  /pause portal 2h',
      ],
    },
    {
      name: 'with a slash and any case',
      text: 'help /UPTIME',
      says: ['/uptime [name] [24h|7d|30d|90d]', 'Anyone may run it.'],
    },
    {
      name: 'a typo',
      text: 'help stauts',
      severity: 'error',
      says: ['no command "stauts" — did you mean "status"? Try /help.'],
    },
    { name: 'Slack shows its own prefix', text: 'help', as: SLACK, says: ['/lookout add <name>'] },
  ];
  for (const c of cases) test(c.name, () => runCase(h, { as: USER, ...c }).then(() => undefined));
});
