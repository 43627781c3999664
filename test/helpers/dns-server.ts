/**
 * A tiny authoritative DNS server on 127.0.0.1 over UDP, for tests. It speaks
 * just enough of RFC 1035 to answer A, AAAA, CNAME, MX and TXT questions from
 * an in-memory zone, and can be told to misbehave (stay silent, SERVFAIL,
 * REFUSED) so resolver error paths can be tested against a real socket.
 */
import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

export interface ZoneRecords {
  A?: string[];
  AAAA?: string[];
  CNAME?: string;
  MX?: { priority: number; exchange: string }[];
  /** Each record is a list of character-strings (chunks of at most 255 bytes). */
  TXT?: string[][];
}

/** How the server treats every query. */
export type DnsServerMode = 'answer' | 'silent' | 'servfail' | 'refused';

export interface TestDnsServer {
  /** `127.0.0.1:PORT`, the form a target's `resolver` takes. */
  readonly address: string;
  readonly port: number;
  mode: DnsServerMode;
  /** Queries received, e.g. `A example.test`. */
  readonly queries: string[];
  close(): Promise<void>;
}

const TYPE = { A: 1, CNAME: 5, MX: 15, TXT: 16, AAAA: 28 } as const;
const TYPE_NAME = new Map<number, string>(Object.entries(TYPE).map(([k, v]) => [v, k]));
const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;
const CLASS_IN = 1;
const TTL = 60;

function encodeName(name: string): Buffer {
  const labels = name
    .replace(/\.$/, '')
    .split('.')
    .filter((l) => l !== '');
  return Buffer.concat([
    ...labels.map((l) => Buffer.concat([Buffer.from([Buffer.byteLength(l)]), Buffer.from(l)])),
    Buffer.from([0]),
  ]);
}

/** Reads an uncompressed name (questions never use compression). Returns it and the offset after it. */
function decodeName(msg: Buffer, offset: number): [string, number] {
  const labels: string[] = [];
  let at = offset;
  for (let len = msg.readUInt8(at); len !== 0; len = msg.readUInt8(at)) {
    labels.push(msg.toString('latin1', at + 1, at + 1 + len));
    at += 1 + len;
  }
  return [labels.join('.'), at + 1];
}

function ipv4(address: string): Buffer {
  return Buffer.from(address.split('.').map(Number));
}

function ipv6(address: string): Buffer {
  const [head = '', tail] = address.split('::');
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const zeros = Array<string>(8 - left.length - right.length).fill('0');
  const all = [...left, ...zeros, ...right];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function rdataFor(type: number, records: ZoneRecords): Buffer[] {
  switch (type) {
    case TYPE.A:
      return (records.A ?? []).map(ipv4);
    case TYPE.AAAA:
      return (records.AAAA ?? []).map(ipv6);
    case TYPE.CNAME:
      return records.CNAME ? [encodeName(records.CNAME)] : [];
    case TYPE.MX:
      return (records.MX ?? []).map((mx) => {
        const pref = Buffer.alloc(2);
        pref.writeUInt16BE(mx.priority);
        return Buffer.concat([pref, encodeName(mx.exchange)]);
      });
    case TYPE.TXT:
      return (records.TXT ?? []).map((chunks) =>
        Buffer.concat(
          chunks.map((c) => Buffer.concat([Buffer.from([Buffer.byteLength(c)]), Buffer.from(c)])),
        ),
      );
    default:
      return [];
  }
}

/** The reply to one query, or undefined when the query cannot be parsed. */
function reply(
  query: Buffer,
  zone: Map<string, ZoneRecords>,
  mode: DnsServerMode,
  log: string[],
): Buffer | undefined {
  if (query.length < 12 || query.readUInt16BE(4) !== 1) return undefined;
  const [name, afterName] = decodeName(query, 12);
  const type = query.readUInt16BE(afterName);
  const question = query.subarray(12, afterName + 4);
  log.push(`${TYPE_NAME.get(type) ?? type} ${name}`);

  const records = zone.get(name.toLowerCase().replace(/\.$/, ''));
  const rcode =
    mode === 'servfail'
      ? RCODE.SERVFAIL
      : mode === 'refused'
        ? RCODE.REFUSED
        : records
          ? RCODE.NOERROR
          : RCODE.NXDOMAIN;
  const answers = rcode === RCODE.NOERROR && records ? rdataFor(type, records) : [];

  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  // QR=1, the query's opcode and RD bit, AA=1, RA=1, then the RCODE.
  const flags = 0x8000 | (query.readUInt16BE(2) & 0x7900) | 0x0400 | 0x0080 | rcode;
  header.writeUInt16BE(flags, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);

  const rrs = answers.map((rdata) => {
    const fixed = Buffer.alloc(12);
    fixed.writeUInt16BE(0xc00c, 0); // pointer to the question's name at offset 12
    fixed.writeUInt16BE(type, 2);
    fixed.writeUInt16BE(CLASS_IN, 4);
    fixed.writeUInt32BE(TTL, 6);
    fixed.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([fixed, rdata]);
  });
  return Buffer.concat([header, question, ...rrs]);
}

/** Starts a server for `zone` (names lower-case, no trailing dot) on 127.0.0.1, a free port. */
export async function startDnsServer(
  zone: Record<string, ZoneRecords>,
  mode: DnsServerMode = 'answer',
): Promise<TestDnsServer> {
  const socket = createSocket('udp4');
  const names = new Map(Object.entries(zone).map(([k, v]) => [k.toLowerCase(), v]));
  const queries: string[] = [];
  const server = {
    mode,
    queries,
    address: '',
    port: 0,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (msg, peer) => {
    if (server.mode === 'silent') return;
    const out = reply(msg, names, server.mode, queries);
    if (out) socket.send(out, peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  server.port = (socket.address() as AddressInfo).port;
  server.address = `127.0.0.1:${server.port}`;
  return server;
}
