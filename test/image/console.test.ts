/**
 * The web console of a flashed device, in a real browser: one x86_64 image
 * built with `tfw build --trust` (the console in /usr/lib/tfw/console),
 * released with `tfw release` and flashed with `tfw flash`; one QEMU guest
 * booted from the disk with the device API forwarded to the host. Debian's
 * headless Chromium sets the first admin password, signs in, sees slot a
 * on the dashboard, uploads the release bundle with its signature on the
 * firmware page and watches the upload bar reach 100 %, sees the device's
 * answer (slot b), then the device come back running slot b. The same build
 * is the bundle (an equal version is accepted). Screenshots:
 * build/test/console-device-*.png. Needs root (apt-get download, QEMU), the
 * disk tools and chromium; skips with a message otherwise.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadBoard } from '../../images/builder/schema.js';
import { haveChromium, openConsole, type ConsoleBrowser } from '../console-browser.js';
import { isRoot, runTfw, freeTcpPort } from '../helpers.js';
import { diskToolsMissing, Guest } from './guest.js';

const READY_S = 300;
const missing = isRoot ? [...diskToolsMissing(), ...(haveChromium() ? [] : ['chromium (make sysdeps)'])] : ['root'];
const skip = missing.length > 0;
if (skip) console.log(`  tfw: test: console image test skipped, missing: ${missing.join('; ')}`);


async function tfw(args: string[]): Promise<void> {
  const r = await runTfw(args);
  assert.is(r.code, 0, `tfw ${args.join(' ')}: ${r.stderr.slice(-2000)}`);
}

test('a flashed device: sign in, upload a release with a progress bar to 100 %, back on slot b', async () => {
  if (skip) return;
  const tmp = mkdtempSync(join(tmpdir(), 'tfw-console-image-'));
  const key = join(tmp, 'release.key');
  const dir = join(tmp, 'image');
  const bundle = join(tmp, 'x86_64.tfwup');
  const disk = join(tmp, 'x86_64.img');
  await tfw(['keygen', '--signing', '-o', key]);
  await tfw(['build', '--board', 'qemu-x86_64', '--trust', `${key}.pub`, '-o', dir, '-q']);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { inputs?: Array<{ path: string }> };
  assert.ok(JSON.stringify(manifest).includes('build/console/assets/console.js'), 'the image carries the console');
  await tfw(['release', '--dir', dir, '--key', key, '-o', bundle]);
  await tfw(['flash', '--dir', dir, '-o', disk]);

  const port = await freeTcpPort();
  const origin = `http://127.0.0.1:${port}`;
  const g = new Guest('console-x86_64', { board: loadBoard('qemu-x86_64'), dir: '', disk, forward: [`${port}:80`], timeout: 1500 });
  let browser: ConsoleBrowser | undefined;
  try {
    await g.waitFor(/^tfw: ready 3router x86_64 /, READY_S);
    browser = await openConsole(origin);
    const { page } = browser;
    await page.goto(`${origin}/`);
    await page.getByTestId('setup-note').waitFor();
    await page.fill('input[name=password]', 'device console password');
    await page.fill('input[name=repeat]', 'device console password');
    await page.click('button[type=submit]');
    await page.getByTestId('facts').waitFor();
    assert.is(await page.getByTestId('slot').innerText(), 'a');
    await browser.shot('console-device-dashboard');

    await page.click('a[data-page=upgrade]');
    await page.getByTestId('running-slot').getByText('a').waitFor();
    await page.setInputFiles('input[name=bundle]', bundle);
    await page.setInputFiles('input[name=signature]', `${bundle}.minisig`);
    // Every value the bar shows on its way, read in the page (no timing: only the sequence).
    await page.evaluate(() => {
      const seen: number[] = ((window as unknown as { tfwProgress: number[] }).tfwProgress = []);
      const bar = document.querySelector('[data-testid=upload-progress]')!;
      new MutationObserver(() => seen.push(Number(bar.getAttribute('aria-valuenow')))).observe(bar, { attributes: true });
    });
    const from = g.mark();
    await page.click('.upgrade-form button[type=submit]');
    await page.getByTestId('upgrade-result').getByText(/^Accepted: slot b holds /).waitFor({ timeout: READY_S * 1000 });
    const seen = await page.evaluate(() => (window as unknown as { tfwProgress: number[] }).tfwProgress);
    assert.is(seen[seen.length - 1], 100, `progress values: ${seen.join(' ')}`);
    assert.ok(seen.some((v) => v > 0 && v < 100), `the bar moved through the upload: ${seen.join(' ')}`);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1], `the bar never goes back: ${seen.join(' ')}`);
    await browser.shot('console-device-uploaded');

    await g.waitFor(/^tfw: slot: booted b$/, READY_S, from);
    await page.getByTestId('back-on-slot').waitFor({ timeout: READY_S * 1000 });
    assert.match(await page.getByTestId('back-on-slot').innerText(), /^Back on slot b running /);
    assert.is(await page.getByTestId('running-slot').innerText(), 'b');
    await browser.shot('console-device-back');
    // The page polls the device while it reboots: those polls fail at the connection, as they should.
    assert.equal(browser.problems.filter((p) => !/Failed to load resource: net::ERR_(CONNECTION_RESET|CONNECTION_REFUSED|SOCKET_NOT_CONNECTED|EMPTY_RESPONSE|CONNECTION_CLOSED)/.test(p)), []);
  } finally {
    await browser?.close();
    await g.kill();
  }
});

test.run();
