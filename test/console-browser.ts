/**
 * Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core;
 * no browser download) for the web console's tests, optionally started inside
 * a network namespace (through a two-line `ip netns exec` wrapper), with a
 * fresh profile. Requests to any origin but the device's are refused and,
 * with console errors and page errors, collected in `problems`: the console
 * must fetch nothing from outside. Screenshots go to build/test/.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BrowserContext, Locator, Page } from 'playwright-core';

export const CHROMIUM = process.env.TFW_CHROMIUM ?? '/usr/bin/chromium';
export const SHOTS = resolve(new URL('../build/test', import.meta.url).pathname);
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface ConsoleBrowser {
  page: Page;
  ctx: BrowserContext;
  /** Console errors, page errors and refused requests, one line each. */
  problems: string[];
  /** Saves build/test/<name>.png (the whole page); returns its path. */
  shot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** Opens `origin` (e.g. http://127.0.0.1:8080) in a fresh Chromium, inside `netns` when given. */
export async function openConsole(origin: string, netns?: string): Promise<ConsoleBrowser> {
  const { chromium } = await import('playwright-core');
  const dir = mkdtempSync(join(tmpdir(), 'tfw-console-chromium-'));
  let exe = CHROMIUM;
  if (netns) {
    exe = join(dir, 'chromium-in-netns');
    writeFileSync(exe, `#!/bin/sh\nexec ip netns exec ${netns} ${CHROMIUM} "$@"\n`);
    chmodSync(exe, 0o755);
  }
  const ctx = await chromium.launchPersistentContext(join(dir, 'profile'), { executablePath: exe, args: ARGS, headless: true, viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1 });
  const problems: string[] = [];
  await ctx.route('**/*', (route) => {
    if (route.request().url().startsWith(`${origin}/`)) return route.continue();
    problems.push(`request refused: ${route.request().url()}`);
    return route.abort();
  });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  page.on('console', (m) => {
    // The API's 4xx answers (no session yet, a refused field or bundle) are logged by Chromium as failed
    // loads; the page shows them, so they are not problems. A 5xx is.
    if (m.type() === 'error' && !/Failed to load resource: .*status of 4\d\d/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.setDefaultTimeout(20_000);
  return {
    page,
    ctx,
    problems,
    async shot(name) {
      mkdirSync(SHOTS, { recursive: true });
      const p = join(SHOTS, `${name}.png`);
      await page.screenshot({ path: p, fullPage: true });
      return p;
    },
    async close() {
      await ctx.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const haveChromium = (): boolean => existsSync(CHROMIUM);

/**
 * The peers page's add form, as a user meets its validation: fills public
 * key, a bad endpoint ("not an endpoint") and allowed IPs, submits, and
 * waits for the API's message beside the endpoint input. Returns the form
 * (filled, so a test fixes the endpoint and submits again) and the message.
 * @throws playwright's timeout when the form or the message does not show
 */
export async function peerFormError(page: Page, peer: { publicKey: string; allowedIPs: string }): Promise<{ form: Locator; message: string }> {
  const form = page.getByTestId('peer-form');
  await form.locator('input[name=publicKey]').fill(peer.publicKey);
  await form.locator('input[name=endpoint]').fill('not an endpoint');
  await form.locator('input[name=allowedIPs]').fill(peer.allowedIPs);
  await form.locator('button[type=submit]').click();
  const fieldError = form.locator('.field-error[data-field=endpoint]');
  await fieldError.waitFor();
  return { form, message: await fieldError.innerText() };
}
