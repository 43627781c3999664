// Runs every test/**/*.test.ts with Node's own test runner through tsx.
// Node 20 has no glob support in `--test`, so the files are listed here.
// Usage: node scripts/run-tests.mjs [substring filter…]
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.test.ts') ? [join(dir, e.name)] : [],
  );
}

const filters = process.argv.slice(2);
const files = walk('test')
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
// Tests that load the whole machine (50 process restarts under load) run first and alone,
// so the timing-sensitive rest of the suite does not run beside them.
const ALONE = ['test/faults/kill9.test.ts'];
// Every app and process the tests start leaves its log output and configured secrets here;
// after the suite, the output is searched for every secret (test/helpers/log-capture.ts).
const logDir = mkdtempSync(join(tmpdir(), 'lookout-test-logs-'));
let reports = 0;
const alone = files.filter((f) => ALONE.includes(f));
const rest = files.filter((f) => !ALONE.includes(f));
const run = (list, concurrency) =>
  list.length === 0
    ? 0
    : (spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          '--expose-gc',
          '--test',
          `--test-concurrency=${concurrency}`,
          '--test-timeout=120000',
          // The runner's own report is output too: kept beside the logs for the secret search.
          '--test-reporter=spec',
          '--test-reporter-destination=stdout',
          '--test-reporter=tap',
          `--test-reporter-destination=${join(logDir, `runner-${++reports}.tap`)}`,
          ...list,
        ],
        {
          stdio: 'inherit',
          env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent', LOOKOUT_TEST_LOG_DIR: logDir },
        },
      ).status ?? 1);
const first = run(alone, 1);
const second = run(rest, 2);
process.exit(first || second || searchForSecrets());

/** 0 when no configured secret appears in any captured output, raw or URL-encoded. */
function searchForSecrets() {
  const names = readdirSync(logDir);
  const secrets = new Set(
    names
      .filter((n) => n.endsWith('.secrets'))
      .flatMap((n) =>
        readFileSync(join(logDir, n), 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l)),
      ),
  );
  const forms = [...secrets].flatMap((s) => [...new Set([s, encodeURIComponent(s)])]);
  const outputs = names.filter((n) => n.endsWith('.log') || n.endsWith('.tap'));
  let bytes = 0;
  const found = [];
  for (const n of outputs) {
    const text = readFileSync(join(logDir, n), 'utf8');
    bytes += text.length;
    for (const s of forms) if (text.includes(s)) found.push(`${n}: ${s.slice(0, 6)}…`);
  }
  console.log(
    `\n# secret search: ${secrets.size} configured secrets, ${outputs.length} outputs (${Math.round(bytes / 1024)} KB)`,
  );
  // Nothing collected means the capture is broken, and a search of nothing proves nothing.
  if (filters.length === 0 && (secrets.size === 0 || bytes === 0)) {
    console.log('# secret search found nothing to search: the log capture is broken');
    return 1;
  }
  if (found.length > 0) {
    console.log(`# secrets found in the output (kept in ${logDir}):\n${found.join('\n')}`);
    return 1;
  }
  rmSync(logDir, { recursive: true, force: true });
  return 0;
}
