/**
 * Debian package pinning through the ordinary apt client: resolve the dependency
 * closure of the image's root packages for one architecture (`apt-cache madison`
 * and `apt-cache show`), and download pinned versions (`apt-get download
 * PKG:ARCH=VERSION`). Foreign architectures are added under the shared apt lock
 * (`flock /tmp/tfw-apt.lock`) so concurrent builds and installs do not collide.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, renameSync } from 'node:fs';
import { TfwError } from '../../runtime/errors.js';

export type DebArch = 'amd64' | 'arm64';

/** One pinned package, as stored in images/packages.lock.json. */
export interface LockedPackage {
  name: string;
  version: string;
  /** Debian architecture of the .deb: amd64, arm64 or all. */
  arch: string;
  /** Basename of the pool file, e.g. libuv1_1.44.2-1+deb12u1_arm64.deb. */
  filename: string;
  sha256: string;
  size: number;
}

/**
 * The packages an image starts from. The kernel's own dependencies (kmod,
 * initramfs-tools, ...) are host-side boot tooling and are not followed.
 */
export const ROOT_PACKAGES = ['busybox-static', 'nodejs'] as const;
/**
 * Packages pinned for `tfw flash` only (the UEFI boot loader written to the
 * disk's EFI System Partition); resolved like the roots, never copied into the
 * initramfs and left out of `tfw build`'s inputs.
 */
export const LOADER_PACKAGES = ['systemd-boot-efi'] as const;
/**
 * Packages never needed in the image: maintainer-script and doc helpers pulled
 * by Depends, and container-network-stack (golang-github-containers-common's
 * virtual dependency, netavark or the CNI plugins): the slice role's Podman runs
 * containers with `--network none` or `host`, which need no network backend;
 * gnupg and gpg (libgpgme11's program dependency): gpg only checks signatures
 * of registry pulls, and slices load local archives. Without these the lock
 * does not carry gnupg's closure (dirmngr, gpg-agent, pinentry, ...). Also
 * adduser (a maintainer-script helper, libibverbs1's Depends) and ipxe-qemu
 * (NIC boot ROMs: the slices' virtio-net-pci has `romfile=`, they boot with
 * -kernel).
 */
const SKIP = new Set(['debconf', 'perl-base', 'dpkg', 'nodejs-doc', 'ca-certificates', 'container-network-stack', 'gnupg', 'gpg', 'adduser', 'ipxe-qemu']);
/**
 * Packages pinned without their Depends: the image takes chosen files of them
 * (a role's `files:`), whose libraries the builder's DT_NEEDED walk checks.
 * qemu-system-common: only its TCG accelerator module (accel-tcg-x86_64.so,
 * needing libc); its Depends (spice, gstreamer, ALSA, GBM, NSS, brlapi, ...)
 * serve display, audio and USB modules and helpers the aibox does not carry,
 * 9 MB of downloads per build.
 */
const NO_FOLLOW = new Set(['qemu-system-common']);

const run = (cmd: string, args: string[]): string =>
  execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'] });

/** Adds a foreign dpkg architecture and refreshes the package lists when it is missing. */
export function ensureForeignArch(arch: DebArch): void {
  const native = run('dpkg', ['--print-architecture']).trim();
  if (arch === native) return;
  if (run('dpkg', ['--print-foreign-architectures']).split('\n').includes(arch)) return;
  process.stderr.write(`tfw: build: adding dpkg architecture ${arch} (apt-get update)\n`);
  execFileSync('flock', ['/tmp/tfw-apt.lock', 'sh', '-c', `dpkg --add-architecture ${arch} && apt-get update -qq`], { stdio: 'inherit' });
}

/** Parses a control stanza into its fields (continuation lines joined). */
export function parseStanza(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let key = '';
  for (const line of text.split('\n')) {
    if (line === '') break;
    if (/^\s/.test(line) && key) out[key] += `\n${line.trim()}`;
    else {
      const i = line.indexOf(':');
      if (i < 0) continue;
      key = line.slice(0, i);
      out[key] = line.slice(i + 1).trim();
    }
  }
  return out;
}

/** The newest version of `name` for `arch` offered by a Debian mirror (not third-party repos). */
function debianCandidate(name: string, arch: DebArch): { version: string; qualified: string } | undefined {
  for (const qualified of [`${name}:${arch}`, name]) {
    let out = '';
    try {
      out = run('apt-cache', ['madison', qualified]);
    } catch {
      continue;
    }
    const rows = out
      .split('\n')
      .map((l) => l.split('|').map((s) => s.trim()))
      .filter((r) => r.length >= 3 && /debian\.org/.test(r[2]) && (r[2].endsWith(`${arch} Packages`) || r[2].endsWith('all Packages')));
    if (rows.length === 0) continue;
    // madison lists versions newest first; compare explicitly to be sure.
    let best = rows[0][1];
    for (const r of rows.slice(1)) {
      try {
        execFileSync('dpkg', ['--compare-versions', r[1], 'gt', best]);
        best = r[1];
      } catch {
        /* not greater */
      }
    }
    return { version: best, qualified };
  }
  return undefined;
}

