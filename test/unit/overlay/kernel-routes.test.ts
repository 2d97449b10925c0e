/**
 * Kernel routes in batches (runtime/overlay/os/kernel-routes.ts), against a
 * stand-in `ip` that records each batch it is fed and fails the lines it is
 * told to, as `ip -force -batch -` reports them ("Command failed -:N").
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KernelRoutes } from '../../../runtime/overlay/os/kernel-routes.js';

const dir = mkdtempSync(join(tmpdir(), 'tfw-kr-'));
const log = join(dir, 'batches');
const fakeIp = join(dir, 'ip');
// Appends "ARGS|line;line;..." per batch; lines naming 10.66.x fail as "File exists", deletes of 10.77.x as "No such process".
writeFileSync(fakeIp, `#!/bin/sh
[ "$1" = -V ] && { echo "ip utility, iproute2-6.1.0"; exit 0; }
n=0; all=""
while IFS= read -r l; do
  n=$((n+1)); all="$all$l;"
  case "$l" in *10.66.*) echo "RTNETLINK answers: File exists" >&2; echo "Command failed -:$n" >&2;; esac
  case "$l" in *"del 10.77."*) echo "RTNETLINK answers: No such process" >&2; echo "Command failed -:$n" >&2;; esac
done
echo "$*|$all" >> ${JSON.stringify(log)}
`);
chmodSync(fakeIp, 0o755);
const batches = () => readFileSync(log, 'utf8').trim().split('\n').filter(Boolean);

test.before.each(() => writeFileSync(log, ''));

// busybox's ip (images): no -V, no -batch (usage on stderr, exit 1); `route replace|del` one at a time.
const busyIp = join(dir, 'busybox-ip');
writeFileSync(busyIp, `#!/bin/sh
case "$1" in -*) echo "BusyBox v1.35.0 multi-call binary. Usage: ip [OPTIONS] address|route|link ..." >&2; exit 1;; esac
case "$*" in *10.66.*) echo "ip: RTNETLINK answers: File exists" >&2; exit 2;; esac
echo "$*" >> ${JSON.stringify(log)}
`);
chmodSync(busyIp, 0o755);

test("busybox's ip (no -batch): each route is one ip route child in turn, failures named", async () => {
  const lines: string[] = [];
  const k = new KernelRoutes('tfw0', { ipBinary: busyIp, log: (m) => lines.push(m) });
  for (const c of ['10.1.0.0/16', '10.66.0.0/16', 'fd00::/64']) k.add(c);
  k.delete('10.2.0.0/16');
  const r = await k.settled();
  assert.equal(batches(), ['route replace 10.1.0.0/16 dev tfw0', 'route replace fd00::/64 dev tfw0', 'route del 10.2.0.0/16 dev tfw0']);
  assert.is(r.applied, 3);
  assert.equal(r.failures, ['ip route replace 10.66.0.0/16 dev tfw0: ip: RTNETLINK answers: File exists']);
  assert.equal(lines, r.failures);
});

test('an ip that fails the whole batch without naming a line fails every route of it', async () => {
  const bad = join(dir, 'bad-ip');
  writeFileSync(bad, '#!/bin/sh\n[ "$1" = -V ] && { echo iproute2; exit 0; }\necho "Error: something broke" >&2; exit 1\n');
  chmodSync(bad, 0o755);
  const k = new KernelRoutes('tfw0', { ipBinary: bad });
  k.add('10.1.0.0/16');
  k.add('10.3.0.0/16');
  const r = await k.settled();
  assert.is(r.applied, 0);
  assert.equal(r.failures, ['ip route replace 10.1.0.0/16 dev tfw0: Error: something broke', 'ip route replace 10.3.0.0/16 dev tfw0: Error: something broke']);
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('many changes become one batch, each prefix once with its last change, canonical and in order', async () => {
  const k = new KernelRoutes('tfw0', { ipBinary: fakeIp });
  for (let i = 0; i < 1000; i++) k.add(`10.1.${i >> 2}.${(i & 3) * 64 + 1}/26`);
  k.add('fd00::1/64');
  k.delete('10.1.0.0/26');
  assert.is(k.add('0.0.0.0/0'), false, 'default routes are not routed');
  const r = await k.settled();
  assert.equal(r, { applied: 1001, failures: [] });
  const b = batches();
  assert.is(b.length, 1);
  const [args, lines] = b[0].split('|');
  assert.is(args, '-force -batch -');
  const l = lines.split(';').filter(Boolean);
  assert.is(l.length, 1001);
  assert.is(l[0], 'route replace 10.1.0.64/26 dev tfw0');
  assert.is(l[999], 'route replace fd00::/64 dev tfw0');
  assert.is(l[1000], 'route del 10.1.0.0/26 dev tfw0');
});

test('changes made while a batch runs go in the next one; batches start minIntervalMs apart', async () => {
  const k = new KernelRoutes('tfw0', { ipBinary: fakeIp, minIntervalMs: 50 });
  k.add('10.2.0.0/24');
  await new Promise((r) => setTimeout(r, 5));
  for (let i = 0; i < 20; i++) k.add(`10.3.${i}.0/24`);
  const r = await k.settled();
  assert.is(r.applied, 21);
  assert.is(batches().length, 2);
  assert.is(k.stats.batches, 2);
});

test('failed routes are reported by settled() naming the route and the kernel error; deletes of missing routes are not failures', async () => {
  const lines: string[] = [];
  const k = new KernelRoutes('tfw0', { ipBinary: fakeIp, log: (m) => lines.push(m) });
  k.add('10.5.0.0/24');
  k.add('10.66.0.0/24');
  k.delete('10.77.0.0/24');
  const r = await k.settled();
  assert.equal(r.failures, ['ip route replace 10.66.0.0/24 dev tfw0: RTNETLINK answers: File exists']);
  assert.is(r.applied, 2);
  assert.equal(lines, r.failures);
  assert.equal(await k.settled(), { applied: 0, failures: [] }, 'each settled() reports what happened since the last');
});

test('a missing ip binary fails every route of the batch; a malformed CIDR throws ERR_TFW_ROUTE', async () => {
  const k = new KernelRoutes('tfw0', { ipBinary: join(dir, 'no-such-ip') });
  k.add('10.8.0.0/24');
  const r = await k.settled();
  assert.equal(r.failures, ['ip route replace 10.8.0.0/24 dev tfw0: ENOENT']);
  try {
    k.add('10.8.0.0/33');
    assert.unreachable();
  } catch (err) {
    assert.is((err as { code?: string }).code, 'ERR_TFW_ROUTE');
    assert.match((err as Error).message, '"10.8.0.0/33"');
  }
});

test('a route MTU goes on the replace line (batch and busybox), a later add without one drops it; a bad MTU throws', async () => {
  for (const bin of [fakeIp, busyIp]) {
    writeFileSync(log, '');
    const k = new KernelRoutes('tfw0', { ipBinary: bin });
    k.add('400::/7', 1348);
    await k.settled();
    k.add('400::/7');
    await k.settled();
    const lines = batches().map((l) => l.replace(/^-force -batch -\|/, '').replace(/;$/, ''));
    assert.equal(lines, ['route replace 400::/7 dev tfw0 mtu 1348', 'route replace 400::/7 dev tfw0'], bin);
    assert.throws(() => k.add('400::/7', 1.5), (e: Error) => /route mtu: expected an integer in 68\.\.65535, got 1\.5/.test(e.message));
    assert.throws(() => k.add('400::/7', 70_000), /65535/);
  }
});

test.run();
