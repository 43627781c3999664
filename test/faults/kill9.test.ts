/**
 * kill -9 at 50 random moments during mixed load — targets added through the API,
 * heartbeats flipping push targets down and up (so alerts are made and queued),
 * an SMTP server receiving them — then a last restart: the data file always
 * parses, no acknowledged target is lost, and every queued alert is delivered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSmtpServer } from '../helpers/smtp.js';
import { startLookout } from '../helpers/proc.js';
import type { Running } from '../helpers/proc.js';
import { prng } from '../helpers/prng.js';
import { emailMessageId } from '../../src/channels/email.js';

const TOKEN = 'kill9-token-0123456789abcdef';
const KILLS = Number(process.env.KILLS ?? 50);

interface Outbox {
  outbox: Array<{ channel: string; status: string; msg: { id: string } }>;
}

test(
  '50 kill -9 during mixed load: file parses, 0 acknowledged changes lost, every queued alert delivered',
  { timeout: 400_000 },
  async (t) => {
    const smtp = await startSmtpServer();
    t.after(() => smtp.stop());
    const dataDir = await mkdtemp(join(tmpdir(), 'lookout-kill9-'));
    const env = {
      DATA_DIR: dataDir,
      API_TOKEN: TOKEN,
      SMTP_URL: smtp.url(),
      EMAIL_FROM: 'lookout@example.net',
      EMAIL_TO: 'noc@example.net',
    };
    const rnd = prng(9);
    const post = (lk: Running, path: string, body: unknown) =>
      fetch(`${lk.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    // Push targets whose heartbeats the test controls: each beat can flip one down or up at once.
    let lk = await startLookout(env);
    const pushes: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await post(lk, '/api/targets', {
        name: `job${i}`,
        kind: 'push',
        interval: 3600,
        failThreshold: 1,
      });
      pushes.push(new URL(((await res.json()) as { pushUrl: string }).pushUrl).pathname);
    }
    const acked = new Set<string>();
    let added = 0;
    for (let k = 0; k < KILLS; k++) {
      // Mostly short runs; every tenth lasts past the 2 s group wait, so alerts are queued and then killed mid-delivery.
      const until = Date.now() + (k % 10 === 9 ? 2500 + rnd() * 1000 : 150 + rnd() * 900);
      const load: Promise<void>[] = [];
      for (let w = 0; w < 3; w++)
        load.push(
          (async () => {
            while (Date.now() < until) {
              try {
                if (rnd() < 0.5) {
                  const name = `t${added++}`;
                  const res = await post(lk, '/api/targets', {
                    name,
                    address: `127.0.0.1:${1 + (added % 60000)}`,
                    interval: 3600,
                  });
                  if (res.status === 201) acked.add(name);
                } else {
                  const path = pushes[Math.floor(rnd() * pushes.length)] as string;
                  await fetch(`${lk.url}${path}?status=${rnd() < 0.5 ? 'down' : 'up'}`);
                }
              } catch {
                return; // killed mid-request
              }
            }
          })(),
        );
      await new Promise((r) => setTimeout(r, until - Date.now()));
      await lk.kill9();
      await Promise.all(load);
      JSON.parse(await readFile(join(dataDir, 'lookout.json'), 'utf8'));
      lk = await startLookout(env); // refuses to start on a damaged file
    }

    // The last run: one more alert for sure, then let the outbox drain.
    await fetch(`${lk.url}${pushes[0] as string}?status=down`);
    await new Promise((r) => setTimeout(r, 2500));
    const pending = async () =>
      ((JSON.parse(await readFile(join(dataDir, 'lookout.json'), 'utf8')) as Outbox).outbox ?? []).filter(
        (e) => e.status === 'pending',
      ).length;
    for (let i = 0; i < 150 && (await pending()) > 0; i++) await new Promise((r) => setTimeout(r, 200));
    const { targets } = (await (await fetch(`${lk.url}/api/targets`)).json()) as {
      targets: Array<{ name: string }>;
    };
    assert.equal(await lk.stop(), 0);

    const have = new Set(targets.map((x) => x.name));
    assert.deepEqual(
      [...acked].filter((n) => !have.has(n)),
      [],
      'every acknowledged add survived',
    );
    const data = JSON.parse(await readFile(join(dataDir, 'lookout.json'), 'utf8')) as Outbox;
    const emails = data.outbox.filter((e) => e.channel === 'email');
    assert.equal(emails.filter((e) => e.status === 'pending').length, 0, 'nothing left in the outbox');
    assert.ok(emails.length > 0, 'alerts were made and queued');
    const received = new Map<string, number>();
    for (const m of smtp.messages) {
      const id = m.parsed.messageId ?? '';
      received.set(id, (received.get(id) ?? 0) + 1);
    }
    for (const e of emails.filter((x) => x.status === 'sent'))
      assert.ok(
        received.has(emailMessageId(e.msg.id, 'example.net')),
        `alert ${e.msg.id} reached the mail server`,
      );
    // The documented window (a kill between the server accepting and the "sent" mark reaching disk)
    // may repeat a message, always with the same Message-ID, so mail clients show it once.
    const repeats = [...received.values()].filter((n) => n > 1).length;
    assert.ok(repeats <= 2, `${repeats} messages repeated`);
    t.diagnostic(
      `${acked.size} adds acknowledged, ${emails.length} email alerts, ${smtp.messages.length} mails, ${repeats} repeated`,
    );
  },
);
