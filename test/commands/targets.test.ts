/** add, edit, remove: good input, each kind of bad input, non-admin refusal; the text a user sees. */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, USER, harness, runCase } from './harness.js';
import type { Case, Harness } from './harness.js';
import type { Actor } from '../../commands/types.js';

let h: Harness;
before(async () => {
  h = await harness();
  await h.run('add router 10.0.0.1');
  await h.run('add portal https://portal.example.net/health interval=30 dependsOn=router');
  await h.run('add spare 10.0.0.9');
});
after(() => h.close());

const SLACK_USER: Actor = { platform: 'slack', id: 'U123', admin: false };
const DISCORD_USER: Actor = { platform: 'discord', id: '8001', admin: false };

describe('add', () => {
  const cases: Case[] = [
    {
      name: 'a URL becomes an http target with its settings',
      text: '/add web https://example.com interval=30',
      severity: 'ok',
      says: ['Added web', 'http check of https://example.com every 30s', 'interval: 30s'],
      changes: true,
    },
    {
      name: 'a bare IP becomes a ping target with the default interval',
      text: 'add core 10.0.0.2',
      severity: 'ok',
      says: ['Added core', 'ping check of 10.0.0.2 every 1m'],
      changes: true,
    },
    {
      name: 'host:port becomes tcp; names, keys and the command word are case-insensitive',
      text: 'ADD DB db.example.net:5432 Interval=2m fail_threshold=2 TAGS=prod,db',
      severity: 'ok',
      says: [
        'Added db',
        'tcp check of db.example.net:5432 every 2m; alerts after 2 failures',
        'tags:     prod, db',
      ],
      changes: true,
    },
    {
      name: 'an explicit kind as third word',
      text: 'add cert example.com tls',
      severity: 'ok',
      says: ['Added cert', 'tls check of example.com'],
    },
    {
      name: 'quoted values keep their spaces, curly quotes too',
      text: 'add shop https://shop.example.com keyword=“all good”',
      severity: 'ok',
      says: ['Added shop'],
    },
    {
      name: 'a push target shows its secret URL, only to the asker',
      text: 'add backup push interval=1d',
      severity: 'ok',
      says: [/https:\/\/lookout\.example\.net\/push\/[\w-]{16,}/, 'send a heartbeat at least every 1d'],
    },
    {
      name: 'too short an interval is answered with the limit and an example',
      text: '/add web2 https://example.com interval=1',
      severity: 'error',
      says: [
        'interval must be at least 5 seconds (got 1). Example: /add web https://example.com interval=30',
      ],
    },
    {
      name: 'a mistyped key gets a suggestion',
      text: 'add web2 https://example.com intervall=30',
      severity: 'error',
      says: ['unknown key "intervall" — did you mean "interval"?'],
    },
    {
      name: 'an unknown key without a near match lists the accepted keys',
      text: 'add web2 https://example.com colour=red',
      severity: 'error',
      says: ['unknown key "colour"; add accepts kind, interval, timeout'],
    },
    {
      name: 'a bad duration value',
      text: 'add web2 https://example.com interval=soon',
      severity: 'error',
      says: ['interval must be a duration like 30, 90s, 15m, 2h or 1d (got "soon")'],
    },
    {
      name: 'a huge number is out of range, not a crash',
      text: 'add web2 https://example.com interval=999999999999999999999999',
      severity: 'error',
      says: ['interval must be at most 86400 seconds'],
    },
    {
      name: 'a kind that does not exist',
      text: 'add web2 https://example.com 30',
      severity: 'error',
      says: ['kind must be one of ping, http, tcp, tls, dns or push (got "30")'],
    },
    {
      name: 'an address that does not fit the kind',
      text: 'add web2 not-a-url http',
      severity: 'error',
      says: ['"not-a-url" is not a valid URL for a http target (example: https://example.com/health)'],
    },
    {
      name: 'a name with forbidden characters',
      text: 'add "my web" https://example.com',
      severity: 'error',
      says: ['name must be 1–63 characters of a-z, 0-9'],
    },
    {
      name: 'no name at all shows the usage',
      text: 'add',
      severity: 'error',
      says: [
        'missing <name>. Example: /add web https://example.com interval=30',
        'Usage: /add <name> <address> [kind] [key=value …]',
      ],
    },
    {
      name: 'no address',
      text: 'add lonely',
      severity: 'error',
      says: ['address is required (or kind=push for a heartbeat target)'],
    },
    {
      name: 'a duplicate name',
      text: 'add ROUTER 10.0.0.3',
      severity: 'error',
      says: ['a target named "router" already exists; change it with edit router key=value'],
    },
    {
      name: 'a missing parent gets a suggestion',
      text: 'add child 10.0.0.4 dependsOn=ruoter',
      severity: 'error',
      says: ['dependsOn: no target "ruoter" — did you mean "router"?'],
    },
    {
      name: 'the same key twice',
      text: 'add web2 https://example.com interval=30 interval=60',
      severity: 'error',
      says: ['interval is given twice'],
    },
    {
      name: 'an unclosed quote',
      text: 'add web2 https://example.com keyword="oops',
      severity: 'error',
      says: ['a quote (") is not closed'],
    },
    {
      name: 'a Telegram user who is not an admin is refused and nothing changes',
      text: 'add evil 10.6.6.6',
      as: USER,
      severity: 'error',
      says: [
        'only admins can run add; ask an admin to add your id to TELEGRAM_ADMIN_IDS',
        'your Telegram id: 99',
      ],
    },
    {
      name: 'a Slack user is pointed at SLACK_ADMIN_IDS',
      text: 'add evil 10.6.6.6',
      as: SLACK_USER,
      severity: 'error',
      says: [
        'only admins can run add; ask an admin to add your id to SLACK_ADMIN_IDS',
        'your Slack id: U123',
      ],
    },
    {
      name: 'a Discord user is pointed at DISCORD_ADMIN_IDS, even with bad arguments',
      text: 'add evil interval=1',
      as: DISCORD_USER,
      severity: 'error',
      says: ['only admins can run add; ask an admin to add your id to DISCORD_ADMIN_IDS'],
    },
  ];
  for (const c of cases) test(c.name, () => runCase(h, c).then(() => undefined));

  test('targets added from chat are saved to disk with source chat; from the CLI with source api', async () => {
    assert.equal(h.app.monitor.get('web').source, 'chat');
    await h.run('add clitarget 10.1.1.1', { platform: 'cli', id: 'me', admin: true });
    assert.equal(h.app.monitor.get('clitarget').source, 'api');
    assert.ok(h.app.store.data.targets.some((t) => t.name === 'web'));
  });

  test('the push URL reply is ephemeral', async () => {
    const { reply } = await h.run('add beat2 push');
    assert.equal(reply.ephemeral, true);
  });
});

