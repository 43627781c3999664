/**
 * A real SMTP server on loopback for channel tests (smtp-server), plus a minimal
 * parser for what nodemailer emits: unfolded headers, RFC 2047 encoded words,
 * multipart/alternative with quoted-printable or base64 parts.
 */
import { SMTPServer } from 'smtp-server';
import type { SMTPServerAuthentication, SMTPServerError, SMTPServerSession } from 'smtp-server';
import type { Socket } from 'node:net';
import type { FaultPlan } from './faults.js';

export interface ReceivedMail {
  /** SMTP envelope, as the server saw it. */
  envelope: { from: string; to: string[] };
  /** Login the session used, if any. */
  user: string | undefined;
  raw: string;
  parsed: ParsedMail;
}

export interface ParsedMail {
  /** Header values by lower-case name, unfolded, in order of appearance. */
  headers: Map<string, string[]>;
  /** Decoded Subject. */
  subject: string;
  messageId: string | undefined;
  inReplyTo: string | undefined;
  references: string[];
  /** Addresses in To, lower case. */
  to: string[];
  /** Decoded text/plain part, newlines as `\n`. */
  text: string | undefined;
  /** Decoded text/html part. */
  html: string | undefined;
}

export interface AuthPolicy {
  users: Record<string, string>;
  /** Text of the 535 reply; lets a test make the server echo what it received. */
  failureText?: (auth: SMTPServerAuthentication) => string;
}

export interface TestSmtpServer {
  readonly port: number;
  /** Every message accepted since start (or the last `reset`). */
  readonly messages: ReceivedMail[];
  /** `smtp://[user:pass@]127.0.0.1:port`, the password percent-encoded. */
  url(auth?: { user: string; pass: string }): string;
  /** Accept only these logins, and refuse MAIL FROM (530) without one. */
  requireAuth(policy: AuthPolicy): void;
  /** Answer RCPT TO for matching recipients with `code` (550 unknown mailbox, 450 greylisting…). */
  rejectRecipients(match: string[] | ((address: string) => boolean), code?: number): void;
  /** Answer MAIL FROM with `code`. */
  rejectSender(code?: number): void;
  /**
   * Asked at `connect` (before the greeting) and at `data` (once the message is
   * read, before it is accepted). A status fault is that SMTP reply (421, 451…),
   * a drop closes the socket, a hang says nothing more; a failed message is not kept.
   */
  faults: FaultPlan | undefined;
  /** Drop the policies and the collected messages. */
  reset(): void;
  /** Stop listening and drop open connections: an outage. */
  stop(): Promise<void>;
  /** Listen again on the same port; a no-op while listening. */
  start(): Promise<void>;
}

function smtpError(message: string, code: number): SMTPServerError {
  return Object.assign(new Error(message), { responseCode: code });
}

