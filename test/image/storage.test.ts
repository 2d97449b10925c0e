/**
 * Issue 16's QEMU scenario (x86_64, TCG): a 3node guest booted from a flashed
 * disk (so /data is its ext4 tfw-data partition on a virtio disk) serves
 * shards on `[its overlay address]:9900`, and is one of six backends of a
 * (4,2) object store. The host side lives in one network namespace: the
 * guest's WAN tap, an overlay node (`tfw runtime`) peering with the guest,
 * five `tfw store serve` backends on loopback and the `tfw store` client.
 * Checks, on one booted guest: put/get byte for byte; two loopback backends
 * SIGKILLed and the objects still read back (then only four backends are
 * left, the guest among them, so its shards are needed); the guest's power
 * cut and the disk booted again, and the objects still read back from the
 * same four (its stored shards served after the reboot).
 * Needs root (tap, namespace, QEMU) and the disk tools `make sysdeps` installs.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builtImage } from './images.js';
import { encodeOverlayConfig, loadOverlayConfig } from '../../images/builder/overlay-config.js';
import { loadBoard } from '../../images/builder/schema.js';
import { keygen } from '../../host-tools/commands/keygen.js';
import { overlayAddress } from '../../runtime/overlay/address.js';
import { isRoot, runTfw, tfwBin } from '../helpers.js';
import { have, sh, spawnIn, waitFor, type Proc } from '../integration/overlay-netns.js';
import { diskToolsMissing, Guest } from './guest.js';

// On by default; TFW_TEST_STORAGE_GUEST=0 skips it. (Written on a branch where the guest never answered
// the host over the overlay; in the merged tree it does, and the cause was not isolated: if it comes back,
// the failure message dumps both sides: host addresses, routes, a ping and both runtimes' status.)
const wanted = process.env.TFW_TEST_STORAGE_GUEST !== '0';
const missing = isRoot && wanted ? diskToolsMissing() : [];
const ok = wanted && isRoot && have('qemu-system-x86_64') && missing.length === 0;
if (!wanted) console.log('  tfw: test: the storage guest scenario is off (TFW_TEST_STORAGE_GUEST=0): skipped');
else if (!ok) console.log(`  tfw: test: the storage guest needs root, qemu-system-x86_64 and the disk tools: skipped ${missing.join('; ')}`);

const id = `${process.pid % 10000}`;
const ns = `tfwst${id}`;
const tmp = mkdtempSync(join(tmpdir(), 'tfw-store-image-'));
const HOST_IP = '10.78.0.1';
const GUEST_IP = '10.78.0.2';
const HOST_PORT = 51821;
const LOOPBACK = [1, 2, 3, 4, 5].map((i) => `127.0.0.1:${19900 + i}`);
const READY_S = 400;

const host = keygen();
const disk = join(tmp, '3node.img');
const storeYaml = join(tmp, 'store.yaml');
const backends: Proc[] = [];
let runtime: Proc | undefined;
let guest: Guest | undefined;
let guestAddr = '';
let boots = 0;
/** name -> the bytes put */
const objects = new Map<string, Buffer>();

/** `tfw store --config store.yaml ...` in the namespace; resolves with its exit code and output. */
async function store(...args: string[]): Promise<{ code: number | null; out: string }> {
  const p = spawnIn(ns, [process.execPath, tfwBin, 'store', '--config', storeYaml, '--quiet', ...args]);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 120_000);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, out: p.out() };
}

/**
 * Boots the disk (again) with its WAN on a fresh tap, moved into the namespace
 * as HOST_IP's link once QEMU holds it; resolves when the runtime is ready.
 */
