/**
 * A slice VM started through the AIBox's device API (issue 17): in a network
 * namespace that stands for the AIBox, the real tfw runtime runs as
 * `--role aibox` with a data folder (its node key created there) and its
 * overlay node on the slices' bridge 10.254.0.1 (`slices.bridge`). The test
 * signs in as a user would, creates a 0-GPU slice on the host's own sysfs
 * (`POST /v1/slices`) and starts it with an OCI archive to run (`POST
 * /v1/slices/vm0/start {"run"}`); the runtime's slice manager runs QEMU
 * (TCG: `slices.accel`, since nested KVM may open and still refuse `-cpu
 * host`) from the `slice` role image in
 * `<data>/slices/image`, hands the VM 10.254.0.2 and an overlay config peering
 * with the AIBox's node (fw_cfg), and admits the VM over the node's UAPI socket
 * once the VM prints the identity it created on its first boot (`GET
 * /v1/slices` shows `overlay.state` go from waiting to admitted). One boot is
 * shared by the checks: ready on the console, the identity kept on the VM's
 * own disk, ping of the VM's overlay address from the AIBox's node, and
 * `podman run` of a busybox image whose layer the test writes from Debian's
 * busybox-static (OCI image layout, sha256 digests from node:crypto, tar);
 * then a restart of the runtime, whose reconcile leaves the VM running and
 * admits it again, and stop and delete through the API, which also drops the
 * VM's peer.
 * Needs root, QEMU, ip, curl and the Debian package cache; about 2-3 minutes
 * under TCG.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builtImage } from './images.js';
import { debCacheDir } from '../../images/builder/paths.js';
import { readLock } from '../../images/builder/lock.js';
import { lockPath } from '../../images/builder/paths.js';
import { parseIp } from '../../runtime/config/ip.js';
import { overlayAddress, overlaySubnet } from '../../runtime/overlay/address.js';
import { isRoot } from '../helpers.js';
import { getStatus, have, ROOT, sh, spawnIn, waitFor, type Proc } from '../integration/overlay-netns.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const MARKER = 'tfw-oci-busybox-says-hello';

/** A reproducible tar of folder `dir` (GNU tar: sorted names, owners 0:0, one mtime). */
const tarOf = (dir: string, what: string[]): Buffer =>
  execFileSync('tar', ['-C', dir, '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@1700000000', '-cf', '-', ...what], { maxBuffer: 64 << 20 });

/**
 * An OCI image archive (OCI image-spec v1.0: image-layout.md, manifest.md,
 * config.md) of one layer with Debian's static busybox as /bin/busybox and
 * /bin/sh, whose command echoes MARKER; podman load takes it as oci-archive.
 */
export function busyboxOciArchive(dir: string): string {
  const lock = readLock(lockPath());
  const bb = lock.packages.amd64.find((p) => p.name === 'busybox-static')!;
  const rootfs = join(dir, 'rootfs');
  mkdirSync(rootfs, { recursive: true });
  execFileSync('dpkg-deb', ['-x', join(debCacheDir(), bb.filename), join(dir, 'deb')]);
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  copyFileSync(join(dir, 'deb/bin/busybox'), join(rootfs, 'bin/busybox'));
  chmodSync(join(rootfs, 'bin/busybox'), 0o755);
  execFileSync('ln', ['-s', 'busybox', join(rootfs, 'bin/sh')]);
  const layer = tarOf(rootfs, ['bin']);
  const blobs = join(dir, 'oci/blobs/sha256');
  mkdirSync(blobs, { recursive: true });
  const blob = (b: Buffer, mediaType: string) => {
    const digest = sha256(b);
    writeFileSync(join(blobs, digest), b);
    return { mediaType, digest: `sha256:${digest}`, size: b.length };
  };
  const layerDesc = blob(layer, 'application/vnd.oci.image.layer.v1.tar');
  const config = Buffer.from(JSON.stringify({
    created: '2023-11-14T22:13:20Z', architecture: 'amd64', os: 'linux',
    config: { Cmd: ['/bin/sh', '-c', `echo ${MARKER} from $(busybox uname -m), pid $$`], Env: ['PATH=/bin'] },
    rootfs: { type: 'layers', diff_ids: [layerDesc.digest] },
  }));
  const configDesc = blob(config, 'application/vnd.oci.image.config.v1+json');
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: configDesc, layers: [layerDesc] }));
  const manifestDesc = blob(manifest, 'application/vnd.oci.image.manifest.v1+json');
  writeFileSync(join(dir, 'oci/oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(dir, 'oci/index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ ...manifestDesc, annotations: { 'org.opencontainers.image.ref.name': 'tfw-busybox:test' } }] }));
  const out = join(dir, 'busybox-oci.tar');
  writeFileSync(out, tarOf(join(dir, 'oci'), ['blobs', 'index.json', 'oci-layout']));
  return out;
}