export async function startSmtpServer(): Promise<TestSmtpServer> {
  let auth: AuthPolicy | undefined;
  let rejectRcpt: { match: (address: string) => boolean; code: number } | undefined;
  let rejectFromCode: number | undefined;
  let plan: FaultPlan | undefined;
  const messages: ReceivedMail[] = [];
  let server: SMTPServer | undefined;
  let port = 0;

  /** The socket of a session, to cut it the way a crashing relay would. */
  const drop = (session: SMTPServerSession): void => {
    const open = (server?.connections ?? []) as Iterable<{ session: { id: string }; _socket: Socket }>;
    for (const c of open) if (c.session.id === session.id) c._socket.destroy();
  };

  const create = (): SMTPServer =>
    new SMTPServer({
      authOptional: true,
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      // No reverse DNS for 127.0.0.1: tests stay off the network.
      disableReverseLookup: true,
      closeTimeout: 100,
      onConnect(session, callback) {
        const fault = plan?.('connect');
        if (!fault) callback();
        else if (fault.kind === 'drop') drop(session);
        else if (fault.kind === 'status')
          callback(smtpError('Service not available, try again later', fault.status));
        // A hang sends no greeting: the client's greeting timeout has to end it.
      },
      onAuth(a, _session, callback) {
        const expected = auth?.users[a.username ?? ''];
        if (expected !== undefined && expected === a.password) {
          callback(null, { user: a.username });
          return;
        }
        const text = auth?.failureText?.(a) ?? 'Invalid username or password';
        callback(smtpError(text, 535));
      },
      onMailFrom(address, session, callback) {
        if (auth && !session.user) {
          callback(smtpError('Authentication required', 530));
          return;
        }
        if (rejectFromCode !== undefined) {
          callback(smtpError(`Sender ${address.address} not allowed`, rejectFromCode));
          return;
        }
        callback();
      },
      onRcptTo(address, _session, callback) {
        if (rejectRcpt?.match(address.address)) {
          callback(smtpError(`Mailbox ${address.address} unavailable`, rejectRcpt.code));
          return;
        }
        callback();
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const fault = plan?.('data');
          if (fault?.kind === 'drop') return drop(session);
          if (fault?.kind === 'status') return callback(smtpError('Try again later', fault.status));
          if (fault) return; // a hang: no reply to the message at all
          const raw = Buffer.concat(chunks).toString('utf8');
          const { mailFrom, rcptTo } = session.envelope;
          messages.push({
            envelope: { from: mailFrom ? mailFrom.address : '', to: rcptTo.map((r) => r.address) },
            user: session.user,
            raw,
            parsed: parseMail(raw),
          });
          callback();
        });
      },
    });

  const listen = (): Promise<void> =>
    new Promise((resolve, reject) => {
      if (server) {
        resolve();
        return;
      }
      const s = create();
      s.on('error', reject);
      s.listen(port, '127.0.0.1', () => {
        const address = s.server.address();
        if (address === null || typeof address === 'string') {
          reject(new Error('smtp test server: no TCP address'));
          return;
        }
        port = address.port;
        server = s;
        resolve();
      });
    });

  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      const s = server;
      server = undefined;
      if (!s) {
        resolve();
        return;
      }
      // Drop sessions at once: an outage, and close() would otherwise wait for them.
      for (const c of s.connections) c.close();
      s.close(() => resolve());
    });

  await listen();

  return {
    get port() {
      return port;
    },
    messages,
    url(credentials) {
      const userinfo = credentials
        ? `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.pass)}@`
        : '';
      return `smtp://${userinfo}127.0.0.1:${port}`;
    },
    requireAuth(policy) {
      auth = policy;
    },
    rejectRecipients(match, code = 550) {
      const set = Array.isArray(match) ? new Set(match.map((m) => m.toLowerCase())) : undefined;
      rejectRcpt = {
        match: set ? (a) => set.has(a.toLowerCase()) : (match as (address: string) => boolean),
        code,
      };
    },
    rejectSender(code = 550) {
      rejectFromCode = code;
    },
    get faults() {
      return plan;
    },
    set faults(p) {
      plan = p;
    },
    reset() {
      plan = undefined;
      auth = undefined;
      rejectRcpt = undefined;
      rejectFromCode = undefined;
      messages.length = 0;
    },
    stop,
    start: listen,
  };
}

// --- parsing ---------------------------------------------------------------

interface Part {
  headers: Map<string, string[]>;
  body: string;
}

function splitHeadersAndBody(raw: string): Part {
  const at = raw.indexOf('\r\n\r\n');
  const head = at < 0 ? raw : raw.slice(0, at);
  const body = at < 0 ? '' : raw.slice(at + 4);
  const headers = new Map<string, string[]>();
  // Unfolding removes the CRLF and keeps the whitespace after it (RFC 5322 §2.2.3).
  for (const line of head.replace(/\r\n(?=[ \t])/g, '').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const list = headers.get(name) ?? [];
    list.push(line.slice(colon + 1).trim());
    headers.set(name, list);
  }
  return { headers, body };
}

function first(headers: Map<string, string[]>, name: string): string | undefined {
  return headers.get(name)?.[0];
}

const ENCODED_WORD = /=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=/g;

function encodedWordBytes(encoding: string, data: string): Buffer {
  if (encoding.toUpperCase() === 'B') return Buffer.from(data, 'base64');
  return qpBytes(data.replace(/_/g, ' '));
}

/**
 * RFC 2047 decoding. Whitespace between adjacent encoded words is dropped, and a run of
 * them is decoded as one byte string so a character split across words survives.
 */
