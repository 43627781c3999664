/**
 * The dashboard end to end: a real Lookout with real local targets, driven in
 * Debian's Chromium through playwright-core. The routes the page reads are
 * checked over plain HTTP first, so they run even where Chromium is missing.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { makeApp, checkAll } from '../helpers/app.js';
import { TargetServer } from '../helpers/target-server.js';
import type { App } from '../../src/app.js';
import { CHROMIUM, launchChromium } from '../helpers/browser.js';

// The callbacks given to page.evaluate() run in the browser; the project's
// tsconfig leaves out the DOM library on purpose, so they get just these names.
declare const document: {
  documentElement: { dataset: Record<string, string | undefined>; scrollWidth: number; clientWidth: number };
  body: object;
  activeElement: { textContent: string | null; getAttribute(name: string): string | null } | null;
};
declare const window: { pwned?: number };
declare const localStorage: {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
};
declare function getComputedStyle(el: object): { borderLeftColor: string; backgroundColor: string };

const TOKEN = 'dashboard-test-token-0123456789';
/** The page's refresh interval in these tests (`?refresh=`), instead of the default 10 s. */
const REFRESH_MS = 600;

let app: App;
let web: TargetServer;

before(async () => {
  web = await new TargetServer().start();
  app = await makeApp({ API_TOKEN: TOKEN });
  await app.monitor.add({ name: 'web', address: web.url, failThreshold: 1, tags: ['prod'] }, 'api');
  await checkAll(app, ['web']);
});
after(async () => {
  await app.stop();
  await web.stop();
});