async function bootGuest(config: Uint8Array): Promise<Guest> {
  const tap = `tfwst${id}${boots++}`;
  sh(['ip', 'tuntap', 'add', tap, 'mode', 'tap']);
  const g = new Guest(`storage-3node-x86_64-${boots}`, { board: loadBoard('qemu-x86_64'), dir: '', disk, nics: { wan: `tap:${tap}` }, ip: `${GUEST_IP}/24`, config, timeout: 3000 });
  await g.waitFor(/tfw: init: booting 3node/, READY_S);
  // the tap of an earlier boot (and its address) leaves first
  for (const old of sh(['ip', '-n', ns, '-o', 'link', 'show']).split('\n').map((l) => /^\d+: (tfwst\w+)[:@]/.exec(l)?.[1]).filter((x): x is string => !!x)) {
    spawnSync('ip', ['-n', ns, 'link', 'del', old]);
  }
  sh(['ip', 'link', 'set', tap, 'netns', ns]);
  sh(['ip', '-n', ns, 'addr', 'add', `${HOST_IP}/24`, 'dev', tap]);
  sh(['ip', '-n', ns, 'link', 'set', tap, 'up']);
  await g.waitFor(/tfw: ready 3node x86_64/, READY_S);
  return g;
}

/** The guest's line of `tfw store status --json` (label, up, entries), or undefined. */
async function guestBackend(): Promise<{ label: string; up: boolean; entries?: number } | undefined> {
  const r = await store('--json', 'status');
  if (r.code !== 0) return undefined;
  try {
    const s = JSON.parse(r.out.slice(r.out.indexOf('{')));
    return s.backends.find((b: { label: string }) => b.label === `[${guestAddr}]:9900/default`);
  } catch {
    return undefined;
  }
}

