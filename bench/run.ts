/**
 * `npm run bench`: prints the figures the issues ask for. Absolute times drift on
 * shared machines, so each figure is also given as a ratio against a baseline
 * measured in the same run. Not a test: nothing here passes or fails.
 */
import { runChild, startTargets } from './lib.js';

const only = process.argv.slice(2);
const want = (name: string) => only.length === 0 || only.includes(name);
const fmt = (x: unknown, d = 1) => (typeof x === 'number' ? x.toFixed(d) : String(x));

if (want('http')) {
  const targets = 1000;
  const interval = 10;
  const seconds = 30;
  const servers = await startTargets(2);
  try {
    // The engine runs with the same Node flags as `npm start` and the container image.
    const engine = await runChild('engine-http', { ports: servers.ports, targets, interval, seconds }, [
      '--max-semi-space-size=2',
    ]);
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
