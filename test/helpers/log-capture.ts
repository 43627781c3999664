/**
 * Suite-wide secret check, collection side. When the test runner sets
 * LOOKOUT_TEST_LOG_DIR, every app a test builds logs at trace level into a file
 * there, and the secrets its configuration holds are written beside it; real
 * processes leave their whole output and environment secrets the same way. After
 * the suite, scripts/run-tests.mjs searches all of that output for every secret.
 * Without the variable (a single test run by hand), apps stay silent.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig, secretsOf } from '../../src/config.js';
import type { Config } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import type { Logger } from '../../src/log.js';

const dir = process.env.LOOKOUT_TEST_LOG_DIR;
let serial = 0;

function files(): { log: string; secrets: string } {
  if (!dir) throw new Error('LOOKOUT_TEST_LOG_DIR is not set');
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${process.pid}-${++serial}`);
  return { log: `${base}.log`, secrets: `${base}.secrets` };
}

function recordSecrets(path: string, secrets: string[]): void {
  appendFileSync(path, secrets.map((s) => JSON.stringify(s) + '\n').join(''));
}

/** The logger a test app gets: silent, or trace into the capture directory with main.ts's scrubbing. */
export function testLogger(config: Config): Logger {
  if (!dir) return createLogger('silent');
  const f = files();
  const secrets = secretsOf(config);
  recordSecrets(f.secrets, secrets);
  return createLogger('trace', secrets, pino.destination({ dest: f.log, sync: true }));
}

/** Keeps a real process's output and the secrets its environment configured. */
export function captureProcess(env: Record<string, string>, output: string): void {
  if (!dir) return;
  const f = files();
  let secrets: string[];
  try {
    secrets = secretsOf(loadConfig(env));
  } catch {
    // A test of a broken configuration: its secret-looking values are still secrets.
    secrets = Object.entries(env)
      .filter(([k]) => /TOKEN|SECRET|PASSWORD/.test(k))
      .map(([, v]) => v)
      .filter((v) => v.length >= 4);
  }
  recordSecrets(f.secrets, secrets);
  appendFileSync(f.log, output);
}
