import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blueGreenYaml, type Running, startSwitchyard } from '../helpers/switchyard.js';
import { closeAll, startUpstream, type TestUpstream } from '../helpers/upstreams.js';

/** Debian's chromium (`.ci/run` installs it); playwright-core downloads no browser of its own. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Where the test leaves its screenshot (the README shows a copy: docs/images/dashboard.png). */
const SCREENSHOT = join(import.meta.dirname, '../../dist/test-artifacts/dashboard.png');
const TOKEN = 'dashboard-test-token';

describe('the dashboard in a real browser (/ui, Chromium)', () => {
  let blue: TestUpstream;
  let green: TestUpstream;
  let sy: Running;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  let loadStop = false;
  let load: Promise<void> | undefined;

  beforeAll(async () => {
    blue = await startUpstream((_req, res) => res.setHeader('x-upstream', 'blue').end('blue'));
    green = await startUpstream((_req, res) => res.setHeader('x-upstream', 'green').end('green'));
    sy = await startSwitchyard(
      `proxy:\n  listen: ["127.0.0.1:0"]\nadmin:\n  listen: "127.0.0.1:0"\n  token: ${TOKEN}\n${blueGreenYaml({ blue: [blue.address], green: [green.address] })}`,
    );
    // A little traffic, so that the charts have lines (bounded in time; stopped in afterAll).
    const started = Date.now();
    load = (async () => {
      while (!loadStop && Date.now() - started < 60_000) {
        await (await fetch(sy.proxy)).text();
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      // As this machine needs: no sandbox as root, and no background calls to Google's hosts.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page: ${e.message}`));
    page.on('dialog', (d) => void d.accept());
  }, 60_000);

  afterAll(async () => {
    loadStop = true;
    await load;
    await browser?.close();
    await sy?.close();
    await closeAll([blue, green]);
  });

  const colourOfProxy = async () => (await fetch(sy.proxy)).headers.get('x-upstream');

  it('asks for the token, then shows where traffic goes', async () => {
    await page.goto(`${sy.admin}/ui`);
    await page.locator('input[name=token]').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const blueShare = page.locator('[data-testid=split] [data-upstream=blue]');
    await blueShare.waitFor();
    expect(await blueShare.getAttribute('data-percent')).toBe('100');
    // The token stays in the tab, never in the address.
    expect(page.url()).not.toContain(TOKEN);
  });

  it('switches to green after a confirmation: the page and the proxy agree', async () => {
    await page.getByRole('button', { name: 'Switch to green' }).click();
    await page.locator('[data-testid=split] [data-upstream=green][data-percent="100"]').waitFor();
    expect(await colourOfProxy()).toBe('green');
    await page.getByRole('button', { name: 'Roll back to blue' }).click();
    await page.locator('[data-testid=split] [data-upstream=blue][data-percent="100"]').waitFor();
    expect(await colourOfProxy()).toBe('blue');
  });

  it("shows a mirror's match rate and its latest mismatching samples", async () => {
    const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const put = await fetch(`${sy.admin}/services/svc/mirror`, { method: 'PUT', headers: auth, body: JSON.stringify({ upstream: 'green' }) });
    expect(put.status).toBe(200);
    // blue and green answer with their own names: every copy differs in its body.
    await page.locator('[data-testid=mirror] [data-testid=match-rate]', { hasText: 'match 0.00%' }).waitFor();
    await page.locator('[data-testid=mirror] tr', { hasText: 'mismatch_body' }).first().waitFor();
    expect((await fetch(`${sy.admin}/services/svc/mirror`, { method: 'DELETE', headers: auth })).status).toBe(204);
    await page.locator('[data-testid=mirror]').waitFor({ state: 'detached' });
  });

  it('starts a rollout and the split bar moves step by step', async () => {
    const form = page.locator('[data-testid=rollout-form]');
    await form.locator('select[name=to]').selectOption('green');
    await form.locator('input[name=steps]').fill('20,60,100');
    await form.locator('input[name=interval]').fill('1s');
    await form.locator('input[name=min_requests]').fill('1');
    await form.getByRole('button', { name: 'Start rollout' }).click();
    await page.locator('[data-testid=split] [data-upstream=green][data-percent="20"]').waitFor();
    await page.locator('[data-testid=split] [data-upstream=green][data-percent="60"]').waitFor({ timeout: 15_000 });
    await page.locator('[data-testid=rollout-state]', { hasText: 'succeeded' }).waitFor({ timeout: 15_000 });
    await page.locator('[data-testid=split] [data-upstream=green][data-percent="100"]').waitFor();
    expect(await colourOfProxy()).toBe('green');
    // The judgements are listed, and the charts have drawn (uPlot's canvases).
    expect(await page.locator('[data-testid=rollout] table tr').count()).toBeGreaterThan(1);
    expect(await page.locator('.chart canvas').count()).toBeGreaterThanOrEqual(3);
    await mkdir(join(SCREENSHOT, '..'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('marks a target unhealthy and back from the health grid', async () => {
    const row = page.locator('[data-testid=health] tr', { hasText: green.address });
    await row.getByRole('button', { name: 'Mark unhealthy' }).click();
    await row.locator('.badge', { hasText: 'UNHEALTHY' }).waitFor();
    await row.getByRole('button', { name: 'Mark healthy' }).click();
    await row.locator('.badge', { hasText: 'HEALTHY' }).waitFor();
  });

  it('had no console errors, and the feed refuses a call without the token', async () => {
    expect(problems, problems.join('\n')).toEqual([]);
    expect((await fetch(`${sy.admin}/ui/events`)).status).toBe(401);
    const ui = await fetch(`${sy.admin}/ui`);
    expect(ui.status).toBe(200);
    expect(ui.headers.get('x-frame-options')).toBe('DENY');
  });
});
