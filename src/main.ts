/** Entry point: read config, build the app, handle signals. Errors users can fix are one line, no stack. */
import { loadConfig, secretsOf } from './config.js';
import type { Config } from './config.js';
import { createLogger } from './log.js';
import { createApp } from './app.js';
import { ConfigError, StoreError, UsageError } from './core/errors.js';
import { tuneMemory } from './memory.js';

tuneMemory();

function die(message: string, code: number): never {
  process.stderr.write(`lookout: ${message}\n`);
  process.exit(code);
}

let config: Config;
try {
  config = loadConfig();
} catch (e) {
  if (e instanceof ConfigError) die(e.message, 2);
  throw e;
}
if (config.tz) process.env.TZ = config.tz;

const log = createLogger(config.logLevel, secretsOf(config));
// A promise some library forgot to handle must not take the monitor down (Node would exit).
process.on('unhandledRejection', (err) =>
  log.error({ err }, 'unhandled promise rejection (bug; Lookout keeps running)'),
);

let app: Awaited<ReturnType<typeof createApp>>;
try {
  app = await createApp({ config, log });
  await app.start();
} catch (e) {
  if (e instanceof StoreError) die(e.message, 1);
  if (e instanceof UsageError) die(`CONFIG_FILE: ${e.message}`, 2);
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE')
    die(
      `HTTP_PORT: ${config.http.host}:${config.http.port} is already in use; set HTTP_PORT to a free port`,
      2,
    );
  if (code === 'EACCES' || code === 'EROFS')
    die(`DATA_DIR: ${config.dataDir} is not writable (${code}); fix its permissions`, 1);
  log.fatal({ err: e }, 'start-up failed');
  die(`start-up failed: ${(e as Error).message}`, 1);
}

// Before the line that says where Lookout listens: whoever waits for that line may stop it at once.
let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  // Docker sends SIGKILL after 10 s; finish well before that.
  const force = setTimeout(() => {
    log.error('shutdown took too long; exiting');
    process.exit(1);
  }, 8000);
  force.unref();
  try {
    await app.stop();
    log.info('stopped cleanly');
    log.flush(() => process.exit(0));
  } catch (err) {
    log.error({ err }, 'error while stopping');
    log.flush(() => process.exit(1));
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

const targets = app.monitor.list();
const byKind = targets.reduce<Record<string, number>>(
  (acc, t) => ((acc[t.kind] = (acc[t.kind] ?? 0) + 1), acc),
  {},
);
const channels = [
  'console',
  config.telegram && 'telegram',
  config.slack && 'slack',
  config.discord && 'discord',
  config.email && 'email',
].filter(Boolean);
log.info(
  {
    url: app.url,
    dataDir: config.dataDir,
    targets: targets.length,
    byKind,
    channels,
    api: config.apiToken ? 'read-write' : 'read-only',
  },
  `Lookout is monitoring ${targets.length} target${targets.length === 1 ? '' : 's'}; dashboard and API at ${app.url}`,
);
if (targets.length === 0)
  log.info('no targets yet: add one with the API (POST /api/targets), a chat command, or CONFIG_FILE');
