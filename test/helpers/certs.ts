/**
 * Test certificates made at test time with the `openssl` CLI, so no key
 * material is committed and nothing expires in the repository. `openssl ca`
 * is used for issuing because it is the only way in OpenSSL 3.0 to set an
 * arbitrary validity window, including one entirely in the past.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A certificate and its private key, both PEM. */
export interface IssuedCert {
  cert: string;
  key: string;
}

export interface CertOptions {
  /** Subject CN. */
  commonName: string;
  /** subjectAltName entries; a bare name is `DNS:`, prefix `IP:` for addresses. Default: the CN. */
  altNames?: string[];
  /** Valid for this many days from now. Default 30. Ignored when `notBefore`/`notAfter` are set. */
  days?: number;
  notBefore?: Date;
  notAfter?: Date;
}

export interface TestPki {
  /** The CA certificate (PEM), to hand to whatever should trust it. */
  readonly caCert: string;
  /** A server certificate signed by this CA. */
  issue(opts: CertOptions): IssuedCert;
  /** A certificate that signs itself: no CA vouches for it. */
  selfSigned(opts: CertOptions): IssuedCert;
  /** Removes the working directory. */
  dispose(): void;
}

/** Whether the `openssl` CLI can be run. */
export function hasOpenssl(): boolean {
  return spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;
}

/** `openssl ca` wants `YYYYMMDDHHMMSSZ`. */
function asn1Time(d: Date): string {
  return `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

function san(opts: CertOptions): string {
  const names = opts.altNames ?? [opts.commonName];
  return names.map((n) => (/^(DNS|IP):/.test(n) ? n : `DNS:${n}`)).join(',');
}

/** A minimal request config, so the system openssl.cnf cannot add or clash with extensions. */
const REQ_CONFIG = `[ req ]
distinguished_name = dn
prompt = no
[ dn ]
`;

/** Creates a fresh CA in a temporary directory. */
export function createTestPki(caName = 'Lookout Test CA'): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'lookout-pki-'));
  let serial = 0;
  const path = (name: string): string => join(dir, name);
  const openssl = (args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  writeFileSync(path('req.cnf'), REQ_CONFIG);
  mkdirSync(path('issued'));
  writeFileSync(path('index.txt'), '');
  writeFileSync(path('serial'), '1000\n');
  writeFileSync(
    path('ca.cnf'),
    `[ ca ]
default_ca = test_ca
[ test_ca ]
database = ${path('index.txt')}
new_certs_dir = ${path('issued')}
serial = ${path('serial')}
certificate = ${path('ca.pem')}
private_key = ${path('ca.key')}
default_md = sha256
policy = any_name
unique_subject = no
copy_extensions = copy
x509_extensions = server
[ any_name ]
commonName = supplied
organizationName = optional
[ server ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
`,
  );

  const newKey = (name: string): string => {
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path(name)]);
    return path(name);
  };

  const caKey = newKey('ca.key');
  openssl([
    'req',
    '-config',
    path('req.cnf'),
    '-new',
    '-x509',
    '-key',
    caKey,
    '-subj',
    `/CN=${caName}/O=Lookout Tests`,
    '-days',
    '3650',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    path('ca.pem'),
  ]);
  const caCert = readFileSync(path('ca.pem'), 'utf8');

  return {
    caCert,
    issue(opts) {
      const n = ++serial;
      const key = newKey(`leaf-${n}.key`);
      openssl([
        'req',
        '-config',
        path('req.cnf'),
        '-new',
        '-key',
        key,
        '-subj',
        `/CN=${opts.commonName}`,
        '-addext',
        `subjectAltName=${san(opts)}`,
        '-out',
        path(`leaf-${n}.csr`),
      ]);
      const validity =
        opts.notBefore || opts.notAfter
          ? [
              '-startdate',
              asn1Time(opts.notBefore ?? new Date()),
              '-enddate',
              asn1Time(opts.notAfter ?? new Date(Date.now() + 30 * 86_400_000)),
            ]
          : ['-days', String(opts.days ?? 30)];
      openssl([
        'ca',
        '-batch',
        '-notext',
        '-config',
        path('ca.cnf'),
        '-in',
        path(`leaf-${n}.csr`),
        '-out',
        path(`leaf-${n}.pem`),
        ...validity,
      ]);
      return { cert: readFileSync(path(`leaf-${n}.pem`), 'utf8'), key: readFileSync(key, 'utf8') };
    },
    selfSigned(opts) {
      const n = ++serial;
      const key = newKey(`self-${n}.key`);
      openssl([
        'req',
        '-config',
        path('req.cnf'),
        '-new',
        '-x509',
        '-key',
        key,
        '-subj',
        `/CN=${opts.commonName}`,
        '-addext',
        `subjectAltName=${san(opts)}`,
        '-days',
        String(opts.days ?? 30),
        '-out',
        path(`self-${n}.pem`),
      ]);
      return { cert: readFileSync(path(`self-${n}.pem`), 'utf8'), key: readFileSync(key, 'utf8') };
    },
    dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