const missing = [!isRoot && 'root', cpus().length < 2 && '2 host CPUs', ...['qemu-system-x86_64', 'ip', 'taskset', 'tar', 'dpkg-deb', 'curl'].filter((b) => !have(b))].filter(Boolean);

const API = '127.0.0.1:8080';
const s = {
  ns: `swsv${process.pid % 100000}`,
  tmp: '',
  data: '',
  run: '',
  node: undefined as Proc | undefined,
  token: '',
  nodeKey: '',
  consoleLog: '',
  /** The console as it was before delete removed the slice's folder. */
  savedConsole: '',
  /** The first runtime's output, once restarted. */
  runtimeLogs: '',
  started: undefined as Record<string, any> | undefined,
  vm: undefined as { pid: number; publicKey: string; subnet: string } | undefined,
};
const consoleText = () => (existsSync(s.consoleLog) ? readFileSync(s.consoleLog, 'latin1') : '');
async function consoleLine(re: RegExp, seconds: number): Promise<string> {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const m = consoleText().split('\n').find((l) => re.test(l));
    if (m) return m;
    if (Date.now() > end) throw new Error(`no console line matching ${re} within ${seconds} s; last lines:\n${consoleText().split('\n').slice(-20).join('\n')}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** One device API call from inside the namespace (curl), as a user on the AIBox would make it. */
function api(method: string, path: string, body?: unknown): { status: number; json: Record<string, any> } {
  const args = ['netns', 'exec', s.ns, 'curl', '-sS', '-m', '120', '-X', method, '-w', '\n%{http_code}', ...(s.token ? ['-H', `authorization: Bearer ${s.token}`] : []), ...(body === undefined ? [] : ['-d', JSON.stringify(body)]), `http://${API}${path}`];
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 130_000 });
  const lines = (r.stdout ?? '').trimEnd().split('\n');
  const status = Number(lines.pop());
  let json: Record<string, any> = {};
  try {
    json = JSON.parse(lines.join('\n') || '{}');
  } catch {
    json = { raw: lines.join('\n'), stderr: r.stderr };
  }
  return { status, json };
}

test.before(async () => {
  if (missing.length) return;
  try {
    await setUp();
  } catch (err) {
    // uvu reports a failing hook only as failed tests: say why.
    console.error(`slice-vm: set-up failed: ${(err as Error).stack ?? err}`);
    throw err;
  }
});

/** The aibox runtime in the namespace (as an AIBox's init runs it), until its ready line. */
async function startRuntime(): Promise<void> {
  s.node = spawnIn(s.ns, [process.execPath, '--import', 'tsx', join(ROOT, 'runtime/main.ts'), '--role', 'aibox', '--data', s.data, '--config', join(s.tmp, 'aibox.json')], { TFW_UAPI_DIR: join(s.tmp, 'uapi') });
  const ready = await waitFor(() => /tfw: ready aibox /.test(s.node!.out()) || s.node!.child.exitCode !== null, 90_000);
  assert.ok(ready && s.node.child.exitCode === null, `the aibox runtime did not get ready:\n${s.node.out()}`);
}

