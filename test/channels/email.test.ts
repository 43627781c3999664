import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import {
  createEmailChannel,
  emailMessageId,
  renderEmail,
  validateEmailOptions,
} from '../../src/channels/email.js';
import type { EmailOptions } from '../../src/channels/email.js';
import type { Channel } from '../../src/channels/types.js';
import { ConfigError, DeliveryError } from '../../src/core/errors.js';
import type { AlertMessage } from '../../src/core/message.js';
import { startSmtpServer } from '../helpers/smtp.js';
import type { ReceivedMail, TestSmtpServer } from '../helpers/smtp.js';

const AT = Date.UTC(2025, 2, 14, 9, 30, 0);

function down(overrides: Partial<AlertMessage> = {}): AlertMessage {
  return {
    id: 'alert-down-1',
    kind: 'down',
    severity: 'critical',
    title: 'DOWN portal — HTTP 500',
    lines: ['GET https://portal.example.net/health answered 500 three times in a row.'],
    fields: [
      { label: 'Address', value: 'https://portal.example.net/health' },
      { label: 'Status', value: '500' },
    ],
    at: AT,
    target: 'portal',
    address: 'https://portal.example.net/health',
    incidentId: 'inc-1',
    threadRoot: true,
    buttons: [
      { id: 'ack', label: 'Acknowledge', action: 'ack portal' },
      { id: 'pause', label: 'Pause 1h', action: 'pause portal 1h' },
    ],
    route: { email: ['customer@example.org', 'NOC@example.net'] },
    ...overrides,
  };
}

function recovered(overrides: Partial<AlertMessage> = {}): AlertMessage {
  return down({
    id: 'alert-recovered-1',
    kind: 'recovered',
    severity: 'ok',
    title: 'RECOVERED portal — down for 14m',
    lines: ['portal answers again.'],
    fields: [{ label: 'Downtime', value: '14m' }],
    threadRoot: false,
    buttons: [],
    resolvedNote: 'resolved after 14m',
    ...overrides,
  });
}

