/**
 * Email alert channel: renders an AlertMessage as a plain-text + HTML email and
 * sends it over SMTP with nodemailer, threading a recovery under its DOWN.
 */
import { hostname as osHostname } from 'node:os';
import type { NodemailerError, SendMailOptions, SMTPTransportOptions, Transporter } from 'nodemailer';
import { ConfigError, DeliveryError } from '../core/errors.js';
import type { AlertKind, AlertMessage, Severity } from '../core/message.js';
import type { Channel, DeliveryContext, SentRef } from './types.js';

/** Connection settings handed to nodemailer as they are; `SMTP_URL` query options win over them. */
export type EmailTransportOptions = Pick<
  SMTPTransportOptions,
  | 'connectionTimeout'
  | 'greetingTimeout'
  | 'socketTimeout'
  | 'dnsTimeout'
  | 'tls'
  | 'requireTLS'
  | 'ignoreTLS'
  | 'logger'
  | 'debug'
>;

export interface EmailOptions {
  /** `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://user:pass@host:465`; special characters in the password percent-encoded. */
  smtpUrl: string;
  /** Sender, `lookout@example.net` or `Lookout <lookout@example.net>`. */
  from: string;
  /** Recipients of every alert (`EMAIL_TO`); may be empty when targets name their own. */
  to: string[];
  /** Default: connection and greeting timeouts 10 s, socket timeout 20 s. */
  transportOptions?: EmailTransportOptions;
  /** Right-hand side of Message-IDs and the EHLO name. Default: `os.hostname()`. */
  hostname?: string;
}

// nodemailer's defaults (2 min connect, 10 min idle) would hold an alert for minutes
// behind a dead relay; the outbox retries with backoff, so failing fast is cheaper.
const DEFAULT_TRANSPORT: EmailTransportOptions = {
  connectionTimeout: 10_000,
  greetingTimeout: 10_000,
  socketTimeout: 20_000,
  dnsTimeout: 10_000,
};

const TAGS = {
  down: 'DOWN',
  recovered: 'RECOVERED',
  reminder: 'STILL DOWN',
  flapping: 'FLAPPING',
  stable: 'STABLE',
  warning: 'WARNING',
  'probe-offline': 'PROBE OFFLINE',
  digest: 'DIGEST',
  speedtest: 'SPEED TEST',
} satisfies Record<AlertKind, string>;

// Titles are written for chat and start with their own state word (`DOWN portal — …`);
// the subject tag already says it, so one of these leading upper-case words is dropped.
// Upper case only, so a target called `down-detector` or a sentence keeps its words.
const STATE_WORDS = [...new Set([...Object.values(TAGS), 'UP', 'REMINDER', 'RECOVERY', 'SPEEDTEST'])].sort(
  (a, b) => b.length - a.length,
);
const LEADING_STATE_WORD = new RegExp(`^(?:${STATE_WORDS.join('|')})(?::\\s*|\\s+)`);

interface Palette {
  accent: string;
  tint: string;
}

const PALETTE = {
  critical: { accent: '#c5221f', tint: '#fce8e6' },
  warning: { accent: '#b06000', tint: '#fef7e0' },
  ok: { accent: '#137333', tint: '#e6f4ea' },
  info: { accent: '#1a73e8', tint: '#e8f0fe' },
} satisfies Record<Severity, Palette>;

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

/** The subject line, e.g. `[DOWN] portal — HTTP 500` for the title `DOWN portal — HTTP 500`. */
export function renderSubject(msg: AlertMessage): string {
  return `[${TAGS[msg.kind]}] ${headline(msg)}`;
}

/** Subject, plain-text and HTML bodies of one alert; pure, so tests need no server. */
export function renderEmail(msg: AlertMessage): RenderedEmail {
  return { subject: renderSubject(msg), text: renderText(msg), html: renderHtml(msg) };
}

