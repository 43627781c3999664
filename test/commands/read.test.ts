/** list, status, uptime, history: open to everyone, never change anything. */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { USER, harness, runCase } from './harness.js';
import type { Case, Harness } from './harness.js';

let h: Harness;
before(async () => {
  h = await harness();
  await h.run('add web https://example.com tags=prod');
  await h.run('add router 10.0.0.1');
  await h.run('add db db.example.net:5432 tags=prod');
  // An hour of checks: web fine (10–19 ms), router fine until it stops answering.
  for (let i = 0; i < 60; i++) {
    h.clock.t += 60e3;
    h.feed('web', true, 10 + (i % 10));
    h.feed('router', true, 2);
  }
  h.down('router', 'no reply from 10.0.0.1 to 3 pings within 10s');
  h.clock.t += 10 * 60e3;
});
after(() => h.close());

// Read-only commands: the store must not change, whoever asks (changes: false).
const ro = (c: Case): Case => ({ as: USER, changes: false, ...c });

describe('list', () => {
  const cases: Case[] = [
    {
      name: 'a table of every target with state, uptime 24h and latency',
      text: 'list',
      severity: 'critical',
      says: [
        '3 targets, 1 down',
        /name\s+state\s+uptime 24h\s+latency/,
        /db\s+unknown\s+no data\s+—/,
        /router\s+DOWN 10m\s+86\.11%\s+2 ms/,
        /web\s+up 1h 12m\s+100%\s+14 ms/,
      ],
    },
    {
      name: 'filtered by tag, any case',
      text: 'list PROD',
      severity: 'ok',
      says: ['2 targets tagged prod', /db\s+unknown/, /web\s+up/],
      not: ['router'],
    },
    {
      name: 'an unknown tag lists the tags in use',
      text: 'list nope',
      says: ['No targets tagged "nope"', 'tags in use: prod'],
    },
    {
      name: 'too many words',
      text: 'list prod extra',
      severity: 'error',
      says: ['unexpected "extra"', 'Usage: /list [tag]'],
    },
    {
      name: 'settings are not accepted',
      text: 'list interval=5',
      severity: 'error',
      says: ['list takes no key=value settings (got "interval=5")'],
    },
  ];
  for (const c of cases) test(c.name, () => runCase(h, ro(c)).then(() => undefined));
});

describe('status', () => {
  const cases: Case[] = [
    {
      name: 'the summary counts states and names what is down',
      text: 'status',
      severity: 'critical',
      says: [
        '3 targets: 1 up, 1 down, 1 unknown',
        'router is down for 10m: no reply from 10.0.0.1 to 3 pings within 10s',
        /open incidents: 1/,
      ],
    },
    {
      name: 'a DOWN target in detail with its incident and buttons',
      text: 'status Router',
      severity: 'critical',
      says: [
        'router is DOWN',
        'incident open since 2024-05-01 13:03 UTC (10m), not acknowledged',
        /state:\s+DOWN 10m/,
        /uptime 24h:\s+86\.11%/,
        /latency 24h:\s+p50 2 ms \/ p95 2 ms/,
        '[Acknowledge] → ack router',
        '[Pause 1h] → pause router 1h',
      ],
    },
    {
      name: 'an UP target in detail',
      text: '/status@lookout_bot web',
      severity: 'ok',
      says: [
        'web is up',
        /last check:\s+19 ms, 13m ago/,
        /latency 24h:\s+p50 14 ms \/ p95 19 ms/,
        /tags:\s+prod/,
      ],
      not: ['Acknowledge'],
    },
    {
      name: 'a target never checked',
      text: 'status db',
      severity: 'info',
      says: ['db: waiting for its first check', /last check:\s+none yet/],
    },
    {
      name: 'a typo gets a suggestion',
      text: 'status rooter',
      severity: 'error',
      says: ['no target "rooter" — did you mean "router"?'],
    },
    {
      name: 'a name nothing resembles',
      text: 'status zzzzzz',
      severity: 'error',
      says: ['no target "zzzzzz"'],
      not: ['did you mean'],
    },
  ];
  for (const c of cases) test(c.name, () => runCase(h, ro(c)).then(() => undefined));
});

