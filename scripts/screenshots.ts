/**
 * Regenerates the README's dashboard screenshots, docs/screenshot-light.png and
 * docs/screenshot-dark.png: a real Lookout with real targets on loopback (one of
 * them starts failing halfway), opened in Debian's Chromium with the system
 * colour scheme set to light, then dark.
 *
 * Usage: node --import tsx scripts/screenshots.ts   (needs /usr/bin/chromium)
 */
import { existsSync, mkdirSync } from 'node:fs';
import { CHROMIUM, launchChromium } from '../test/helpers/browser.js';
import { renderEmail } from '../src/channels/email.js';
import { downMessage } from '../src/core/alert-messages.js';
import { makeApp, checkAll } from '../test/helpers/app.js';
import { TargetServer } from '../test/helpers/target-server.js';

if (!existsSync(CHROMIUM)) {
  console.error(`${CHROMIUM} not found: install Debian's chromium (apt-get install chromium)`);
  process.exit(1);
}

/** A deterministic wobble, so two runs give the same picture. */
let seed = 7;
const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;

/** A target that answers after `base` ms plus some jitter, like a real service. */
async function service(base: number): Promise<TargetServer> {
  const s = await new TargetServer().start();
  s.custom = (_req, res) => {
    if (s.mode !== 'ok') return false;
    setTimeout(() => res.end('all systems ok'), base + random() * base * 0.8);
    return true;
  };
  return s;
}

const servers = {
  portal: await service(40),
  api: await service(18),
  billing: await service(60),
  grafana: await service(25),
};
const router = await new TargetServer().start();
const app = await makeApp({ API_TOKEN: 'screenshots-token-0123456789' });
const m = app.monitor;
await m.add({ name: 'portal', address: `${servers.portal.url}health`, tags: ['web', 'customers'] }, 'api');
await m.add({ name: 'api', address: `${servers.api.url}v1/ping`, tags: ['web'] }, 'api');
await m.add({ name: 'billing', address: servers.billing.url, tags: ['customers'], failThreshold: 2 }, 'api');
await m.add({ name: 'grafana', address: servers.grafana.url, tags: ['ops'] }, 'api');
await m.add({ name: 'core-router', address: `127.0.0.1:${router.port}`, tags: ['core'] }, 'api');
await m.add({ name: 'backup-nas', address: `127.0.0.1:${router.port}`, kind: 'tcp', tags: ['core'] }, 'api');
await m.add({ name: 'nightly-backup', kind: 'push', interval: 86400 }, 'api');

const checked = ['portal', 'api', 'billing', 'grafana', 'core-router', 'backup-nas'];
for (let round = 0; round < 40; round++) {
  if (round === 30) servers.billing.mode = 'error';
  await checkAll(app, round < 12 ? checked : checked.filter((n) => n !== 'backup-nas'));
}
await m.pause('backup-nas');

const browser = await launchChromium();
try {
  mkdirSync('docs', { recursive: true });
  for (const scheme of ['light', 'dark'] as const) {
    const page = await browser.newPage({ viewport: { width: 1180, height: 760 }, colorScheme: scheme });
    await page.goto(`${app.url}/`);
    await page.locator('.card').nth(6).waitFor();
    await page.locator('.card.s-down').waitFor();
    const path = `docs/screenshot-${scheme}.png`;
    await page.screenshot({ path, fullPage: true });
    console.log(`wrote ${path}`);
    await page.close();
  }
  // An alert as it reaches a mailbox: the real DOWN message for the failing target, rendered by the email channel.
  const down = m.list().find((t) => m.state(t.name).status === 'down');
  const incident = down && m.openIncident(down.name);
  if (down && incident) {
    const { html } = renderEmail(downMessage(down, m.state(down.name), incident));
    const page = await browser.newPage({ viewport: { width: 640, height: 420 } });
    await page.setContent(html);
    await page.screenshot({ path: 'docs/screenshot-alert.png', fullPage: true });
    console.log('wrote docs/screenshot-alert.png');
    await page.close();
  }
} finally {
  await browser.close();
  await app.stop();
  for (const s of [...Object.values(servers), router]) await s.stop();
}