/** What a reader sees of an HTML body: tags gone, entities decoded. */
function visibleText(html: string): string {
  return html
    .replace(/<title>[\s\S]*?<\/title>/g, '')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

async function rejection(p: Promise<unknown>): Promise<DeliveryError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof DeliveryError, `expected a DeliveryError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the send to fail');
}

/** Everything about an error that could reach a log line. */
function everythingSaid(err: Error): string {
  const cause = err.cause instanceof Error ? `${err.cause.message} ${JSON.stringify(err.cause)}` : '';
  return `${err.message} ${err.stack ?? ''} ${JSON.stringify(err)} ${cause}`;
}

describe('renderEmail', () => {
  const subjects: [string, Partial<AlertMessage>, string][] = [
    ['a DOWN', {}, '[DOWN] portal — HTTP 500'],
    [
      'a RECOVERED',
      { kind: 'recovered', title: 'RECOVERED portal — down for 14m' },
      '[RECOVERED] portal — down for 14m',
    ],
    [
      'a warning',
      { kind: 'warning', title: 'WARNING portal — certificate expires in 7 days' },
      '[WARNING] portal — certificate expires in 7 days',
    ],
    ['a reminder', { kind: 'reminder', title: 'STILL DOWN portal — for 2h' }, '[STILL DOWN] portal — for 2h'],
    [
      'a title without a state word',
      { kind: 'warning', title: 'portal certificate expires in 7 days' },
      '[WARNING] portal certificate expires in 7 days',
    ],
    [
      'a target whose name starts like a state word',
      { title: 'DOWN down-detector — timeout' },
      '[DOWN] down-detector — timeout',
    ],
    [
      'a lower-case first word',
      { title: 'down for maintenance: portal' },
      '[DOWN] down for maintenance: portal',
    ],
    ['a multi-line title', { title: 'DOWN portal\n— HTTP 500' }, '[DOWN] portal — HTTP 500'],
    [
      'a probe offline',
      { kind: 'probe-offline', title: 'PROBE OFFLINE: uplink lost' },
      '[PROBE OFFLINE] uplink lost',
    ],
  ];
  for (const [name, overrides, expected] of subjects) {
    it(`tags the subject of ${name} without repeating the state word`, () => {
      assert.equal(renderEmail(down(overrides)).subject, expected);
    });
  }

  it('writes the title, lines, fields and the commands behind the buttons into the text body', () => {
    const { text } = renderEmail(down());
    const lines = text.split('\n');
    assert.equal(lines[0], 'DOWN portal — HTTP 500');
    assert.ok(lines.includes('GET https://portal.example.net/health answered 500 three times in a row.'));
    assert.ok(lines.includes('Address: https://portal.example.net/health'));
    assert.ok(lines.includes('Status: 500'));
    assert.ok(lines.includes('  Acknowledge: ack portal'));
    assert.ok(lines.includes('  Pause 1h: pause portal 1h'));
    assert.match(text, /send the command to Lookout in chat \(\/ack portal; on Slack \/lookout ack portal\)/);
  });

  it('shows title, lines, fields and commands in the HTML body', () => {
    const seen = visibleText(renderEmail(down()).html);
    for (const expected of [
      'DOWN',
      'portal — HTTP 500',
      'answered 500 three times in a row.',
      'Address https://portal.example.net/health',
      'Status 500',
      'Acknowledge ack portal',
    ]) {
      assert.ok(seen.includes(expected), `HTML shows "${expected}" in: ${seen}`);
    }
  });

  it('escapes markup in every string, so it reads literally instead of running', () => {
    const msg = down({
      title: 'DOWN <script>alert(1)</script> & "co"',
      lines: ['body <b>bold</b> & <img src=x onerror=alert(2)>'],
      fields: [{ label: "it's <i>", value: 'a & b <b>c</b> "d"' }],
      buttons: [{ id: 'ack', label: 'Ack <u>', action: 'ack <script>' }],
    });
    const { html, text } = renderEmail(msg);
    assert.doesNotMatch(html, /<script|<b>|<i>|<u>|<img/);
    const seen = visibleText(html);
    assert.ok(seen.includes('<script>alert(1)</script> & "co"'));
    assert.ok(seen.includes('body <b>bold</b> & <img src=x onerror=alert(2)>'));
    assert.ok(seen.includes(`it's <i> a & b <b>c</b> "d"`));
    assert.ok(seen.includes('Ack <u> ack <script>'));
    // The plain-text part is not markup: it shows the same strings untouched.
    assert.ok(text.includes('body <b>bold</b> & <img src=x onerror=alert(2)>'));
  });

  it('colours the alert by severity', () => {
    const accent = (m: AlertMessage): string =>
      /border-top:6px solid (#[0-9a-f]{6})/.exec(renderEmail(m).html)?.[1] ?? '';
    const critical = accent(down());
    const ok = accent(recovered());
    const warning = accent(down({ kind: 'warning', severity: 'warning' }));
    const info = accent(down({ kind: 'digest', severity: 'info' }));
    assert.equal(new Set([critical, ok, warning, info]).size, 4);
    assert.equal(critical, '#c5221f');
    assert.equal(ok, '#137333');
  });

  it('loads nothing from the network and needs no <style> block', () => {
    const { html } = renderEmail(down());
    assert.doesNotMatch(html, /<img|<link|<style|url\(|src=/i);
  });

  it('leaves out the action hints when the alert has no buttons', () => {
    const { text, html } = renderEmail(recovered());
    assert.doesNotMatch(text, /act on this alert/);
    assert.doesNotMatch(html, /act on this alert/);
  });
});