describe('uptime', () => {
  const cases: Case[] = [
    {
      name: 'one target over the default 24h',
      text: 'uptime web',
      severity: 'ok',
      says: [
        'web uptime, last 24h: 100%',
        /downtime:\s+0s/,
        /incidents:\s+0/,
        /latency:\s+p50 14 ms \/ p95 19 ms/,
        /checks:\s+60/,
      ],
    },
    {
      name: 'one target over 7d, with the open incident and failed checks',
      text: 'uptime router 7d',
      severity: 'critical',
      says: [
        'router uptime, last 7d: 86.11%',
        /downtime:\s+10m/,
        /incidents:\s+1 \(1 open\)/,
        /checks:\s+63 \(3 failed\)/,
      ],
    },
    {
      name: 'a period alone means every target',
      text: 'uptime 30d',
      says: ['Uptime, last 30d', /router\s+86\.11%\s+10m\s+1\s+p50 2 ms \/ p95 2 ms/, /db\s+no data\s+—\s+0/],
    },
    { name: 'named periods', text: 'uptime web week', says: ['web uptime, last 7d'] },
    {
      name: 'a period that is not one',
      text: 'uptime web 5m',
      severity: 'error',
      says: ['period must be 24h, 7d, 30d or 90d (got "5m"). Example: /uptime portal 7d'],
    },
    {
      name: 'a typo in the name',
      text: 'uptime wbe 7d',
      severity: 'error',
      says: ['no target "wbe" — did you mean "web"?'],
    },
  ];
  for (const c of cases) test(c.name, () => runCase(h, ro(c)).then(() => undefined));
});

describe('history', () => {
  const cases: Case[] = [
    {
      name: 'csv by default',
      text: 'history web',
      says: [
        'web history, last 24h',
        '60 samples and 0 incidents, attached as web-history-24h-20240501-1313.csv',
      ],
    },
    {
      name: 'json over 7d',
      text: 'history router 7d json',
      says: ['63 samples and 1 incident, attached as router-history-7d-20240501-1313.json'],
    },
    {
      name: 'the format without a period',
      text: 'history router JSON',
      says: ['router-history-24h-20240501-1313.json'],
    },
    {
      name: 'the name is required',
      text: 'history',
      severity: 'error',
      says: ['missing <name>', 'Usage: /history <name> [period] [csv|json]'],
    },
    {
      name: 'an unknown format',
      text: 'history web 7d xml',
      severity: 'error',
      says: ['format must be csv or json (got "xml")'],
    },
  ];
  for (const c of cases) test(c.name, () => runCase(h, ro(c)).then(() => undefined));

  test('the CSV holds the samples and the incident, one row each, spreadsheet-safe', async () => {
    const { reply } = await h.run('history router 7d csv', USER);
    const a = reply.attachment;
    assert.ok(a);
    assert.equal(a.mime, 'text/csv; charset=utf-8');
    const rows = a.data.trim().split('\r\n');
    assert.equal(
      rows[0],
      'time,type,ok,ms,code,checks,failures,uptime,downtime_s,paused_s,min_ms,avg_ms,max_ms,p50_ms,p95_ms,end,cause,acked_by',
    );
    assert.equal(rows.filter((r) => r.includes(',sample,')).length, 63);
    const incident = rows.find((r) => r.includes(',incident,'));
    assert.equal(
      incident,
      '2024-05-01T13:03:00.000Z,incident,,,http_status,,,,,,,,,,,,no reply from 10.0.0.1 to 3 pings within 10s,',
    );
    assert.ok(rows.includes('2024-05-01T13:03:00.000Z,sample,false,30,http_status,,,,,,,,,,,,,'));
  });

  test('the JSON export parses and names the resolution', async () => {
    const { reply } = await h.run('history router 7d json', USER);
    const doc = JSON.parse(reply.attachment?.data ?? '') as {
      target: string;
      resolution: string;
      rows: unknown[];
      incidents: Array<{ cause: string; end: null }>;
    };
    assert.equal(doc.target, 'router');
    assert.equal(doc.resolution, 'sample');
    assert.equal(doc.rows.length, 63);
    assert.equal(doc.incidents[0]?.cause, 'no reply from 10.0.0.1 to 3 pings within 10s');
    assert.equal(doc.incidents[0]?.end, null);
  });
});