/** The guest's device API status over its WAN address (overlay peers, routes, drops), for failure messages. */
const guestStatus = () => {
  const run = (argv: string[]) => spawnSync('ip', ['netns', 'exec', ns, ...argv], { encoding: 'utf8', timeout: 15_000 });
  const ping = run(['ping', '-6', '-c', '3', '-W', '2', guestAddr]);
  const host = spawnSync('curl', ['-s', '-m', '10', '--unix-socket', join(tmp, 'host.sock'), 'http://host/status'], { encoding: 'utf8', timeout: 15_000 }).stdout;
  return [run(['ip', '-6', 'addr']).stdout, run(['ip', '-6', 'route']).stdout, ping.stdout, `host: ${host}`, `guest: ${run(['curl', '-s', '-m', '10', `http://${GUEST_IP}/v1/status`]).stdout}`].join('\n');
};

const guestBackendUp = async () => (await guestBackend())?.up === true;

async function readAllBack(why: string): Promise<void> {
  for (const [name, data] of objects) {
    const out = join(tmp, `${name.replace(/\W/g, '_')}.back`);
    const r = await store('get', name, '-o', out);
    assert.is(r.code, 0, `${why}: get ${name}: ${r.out}`);
    assert.ok(readFileSync(out).equals(data), `${why}: ${name} reads back byte for byte`);
  }
}

/** Why the shared set-up failed (uvu does not print a failing before hook's error): each test throws it. */
let setupError: Error | undefined;

test.before(async () => {
  if (!ok) return;
  await setUp().catch((err: Error) => (setupError = err));
});

async function setUp(): Promise<void> {
  const { outDir } = builtImage('qemu-x86_64', '3node');
  const f = await runTfw(['flash', '--dir', outDir, '-o', disk, '--data-size', '128M']);
  assert.is(f.code, 0, f.stderr);
  sh(['ip', 'netns', 'add', ns]);
  sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  sh(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.default.accept_dad=0']);
  // the guest's identity is made on its first boot (on tfw-data): it peers with the host, whose key is known now
  const gcfg = join(tmp, 'guest.json');
  writeFileSync(gcfg, JSON.stringify({ listenPort: 51820, mesh: true, peers: [{ publicKey: host.publicKey, endpoint: `${HOST_IP}:${HOST_PORT}`, persistentKeepalive: 1 }] }));
  const config = encodeOverlayConfig(loadOverlayConfig(gcfg));
  writeFileSync(join(tmp, 'guest.cbor'), config);
  guest = await bootGuest(config);
  const pub = /tfw: identity: created (\S+)/.exec(guest.lines.join('\n'))?.[1];
  assert.ok(pub, 'the guest makes its identity on its first boot');
  const gpub = new Uint8Array(Buffer.from(pub!, 'base64'));
  guestAddr = overlayAddress(gpub);
  const hcfg = join(tmp, 'host.json');
  // as test/image/gateway.test.ts links its far node: Babel (mesh) routes, and the host only answers (no endpoint:
  // it learns the guest's from its initiations): under TCG a guest can take longer than the 5 s retry
  // (REKEY_TIMEOUT) to answer, and two sides initiating then keep replacing each other's handshakes
  writeFileSync(hcfg, JSON.stringify({ name: `tfws${id}`, privateKey: host.privateKey, listenPort: HOST_PORT, mesh: true, status: join(tmp, 'host.sock'), peers: [{ publicKey: pub }] }));
  runtime = spawnIn(ns, [process.execPath, tfwBin, 'runtime', '--config', hcfg]);
  for (const a of LOOPBACK) backends.push(spawnIn(ns, [process.execPath, tfwBin, 'store', 'serve', '--listen', a, '--data', join(tmp, `zdb-${a.replace(/\W/g, '_')}`)]));
  assert.ok(await waitFor(() => backends.every((b) => /listening on/.test(b.out())), 120_000), backends.map((b) => b.out()).join('\n'));
  writeFileSync(storeYaml, [
    `secret: ${randomBytes(32).toString('base64')}`,
    'dataShards: 4',
    'parityShards: 2',
    'backends:',
    ...[...LOOPBACK, `[${guestAddr}]:9900`].map((a) => `  - { address: "${a}", namespace: default }`),
    '',
  ].join('\n'));
  assert.ok(await waitFor(guestBackendUp, 90_000), `the guest's backend [${guestAddr}]:9900 is not reachable over the overlay\n${runtime.out()}\n${guestStatus()}\n${guest.lines.slice(-20).join('\n')}`);
}

test.after(async () => {
  await guest?.kill();
  for (const p of [...backends, ...(runtime ? [runtime] : [])]) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  spawnSync('ip', ['netns', 'del', ns]);
  for (let i = 0; i < boots; i++) spawnSync('ip', ['link', 'del', `tfwst${id}${i}`], { stdio: 'ignore' });
  rmSync(tmp, { recursive: true, force: true }); // the disk image is 150 MiB
});

test('the guest serves shards from /data on its overlay address; put (4,2) over six backends reads back byte for byte', async () => {
  if (!ok) return;
  if (setupError) throw setupError;
  assert.match(guest!.lines.join('\n'), new RegExp(`tfw: storage: listening on \\[${guestAddr}\\]:9900, data /data/zdb`));
  for (const [name, size] of [['empty', 0], ['small', 1000], ['big', 9 * 1024 * 1024 + 123]] as const) {
    const data = randomBytes(size);
    const f = join(tmp, `${name}.in`);
    writeFileSync(f, data);
    const r = await store('put', f, '--name', `obj/${name}`);
    assert.is(r.code, 0, `put ${name}: ${r.out}`);
    objects.set(`obj/${name}`, data);
  }
  await readAllBack('all six up');
  const g = await guestBackend();
  // (4,2) over six backends puts one shard of every chunk on each: big has 3 chunks
  assert.ok(g?.up && (g.entries ?? 0) >= 3, `the guest holds shards: ${JSON.stringify(g)}`);
});

test('two loopback backends SIGKILLed: every object still reads back (the guest is one of the four left)', async () => {
  if (!ok) return;
  if (setupError) throw setupError;
  for (const b of backends.slice(0, 2)) {
    b.child.kill('SIGKILL');
    await b.exited;
  }
  await readAllBack('two backends killed');
});

test('the guest loses power and boots again from its disk: its shards are still served', async () => {
  if (!ok) return;
  if (setupError) throw setupError;
  // the backend fdatasyncs at most a second after a write (sync interval); then cut the power
  await new Promise((r) => setTimeout(r, 3000));
  await guest!.kill();
  guest = await bootGuest(readFileSync(join(tmp, 'guest.cbor')));
  assert.match(guest.lines.join('\n'), /tfw: identity: loaded /);
  assert.ok(await waitFor(guestBackendUp, 90_000), `the guest's backend is not back over the overlay\n${runtime!.out().slice(-2000)}`);
  // four backends left, the guest among them: k = 4, so every chunk needs the guest's shard
  await readAllBack('after the guest rebooted');
});

test.run();