export function decodeEncodedWords(value: string): string {
  const joined = value.replace(/(\?=)\s+(?==\?)/g, '$1');
  return joined.replace(/(?:=\?[^?\s]+\?[QqBb]\?[^?\s]*\?=)+/g, (run) => {
    const bytes: Buffer[] = [];
    let charset = 'utf-8';
    for (const m of run.matchAll(ENCODED_WORD)) {
      charset = (m[1] ?? 'utf-8').split('*')[0] ?? 'utf-8';
      bytes.push(encodedWordBytes(m[2] ?? 'Q', m[3] ?? ''));
    }
    return new TextDecoder(charset).decode(Buffer.concat(bytes));
  });
}

function qpBytes(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    const hex = s.slice(i + 1, i + 3);
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      out.push(parseInt(hex, 16));
      i += 2;
    } else {
      out.push(...Buffer.from(c ?? '', 'utf8'));
    }
  }
  return Buffer.from(out);
}

function decodeQuotedPrintable(body: string): Buffer {
  // Soft line breaks (a trailing '=') join lines the encoder wrapped.
  return qpBytes(body.replace(/=\r\n/g, ''));
}

interface ContentType {
  type: string;
  params: Map<string, string>;
}

function parseContentType(value: string | undefined): ContentType {
  const [type = 'text/plain', ...rest] = (value ?? 'text/plain').split(';');
  const params = new Map<string, string>();
  for (const m of rest.join(';').matchAll(/([^=\s;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]+)/g)) {
    const raw = m[2] ?? '';
    params.set(
      (m[1] ?? '').toLowerCase(),
      raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw,
    );
  }
  return { type: type.trim().toLowerCase(), params };
}

function leafParts(part: Part): { type: string; text: string }[] {
  const ct = parseContentType(first(part.headers, 'content-type'));
  if (ct.type.startsWith('multipart/')) {
    const boundary = ct.params.get('boundary');
    if (boundary === undefined) throw new Error('multipart without boundary');
    // Each delimiter is CRLF "--boundary"; a leading CRLF makes the first one match too.
    const segments = ('\r\n' + part.body).split(`\r\n--${boundary}`);
    const out: { type: string; text: string }[] = [];
    for (const segment of segments.slice(1)) {
      if (segment.startsWith('--')) break;
      // The rest of the delimiter line (transport padding) ends with CRLF.
      const child = segment.slice(segment.indexOf('\r\n') + 2);
      out.push(...leafParts(splitHeadersAndBody(child)));
    }
    return out;
  }
  const cte = (first(part.headers, 'content-transfer-encoding') ?? '7bit').toLowerCase();
  const bytes =
    cte === 'quoted-printable'
      ? decodeQuotedPrintable(part.body)
      : cte === 'base64'
        ? Buffer.from(part.body.replace(/\s+/g, ''), 'base64')
        : Buffer.from(part.body, 'utf8');
  const text = new TextDecoder(ct.params.get('charset') ?? 'utf-8').decode(bytes);
  return [{ type: ct.type, text: text.replace(/\r\n/g, '\n') }];
}

function addresses(value: string | undefined): string[] {
  if (value === undefined) return [];
  return decodeEncodedWords(value)
    .split(',')
    .map((entry) => {
      const angle = /<([^>]*)>/.exec(entry);
      return (angle ? (angle[1] ?? '') : entry).trim().toLowerCase();
    })
    .filter((a) => a !== '');
}

/** Parses the parts of a raw message that tests assert on. */
export function parseMail(raw: string): ParsedMail {
  const root = splitHeadersAndBody(raw);
  const leaves = leafParts(root);
  const refs = first(root.headers, 'references');
  return {
    headers: root.headers,
    subject: decodeEncodedWords(first(root.headers, 'subject') ?? ''),
    messageId: first(root.headers, 'message-id'),
    inReplyTo: first(root.headers, 'in-reply-to'),
    references: refs === undefined ? [] : refs.split(/\s+/).filter((r) => r !== ''),
    to: addresses(first(root.headers, 'to')),
    text: leaves.find((l) => l.type === 'text/plain')?.text,
    html: leaves.find((l) => l.type === 'text/html')?.text,
  };
}