async function setUp(): Promise<void> {
  s.tmp = mkdtempSync(join(tmpdir(), 'tfw-slice-vm-'));
  const { outDir } = builtImage('qemu-x86_64', 'slice');
  s.run = busyboxOciArchive(join(s.tmp, 'oci'));
  // The AIBox's data folder: the runtime keeps its node key and the slices (state, disks) there; the
  // slice image goes where the manager looks by default (<data>/slices/image).
  s.data = join(s.tmp, 'data');
  mkdirSync(join(s.data, 'slices'), { recursive: true });
  symlinkSync(outDir, join(s.data, 'slices/image'));
  s.consoleLog = join(s.data, 'slices/vm0/console.log');
  mkdirSync(join(s.tmp, 'uapi'));
  // No privateKey: the AIBox's identity is created on its data folder, as on a device.
  writeFileSync(join(s.tmp, 'aibox.json'), JSON.stringify({ name: 'tfwa0', listenPort: 51820, status: join(s.tmp, 'status.sock'), api: API, slices: { bridge: '10.254.0.1/24', accel: 'tcg' }, peers: [] }));
  sh(['ip', 'netns', 'add', s.ns]);
  sh(['ip', '-n', s.ns, 'link', 'set', 'lo', 'up']);
  await startRuntime();
  s.nodeKey = /tfw: identity: created (\S+)/.exec(s.node!.out())?.[1] ?? '';
  // Set-up mode answers loopback; a user sets the password first and signs in.
  assert.is(api('POST', '/v1/password', { password: 'aibox password' }).status, 200);
  s.token = api('POST', '/v1/login', { password: 'aibox password' }).json.token;
  const created = api('POST', '/v1/slices', { name: 'vm0', gpus: 0, vcpus: 1, memory: '1G', disk: '1G' });
  assert.is(created.status, 201, `create: ${JSON.stringify(created.json)}`);
  const started = api('POST', '/v1/slices/vm0/start', { run: s.run });
  assert.is(started.status, 200, `start: ${JSON.stringify(started.json)}\n${s.node!.out()}`);
  s.started = started.json;
}

