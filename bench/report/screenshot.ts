/**
 * Opens a report in headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core) and saves a PNG of the page or of one chart. Every request
 * that is not the file itself is refused and reported, so a report that
 * fetches anything (a CDN script, a font) shows up as a problem; console
 * errors and page errors are reported too. Used by the image test and by
 * `tfw bench --png` (the README's chart).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TfwError } from '../../runtime/errors.js';

export const CHROMIUM = process.env.TFW_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface ShotResult {
  /** Console errors, page errors and refused requests, one line each. */
  problems: string[];
  /** Number of <svg> elements in the page. */
  svgs: number;
  /** Ids of the chart figures (`chart-<name>`). */
  charts: string[];
}

/**
 * Loads `html` (a file path) and writes `png`: the whole page, or only the
 * figure `#chart-<chart>` when `chart` is given.
 * @throws TfwError ERR_TFW_BENCH when Chromium is missing, or the chart is not in the page
 */
export async function screenshotReport(html: string, png: string, chart?: string): Promise<ShotResult> {
  if (!existsSync(CHROMIUM)) throw new TfwError('ERR_TFW_BENCH', `--png: ${CHROMIUM} is missing; install Debian's chromium (make sysdeps) or set TFW_CHROMIUM`);
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'tfw-chromium-'));
  const problems: string[] = [];
  const url = pathToFileURL(html).href;
  const ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS, headless: true, viewport: { width: 1600, height: 900 }, deviceScaleFactor: 1 });
  try {
    await ctx.route('**/*', (route) => {
      if (route.request().url() === url) return route.continue();
      problems.push(`request refused: ${route.request().url()}`);
      return route.abort();
    });
    const page = await ctx.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    const resp = await page.goto(url, { waitUntil: 'load', timeout: 30_000 });
    if (!resp?.ok()) problems.push(`load: ${resp ? `status ${resp.status()}` : 'no response'}`);
    const svgs = await page.locator('svg').count();
    const charts = await page.locator('figure.chart').evaluateAll((els) => els.map((e) => e.id));
    if (chart) {
      if (!charts.includes(`chart-${chart}`)) throw new TfwError('ERR_TFW_BENCH', `--chart: no chart "${chart}" in ${html}; it has ${charts.map((c) => c.replace(/^chart-/, '')).join(', ')}`);
      await page.locator(`#chart-${chart}`).screenshot({ path: png });
    } else await page.screenshot({ path: png, fullPage: true });
    return { problems, svgs, charts };
  } finally {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
