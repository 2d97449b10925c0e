/**
 * `tfw build`: turns a board + role (+ overlay config) into a bootable image in
 * build/images/<board>-<role>/: vmlinuz, initramfs.cpio.zst, cmdline,
 * boot.ipxe and manifest.json. Every input is pinned (packages.lock.json) and
 * every step is deterministic (sorted cpio, owners 0:0, mtime =
 * SOURCE_DATE_EPOCH, fixed zstd level), so the same inputs give the same sha256s.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { TfwError } from '../../runtime/errors.js';
import { VERSION } from '../../runtime/version.js';
import { LOADER_PACKAGES, type LockedPackage } from './apt.js';
import { APPLETS, checkApplets } from './busybox.js';
import { extractDeb, indexTree, type TreeNode } from './deb.js';
import { fetchPackages, readLock } from './lock.js';
import { addModules } from './modules.js';
import { encodeOverlayConfig, loadOverlayConfig } from './overlay-config.js';
import { debCacheDir, extractCacheDir, imageDir, lockPath, repoRoot, shownPath } from './paths.js';
import { makeProgress, type Progress } from './progress.js';
import { RootFs } from './rootfs.js';
import { debArch, loadBoard, loadRole, type Board, type Role } from './schema.js';
import { addWithLibraries } from './shlibs.js';
import { formatPublicKey, keyIdHex, parsePublicKey } from '../../runtime/device/minisign.js';
import { TRUSTED_DIR } from '../../runtime/device/device.js';
import { hashPassword, IMAGE_ADMIN_FILE } from '../../runtime/api/auth.js';

/**
 * Modules every image loads for the device lifecycle (whatever the board):
 * ext4 for the tfw-data partition (crc32c_generic: ext4's metadata checksums
 * ask the crypto API for "crc32c", a soft dependency modprobe does not follow
 * here), vfat with code page 437 and the ascii charset (the kernel's FAT
 * defaults) for the EFI System Partition that holds the boot slots.
 */
export const DEVICE_MODULES = ['crc32c_generic', 'ext4', 'nls_cp437', 'nls_ascii', 'vfat'];

export interface BuildOptions {
  board: string;
  role: string;
  /** Overlay config (YAML or JSON) to bake in; default: the role's default config. */
  config?: string;
  outDir?: string;
  lockFile?: string;
  cacheDir?: string;
  /** Release version of the image (default: the tfw package version); upgrades compare it. */
  version?: string;
  /** minisign public key files whose signatures the image's upgrades accept (`tfw build --trust`). */
  trust?: string[];
  /**
   * A file whose first line is the admin password to set at build time
   * (`tfw build --admin-password-file`): its scrypt hash goes to
   * /etc/tfw/admin.json (runtime/api/auth.ts). The salt is random, so such
   * an image differs from build to build in that file.
   */
  adminPasswordFile?: string;
  /** zstd level (default 15); part of the reproducible inputs. */
  zstdLevel?: number;
  /**
   * Images of the role's `embeds:` already built for this board (role ->
   * outDir, manifest), e.g. by a test run that built the slice image first;
   * a role not given is built here into build/images/<board>-<role>.
   */
  embedded?: Record<string, { outDir: string; manifest: Manifest }>;
  progress?: Progress;
}

/** Where an image carries an embedded role's image (`embeds:`): vmlinuz, initramfs.cpio.zst, cmdline. */
export const embeddedImageDir = (role: string): string => `/usr/lib/tfw/${role}`;
/** The files of an image that an image embedding it carries. */
export const EMBEDDED_FILES = ['vmlinuz', 'initramfs.cpio.zst', 'cmdline'] as const;

export interface ManifestFile {
  path: string;
  sha256: string;
  size: number;
}