test.after(async () => {
  if (!s.tmp) return;
  // The console outlives the slice's folder (delete removes it): build/test/slice-vm.log.
  mkdirSync(join(ROOT, 'build/test'), { recursive: true });
  writeFileSync(join(ROOT, 'build/test/slice-vm.log'), `${consoleText() || s.savedConsole}\n--- aibox runtime ---\n${s.runtimeLogs}${s.node?.out() ?? ''}`);
  const pid = s.started?.pid as number | undefined;
  if (s.token && s.node?.child.exitCode === null) {
    api('POST', '/v1/slices/vm0/stop', { timeout: 5 });
    api('DELETE', '/v1/slices/vm0');
  }
  // Our own QEMU only, by its pid and name, should the API not have stopped it.
  if (pid && existsSync(`/proc/${pid}/cmdline`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('slice-vm0')) spawnSync('kill', ['-KILL', String(pid)]);
  s.node?.child.kill('SIGTERM');
  if (s.node) await Promise.race([s.node.exited, new Promise((r) => setTimeout(r, 10_000))]);
  spawnSync('ip', ['netns', 'del', s.ns]);
  if (!process.env.TFW_KEEP) rmSync(s.tmp, { recursive: true, force: true });
});

test('the aibox runtime starts the slice through the API: QEMU with the bridge address and the AIBox\'s node as the overlay peer', () => {
  if (missing.length) return console.log(`  skip: needs ${missing.join(', ')}`);
  assert.match(s.node!.out(), /tfw: slice: overlay gateway 10\.254\.0\.1\/24 port 51820\n/);
  assert.ok(s.nodeKey, 'the AIBox created its node key on its data folder');
  assert.equal([s.started!.name, s.started!.running, s.started!.desired], ['vm0', true, 'running']);
  assert.match(s.started!.overlay?.state, /^(waiting|admitted)$/);
  const argv = readFileSync(`/proc/${s.started!.pid}/cmdline`, 'utf8').split('\0').join(' ');
  assert.match(argv, /-append .*tfw\.slice=vm0 tfw\.ip=10\.254\.0\.2\/24 tfw\.gw=10\.254\.0\.1/);
  assert.match(argv, new RegExp(`-fw_cfg name=opt/tfw/config\\.cbor,file=${s.data}/slices/vm0/config\\.cbor`));
  assert.match(argv, new RegExp(`-fw_cfg name=opt/tfw/run\\.tar,file=${s.run}`));
  assert.match(sh(['ip', '-n', s.ns, '-4', '-o', 'addr', 'show', 'dev', 'tfwbr0']), /10\.254\.0\.1\/24/);
});

test('the VM reaches ready with an identity it created on its own (blank, now formatted) disk', async () => {
  if (missing.length) return;
  await consoleLine(/tfw: ready slice x86_64 /, 240);
  assert.match(consoleText(), /tfw: init: data: \/dev\/vda was blank, formatted/);
  assert.match(consoleText(), /tfw: init: data: \/dev\/vda mounted on \/data/);
  assert.match(consoleText(), /tfw: identity: created [A-Za-z0-9+/]{43}=/);
});

test('the runtime admits the VM to its node (GET /v1/slices), and they complete a WireGuard handshake over the bridge', async () => {
  if (missing.length) return;
  let overlay: Record<string, any> | undefined;
  await waitFor(() => {
    overlay = api('GET', '/v1/slices').json.slices?.find((x: { name: string }) => x.name === 'vm0')?.overlay;
    return overlay?.state !== 'waiting';
  }, 240_000);
  assert.is(overlay?.state, 'admitted', `overlay: ${JSON.stringify(overlay)}`);
  assert.match(consoleText(), new RegExp(`tfw: identity: created ${overlay!.publicKey.replace(/[+/]/g, '\\$&')}`));
  // the VM's /64 is the one its key gives (address.ts), and its node address lies inside it
  const vmKey = new Uint8Array(Buffer.from(overlay!.publicKey, 'base64'));
  const addr = overlayAddress(vmKey);
  assert.is(overlay!.subnet, overlaySubnet(vmKey));
  assert.equal(parseIp(addr)!.subarray(0, 8), parseIp(overlay!.subnet.slice(0, -3))!.subarray(0, 8), `${addr} in ${overlay!.subnet}`);
  s.vm = { pid: s.started!.pid, publicKey: overlay!.publicKey, subnet: overlay!.subnet };
  assert.match(s.node!.out(), new RegExp(`tfw: slice: vm0: overlay peer ${overlay!.publicKey.replace(/[+/]/g, '\\$&')}`));
  // Bounded: at most 60 pings over at most 90 s (they also make the AIBox's node start a handshake).
  let ok = false;
  let last = '';
  let peer: { endpoint?: string; lastHandshake: number; rxBytes: number } | undefined;
  const end = Date.now() + 90_000;
  for (let i = 0; i < 60 && !ok && Date.now() < end; i++) {
    const r = spawnSync('ip', ['netns', 'exec', s.ns, 'ping', '-6', '-c', '1', '-W', '2', addr], { encoding: 'utf8' });
    ok = r.status === 0;
    last = `${r.stdout}${r.stderr}`.trim().split('\n').pop() ?? '';
    peer = (await getStatus(join(s.tmp, 'status.sock'))).peers.find((p: { publicKey: string }) => p.publicKey === s.vm!.publicKey);
    if (!ok) await new Promise((res) => setTimeout(res, 500));
  }
  assert.ok(peer, 'the VM is a peer of the AIBox node');
  assert.is(peer!.endpoint, '10.254.0.2:51820');
  assert.ok(peer!.lastHandshake > 0 && peer!.rxBytes > 0, `no session with the VM: ${JSON.stringify(peer)}`);
  assert.ok(ok, `no echo reply from ${addr} (last: ${last}); AIBox peer ${JSON.stringify(peer)}`);
});

test('podman in the VM loads the busybox OCI archive and runs it', async () => {
  if (missing.length) return;
  const loaded = await consoleLine(/tfw: podman: (loaded|load failed)/, 180);
  assert.match(loaded, /loaded .*tfw-busybox:test/);
  await consoleLine(/tfw: podman: exit \d+/, 120);
  assert.match(consoleText(), new RegExp(`tfw: podman: ${MARKER} from x86_64, pid 1`));
  assert.match(consoleText(), /tfw: podman: exit 0/);
});

test('a restarted aibox runtime reconciles: the VM keeps running and is admitted again', async () => {
  if (missing.length || !s.vm) return;
  const before = s.node!;
  before.child.kill('SIGTERM');
  assert.ok(await Promise.race([before.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20_000))]), 'the runtime did not stop on SIGTERM');
  await startRuntime();
  s.token = '';
  s.token = api('POST', '/v1/login', { password: 'aibox password' }).json.token;
  let overlay: Record<string, any> | undefined;
  await waitFor(() => {
    overlay = api('GET', '/v1/slices').json.slices?.find((x: { name: string }) => x.name === 'vm0')?.overlay;
    return !!overlay && overlay.state !== 'waiting';
  }, 60_000);
  assert.equal(overlay, { state: 'admitted', publicKey: s.vm.publicKey, subnet: s.vm.subnet }, s.node!.out());
  assert.match(s.node!.out(), /tfw: slice: reconciled: vm0 running\n/);
  const listed = api('GET', '/v1/slices').json.slices[0];
  assert.equal([listed.running, listed.pid], [true, s.vm.pid], 'the VM was left running, not restarted');
  s.runtimeLogs = `${before.out()}\n--- restarted ---\n`;
});