describe('validateEmailOptions', () => {
  const good: EmailOptions = {
    smtpUrl: 'smtp://lookout:hunter2@mail.example.net:587',
    from: 'Lookout <lookout@example.net>',
    to: ['noc@example.net'],
  };

  const bad: [string, Partial<EmailOptions>, string][] = [
    ['an http URL', { smtpUrl: 'http://lookout:hunter2@mail.example.net' }, 'SMTP_URL'],
    ['a bare host', { smtpUrl: 'mail.example.net:587' }, 'SMTP_URL'],
    ['a URL without scheme', { smtpUrl: 'hunter2:hunter2@mail.example.net:587' }, 'SMTP_URL'],
    ['garbage', { smtpUrl: 'not a url at all hunter2' }, 'SMTP_URL'],
    ['a URL without host', { smtpUrl: 'smtp://' }, 'SMTP_URL'],
    [
      'an unencoded slash in the password',
      { smtpUrl: 'smtp://lookout:hun/ter2@mail.example.net' },
      'SMTP_URL',
    ],
    ['a sender without domain', { from: 'lookout' }, 'EMAIL_FROM'],
    ['a sender with a header break', { from: 'lookout@example.net\r\nBcc: x@evil.test' }, 'EMAIL_FROM'],
    ['a recipient list with a bad entry', { to: ['noc@example.net', 'ops at example.net'] }, 'EMAIL_TO'],
  ];
  for (const [name, overrides, key] of bad) {
    it(`refuses ${name} naming ${key}, without echoing the password`, () => {
      assert.throws(
        () => validateEmailOptions({ ...good, ...overrides }),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.equal(err.key, key);
          assert.ok(err.message.startsWith(`${key}: `));
          assert.ok(!err.message.includes('hunter2'), err.message);
          return true;
        },
      );
    });
  }

  it('accepts smtp and smtps URLs, named senders and an empty EMAIL_TO', () => {
    assert.doesNotThrow(() =>
      validateEmailOptions({ ...good, smtpUrl: 'smtps://u:p%40ss@smtp.example.net:465' }),
    );
    assert.doesNotThrow(() => validateEmailOptions({ ...good, from: 'lookout@example.net', to: [] }));
  });

  it('trims the values', () => {
    const v = validateEmailOptions({ ...good, smtpUrl: ` ${good.smtpUrl}\n`, to: [' noc@example.net ', ''] });
    assert.equal(v.smtpUrl, good.smtpUrl);
    assert.deepEqual(v.to, ['noc@example.net']);
  });

  it('is what createEmailChannel runs first', () => {
    assert.throws(() => createEmailChannel({ ...good, smtpUrl: 'https://x' }), ConfigError);
  });
});