export interface Manifest {
  board: string;
  role: string;
  arch: 'x86_64' | 'arm64';
  version: string;
  sourceDateEpoch: number;
  kernel: { package: string; version: string; release: string };
  cmdline: string;
  inputs: { packages: Array<Pick<LockedPackage, 'name' | 'version' | 'arch' | 'sha256'>>; files: ManifestFile[] };
  /** Images carried inside this one (`embeds:`): role, folder in the image, its manifest's version and the files' sha256s. */
  embedded: Array<{ role: string; path: string; version: string; files: ManifestFile[] }>;
  modules: { load: string[]; builtin: string[]; files: number };
  initramfs: { compression: string; compressedSize: number; uncompressedSize: number; uncompressedSha256: string; entries: number };
  outputs: ManifestFile[];
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const fileInfo = (path: string, data: Uint8Array): ManifestFile => ({ path, sha256: sha256(data), size: data.length });

/** SOURCE_DATE_EPOCH (reproducible-builds.org spec), default 1700000000 as in the Makefile. */
export function sourceDateEpoch(): number {
  const v = process.env.SOURCE_DATE_EPOCH ?? '1700000000';
  if (!/^\d+$/.test(v)) throw new TfwError('ERR_TFW_CONFIG', `SOURCE_DATE_EPOCH: expected Unix seconds, got "${v}"`);
  return Number(v);
}

/** The kernel command line of an image (board console and words, role words, tfw.* keys). */
export function kernelCmdline(board: Board, role: Role): string {
  return [`console=${board.console}`, ...board.kernel.cmdline, ...role.cmdline, `tfw.role=${role.role}`, `tfw.board=${board.name}`].join(' ');
}

function addRuntimeFiles(fs: RootFs, arch: Board['arch'], inputs: ManifestFile[], progress: Progress): void {
  const bundle = join(repoRoot, 'build/runtime/tfw-runtime.mjs');
  if (!existsSync(bundle)) throw new TfwError('ERR_TFW_IMAGE', 'build/runtime/tfw-runtime.mjs is missing; run make runtime first');
  const add = (host: string, image: string) => {
    const b = readFileSync(host);
    fs.file(image, b, 0o644);
    inputs.push(fileInfo(relative(repoRoot, host), b));
  };
  add(bundle, '/usr/lib/tfw/runtime/tfw-runtime.mjs');
  const wasmDir = join(repoRoot, 'build/wasm');
  const wasm = existsSync(wasmDir) ? readdirSync(wasmDir).filter((f) => f.endsWith('.wasm')).sort() : [];
  if (wasm.length === 0) throw new TfwError('ERR_TFW_IMAGE', 'build/wasm/*.wasm is missing; run make wasm first');
  for (const f of wasm) add(join(wasmDir, f), `/usr/lib/tfw/wasm/${f}`);
  // Optional native addon prebuild for this arch (built elsewhere; the runtime falls back to wasm).
  const nodeArch = arch === 'x86_64' ? 'x64' : 'arm64';
  for (const dir of [join(repoRoot, `prebuilds/linux-${nodeArch}`), join(repoRoot, `build/native/linux-${nodeArch}`)]) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.node')).sort()) add(join(dir, f), `/usr/lib/tfw/prebuilds/linux-${nodeArch}/${f}`);
    break;
  }
  // Optional web console (make console; mk/console.mk): the device API serves it at /.
  const consoleDir = join(repoRoot, 'build/console');
  if (!existsSync(join(consoleDir, 'index.html'))) return progress.step('no build/console (make console): the image has no web console');
  add(join(consoleDir, 'index.html'), '/usr/lib/tfw/console/index.html');
  const assets = join(consoleDir, 'assets');
  for (const f of existsSync(assets) ? readdirSync(assets).sort() : []) add(join(assets, f), `/usr/lib/tfw/console/assets/${f}`);
}