test('stop and delete through the API: the power button powers the VM off, QEMU is gone and the AIBox\'s node forgets the VM', async () => {
  if (missing.length || !s.vm) return;
  // The ACPI power button (QMP system_powerdown) powers the slice off: stop returns well before its 30 s timeout, no SIGTERM.
  const t0 = Date.now();
  assert.is(api('POST', '/v1/slices/vm0/stop', { timeout: 30 }).status, 200);
  const stopS = (Date.now() - t0) / 1000;
  // The runtime's log comes through a pipe: give it a moment.
  await waitFor(() => /tfw: slice: stopped vm0: /.test(s.node!.out()), 10_000);
  assert.match(s.node!.out(), /tfw: slice: stopped vm0: powered down\n/, s.node!.out().slice(-2000));
  assert.ok(stopS < 20, `stop took ${stopS.toFixed(1)} s`);
  assert.match(consoleText(), /tfw: init: power button pressed, powering off/);
  console.log(`  stop (ACPI power button to QEMU gone): ${stopS.toFixed(1)} s`);
  assert.ok(!existsSync(`/proc/${s.vm.pid}/cmdline`) || !readFileSync(`/proc/${s.vm.pid}/cmdline`, 'utf8').includes('slice-vm0'), 'QEMU still runs');
  const listed = api('GET', '/v1/slices').json.slices.find((x: { name: string }) => x.name === 'vm0');
  assert.equal([listed.running, listed.desired, listed.overlay], [false, 'stopped', undefined]);
  s.savedConsole = consoleText();
  assert.is(api('DELETE', '/v1/slices/vm0').status, 200);
  const peers = (await getStatus(join(s.tmp, 'status.sock'))).peers as { publicKey: string }[];
  assert.not.ok(peers.some((p) => p.publicKey === s.vm!.publicKey), 'the VM is still a peer of the AIBox node');
  assert.is(api('GET', '/v1/slices').json.slices.length, 0);
});

test.run();