function headline(msg: AlertMessage): string {
  const title = oneLine(msg.title);
  return title.replace(LEADING_STATE_WORD, '') || title;
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

function actionIntro(msg: AlertMessage): string {
  const example = msg.buttons?.[0]?.action ?? 'ack <target>';
  return (
    `To act on this alert, send the command to Lookout in chat (/${example}; on Slack /lookout ${example}) ` +
    `or run it with the CLI (lookout ${example}):`
  );
}

function renderText(msg: AlertMessage): string {
  const out: string[] = [oneLine(msg.title), ''];
  if (msg.lines.length > 0) out.push(...msg.lines, '');
  if (msg.fields.length > 0) {
    out.push(...msg.fields.map((f) => `${f.label}: ${f.value}`), '');
  }
  const buttons = msg.buttons ?? [];
  if (buttons.length > 0) {
    out.push(actionIntro(msg), ...buttons.map((b) => `  ${b.label}: ${b.action}`), '');
  }
  // "-- " with the trailing space is the signature separator clients fold away.
  out.push('-- ', `Lookout · ${formatTime(msg.at)}`);
  return out.join('\n') + '\n';
}

const FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";
const MONO = 'SFMono-Regular,Menlo,Consolas,monospace';

// Mail clients drop <style> blocks and external CSS, so every style is inline and the
// layout is tables, which is what Outlook's Word engine still renders reliably.
function renderHtml(msg: AlertMessage): string {
  const { accent, tint } = PALETTE[msg.severity];
  const rows: string[] = [];

  rows.push(
    `<tr><td style="padding:20px 24px 12px;background:${tint};">` +
      `<span style="display:inline-block;padding:2px 8px;border-radius:3px;background:${accent};color:#ffffff;font-size:12px;font-weight:bold;letter-spacing:0.5px;">${esc(TAGS[msg.kind])}</span>` +
      `<h1 style="margin:8px 0 0;font-size:20px;line-height:1.3;font-weight:600;color:#202124;">${esc(headline(msg))}</h1>` +
      `</td></tr>`,
  );

  if (msg.lines.length > 0) {
    const paragraphs = msg.lines
      .map((l) => `<p style="margin:0 0 8px;">${esc(l).replace(/\r?\n/g, '<br>')}</p>`)
      .join('');
    rows.push(`<tr><td style="padding:16px 24px 8px;">${paragraphs}</td></tr>`);
  }

  if (msg.fields.length > 0) {
    const fieldRows = msg.fields
      .map(
        (f) =>
          `<tr><td style="padding:4px 16px 4px 0;color:#5f6368;white-space:nowrap;vertical-align:top;">${esc(f.label)}</td>` +
          `<td style="padding:4px 0;color:#202124;vertical-align:top;word-break:break-word;">${esc(f.value)}</td></tr>`,
      )
      .join('');
    rows.push(
      `<tr><td style="padding:8px 24px;"><table role="presentation" cellpadding="0" cellspacing="0" border="0" style="border-collapse:collapse;font-size:14px;">${fieldRows}</table></td></tr>`,
    );
  }

  const buttons = msg.buttons ?? [];
  if (buttons.length > 0) {
    const actionRows = buttons
      .map(
        (b) =>
          `<tr><td style="padding:3px 16px 3px 0;color:#5f6368;white-space:nowrap;">${esc(b.label)}</td>` +
          `<td style="padding:3px 0;"><code style="font-family:${MONO};font-size:13px;background:#f1f3f4;padding:1px 6px;border-radius:3px;color:#202124;">${esc(b.action)}</code></td></tr>`,
      )
      .join('');
    rows.push(
      `<tr><td style="padding:12px 24px 8px;">` +
        `<p style="margin:0 0 6px;color:#5f6368;font-size:13px;">${esc(actionIntro(msg))}</p>` +
        `<table role="presentation" cellpadding="0" cellspacing="0" border="0" style="border-collapse:collapse;font-size:14px;">${actionRows}</table>` +
        `</td></tr>`,
    );
  }

  rows.push(
    `<tr><td style="padding:12px 24px 20px;color:#80868b;font-size:12px;border-top:1px solid #eeeeee;">Lookout · ${esc(formatTime(msg.at))}</td></tr>`,
  );

  return (
    `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>${esc(renderSubject(msg))}</title></head>` +
    `<body style="margin:0;padding:0;background:#f4f5f7;">` +
    `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background:#f4f5f7;">` +
    `<tr><td align="center" style="padding:24px 12px;">` +
    `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:600px;border-collapse:separate;background:#ffffff;border:1px solid #dadce0;border-top:6px solid ${accent};font-family:${FONT};font-size:14px;line-height:1.5;color:#202124;">` +
    rows.join('') +
    `</table></td></tr></table></body></html>\n`
  );
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/** Local time with its offset, so the body reads right whatever the reader's client does with `Date`. */
function formatTime(at: number): string {
  const d = new Date(at);
  const pad = (n: number): string => String(n).padStart(2, '0');
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

// Deliberately narrower than RFC 5321: no quoted local parts, comments or IP literals,
// which alert recipients never need and which make addresses easy to mistype.
const ADDRESS = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:".][^\s@<>()[\]\\,;:"]*$/;
const NAMED_MAILBOX = /^([^<>\r\n]*)<([^<>]*)>$/;

/** True for a bare address such as `noc@example.net` (use it to validate `notify.email`). */
export function isEmailAddress(s: string): boolean {
  return s.length <= 254 && ADDRESS.test(s) && !s.endsWith('.');
}

/** The address of `a@b` or `Name <a@b>`, or undefined when it is neither. */
function mailboxAddress(s: string): string | undefined {
  const trimmed = s.trim();
  const named = NAMED_MAILBOX.exec(trimmed);
  const address = named ? (named[2] ?? '').trim() : trimmed;
  return isEmailAddress(address) ? address : undefined;
}

/**
 * Checks the email settings and returns them trimmed. Throws a `ConfigError` naming
 * `SMTP_URL`, `EMAIL_FROM` or `EMAIL_TO`; the URL itself is never echoed, it holds the password.
 */
export function validateEmailOptions(opts: EmailOptions): EmailOptions {
  const smtpUrl = opts.smtpUrl.trim();
  let url: URL;
  try {
    url = new URL(smtpUrl);
  } catch {
    throw new ConfigError(
      'SMTP_URL',
      'is not a valid URL; expected smtp://user:password@host:587 or smtps://user:password@host:465 ' +
        '(percent-encode special characters in the password, e.g. @ as %40)',
    );
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    // `user:pass@host` parses with `user:` as its scheme: only echo what was written as one.
    const written = /^[a-z][a-z0-9+.-]*:\/\//i.test(smtpUrl) ? `, got "${url.protocol}//"` : '';
    throw new ConfigError(
      'SMTP_URL',
      `must start with smtp:// (port 587, STARTTLS) or smtps:// (port 465, TLS)${written}`,
    );
  }
  if (url.hostname === '') {
    throw new ConfigError('SMTP_URL', 'has no host; expected smtp://user:password@host:587');
  }

  const from = opts.from.trim();
  if (mailboxAddress(from) === undefined) {
    throw new ConfigError(
      'EMAIL_FROM',
      `"${from}" is not an email address; expected lookout@example.net or "Lookout <lookout@example.net>"`,
    );
  }

  const to = opts.to.map((t) => t.trim()).filter((t) => t !== '');
  for (const t of to) {
    if (mailboxAddress(t) === undefined) {
      throw new ConfigError(
        'EMAIL_TO',
        `"${t}" is not an email address; expected a comma-separated list such as noc@example.net,ops@example.net`,
      );
    }
  }

  return { ...opts, smtpUrl, from, to };
}

/** `EMAIL_TO` plus the target's own recipients, first spelling kept, de-duplicated ignoring case. */
function recipientsFor(globalTo: string[], msg: AlertMessage): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of [...globalTo, ...(msg.route?.email ?? [])]) {
    const address = mailboxAddress(raw);
    // A bad per-target address would make nodemailer refuse the whole message and
    // cost every other recipient the alert; config validation reports it instead.
    if (address === undefined) continue;
    const key = address.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(raw.trim());
  }
  return out;
}