/** Builds one image; returns the manifest (also written as manifest.json). */
export function buildImage(opts: BuildOptions): { outDir: string; manifest: Manifest } {
  const progress = opts.progress ?? makeProgress();
  const board = loadBoard(opts.board);
  const role = loadRole(opts.role);
  const overlay = loadOverlayConfig(opts.config);
  const arch = board.arch;
  const darch = debArch(arch);
  const epoch = sourceDateEpoch();
  const level = opts.zstdLevel ?? 15;
  const outDir = opts.outDir ?? imageDir(board.name, role.role);
  const version = opts.version ?? VERSION;
  if (!/^\d+(\.\d+)*(-[0-9A-Za-z.-]+)?$/.test(version)) throw new TfwError('ERR_TFW_CONFIG', `--version: expected a version like 1.2.3, got ${JSON.stringify(version)}`);
  const trusted = (opts.trust ?? []).map((f) => {
    if (!existsSync(f)) throw new TfwError('ERR_TFW_CONFIG', `--trust: ${f} does not exist; make a key with tfw keygen --signing -o release.key`);
    try {
      return parsePublicKey(readFileSync(f, 'utf8'));
    } catch (err) {
      throw new TfwError('ERR_TFW_CONFIG', `--trust: ${f}: ${(err as Error).message}`);
    }
  });

  let adminHash: string | undefined;
  if (opts.adminPasswordFile) {
    if (!existsSync(opts.adminPasswordFile)) throw new TfwError('ERR_TFW_CONFIG', `--admin-password-file: ${opts.adminPasswordFile} does not exist`);
    const password = readFileSync(opts.adminPasswordFile, 'utf8').split(/\r?\n/)[0];
    try {
      adminHash = `${JSON.stringify(hashPassword(password))}\n`;
    } catch (err) {
      throw new TfwError('ERR_TFW_CONFIG', `--admin-password-file: ${opts.adminPasswordFile}: ${(err as Error).message}`);
    }
  }

  // 1. Pinned packages: the closure for this arch, with this board's kernel flavour.
  const lock = readLock(opts.lockFile ?? lockPath());
  const kernelName = lock.kernels[board.kernel.flavour];
  if (!kernelName) throw new TfwError('ERR_TFW_LOCK', `no kernel pinned for flavour ${board.kernel.flavour}; run tfw build --update-lock`);
  // Flash-only packages (the UEFI loader) are not image inputs.
  const pkgs = (lock.packages[darch] ?? []).filter((p) => (!p.name.startsWith('linux-image-') || p.name === kernelName) && !(LOADER_PACKAGES as readonly string[]).includes(p.name));
  for (const name of [kernelName, ...role.packages, ...Object.keys(role.files)]) {
    if (!pkgs.some((p) => p.name === name)) throw new TfwError('ERR_TFW_LOCK', `package ${name} (${darch}) is not in the lock; run tfw build --update-lock`);
  }
  progress.step(`${board.name}-${role.role}: ${pkgs.length} pinned packages for ${darch}`);
  const debs = fetchPackages(pkgs, opts.cacheDir ?? debCacheDir(), progress);

  // 2. Extract (cached by sha256) and index with merged-/usr paths.
  const fresh = pkgs.filter((p) => !existsSync(join(extractCacheDir(), p.sha256, '.tfw-extracted')));
  if (fresh.length) progress.start('extracting', fresh.length);
  const index = new Map<string, TreeNode>();
  const kernelIndex = new Map<string, TreeNode>();
  for (const p of pkgs) {
    const dir = extractDeb(debs.get(p.name)!, p.sha256, extractCacheDir());
    indexTree(dir, p.name, p.name === kernelName ? kernelIndex : index);
    if (fresh.includes(p)) progress.tick(p.name);
  }
  progress.stop();

  const fs = new RootFs();
  for (const d of ['dev', 'proc', 'sys', 'run', 'root', 'etc', 'usr/bin', 'usr/sbin', 'usr/lib', 'var']) fs.dir(d);
  fs.dir('tmp', 0o1777);
  for (const l of ['bin', 'sbin', 'lib']) fs.symlink(l, `usr/${l}`);
  if (arch === 'x86_64') fs.symlink('lib64', 'usr/lib64');

  // 3. Kernel image and modules.
  const kver = [...kernelIndex.keys()].map((k) => /^\/usr\/lib\/modules\/([^/]+)$/.exec(k)?.[1]).find(Boolean);
  const vmlinuzNode = kver && kernelIndex.get(`/boot/vmlinuz-${kver}`);
  if (!kver || !vmlinuzNode || vmlinuzNode.kind !== 'file') throw new TfwError('ERR_TFW_IMAGE', `${kernelName}: no /boot/vmlinuz or /lib/modules tree`);
  const vmlinuz = readFileSync(vmlinuzNode.host);
  const who = new Map<string, string>();
  for (const m of board.nic.modules) who.set(m, `board-configs/${board.name}.yaml: nic.modules`);
  for (const m of role.modules) who.set(m, `images/${role.role}.yaml: modules`);
  for (const m of board.storage.modules) who.set(m, `board-configs/${board.name}.yaml: storage.modules`);
  for (const m of board.qemu.modules) who.set(m, `board-configs/${board.name}.yaml: qemu.modules`);
  for (const m of DEVICE_MODULES) who.set(m, 'images/builder/image.ts: DEVICE_MODULES');
  progress.step(`kernel ${kver}: resolving ${who.size} modules`);
  const mods = addModules(kernelIndex, kver, [...board.nic.modules, ...board.storage.modules, ...board.qemu.modules, ...DEVICE_MODULES, ...role.modules], who, fs);

  // 4. Userland: busybox + applets, node + its library closure, node's JS dependencies.
  const busybox = fs.fromIndex(index, '/usr/bin/busybox');
  const bbNode = index.get(busybox);
  if (bbNode?.kind === 'file') checkApplets(readFileSync(bbNode.host));
  for (const a of APPLETS) if (!fs.has(`/usr/bin/${a}`)) fs.symlink(`/usr/bin/${a}`, 'busybox');
  const libs = addWithLibraries(index, '/usr/bin/node', arch, fs);
  for (const [p, n] of index) {
    if (n.kind === 'dir' || !n.pkg.startsWith('node-') || !p.startsWith('/usr/share/nodejs/')) continue;
    fs.fromIndex(index, p);
  }
  for (const extra of role.packages) {
    for (const [p, n] of index) if (n.pkg === extra && n.kind !== 'dir' && !p.startsWith('/usr/share/doc/')) fs.fromIndex(index, p);
  }
  // A role package's programs bring their shared libraries (dnsmasq, nft for the 3router).
  for (const extra of role.packages) {
    for (const [p, n] of index) if (n.pkg === extra && n.kind === 'file' && /^\/usr\/s?bin\//.test(p)) libs.push(...addWithLibraries(index, p, arch, fs));
  }
  // Chosen files of packages (`files:`): an ELF file brings its libraries (the aibox's qemu-system-x86_64).
  for (const [pkg, patterns] of Object.entries(role.files)) {
    for (const pattern of patterns) {
      const re = new RegExp(`^${pattern.replace(/[.+@]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
      const hits = [...index].filter(([p, n]) => n.pkg === pkg && n.kind !== 'dir' && re.test(p)).map(([p]) => p).sort();
      if (!hits.length) throw new TfwError('ERR_TFW_IMAGE', `images/${role.role}.yaml: files.${pkg}: ${pattern} matches no file of ${pkg} (${pkgs.find((p) => p.name === pkg)!.version}, ${darch})`);
      for (const p of hits) {
        const n = index.get(p)!;
        const elf = n.kind === 'file' && readFileSync(n.host).subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
        if (elf) libs.push(...addWithLibraries(index, p, arch, fs));
        else fs.fromIndex(index, p);
      }
    }
  }
  progress.step(`node with ${libs.length} shared libraries`);

  // Embedded images (`embeds:`): built for this board first (or given), carried as they are.
  const embedded: Manifest['embedded'] = [];
  for (const r of role.embeds) {
    const e = opts.embedded?.[r] ?? buildImage({ board: opts.board, role: r, lockFile: opts.lockFile, cacheDir: opts.cacheDir, version: opts.version, zstdLevel: opts.zstdLevel, progress });
    if (e.manifest.board !== board.name || e.manifest.role !== r) throw new TfwError('ERR_TFW_IMAGE', `embedded ${r}: got the ${e.manifest.board}-${e.manifest.role} image, expected ${board.name}-${r}`);
    const files = EMBEDDED_FILES.map((f) => {
      const data = readFileSync(join(e.outDir, f));
      fs.file(`${embeddedImageDir(r)}/${f}`, data, 0o644);
      return fileInfo(f, data);
    });
    embedded.push({ role: r, path: embeddedImageDir(r), version: e.manifest.version, files });
  }

  // 5. tfw: runtime bundle, wasm kernels, native prebuild, init and config.
  const inputs: ManifestFile[] = [];
  addRuntimeFiles(fs, arch, inputs, progress);
  const initDir = join(repoRoot, 'runtime/init');
  fs.file('/init', readFileSync(join(initDir, 'init.sh')), 0o755);
  fs.file('/usr/share/udhcpc/default.script', readFileSync(join(initDir, 'udhcpc.sh')), 0o755);
  inputs.push(fileInfo('runtime/init/init.sh', readFileSync(join(initDir, 'init.sh'))), fileInfo('runtime/init/udhcpc.sh', readFileSync(join(initDir, 'udhcpc.sh'))));
  const cbor = encodeOverlayConfig(overlay);
  fs.file('/etc/tfw/config.cbor', cbor, 0o600);
  inputs.push(fileInfo(opts.config ? '--config' : '(default overlay config)', cbor));
  fs.file('/etc/tfw/release', `TFW_ROLE=${role.role}\nTFW_BOARD=${board.name}\nTFW_ARCH=${arch}\nTFW_VERSION=${version}\nTFW_KERNEL=${kver}\n`);
  for (const k of trusted) {
    fs.file(`${TRUSTED_DIR}/${keyIdHex(k.keyId)}.pub`, formatPublicKey(k));
    inputs.push(fileInfo(`--trust ${keyIdHex(k.keyId)}`, Buffer.from(formatPublicKey(k))));
  }
  // The hash only, never the password (mode 0600, as on /data).
  if (adminHash) fs.file(IMAGE_ADMIN_FILE, adminHash, 0o600);
  fs.file('/etc/tfw/modules', mods.load.map((m) => `${m}\n`).join(''));
  const net = board.network;
  // NET_PORT_LAN: the board's lan port, which the 3router's gateway bridges (runtime/gateway/service.ts).
  fs.file('/etc/tfw/network', `NET_INTERFACE=${net.interface}\nNET_METHOD=${net.method}\nNET_ADDRESS=${net.address ?? ''}\nNET_GATEWAY=${net.gateway ?? ''}\nNET_PORT_LAN=${board.ports?.lan ?? ''}\n`);
  fs.file('/etc/hosts', '127.0.0.1 localhost\n::1 localhost\n');
  // nobody/nogroup: the user dnsmasq drops to (the 3router's LAN service).
  fs.file('/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  fs.file('/etc/group', 'root:x:0:\nnogroup:x:65534:\n');

  // 6. Archive and compress (zstd: fixed level, no checksums of time or names).
  progress.step('writing the initramfs');
  const cpio = fs.toCpio(epoch);
  const cpioSha = sha256(cpio);
  mkdirSync(outDir, { recursive: true });
  const initrdPath = join(outDir, 'initramfs.cpio.zst');
  let initrd: Buffer | undefined;
  // Warm rebuilds: the compressed file is reused when the archive and level are unchanged.
  const prev = readPreviousManifest(outDir);
  if (prev && prev.initramfs.uncompressedSha256 === cpioSha && prev.initramfs.compression === `zstd -${level}` && existsSync(initrdPath)) {
    const b = readFileSync(initrdPath);
    if (sha256(b) === prev.outputs.find((o) => o.path === 'initramfs.cpio.zst')?.sha256) initrd = b;
  }
  if (!initrd) {
    progress.step(`compressing ${cpio.length} bytes (${(cpio.length / 1048576).toFixed(1)} MiB) with zstd -${level}`);
    // zstd runs synchronously (buildImage is sync), so the bytes it has read so far are shown
    // by zstd itself on a watched terminal; logs get the step lines before and after.
    const live = progress.interactive === true;
    initrd = execFileSync('zstd', [`-${level}`, '-c', '-T0', ...(live ? ['--progress'] : ['-q', '--no-progress'])], {
      input: cpio,
      maxBuffer: 1 << 30,
      stdio: ['pipe', 'pipe', live ? 'inherit' : 'pipe'],
    });
    progress.step(`compressed to ${initrd.length} bytes (${(initrd.length / 1048576).toFixed(1)} MiB)`);
  }
  const cmdline = kernelCmdline(board, role);
  const ipxe = `#!ipxe\n# tfw ${version} ${board.name}-${role.role}\nkernel vmlinuz initrd=initramfs.cpio.zst ${cmdline}\ninitrd initramfs.cpio.zst\nboot\n`;
  const outputs: Array<[string, Uint8Array]> = [
    ['vmlinuz', vmlinuz],
    ['initramfs.cpio.zst', initrd],
    ['cmdline', Buffer.from(`${cmdline}\n`)],
    ['boot.ipxe', Buffer.from(ipxe)],
  ];
  for (const [name, data] of outputs) writeAtomic(join(outDir, name), data);
  const kpkg = pkgs.find((p) => p.name === kernelName)!;
  const manifest: Manifest = {
    board: board.name,
    role: role.role,
    arch,
    version,
    sourceDateEpoch: epoch,
    kernel: { package: kernelName, version: kpkg.version, release: kver },
    cmdline,
    inputs: { packages: pkgs.map(({ name, version, arch: a, sha256: s }) => ({ name, version, arch: a, sha256: s })), files: inputs },
    embedded,
    modules: { load: mods.load, builtin: mods.builtin, files: mods.files.length },
    initramfs: { compression: `zstd -${level}`, compressedSize: initrd.length, uncompressedSize: cpio.length, uncompressedSha256: cpioSha, entries: fs.stats().entries },
    outputs: outputs.map(([name, data]) => fileInfo(name, data)),
  };
  writeAtomic(join(outDir, 'manifest.json'), Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));
  progress.step(`${shownPath(outDir)}: initramfs ${(initrd.length / 1048576).toFixed(1)} MiB (zstd), kernel ${(vmlinuz.length / 1048576).toFixed(1)} MiB`);
  return { outDir, manifest };
}

function readPreviousManifest(dir: string): Manifest | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

function writeAtomic(path: string, data: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