describe('email channel against a real SMTP server', () => {
  let smtp: TestSmtpServer;
  const channels: Channel[] = [];

  const channel = (overrides: Partial<EmailOptions> = {}): Channel => {
    const c = createEmailChannel({
      smtpUrl: smtp.url(),
      from: 'Lookout <lookout@example.net>',
      to: ['noc@example.net', 'ops@example.net'],
      hostname: 'probe.example.net',
      transportOptions: { connectionTimeout: 2_000, greetingTimeout: 2_000, socketTimeout: 5_000 },
      ...overrides,
    });
    channels.push(c);
    return c;
  };

  const only = (): ReceivedMail => {
    assert.equal(smtp.messages.length, 1, 'exactly one message received');
    const m = smtp.messages[0];
    assert.ok(m);
    return m;
  };

  before(async () => {
    smtp = await startSmtpServer();
  });
  afterEach(async () => {
    await Promise.all(channels.splice(0).map((c) => c.close?.()));
    smtp.reset();
    await smtp.start();
  });
  after(async () => {
    await smtp.stop();
  });

  it('delivers a DOWN to EMAIL_TO and the target recipients, once each, with text and HTML', async () => {
    const refs = await channel().send(down(), {});
    const mail = only();

    assert.deepEqual(mail.envelope.to, ['noc@example.net', 'ops@example.net', 'customer@example.org']);
    assert.deepEqual(mail.parsed.to, ['noc@example.net', 'ops@example.net', 'customer@example.org']);
    assert.equal(mail.envelope.from, 'lookout@example.net');
    assert.equal(mail.parsed.subject, '[DOWN] portal — HTTP 500');
    assert.match(mail.parsed.text ?? '', /^DOWN portal — HTTP 500\n/);
    assert.match(mail.parsed.text ?? '', /\nStatus: 500\n/);
    assert.ok(visibleText(mail.parsed.html ?? '').includes('portal — HTTP 500'));
    assert.equal(mail.parsed.headers.get('auto-submitted')?.[0], 'auto-generated');
    assert.equal(mail.parsed.headers.get('x-lookout-target')?.[0], 'portal');

    assert.deepEqual(refs, [
      {
        id: '<lookout.alert-down-1@probe.example.net>',
        to: 'noc@example.net,ops@example.net,customer@example.org',
      },
    ]);
    assert.equal(mail.parsed.messageId, refs[0]?.id);
    assert.equal(mail.parsed.inReplyTo, undefined);
  });

  it('threads the RECOVERED under the DOWN it belongs to', async () => {
    const ch = channel();
    const root = await ch.send(down(), {});
    await ch.send(recovered(), { root });

    assert.equal(smtp.messages.length, 2);
    const [first, second] = smtp.messages;
    assert.ok(first && second);
    assert.equal(second.parsed.subject, '[RECOVERED] portal — down for 14m');
    assert.equal(second.parsed.inReplyTo, first.parsed.messageId);
    assert.deepEqual(second.parsed.references, [first.parsed.messageId]);
    assert.notEqual(second.parsed.messageId, first.parsed.messageId);
  });

  it('sends a retried alert with the same Message-ID, so clients show it once', async () => {
    const ch = channel();
    await ch.send(down(), {});
    await ch.send(down(), {});
    const [a, b] = smtp.messages;
    assert.ok(a && b);
    assert.equal(a.parsed.messageId, b.parsed.messageId);
    assert.equal(a.parsed.messageId, emailMessageId('alert-down-1', 'probe.example.net'));
  });

  it('keeps odd message ids valid in the Message-ID', () => {
    assert.equal(emailMessageId('down:portal/1.2 é', 'pi'), '<lookout.down%3Aportal%2F1%2E2%20%C3%A9@pi>');
    assert.equal(emailMessageId('x', 'bad host_name!'), '<lookout.x@badhostname>');
  });

  it('sends nothing when there is nobody to send to', async () => {
    const refs = await channel({ to: [] }).send(down({ route: {} }), {});
    assert.deepEqual(refs, []);
    assert.equal(smtp.messages.length, 0);
  });

  it('reports an unreachable server as a temporary failure, and delivers once it is back', async () => {
    const ch = channel();
    await smtp.stop();
    const err = await rejection(ch.send(down(), {}));
    assert.equal(err.permanent, false);
    assert.match(err.message, /cannot talk to the SMTP server at 127\.0\.0\.1:\d+/);
    assert.match(err.message, /ECONNREFUSED/);

    await smtp.start();
    const refs = await ch.send(down(), {});
    assert.equal(only().parsed.messageId, refs[0]?.id);
  });

  it('reports a server that never greets as a temporary failure', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((s) => sockets.add(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = silent.address() as AddressInfo;
      const ch = channel({
        smtpUrl: `smtp://127.0.0.1:${port}`,
        transportOptions: { greetingTimeout: 200, connectionTimeout: 1_000 },
      });
      const err = await rejection(ch.send(down(), {}));
      assert.equal(err.permanent, false);
      assert.match(err.message, /did not answer in time/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('reports a wrong password as permanent and names SMTP_URL', async () => {
    smtp.requireAuth({ users: { lookout: 'right-password' } });
    const err = await rejection(
      channel({ smtpUrl: smtp.url({ user: 'lookout', pass: 'wrong-password' }) }).send(down(), {}),
    );
    assert.equal(err.permanent, true);
    assert.match(err.message, /rejected the login; check the user and password in SMTP_URL/);
    assert.match(err.message, /535/);
    assert.equal(smtp.messages.length, 0);
  });

  it('logs in with the credentials from SMTP_URL', async () => {
    smtp.requireAuth({ users: { lookout: 'p@ss:w/rd' } });
    await channel({ smtpUrl: smtp.url({ user: 'lookout', pass: 'p@ss:w/rd' }) }).send(down(), {});
    assert.equal(only().user, 'lookout');
  });

  it('reports a missing login as permanent', async () => {
    smtp.requireAuth({ users: { lookout: 'right-password' } });
    const err = await rejection(channel().send(down(), {}));
    assert.equal(err.permanent, true);
    assert.match(err.message, /requires a login; put user:password in SMTP_URL/);
  });

  it('never repeats the password, even when the server echoes it back', async () => {
    const pass = 'Sup3r/S3cret:p@ss';
    smtp.requireAuth({
      users: { lookout: 'something-else' },
      failureText: (a) =>
        `No: ${a.password ?? ''} ${Buffer.from(`\u0000lookout\u0000${a.password ?? ''}`).toString('base64')} ` +
        `${encodeURIComponent(a.password ?? '')}`,
    });
    const url = smtp.url({ user: 'lookout', pass });
    const authErr = await rejection(channel({ smtpUrl: url }).send(down(), {}));

    await smtp.stop();
    const downErr = await rejection(channel({ smtpUrl: url }).send(down(), {}));

    for (const err of [authErr, downErr]) {
      const said = everythingSaid(err);
      for (const form of [
        pass,
        encodeURIComponent(pass),
        Buffer.from(pass).toString('base64'),
        Buffer.from(`\u0000lookout\u0000${pass}`).toString('base64'),
        url,
      ]) {
        assert.ok(!said.includes(form), `"${form}" leaked in: ${said}`);
      }
    }
    assert.match(authErr.message, /No: \*\*\*/);
  });

  it('reports every recipient rejected as permanent, naming them', async () => {
    smtp.rejectRecipients(() => true, 550);
    const err = await rejection(channel().send(down({ route: {} }), {}));
    assert.equal(err.permanent, true);
    assert.match(err.message, /rejected every recipient \(noc@example\.net, ops@example\.net\)/);
  });

  it('reports recipients deferred with 4xx (greylisting) as temporary', async () => {
    smtp.rejectRecipients(() => true, 450);
    const err = await rejection(channel().send(down(), {}));
    assert.equal(err.permanent, false);
    assert.match(err.message, /deferred the message/);
  });

  it('still delivers to the others when one recipient is rejected', async () => {
    smtp.rejectRecipients(['customer@example.org']);
    const refs = await channel().send(down(), {});
    assert.equal(refs.length, 1);
    assert.deepEqual(only().envelope.to, ['noc@example.net', 'ops@example.net']);
  });

  it('reports a refused sender as permanent and names EMAIL_FROM', async () => {
    smtp.rejectSender(553);
    const err = await rejection(channel().send(down(), {}));
    assert.equal(err.permanent, true);
    assert.match(err.message, /refused the sender; check EMAIL_FROM/);
  });

  it('skips a malformed per-target address instead of failing everyone', async () => {
    await channel().send(down({ route: { email: ['not-an-address', 'customer@example.org'] } }), {});
    assert.deepEqual(only().envelope.to, ['noc@example.net', 'ops@example.net', 'customer@example.org']);
  });

  it('refuses to send after close, as a temporary failure', async () => {
    const ch = channel();
    await ch.send(down(), {});
    await ch.close?.();
    const err = await rejection(ch.send(down(), {}));
    assert.equal(err.permanent, false);
  });
});