function cleanHostname(name: string): string {
  const cleaned = name
    .replace(/[^A-Za-z0-9.-]/g, '')
    .replace(/\.{2,}/g, '.')
    .replace(/^[.-]+|[.-]+$/g, '');
  return cleaned || 'localhost';
}

/**
 * Message-ID of an alert. It depends on the message id only, so the copy re-sent after a
 * crash between SMTP acceptance and the outbox write carries the same id and clients
 * that de-duplicate on it show one email.
 */
export function emailMessageId(msgId: string, hostname: string): string {
  // id-left must be dot-atom text: keep the safe characters, percent-encode the rest
  // (including '.' and '%') so distinct ids stay distinct.
  const left = Array.from(new TextEncoder().encode(msgId), (b) => {
    const c = String.fromCharCode(b);
    return /[A-Za-z0-9_-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }).join('');
  return `<lookout.${left}@${cleanHostname(hostname)}>`;
}

function headerValue(s: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must go
  return s.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();
}

/** Message-IDs of the incident's root on this channel, excluding the message itself. */
function parentIds(ctx: DeliveryContext, self: string): string[] {
  const ids: string[] = [];
  for (const ref of ctx.root ?? []) {
    const bare = headerValue(ref.id);
    if (bare === '') continue;
    const id = bare.startsWith('<') ? bare : `<${bare}>`;
    if (id === self || ids.includes(id)) continue;
    ids.push(id);
  }
  return ids;
}

const TRANSIENT_CODES = new Set([
  'ECONNECTION',
  'ESOCKET',
  'ETIMEDOUT',
  'EDNS',
  'ETLS',
  'EPROXY',
  'EPROTOCOL',
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

interface Secrets {
  /** Strings that must never leave this module: the password in every form it travels in. */
  values: string[];
}

function secretsOf(smtpUrl: string): Secrets {
  const values = new Set<string>([smtpUrl]);
  try {
    const url = new URL(smtpUrl);
    const user = safeDecode(url.username);
    const pass = safeDecode(url.password);
    if (pass !== '') {
      values.add(url.password);
      values.add(pass);
      values.add(encodeURIComponent(pass));
      // What AUTH PLAIN and AUTH LOGIN put on the wire, should a server echo it back.
      values.add(Buffer.from(`\u0000${user}\u0000${pass}`).toString('base64'));
      values.add(Buffer.from(`${user}\u0000${user}\u0000${pass}`).toString('base64'));
      values.add(Buffer.from(pass).toString('base64'));
    }
  } catch {
    // An unparsable URL still gets redacted as a whole above.
  }
  // Longest first so a password inside its own base64 or URL form is not half-replaced;
  // one or two characters would blank out unrelated text and protect nothing anyway.
  return { values: [...values].filter((v) => v.length >= 3).sort((a, b) => b.length - a.length) };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function redact(text: string, secrets: Secrets): string {
  let out = text;
  for (const v of secrets.values) out = out.split(v).join('***');
  // Any other URL with credentials, e.g. a proxy named in the SMTP_URL query.
  return out.replace(/(\/\/[^/\s:@]*):[^/\s@]*@/g, '$1:***@');
}

function describeServer(smtpUrl: string): string {
  try {
    const url = new URL(smtpUrl);
    return `${url.hostname}:${url.port || (url.protocol === 'smtps:' ? '465' : '587')}`;
  } catch {
    return 'SMTP_URL';
  }
}

function asNodemailerError(err: unknown): NodemailerError {
  if (err instanceof Error) return err as NodemailerError;
  return new Error(String(err)) as NodemailerError;
}

/**
 * Maps a nodemailer failure to a `DeliveryError`. A 4xx reply is always transient
 * (greylisting, a full queue, a temporary login failure); a refusal that needs the
 * operator (login, sender, every recipient, 5xx on the message) is permanent; a
 * network or TLS failure is transient, the relay may be back on the next try.
 */
export function toDeliveryError(err: unknown, smtpUrl: string): DeliveryError {
  const e = asNodemailerError(err);
  const secrets = secretsOf(smtpUrl);
  const code = e.code ?? 'ERROR';
  const reply = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const server = describeServer(smtpUrl);
  const detail = redact(e.message, secrets).slice(0, 400);
  const original = e.originalCode && e.originalCode !== code ? `/${e.originalCode}` : '';

  const make = (summary: string, permanent: boolean): DeliveryError => {
    const cause = Object.assign(new Error(detail), { code, responseCode: reply, command: e.command });
    return new DeliveryError(`email: ${summary} (${code}${original}: ${detail})`, permanent, undefined, {
      cause,
    });
  };

  if (reply !== undefined && reply >= 400 && reply < 500) {
    return make(`the SMTP server at ${server} deferred the message, it may accept it later`, false);
  }
  if (reply === 530 || code === 'ENOAUTH') {
    return make(`the SMTP server at ${server} requires a login; put user:password in SMTP_URL`, true);
  }
  if (code === 'EAUTH') {
    return make(
      `the SMTP server at ${server} rejected the login; check the user and password in SMTP_URL`,
      true,
    );
  }
  if (code === 'EENVELOPE' && (e.command === 'MAIL FROM' || /invalid sender/i.test(e.message))) {
    return make(`the SMTP server at ${server} refused the sender; check EMAIL_FROM`, true);
  }
  if (code === 'EENVELOPE' && e.rejected && e.rejected.length > 0) {
    const who = redact(e.rejected.join(', '), secrets);
    return make(`the SMTP server at ${server} rejected every recipient (${who})`, true);
  }
  if (code === 'EENVELOPE') {
    return make(`the SMTP server at ${server} refused the envelope; check EMAIL_FROM and EMAIL_TO`, true);
  }
  if (code === 'ECONFIG') {
    return make('the email settings are unusable; check SMTP_URL', true);
  }
  if (code === 'ETIMEDOUT') {
    return make(`the SMTP server at ${server} did not answer in time`, false);
  }
  if (TRANSIENT_CODES.has(code) || (e.originalCode !== undefined && TRANSIENT_CODES.has(e.originalCode))) {
    return make(`cannot talk to the SMTP server at ${server}`, false);
  }
  if (e.permanent === true) {
    return make(`the SMTP server at ${server} refused the message`, true);
  }
  return make(`sending through ${server} failed`, false);
}

/**
 * The email channel. Every alert goes to `to` plus `msg.route.email`; a message that
 * belongs to an incident whose root was emailed is threaded under it.
 *
 * Threading uses `In-Reply-To`/`References` only and keeps each subject as its own
 * state (`[RECOVERED] portal — down for 14m`), without `Re:`: the subject is what an
 * on-call person reads in a notification, and Thunderbird, Apple Mail, mutt and
 * Fastmail thread on the headers. Gmail and Outlook also want the subjects to match,
 * so there the recovery shows as its own conversation.
 */
export function createEmailChannel(options: EmailOptions): Channel {
  const opts = validateEmailOptions(options);
  const hostname = opts.hostname ?? osHostname();
  let transporter: Promise<Transporter> | undefined;
  let closed = false;

  // nodemailer is imported on the first alert so a process without email never loads
  // it. Not pooled: alerts are rare, an idle pooled connection is dropped by most
  // relays within minutes and the next alert would find it dead; one connection per
  // alert costs a handshake and always starts from fresh DNS and a live socket.
  const getTransporter = (): Promise<Transporter> => {
    transporter ??= import('nodemailer').then((nodemailer) =>
      nodemailer.createTransport({
        ...DEFAULT_TRANSPORT,
        ...opts.transportOptions,
        url: opts.smtpUrl,
        name: cleanHostname(hostname),
      }),
    );
    return transporter;
  };

  return {
    name: 'email',

    accepts: (msg: AlertMessage) => recipientsFor(opts.to, msg).length > 0,

    async send(msg: AlertMessage, ctx: DeliveryContext): Promise<SentRef[]> {
      if (closed) throw new DeliveryError('email: the channel is closed (shutting down)', false);
      const recipients = recipientsFor(opts.to, msg);
      if (recipients.length === 0) return [];

      const messageId = emailMessageId(msg.id, hostname);
      const parents = parentIds(ctx, messageId);
      const { subject, text, html } = renderEmail(msg);

      const headers: Record<string, string> = {
        // RFC 3834: keeps vacation responders and ticket systems from answering alerts.
        'Auto-Submitted': 'auto-generated',
        'X-Auto-Response-Suppress': 'All',
        'X-Lookout-Kind': msg.kind,
        'X-Lookout-Severity': msg.severity,
      };
      if (msg.target !== undefined) headers['X-Lookout-Target'] = headerValue(msg.target);
      if (msg.incidentId !== undefined) headers['X-Lookout-Incident'] = headerValue(msg.incidentId);

      const mail: SendMailOptions = {
        from: opts.from,
        to: recipients,
        subject,
        text,
        html,
        messageId,
        date: new Date(msg.at),
        headers,
      };
      if (msg.severity === 'critical') mail.priority = 'high';
      const parent = parents[parents.length - 1];
      if (parent !== undefined) {
        mail.inReplyTo = parent;
        mail.references = parents;
      }

      try {
        const t = await getTransporter();
        await t.sendMail(mail);
      } catch (err) {
        throw toDeliveryError(err, opts.smtpUrl);
      }
      return [{ id: messageId, to: recipients.join(',') }];
    },

    async close(): Promise<void> {
      closed = true;
      const t = transporter;
      transporter = undefined;
      if (t) (await t.catch(() => undefined))?.close();
    },
  };
}
