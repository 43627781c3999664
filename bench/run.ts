/**
 * `npm run bench`: prints the figures the issues ask for. Absolute times drift on
 * shared machines, so each figure is also given as a ratio against a baseline
 * measured in the same run. Not a test: nothing here passes or fails.
 */
import { runChild, startTargets } from './lib.js';
import { GLIBC_TUNABLES } from '../src/memory.js';

const only = process.argv.slice(2);
const want = (name: string) => only.length === 0 || only.includes(name);
const fmt = (x: unknown, d = 1) => (typeof x === 'number' ? x.toFixed(d) : String(x));
// The engine runs with the Node flags and environment of `npm start`, the image and the unit.
const FLAGS = ['--max-semi-space-size=2', '--v8-pool-size=1'];
const ENV = { GLIBC_TUNABLES };
const memory = (r: Record<string, unknown>) =>
  `RSS median ${fmt(r.rssMedianMb, 0)} MB, peak ${fmt(r.peakRssMb, 0)} MB, ${fmt(r.cpuPercent)}% of one core, ${fmt(r.usPerCheck, 0)} µs CPU per check, lag p99 ${fmt(r.lagP99, 0)} ms`;

if (want('http')) {
  const targets = 1000;
  const interval = 10;
  const seconds = 30;
  const servers = await startTargets(2);
  try {
    const engine = await runChild(
      'engine-http',
      { ports: servers.ports, targets, interval, seconds, commands: true, restart: true },
      FLAGS,
      ENV,
    );
    const checks = Number(engine.checks);
    const paced = await runChild('baseline-http', {
      ports: servers.ports,
      targets,
      checks,
      concurrency: 16,
      rate: targets / interval,
    });
    const tight = await runChild('baseline-http', { ports: servers.ports, targets, checks, concurrency: 16 });
    console.log(
      `\n## HTTP checks: ${targets} targets at ${interval} s, ${seconds} s measured (${checks} checks)`,
    );
    console.log(
      `engine:         ${fmt(engine.usPerCheck, 0)} µs CPU per check, ${fmt(engine.cpuPercent)}% of one core, lag p99 ${fmt(engine.lagP99, 0)} ms, peak RSS ${fmt(engine.peakRssMb, 0)} MB`,
    );
    console.log(
      `bare undici, paced like the engine: ${fmt(paced.usPerCheck, 0)} µs per check → engine ratio ${fmt(Number(engine.usPerCheck) / Number(paced.usPerCheck), 2)}×`,
    );
    console.log(
      `bare undici, tight loop (16 at once): ${fmt(tight.usPerCheck, 0)} µs per check → engine ratio ${fmt(Number(engine.usPerCheck) / Number(tight.usPerCheck), 2)}×`,
    );
    console.log(
      `commands through POST /api/commands while the checks run: p50 ${fmt(engine.commandP50)} ms, p95 ${fmt(engine.commandP95)} ms (${fmt(engine.commandCount, 0)} commands)`,
    );
    console.log(
      `start-up: listening after ${fmt(Number(engine.startMs) / 1000, 2)} s, first check after ${fmt(Number(engine.firstCheckMs) / 1000, 2)} s`,
    );
    console.log(
      `restart on the same data: first check after ${fmt(Number(engine.restartFirstCheckMs) / 1000, 2)} s, every target checked again after ${engine.restartAllCheckedMs === undefined ? `more than ${2 * interval} s` : `${fmt(Number(engine.restartAllCheckedMs) / 1000, 2)} s`} (interval ${interval} s)`,
    );
  } finally {
    servers.stop();
  }
}

if (want('channels')) {
  const { startChannelFakes } = await import('./fakes.js');
  const targets = 1000;
  const interval = 10;
  const seconds = 30;
  const servers = await startTargets(2);
  const fakes = await startChannelFakes();
  try {
    const args = { ports: servers.ports, targets, interval, seconds };
    const bare = await runChild('engine-http', args, FLAGS, ENV);
    const full = await runChild('engine-http', { ...args, env: fakes.env }, FLAGS, ENV);
    // The "before" of src/memory.ts: V8's default heap growth and glibc's moving mmap threshold.
    const before = await runChild('engine-http', { ...args, env: fakes.env, untuned: true }, FLAGS);
    console.log(`\n## Memory: ${targets} HTTP targets at ${interval} s, ${seconds} s measured`);
    console.log(`no chat platforms: ${memory(bare)}`);
    console.log(
      `Telegram + Slack (Socket Mode) + Discord + email, connected to local fakes: ${memory(full)}`,
    );
    console.log(`  the same without src/memory.ts's settings: ${memory(before)}`);
  } finally {
    await fakes.close();
    servers.stop();
  }
}

// Minutes long, so only when asked for: `npm run bench scale`.
if (only.includes('scale')) {
  const targets = 10_000;
  const interval = 60;
  const seconds = 60;
  const servers = await startTargets(4);
  try {
    const args = { ports: servers.ports, targets, interval, seconds };
    const tuned = await runChild('engine-http', args, FLAGS, ENV);
    const paced = await runChild('baseline-http', {
      ports: servers.ports,
      targets,
      checks: Number(tuned.checks),
      concurrency: 16,
      rate: targets / interval,
    });
    const before = await runChild('engine-http', { ...args, untuned: true }, FLAGS);
    console.log(`\n## Scale: ${targets} HTTP targets at ${interval} s, ${seconds} s measured`);
    console.log(`engine: ${memory(tuned)}`);
    console.log(
      `  bare undici, paced like the engine: ${fmt(paced.usPerCheck, 0)} µs per check → engine ratio ${fmt(Number(tuned.usPerCheck) / Number(paced.usPerCheck), 2)}×`,
    );
    console.log(`  without src/memory.ts's settings: ${memory(before)}`);
  } finally {
    servers.stop();
  }
}

if (want('ping')) {
  const { benchPing } = await import('./ping.js');
  console.log('\n## ICMP: one round of 1,000 loopback targets');
  for (const [k, v] of Object.entries(await benchPing(1000))) console.log(`${k}: ${v}`);
}

if (want('history')) {
  const { benchHistory } = await import('./history.js');
  console.log('\n## History file');
  const r = await benchHistory();
  for (const [k, v] of Object.entries(r)) console.log(`${k}: ${fmt(v)}`);
}