function showPackage(qualified: string, version: string): Record<string, string> {
  return parseStanza(run('apt-cache', ['show', `${qualified}=${version}`]));
}

/** First alternative of each comma-separated dependency, without version or arch qualifiers. */
export function dependencyNames(field: string | undefined): string[] {
  if (!field) return [];
  return field
    .split(',')
    .map((d) => d.split('|')[0].trim().split(/[\s(]/)[0].replace(/:any$/, ''))
    .filter(Boolean);
}

/** The kernel package (linux-image-<abi>-<flavour>) the meta package linux-image-<flavour> points at. */
export function kernelPackage(flavour: string, arch: DebArch): string {
  const meta = `linux-image-${flavour}`;
  const c = debianCandidate(meta, arch);
  if (!c) throw new TfwError('ERR_TFW_APT', `apt offers no ${meta} for ${arch}; run apt-get update`);
  const dep = dependencyNames(showPackage(c.qualified, c.version).Depends).find((d) => d.startsWith('linux-image-'));
  if (!dep) throw new TfwError('ERR_TFW_APT', `${meta} ${c.version} does not depend on a linux-image package`);
  return dep;
}

/**
 * Resolves the Depends/Pre-Depends closure of `roots` for `arch` (first
 * alternative, newest Debian version) plus the kernels (not followed).
 * Packages in `pinned` (an existing lock's, whose closures it already holds)
 * are kept as pinned and not followed, so adding a root adds only what is new.
 * Returns the packages sorted by name.
 */
export function resolveClosure(arch: DebArch, roots: readonly string[], kernels: readonly string[], pinned: readonly LockedPackage[] = []): LockedPackage[] {
  ensureForeignArch(arch);
  const seen = new Map<string, LockedPackage>(pinned.map((p) => [p.name, p]));
  const visit = (name: string, follow: boolean) => {
    if (seen.has(name) || SKIP.has(name)) return;
    const c = debianCandidate(name, arch);
    if (!c) throw new TfwError('ERR_TFW_APT', `apt offers no package ${name} for ${arch}`);
    const f = showPackage(c.qualified, c.version);
    seen.set(name, {
      name,
      version: c.version,
      arch: f.Architecture,
      filename: f.Filename.split('/').pop()!,
      sha256: f.SHA256,
      size: Number(f.Size),
    });
    if (follow && !NO_FOLLOW.has(name)) for (const d of [...dependencyNames(f['Pre-Depends']), ...dependencyNames(f.Depends)]) visit(d, true);
  };
  for (const k of kernels) visit(k, false);
  for (const r of roots) visit(r, true);
  return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name));
}

let listsRefreshed = false;

/** Downloads one pinned package into `dir` with apt-get download; returns the file path. */
export function aptDownload(pkg: LockedPackage, dir: string): string {
  const spec = pkg.arch === 'all' ? `${pkg.name}=${pkg.version}` : `${pkg.name}:${pkg.arch}=${pkg.version}`;
  const download = () => execFileSync('apt-get', ['download', '-qq', spec], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    download();
  } catch {
    // Package lists older than the lock (a fresh machine, or a mirror that moved
    // on): refresh them once per process and try again.
    try {
      if (!listsRefreshed) {
        listsRefreshed = true;
        process.stderr.write(`tfw: build: ${spec} not in the package lists: apt-get update\n`);
        execFileSync('flock', ['/tmp/tfw-apt.lock', 'apt-get', 'update', '-qq'], { stdio: ['ignore', 'ignore', 'pipe'] });
      }
      download();
    } catch (err) {
      const msg = String((err as { stderr?: Buffer }).stderr ?? err).trim().split('\n').pop();
      throw new TfwError('ERR_TFW_APT', `apt-get download ${spec} failed: ${msg} (is ${pkg.arch} added? is the version still on the mirror? tfw build --update-lock re-pins)`);
    }
  }
  // apt-get names the file <name>_<epoch%3aversion>_<arch>.deb; the pool name has no epoch.
  const saved = `${dir}/${pkg.name}_${pkg.version.replace(':', '%3a')}_${pkg.arch}.deb`;
  const want = `${dir}/${pkg.filename}`;
  if (saved !== want && existsSync(saved)) renameSync(saved, want);
  return want;
}
