// Runs every test/**/*.test.ts with Node's own test runner through tsx.
// Node 20 has no glob support in `--test`, so the files are listed here.
// Usage: node scripts/run-tests.mjs [substring filter…]
import { readdirSync } from 'node:fs';
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
          ...list,
        ],
        { stdio: 'inherit', env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' } },
      ).status ?? 1);
const first = run(alone, 1);
const second = run(rest, 2);
process.exit(first || second);