describe('dashboard routes', () => {
  test('GET / is the page, with a CSP that allows only this origin’s scripts', async () => {
    const res = await fetch(`${app.url}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.match(await res.text(), /<script type="module" src="\/assets\/app.js"><\/script>/);
  });

  test('assets are served compressed, revalidated by ETag, and nothing outside the folder', async () => {
    const res = await fetch(`${app.url}/assets/app.js`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.equal(res.headers.get('content-encoding'), 'gzip');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    const source = await readFile(new URL('../../src/http/assets/app.js', import.meta.url), 'utf8');
    assert.equal(await res.text(), source);
    const etag = res.headers.get('etag') ?? '';
    assert.ok(etag);
    const again = await fetch(`${app.url}/assets/app.js`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    for (const path of ['/assets/%2e%2e%2fdashboard.ts', '/assets/..%2f..%2fpackage.json', '/assets/nope.js'])
      assert.equal((await fetch(`${app.url}${path}`)).status, 404, path);
  });

  test('GET /api/dashboard carries the summary and every card in one response', async () => {
    const d = (await (await fetch(`${app.url}/api/dashboard`)).json()) as {
      summary: Record<string, number | null>;
      targets: Array<{
        name: string;
        state: { status: string };
        uptime: Record<string, unknown>;
        trail: unknown[][];
      }>;
    };
    assert.equal(d.summary.total, 1);
    assert.equal(d.summary.up, 1);
    assert.equal(d.summary.openIncidents, 0);
    const [t] = d.targets;
    assert.equal(t?.name, 'web');
    assert.equal(t?.state.status, 'up');
    assert.deepEqual(Object.keys(t?.uptime ?? {}), ['24h', '7d', '30d']);
    assert.ok((t?.trail.length ?? 0) >= 1);
    const summary = (await (await fetch(`${app.url}/api/summary`)).json()) as Record<string, unknown>;
    assert.equal(summary.up, 1);
  });

  test('GET /api/targets/:name/daily gives one row per day, today last', async () => {
    const d = (await (await fetch(`${app.url}/api/targets/web/daily?days=90`)).json()) as {
      days: Array<{ day: string; uptime: number | null }>;
    };
    assert.equal(d.days.length, 90);
    assert.equal(d.days.at(-1)?.day, new Date().toISOString().slice(0, 10));
    const bad = await fetch(`${app.url}/api/targets/web/daily?days=0`);
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /days must be a whole number/);
    assert.equal((await fetch(`${app.url}/api/targets/wbe/daily`)).status, 404);
  });
});

describe(
  'dashboard in Chromium',
  {
    skip: existsSync(CHROMIUM)
      ? false
      : `${CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to run the browser tests`,
  },
  () => {
    let browser: Browser;
    /** Lookout without the speed-test API answers its route with 404, which Chromium logs as an error. */
    let speedtestsMissing = false;

    before(async () => {
      browser = await launchChromium();
      const r = await fetch(`${app.url}/api/speedtests`);
      speedtestsMissing =
        r.status === 404 && ((await r.json()) as { error: string }).error === 'no such route';
    });
    after(async () => {
      await browser?.close();
    });

    interface Opened {
      page: Page;
      context: BrowserContext;
      errors: string[];
    }

    /**
     * A fresh browser profile (empty local storage) on `hash`, with console errors
     * collected. Chromium logs every 4xx answer to fetch() as a console error, so a
     * test that provokes one on purpose names it in `expect` as `[path, status]`.
     */
    async function open(
      hash = '#/',
      o: {
        token?: string;
        width?: number;
        expect?: Array<[string, number]>;
        /** Accept confirm() dialogs (delete) instead of counting them as unexpected. */
        confirm?: boolean;
        setup?: (c: BrowserContext) => Promise<unknown>;
      } = {},
    ): Promise<Opened> {
      const context = await browser.newContext({
        colorScheme: 'light',
        viewport: { width: o.width ?? 1200, height: 900 },
      });
      await o.setup?.(context);
      if (o.token) await context.addInitScript((t) => localStorage.setItem('lookout.token', t), o.token);
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() !== 'error') return;
        const path = new URL(m.location().url || app.url).pathname;
        if (speedtestsMissing && path === '/api/speedtests') return;
        if (o.expect?.some(([p, st]) => p === path && m.text().includes(`status of ${st}`))) return;
        errors.push(`${m.text()} (${m.location().url})`);
      });
      page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
      page.on('dialog', (d) => {
        if (o.confirm && d.type() === 'confirm') return void d.accept();
        errors.push(`unexpected dialog: ${d.message()}`);
        void d.dismiss();
      });
      await page.goto(`${app.url}/?refresh=${REFRESH_MS}${hash}`);
      return { page, context, errors };
    }

    const card = (page: Page, name: string) => page.locator(`.card[data-name="${name}"]`);

    test('the page loads with no console errors and shows each target', async () => {
      const { page, context, errors } = await open();
      await card(page, 'web').locator('.badge', { hasText: 'Up' }).waitFor();
      assert.equal(await card(page, 'web').locator('.addr').textContent(), `http · ${web.url}`);
      assert.match((await page.locator('.summary').textContent()) ?? '', /▲ 1\s*up/);
      assert.equal(
        await card(page, 'web').locator('.trail .bar').count(),
        app.history.trail('web', 40).length,
      );
      // Let a few refreshes run, so errors they would log are caught too.
      await page.waitForTimeout(REFRESH_MS * 3);
      assert.deepEqual(errors, []);
      await context.close();
    });

    test('a target going down turns its card red within one refresh', async () => {
      const { page, context, errors } = await open();
      const c = card(page, 'web');
      await c.locator('.badge', { hasText: 'Up' }).waitFor();
      web.mode = 'error';
      await checkAll(app, ['web']);
      assert.equal(app.monitor.state('web').status, 'down');
      const t0 = Date.now();
      // One refresh period plus the time one request may take on a loaded machine.
      await page.locator('.card.s-down[data-name="web"]').waitFor({ timeout: REFRESH_MS + 2000 });
      const took = Date.now() - t0;
      assert.equal(await c.locator('.badge').textContent(), '▼ Down');
      assert.match((await c.locator('.note').textContent()) ?? '', /HTTP 500/);
      const border = await c.evaluate((el) => getComputedStyle(el).borderLeftColor);
      assert.equal(border, 'rgb(207, 34, 46)', 'the light theme’s red');
      assert.equal(await page.locator('.cards > li').first().getAttribute('data-name'), 'web');
      web.mode = 'ok';
      await checkAll(app, ['web']);
      await page.locator('.card.s-up[data-name="web"]').waitFor({ timeout: REFRESH_MS + 2000 });
      assert.ok(took <= REFRESH_MS + 2000, `took ${took} ms`);
      assert.deepEqual(errors, []);
      await context.close();
    });

    test('adding a target through the form with the token makes a new card', async () => {
      const { page, context, errors } = await open();
      await card(page, 'web').waitFor();
      await page.getByRole('button', { name: 'API token' }).click();
      await page.getByLabel('Token', { exact: true }).fill(TOKEN);
      await page.getByRole('button', { name: 'Save' }).click();
      assert.equal(await page.evaluate(() => localStorage.getItem('lookout.token')), TOKEN);
      await page.getByRole('button', { name: '+ Add target' }).click();
      assert.equal(await page.locator('#f-token-row').isHidden(), true, 'a saved token is not asked again');
      await page.getByLabel('Name').fill('shop');
      await page.getByLabel('Address').fill(`${web.url}shop`);
      await page.getByLabel('Tags').fill('prod, shop');
      await page.locator('#f-submit').click();
      await card(page, 'shop').waitFor();
      assert.equal(await page.locator('#target-dialog').isVisible(), false);
      assert.deepEqual(app.monitor.get('shop').tags, ['prod', 'shop']);
      assert.equal(app.monitor.get('shop').source, 'api');
      assert.ok(!page.url().includes(TOKEN), 'the token never goes into a URL');
      await app.monitor.remove('shop');
      assert.deepEqual(errors, []);
      await context.close();
    });

    test("a wrong token shows the server's error and adds nothing", async () => {
      const { page, context, errors } = await open('#/', { expect: [['/api/targets', 401]] });
      await page.getByRole('button', { name: '+ Add target' }).click();
      await page.getByLabel('Name').fill('nope');
      await page.getByLabel('Address').fill(web.url);
      await page.getByRole('textbox', { name: 'API token' }).fill('not-the-token-at-all');
      await page.locator('#f-submit').click();
      await page.locator('#f-error', { hasText: 'wrong API token' }).waitFor();
      assert.equal(app.monitor.find('nope'), undefined);
      assert.equal(await page.locator('#target-dialog').isVisible(), true, 'the form stays open to fix it');
      assert.deepEqual(errors, []);
      await context.close();
    });

    test("the form shows the server's validation message beside the field", async () => {
      const { page, context, errors } = await open('#/', { token: TOKEN, expect: [['/api/targets', 400]] });
      await page.getByRole('button', { name: '+ Add target' }).click();
      await page.getByLabel('Name').fill('fast');
      await page.getByLabel('Address').fill(web.url);
      await page.getByLabel('Interval').fill('1');
      await page.locator('#f-submit').click();
      await page.locator('#f-error', { hasText: 'interval must be at least 5 seconds (got 1)' }).waitFor();
      assert.equal(await page.getByLabel('Interval').getAttribute('aria-invalid'), 'true');
      assert.equal(app.monitor.find('fast'), undefined);
      assert.deepEqual(errors, []);
      await context.close();
    });

    test('the theme toggle persists across reload', async () => {
      const { page, context, errors } = await open();
      const theme = () => page.evaluate(() => document.documentElement.dataset.theme ?? 'auto');
      const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      assert.equal(await theme(), 'auto');
      const light = await background();
      await page.locator('#theme-btn').click();
      assert.equal(await theme(), 'dark');
      assert.notEqual(await background(), light);
      await page.reload();
      await card(page, 'web').waitFor();
      assert.equal(await theme(), 'dark');
      assert.notEqual(await background(), light);
      assert.match((await page.locator('#theme-btn').textContent()) ?? '', /Dark/);
      assert.deepEqual(errors, []);
      await context.close();
    });

    test('server-chosen text is shown as text, never run as markup', async () => {
      const keyword = '<img src=x onerror="window.pwned=1">';
      await app.monitor.add({ name: 'tricky', address: web.url, keyword, failThreshold: 1 }, 'api');
      await checkAll(app, ['tricky']);
      const { page, context, errors } = await open();
      await card(page, 'tricky').locator('.note', { hasText: keyword }).waitFor();
      assert.equal(await page.locator('main img').count(), 0);
      assert.equal(await page.evaluate(() => window.pwned), undefined);
      await app.monitor.remove('tricky');
      await card(page, 'tricky').waitFor({ state: 'detached' });
      assert.deepEqual(errors, []);
      await context.close();
    });

    test('the target page shows charts, incidents, downloads, and pauses with the token', async () => {
      const { page, context, errors } = await open('#/target/web', { token: TOKEN });
      await page.locator('h1', { hasText: 'web' }).waitFor();
      await page.locator('.chart svg').first().waitFor();
      assert.equal(await page.locator('.daily .bar').count(), 90);
      // The incident from the down test, closed, with its duration.
      await page.locator('table tbody tr', { hasText: 'HTTP 500' }).first().waitFor();

      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: '24h CSV' }).click(),
      ]);
      assert.equal(download.suggestedFilename(), 'web-history.csv');
      const csv = await readFile(await download.path(), 'utf8');
      assert.match(csv, /^time,type,ok,ms/);

      await page.getByRole('button', { name: 'Pause' }).click();
      await page.getByRole('button', { name: 'Resume' }).waitFor();
      assert.equal(app.monitor.get('web').paused, true);
      await page.getByRole('button', { name: 'Resume' }).click();
      await page.getByRole('button', { name: 'Pause' }).waitFor();
      assert.equal(app.monitor.get('web').paused, undefined);
      assert.deepEqual(errors, []);
      await context.close();
    });

    test('a target is edited and deleted from its page', async () => {
      await app.monitor.add({ name: 'old-api', address: `${web.url}api`, tags: ['legacy'] }, 'api');
      const { page, context, errors } = await open('#/target/old-api', { token: TOKEN, confirm: true });
      await page.getByRole('button', { name: 'Edit' }).click();
      assert.equal(await page.getByLabel('Name').inputValue(), 'old-api');
      assert.equal(await page.getByLabel('Tags').inputValue(), 'legacy');
      await page.getByLabel('Interval').fill('2m');
      await page.locator('#f-submit').click();
      await page.locator('.addr', { hasText: 'every 2 min' }).waitFor();
      assert.equal(app.monitor.get('old-api').interval, 120);
      assert.deepEqual(app.monitor.get('old-api').tags, ['legacy'], 'unchanged fields are not sent');

      await page.getByRole('button', { name: 'Delete' }).click();
      await page.waitForURL(/#\/$/);
      await card(page, 'web').waitFor();
      assert.equal(await card(page, 'old-api').count(), 0);
      assert.equal(app.monitor.find('old-api'), undefined);
      assert.deepEqual(errors, []);
      await context.close();
    });

    test('the speed-test page says so when there is no result yet', async () => {
      // Nothing in the period, so the page asks for the latest ever, which is 404 until one has run.
      const { page, context, errors } = await open('#/speedtest', {
        expect: [['/api/speedtests/latest', 404]],
      });
      await page.getByText('No speed test yet').waitFor();
      assert.deepEqual(errors, []);
      await context.close();
    });

    test('speed-test results are charted, listed and summarised', async () => {
      const now = Date.now();
      // The speed-test API's documented shape; running real tests here would take a minute.
      const results = [3, 2, 1].map((hoursAgo, i) => ({
        at: now - hoursAgo * 3600e3,
        downloadMbps: 90 + i,
        uploadMbps: 20 + i,
        latencyMs: 12 + i,
        jitterMs: 1.5,
        durationMs: 9000,
        bytesDown: 1e8,
        bytesUp: 2e7,
        server: 'http://hq-lookout:8080/speedtest',
        protocol: 'cloudflare',
      }));
      const { page, context, errors } = await open('#/speedtest', {
        setup: (c) => c.route(/\/api\/speedtests\?/, (r) => r.fulfill({ json: { results } })),
      });
      await page.locator('.stat', { hasText: 'download' }).locator('b', { hasText: '92.0 Mbps' }).waitFor();
      assert.match((await page.locator('.stat', { hasText: 'upload' }).textContent()) ?? '', /22\.0 Mbps/);
      assert.match(
        (await page.locator('main').textContent()) ?? '',
        /against http:\/\/hq-lookout:8080\/speedtest/,
      );
      assert.equal(await page.locator('.chart svg path.line').count(), 4);
      assert.equal(await page.locator('table tbody tr').count(), 3);
      await page.getByRole('link', { name: 'Targets' }).click();
      await page.locator('.summary a.stat', { hasText: '↓ 92.0 Mbps ↑ 22.0 Mbps' }).waitFor();
      assert.deepEqual(errors, []);
      await context.close();
    });

    test('on a phone the page fits the screen and the controls are reachable by keyboard', async () => {
      const { page, context, errors } = await open('#/', { width: 360 });
      await card(page, 'web').waitFor();
      const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      );
      assert.equal(overflow, 0);
      const reached = new Set<string>();
      for (let i = 0; i < 20; i++) {
        await page.keyboard.press('Tab');
        reached.add(
          await page.evaluate(
            () =>
              document.activeElement?.textContent?.trim() ||
              document.activeElement?.getAttribute('aria-label') ||
              '',
          ),
        );
      }
      for (const name of ['+ Add target', 'API token', 'Search targets', 'web'])
        assert.ok(
          reached.has(name) || [...reached].some((r) => r.startsWith(name)),
          `${name} reachable by Tab (got ${[...reached].join(' | ')})`,
        );
      assert.deepEqual(errors, []);
      await context.close();
    });
  },
);
