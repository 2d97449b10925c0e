/**
 * The web console in a real browser against a real runtime: node A
 * (runtime/main.ts with `api: 127.0.0.1:8080`, its own network namespace,
 * finding build/console by itself)
 * peers with two `tfw runtime` nodes B and C (one namespace each, a veth
 * link to A each) that handshake with it. Debian's headless Chromium runs
 * inside A's namespace (test/console-browser.ts) and: sets the first admin
 * password, signs in, sees both peers with handshake ages on the dashboard
 * and B's traffic chart draw while B pings A, sees the peers and routes
 * tables, makes the peer form show the API's validation message next to the
 * endpoint field, adds a peer through the form (then in GET /v1/peers, in
 * the running overlay's status and in the stock `wg show` of Debian's
 * wireguard-tools, over the UAPI socket, beside B and C with their
 * handshakes), edits and removes it, fills the network form (LAN, WAN,
 * firewall) with a pool end outside the LAN and sees the API's message beside
 * that field, then saves a good one and reads it back through the API and
 * from /data, sees the logs, gets
 * an upgrade refusal with the upload bar at 100 %, asks for a reboot,
 * changes the admin password (the sign-in page follows: the old one is
 * refused, the new one works), signs out and in. Nothing is fetched from
 * outside the device.
 * Screenshots: build/test/console-*.png (and `wg show`'s output in
 * console-wg-show.txt). Needs root, the native addon (TUN), ping, wg and
 * chromium; skips with a message otherwise.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { keygen } from '../../host-tools/commands/keygen.js';
import { nativeAvailable } from '../../runtime/kernels/native.js';
import { SHOTS, haveChromium, openConsole, peerFormError, type ConsoleBrowser } from '../console-browser.js';
import { isRoot } from '../helpers.js';
import { ROOT, getStatus, have, netnsStar, ping, sh, sleep, spawnIn, tfwRuntime, waitFor, type Proc } from './overlay-netns.js';

const missing = [!isRoot && 'root', !nativeAvailable() && 'native addon (make native)', !have('ping') && 'ping', !have('wg') && 'wg (wireguard-tools)', !haveChromium() && 'chromium (make sysdeps)'].filter(Boolean);
const skip = missing.length > 0;
if (skip) console.log(`  skip console: needs ${missing.join(', ')}`);

const TAG = `tc${process.pid % 10000}`;
const NS = { a: `${TAG}a`, b: `${TAG}b`, c: `${TAG}c` };
const PASSWORD = 'console test password';
const ORIGIN = 'http://127.0.0.1:8080';

class Net {
  readonly dir = mkdtempSync(join(tmpdir(), 'tfw-console-'));
  readonly procs: Proc[] = [];

  constructor() {
    // A-B on 10.97.1.0/24, A-C on 10.97.2.0/24.
    netnsStar(NS.a, [NS.b, NS.c], `${TAG}a`, `${TAG}x`);
  }

  file(name: string, text: string): string {
    const p = join(this.dir, name);
    writeFileSync(p, text, { mode: 0o600 });
    return p;
  }

  async cleanup(): Promise<void> {
    for (const p of this.procs) if (p.child.exitCode === null) p.child.kill('SIGTERM');
    await Promise.race([Promise.all(this.procs.map((p) => p.exited)), sleep(3000)]);
    for (const p of this.procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    for (const ns of Object.values(NS)) spawnSync('ip', ['netns', 'del', ns]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const peerYaml = (k: { publicKey: string }, endpoint: string, ip: string) => `  - publicKey: ${k.publicKey}
    endpoint: ${endpoint}
    allowedIPs: [${ip}/32]
`;

test('sign in, both peers with handshakes, live chart, tables, a form error, a peer added, logs, an upgrade refused', async () => {
  if (skip) return;
  const net = new Net();
  let browser: ConsoleBrowser | undefined;
  const [a, b, c, d] = [keygen(), keygen(), keygen(), keygen()];
  try {
    const sockA = join(net.dir, 'a.sock');
    const data = join(net.dir, 'data');
    mkdirSync(data);
    const cfgA = net.file('a.yaml', `name: ${TAG}t
privateKey: ${a.privateKey}
listenPort: 51820
address: [10.100.0.1/32]
status: ${sockA}
api: 127.0.0.1:8080
peers:
${peerYaml(b, '10.97.1.2:51820', '10.100.0.2')}${peerYaml(c, '10.97.2.2:51820', '10.100.0.3')}`);
    const runtimeA = spawnIn(NS.a, [process.execPath, '--import', 'tsx', join(ROOT, 'runtime/main.ts'), '--config', cfgA, '--data', data, '--role', '3router']);
    net.procs.push(runtimeA);
    for (const [k, ns, n, ip] of [[b, NS.b, 1, '10.100.0.2'], [c, NS.c, 2, '10.100.0.3']] as const) {
      // Its own interface name: UAPI sockets live in /var/run/wireguard, which the namespaces share, so
      // with A's name the last runtime to start would own A's socket and \`wg show\` would show B or C.
      const cfg = net.file(`${ns}.yaml`, `name: ${TAG}${n === 1 ? 'b' : 'c'}
privateKey: ${k.privateKey}
listenPort: 51820
address: [${ip}/32]
peers:
${peerYaml(a, `10.97.${n}.1:51820`, '10.100.0.1')}`);
      net.procs.push(tfwRuntime(ns, cfg));
    }
    const ready = await waitFor(() => net.procs.every((p) => p.child.exitCode === null && /tfw: (ready|overlay: up) /.test(p.out())) && runtimeA.out().includes('tfw: ready '), 60_000);
    assert.ok(ready, net.procs.map((p) => p.out()).join('\n---\n'));
    // Handshakes: B and C each send a few packets to A.
    assert.ok(ping(NS.b, '10.100.0.1', 2), `ping B -> A\n${runtimeA.out()}`);
    assert.ok(ping(NS.c, '10.100.0.1', 2), 'ping C -> A');

    browser = await openConsole(ORIGIN, NS.a);
    const { page } = browser;
    await page.goto(`${ORIGIN}/`);
    // Set-up mode: the first password, then signed in.
    await page.getByTestId('setup-note').waitFor();
    await page.fill('input[name=password]', 'short');
    await page.fill('input[name=repeat]', 'short');
    await page.click('button[type=submit]');
    assert.match(await page.getByRole('alert').innerText(), /at least 8 characters/);
    await page.fill('input[name=password]', PASSWORD);
    await page.fill('input[name=repeat]', PASSWORD);
    await page.click('button[type=submit]');

    // Dashboard: identity, both peers with a handshake age, B's chart drawing traffic.
    await page.getByTestId('facts').waitFor();
    // Traffic for the chart: a bounded ping (at most 30 s) from B while the dashboard is open
    // (started only now: a slow browser start must not outlast it).
    net.procs.push(spawnIn(NS.b, ['ping', '-q', '-c', '150', '-i', '0.2', '-s', '1200', '10.100.0.1']));
    assert.is(await page.getByTestId('identity').innerText(), a.publicKey);
    const cards = page.getByTestId('peer-card');
    await waitFor(async () => (await cards.count()) === 2, 10_000);
    for (const k of [b, c]) {
      const card = page.locator(`[data-testid=peer-card][data-key="${k.publicKey}"]`);
      assert.match(await card.getByTestId('handshake').innerText(), /^\d+ (s|min) ago$/, k.publicKey);
    }
    const chartB = page.locator(`[data-testid=peer-card][data-key="${b.publicKey}"] [data-testid=traffic-chart]`);
    const drew = await waitFor(async () => Number(await chartB.getAttribute('data-points')) >= 5 && Number(await chartB.getAttribute('data-max-rx')) > 1000, 20_000);
    assert.ok(drew, `chart: ${await chartB.getAttribute('data-points')} points, max rx ${await chartB.getAttribute('data-max-rx')}`);
    // uPlot drew on its canvas: some pixels are not blank.
    const inked = await chartB.locator('canvas').evaluate((cv: HTMLCanvasElement) => {
      const px = cv.getContext('2d')!.getImageData(0, 0, cv.width, cv.height).data;
      let n = 0;
      for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++;
      return n;
    });
    assert.ok(inked > 500, `canvas pixels drawn: ${inked}`);
    await browser.shot('console-dashboard');

    // Peers and routes tables.
    await page.click('a[data-page=peers]');
    const rows = page.locator('[data-testid=peers-table] tbody tr');
    await waitFor(async () => (await rows.count()) === 2, 10_000);
    assert.ok(await page.locator(`[data-testid=peers-table] tr[data-key="${b.publicKey}"]`).count());
    assert.match(await page.getByTestId('routes-table').innerText(), /10\.100\.0\.2\/32/);

    // A bad endpoint: the API's message next to the endpoint field, nothing added.
    const { form, message } = await peerFormError(page, { publicKey: d.publicKey, allowedIPs: '10.100.0.9/32' });
    assert.match(message, /endpoint/);
    await browser.shot('console-peer-form-error');
    const peersNow = () => page.evaluate(() => fetch('/v1/peers').then((r) => r.json())) as Promise<Array<{ publicKey: string; endpoint?: string }>>;
    assert.is((await peersNow()).length, 2);

    // Fixed: the peer is added, in GET /v1/peers and in the running overlay.
    await form.locator('input[name=endpoint]').fill('10.97.1.2:51999');
    await form.locator('button[type=submit]').click();
    await page.getByTestId('notice').waitFor();
    await waitFor(async () => (await rows.count()) === 3, 10_000);
    const added = (await peersNow()).find((p) => p.publicKey === d.publicKey);
    assert.is(added?.endpoint, '10.97.1.2:51999');
    assert.ok((await getStatus(sockA)).peers.some((p: { publicKey: string }) => p.publicKey === d.publicKey), 'the overlay runs the new peer');
    // The stock wg(8) sees it over the UAPI socket, with B and C and their handshakes.
    const wgShow = sh(['ip', 'netns', 'exec', NS.a, 'wg', 'show', `${TAG}t`]);
    mkdirSync(SHOTS, { recursive: true });
    writeFileSync(join(SHOTS, 'console-wg-show.txt'), wgShow);
    const dump = sh(['ip', 'netns', 'exec', NS.a, 'wg', 'show', `${TAG}t`, 'dump']).trim().split('\n').slice(1).map((l) => l.split('\t'));
    const wgPeer = (k: { publicKey: string }) => dump.find((f) => f[0] === k.publicKey);
    assert.equal(wgPeer(d)?.slice(2, 4), ['10.97.1.2:51999', '10.100.0.9/32'], wgShow);
    for (const k of [b, c]) assert.ok(Number(wgPeer(k)?.[4]) > 0, `a handshake with ${k.publicKey} in wg show:\n${wgShow}`);
    await browser.shot('console-peers');
    // Edit: the keepalive changed through the form; then remove (after the confirmation).
    const rowD = page.locator(`[data-testid=peers-table] tr[data-key="${d.publicKey}"]`);
    await rowD.getByText('Edit').click();
    await form.locator('input[name=persistentKeepalive]').fill('25');
    await form.locator('button[type=submit]').click();
    await waitFor(async () => (await peersNow()).some((p) => p.publicKey === d.publicKey && (p as { persistentKeepalive?: number }).persistentKeepalive === 25), 10_000);
    page.once('dialog', (dlg) => void dlg.accept());
    await rowD.getByText('Remove').click();
    await waitFor(async () => (await rows.count()) === 2, 10_000);
    assert.not.ok((await peersNow()).some((p) => p.publicKey === d.publicKey), 'the peer is removed');

    // Network: the LAN, WAN and firewall sections. A pool end outside the LAN: the API's message
    // beside that field, nothing changed; then a good change, read back through the API and from /data.
    const configNow = () => page.evaluate(() => fetch('/v1/config').then((r) => r.json())) as Promise<Record<string, any>>;
    await page.click('a[data-page=network]');
    const netForm = page.getByTestId('network-form');
    await netForm.locator('input[name=lanEnabled]').check();
    await netForm.locator('input[name="lan.address"]').fill('192.168.7.1/24');
    await netForm.locator('input[name="lan.dhcp.start"]').fill('50');
    await netForm.locator('input[name="lan.dhcp.end"]').fill('192.168.8.90');
    await netForm.locator('textarea[name="firewall.allowOverlayToLan"]').fill('4ab:cd::/64\n4ab:cd::10 22');
    await netForm.locator('button[type=submit]').click();
    const endError = netForm.locator('.field-error[data-field="lan.dhcp.end"]');
    await endError.waitFor();
    assert.match(await endError.innerText(), /lan\.dhcp\.end: outside the LAN subnet 192\.168\.7\.0\/24/);
    await browser.shot('console-network-error');
    assert.not.ok('lan' in (await configNow()), 'a refused change changes nothing');
    // A bad firewall rule is named too (its line's index), beside the rules.
    await netForm.locator('input[name="lan.dhcp.end"]').fill('90');
    await netForm.locator('textarea[name="firewall.allowOverlayToLan"]').fill('4ab:cd::/64\n4ab:cd::10 99999');
    await netForm.locator('button[type=submit]').click();
    await netForm.locator('.field-error[data-field="firewall.allowOverlayToLan"]').getByText(/firewall\.allowOverlayToLan\.1: expected "prefix"/).waitFor();
    await netForm.locator('textarea[name="firewall.allowOverlayToLan"]').fill('4ab:cd::/64\n4ab:cd::10 22');
    await netForm.locator('select[name="wan.method"]').selectOption('static');
    await netForm.locator('input[name="wan.address"]').fill('203.0.113.2/24');
    await netForm.locator('input[name="wan.gateway"]').fill('203.0.113.1');
    await netForm.locator('button[type=submit]').click();
    await page.getByTestId('network-notice').getByText(/^Saved; lan, wan, firewall take effect after a restart\.$/).waitFor();
    const saved = await configNow();
    assert.equal(saved.lan, { address: '192.168.7.1/24', dhcp: { enabled: true, start: 50, end: 90 } });
    assert.equal(saved.wan, { method: 'static', address: '203.0.113.2/24', gateway: '203.0.113.1' });
    assert.equal(saved.firewall, { allowOverlayToLan: ['4ab:cd::/64', '4ab:cd::10 22'] });
    assert.equal(saved.peers.length, 2, 'the peers are kept');
    const kept = JSON.parse(readFileSync(join(data, 'tfw/config.json'), 'utf8'));
    assert.equal([kept.lan, kept.wan, kept.firewall], [saved.lan, saved.wan, saved.firewall]);
    // The form shows what was saved (it reads the config back).
    assert.is(await netForm.locator('input[name="lan.dhcp.end"]').inputValue(), '90');
    await browser.shot('console-network');

    // Logs: the runtime's lines, with the API's own.
    await page.click('a[data-page=logs]');
    await page.getByTestId('logs').getByText('admin password set').waitFor();
    await browser.shot('console-logs');

    // Upgrade: a bundle with a bad signature is uploaded in full, then refused.
    await page.click('a[data-page=upgrade]');
    await page.setInputFiles('input[name=bundle]', { name: 'x.tfwup', mimeType: 'application/octet-stream', buffer: Buffer.alloc(256 * 1024, 7) });
    await page.setInputFiles('input[name=signature]', { name: 'x.tfwup.minisig', mimeType: 'text/plain', buffer: Buffer.from('untrusted comment: not a signature\nAAAA\n') });
    await page.click('.upgrade-form button[type=submit]');
    await page.getByTestId('upgrade-result').getByText(/^Refused: /).waitFor();
    // The device read the whole body before checking the signature: the bar stays at 100 %.
    assert.is(await page.getByTestId('upload-progress').getAttribute('aria-valuenow'), '100');
    assert.match(runtimeA.out(), /tfw: upgrade: received 262144 bytes, verifying/);
    assert.match(runtimeA.out(), /tfw: upgrade: refused /);

    // Reboot asks first (on a host the runtime logs it and carries on).
    const pw = page.getByTestId('password-form');
    page.once('dialog', (dlg) => void dlg.accept());
    await pw.getByText('Reboot').click();
    await page.getByTestId('admin-result').getByText('The device reboots.').waitFor();
    assert.ok(await waitFor(() => runtimeA.out().includes('tfw: api: reboot requested (not under the image init: ignored)'), 5000));
    // Change the admin password: a wrong current one is refused; the right one ends the session,
    // so the sign-in page follows and takes the new password.
    await pw.locator('input[name=current]').fill('not the password');
    await pw.locator('input[name=new]').fill(`${PASSWORD} 2`);
    await pw.locator('button[type=submit]').click();
    await page.getByTestId('admin-result').getByText(/current: expected the current admin password/).waitFor();
    await pw.locator('input[name=current]').fill(PASSWORD);
    await pw.locator('button[type=submit]').click();
    await page.locator('main.signin').waitFor();
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button[type=submit]');
    await page.getByRole('alert').getByText(/wrong password/).waitFor();
    await page.fill('input[name=password]', `${PASSWORD} 2`);
    await page.click('button[type=submit]');
    await page.getByTestId('running-version').waitFor(); // back on the page it was on
    // Sign out, and in again.
    await page.click('header button');
    await page.fill('input[name=password]', `${PASSWORD} 2`);
    await page.click('button[type=submit]');
    await page.getByTestId('running-version').waitFor(); // back on the page it was on
    await browser.shot('console-upgrade');
    assert.equal(browser.problems, []);
  } finally {
    await browser?.close();
    await net.cleanup();
  }
});

test.run();