describe('edit', () => {
  const cases: Case[] = [
    {
      name: 'changes are listed as before → after',
      text: 'edit portal interval=60 keyword="ok"',
      severity: 'ok',
      says: ['Updated portal', 'interval: 30s → 1m', 'keyword: (not set) → ok'],
      changes: true,
    },
    {
      name: 'a shorter interval pulls the timeout down and says so',
      text: 'edit portal interval=5',
      severity: 'ok',
      says: ['interval: 1m → 5s', 'timeout: 10s → 5s'],
    },
    {
      name: 'names are case-insensitive',
      text: 'edit PORTAL tags=prod,web',
      severity: 'ok',
      says: ['tags: (none) → prod, web'],
    },
    {
      name: 'a typo in the name gets a suggestion',
      text: 'edit portl interval=30',
      severity: 'error',
      says: ['no target "portl" — did you mean "portal"?'],
    },
    {
      name: 'a setting written as two words is corrected',
      text: 'edit portal interval 30',
      severity: 'error',
      says: ['write settings as key=value, e.g. interval=30. Example: /edit web interval=30'],
    },
    {
      name: 'nothing to change',
      text: 'edit portal',
      severity: 'error',
      says: [
        'nothing to change: give settings as key=value, e.g. interval=30',
        'Usage: /edit <name> key=value …',
      ],
    },
    {
      name: 'renames are refused with the way to do it',
      text: 'edit portal name=portal2',
      severity: 'error',
      says: ['a target cannot be renamed; remove it and add it again'],
    },
    {
      name: 'a bad value',
      text: 'edit portal failThreshold=0',
      severity: 'error',
      says: ['failThreshold must be at least 1 (got 0). Example: /edit web interval=30'],
    },
    {
      name: 'an inconsistent combination',
      text: 'edit portal timeout=30 interval=10',
      severity: 'error',
      says: ['timeout (30s) must not be longer than interval (10s)'],
    },
    {
      name: 'a dependency cycle',
      text: 'edit router dependsOn=portal',
      severity: 'error',
      says: ['dependsOn would make a cycle (router → portal → router)'],
    },
    {
      name: 'non-admins are refused',
      text: 'edit portal interval=300',
      as: USER,
      severity: 'error',
      says: ['only admins can run edit'],
    },
  ];
  for (const c of cases) test(c.name, () => runCase(h, c).then(() => undefined));
});

describe('remove', () => {
  const cases: Case[] = [
    {
      name: 'without confirm it only asks, with a confirm button, and says the history goes too',
      text: 'remove spare',
      severity: 'warning',
      says: [
        'Remove spare?',
        'all its history',
        'It cannot be undone.',
        'To go ahead: remove spare confirm',
        '[Remove spare] → remove spare confirm',
      ],
      changes: false,
    },
    {
      name: 'non-admins cannot even ask',
      text: 'remove spare confirm',
      as: USER,
      severity: 'error',
      says: ['only admins can run remove'],
    },
    {
      name: 'a parent with dependents is refused up front',
      text: 'remove router',
      severity: 'error',
      says: ['portal depends on router; edit them first (dependsOn=)'],
    },
    {
      name: 'a typo gets a suggestion',
      text: 'remove spaer confirm',
      severity: 'error',
      says: ['no target "spaer" — did you mean "spare"?'],
    },
    {
      name: 'anything but confirm as second word',
      text: 'remove spare yes',
      severity: 'error',
      says: ['confirm must be confirm (got "yes")'],
    },
    {
      name: 'confirm removes it',
      text: 'remove spare confirm',
      severity: 'ok',
      says: ['Removed spare', 'its history is gone too.'],
      changes: true,
    },
  ];
  for (const c of cases) test(c.name, () => runCase(h, c).then(() => undefined));

  test('the confirm button carries the action that removes it, run through dispatch like typed text', async () => {
    await h.run('add temp 10.0.0.7');
    const ask = await h.run('remove temp');
    const button = ask.reply.buttons?.[0];
    assert.equal(button?.action, 'remove temp confirm');
    assert.equal(button?.style, 'danger');
    const refused = await h.run(button.action, USER);
    assert.equal(refused.reply.severity, 'error');
    assert.ok(h.app.monitor.find('temp'));
    await h.run(button.action, ADMIN);
    assert.equal(h.app.monitor.find('temp'), undefined);
  });
});
