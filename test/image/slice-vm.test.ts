/**
 * A slice VM booted by the slice manager on the host (issue 17): TCG, 0 GPUs,
 * the `slice` role image, in a network namespace that stands for the AIBox.
 * There the host's own overlay node (`tfw runtime`) listens on the bridge
 * address 10.254.0.1; the manager gives the VM 10.254.0.2, an overlay config
 * peering with that node (fw_cfg), and an OCI archive to run (fw_cfg), and
 * admits the VM as a peer over the node's UAPI socket once the VM prints the
 * identity it created on its first boot. One boot is shared by the checks:
 * ready on the console, the identity kept on the VM's own disk, ping of the
 * VM's overlay address from the host node, and `podman run` of a busybox
 * image whose layer the test writes from Debian's busybox-static (OCI image
 * layout, sha256 digests from node:crypto, tar). Needs root, QEMU, ip and the
 * Debian package cache; about 2-3 minutes under TCG.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { builtImage } from './images.js';
import { debCacheDir } from '../../images/builder/paths.js';
import { readLock } from '../../images/builder/lock.js';
import { lockPath } from '../../images/builder/paths.js';
import { overlayAddress } from '../../runtime/overlay/address.js';
import { generatePrivateKey, publicKeyFromPrivate, toBase64 } from '../../runtime/overlay/wireguard/keys.js';
import { isRoot } from '../helpers.js';
import { getStatus, have, ROOT, sh, spawnIn, type Proc } from '../integration/overlay-netns.js';
import { writeSysfs } from '../unit/slices/sysfs-fixture.js';

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

const missing = [!isRoot && 'root', cpus().length < 2 && '2 host CPUs', ...['qemu-system-x86_64', 'ip', 'taskset', 'tar', 'dpkg-deb'].filter((b) => !have(b))].filter(Boolean);

const s = {
  ns: `tfwsv${process.pid % 100000}`,
  tmp: '',
  fx: undefined as ReturnType<typeof writeSysfs> | undefined,
  node: undefined as Proc | undefined,
  consoleLog: '',
  vm: undefined as { pid: number; publicKey: string; subnet: string; command: string[] } | undefined,
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
const runDriver = (mode: string, args: object): Record<string, any> => {
  const r = spawnSync('ip', ['netns', 'exec', s.ns, process.execPath, '--import', 'tsx', 'test/image/slice-vm-driver.ts', mode, JSON.stringify(args)], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
  assert.is(r.status, 0, `driver ${mode}: ${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
};

test.before(async () => {
  if (missing.length) return;
  s.tmp = mkdtempSync(join(tmpdir(), 'tfw-slice-vm-'));
  const { outDir } = builtImage('qemu-x86_64', 'slice');
  const run = busyboxOciArchive(join(s.tmp, 'oci'));
  s.fx = writeSysfs({ sockets: 1, coresPerSocket: 2, threadsPerCore: 1, memoryPerNodeMiB: 4096, pci: [{ address: '0000:00:03.0', vendor: 0x1af4, device: 0x1000, class: 0x020000, group: 1, driver: 'e1000e' }] });
  const key = generatePrivateKey();
  const publicKey = toBase64(publicKeyFromPrivate(key));
  const uapiDir = join(s.tmp, 'uapi');
  mkdirSync(uapiDir);
  writeFileSync(join(s.tmp, 'host.json'), JSON.stringify({ name: 'tfwh0', privateKey: toBase64(key), listenPort: 51820, status: join(s.tmp, 'status.sock'), peers: [] }));
  sh(['ip', 'netns', 'add', s.ns]);
  sh(['ip', '-n', s.ns, 'link', 'set', 'lo', 'up']);
  s.node = spawnIn(s.ns, [process.execPath, '--import', 'tsx', join(ROOT, 'host-tools/bin/tfw.mjs'), 'runtime', '--config', join(s.tmp, 'host.json')], { TFW_UAPI_DIR: uapiDir });
  const state = join(s.tmp, 'state');
  s.consoleLog = join(state, 'vm0/console.log');
  const r = runDriver('start', { sysfs: s.fx.root, state, image: outDir, run, gateway: { address: '10.254.0.1/24', publicKey, listenPort: 51820, uapiSocket: join(uapiDir, 'tfwh0.sock') } });
  s.vm = r as typeof s.vm;
});

test.after(() => {
  if (!s.tmp) return;
  // The console outlives the slice's folder (delete removes it): build/test/slice-vm.log.
  mkdirSync(join(ROOT, 'build/test'), { recursive: true });
  writeFileSync(join(ROOT, 'build/test/slice-vm.log'), consoleText());
  if (s.vm) spawnSync('ip', ['netns', 'exec', s.ns, process.execPath, '--import', 'tsx', 'test/image/slice-vm-driver.ts', 'stop', JSON.stringify({ sysfs: s.fx!.root, state: join(s.tmp, 'state'), image: '', gateway: { address: '10.254.0.1/24', publicKey: '' }, run: '' })], { cwd: ROOT, timeout: 60_000 });
  if (s.vm?.pid) spawnSync('kill', ['-KILL', String(s.vm.pid)]);
  s.node?.child.kill('SIGTERM');
  spawnSync('ip', ['netns', 'del', s.ns]);
  s.fx?.cleanup();
  if (!process.env.TFW_KEEP) rmSync(s.tmp, { recursive: true, force: true });
});

test('the manager starts the slice image under TCG with its bridge address and the host node as its overlay peer', () => {
  if (missing.length) return console.log(`  skip: needs ${missing.join(', ')}`);
  const argv = s.vm!.command.join(' ');
  assert.match(argv, /-append .*tfw\.slice=vm0 tfw\.ip=10\.254\.0\.2\/24 tfw\.gw=10\.254\.0\.1/);
  assert.match(argv, /-fw_cfg name=opt\/tfw\/config\.cbor,file=\S+\/vm0\/config\.cbor/);
  assert.match(argv, /-fw_cfg name=opt\/tfw\/run\.tar,file=/);
  assert.match(sh(['ip', '-n', s.ns, '-4', '-o', 'addr', 'show', 'dev', 'tfwbr0']), /10\.254\.0\.1\/24/);
});

test('the VM reaches ready with an identity it created on its own (blank, now formatted) disk', async () => {
  if (missing.length) return;
  await consoleLine(/tfw: ready slice x86_64 /, 240);
  assert.match(consoleText(), /tfw: init: data: \/dev\/vda was blank, formatted/);
  assert.match(consoleText(), /tfw: init: data: \/dev\/vda mounted on \/data/);
  assert.match(consoleText(), new RegExp(`tfw: identity: created ${s.vm!.publicKey.replace(/[+/]/g, '\\$&')}`));
});

test('the host node and the VM complete a WireGuard handshake over the bridge (the VM admitted by its own key)', async () => {
  if (missing.length) return;
  const addr = overlayAddress(new Uint8Array(Buffer.from(s.vm!.publicKey, 'base64')));
  assert.is(`${addr.split('::')[0]}::/64`, s.vm!.subnet);
  // Bounded: at most 60 pings over at most 90 s (they also make the host start a handshake).
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
  assert.ok(peer, 'the VM is a peer of the host node');
  assert.is(peer!.endpoint, '10.254.0.2:51820');
  assert.ok(peer!.lastHandshake > 0 && peer!.rxBytes > 0, `no session with the VM: ${JSON.stringify(peer)}`);
  // The echo reply over the overlay (written on a branch where it never came; it does in the merged tree).
  assert.ok(ok, `no echo reply from ${addr} (last: ${last}); host peer ${JSON.stringify(peer)}`);
});

test('podman in the VM loads the busybox OCI archive and runs it', async () => {
  if (missing.length) return;
  const loaded = await consoleLine(/tfw: podman: (loaded|load failed)/, 180);
  assert.match(loaded, /loaded .*tfw-busybox:test/);
  await consoleLine(/tfw: podman: exit \d+/, 120);
  assert.match(consoleText(), new RegExp(`tfw: podman: ${MARKER} from x86_64, pid 1`));
  assert.match(consoleText(), /tfw: podman: exit 0/);
});

test.run();
