/**
 * `tfw pxe`: serve an image folder over HTTP for iPXE (host-tools/pxe/http.ts:
 * `chain http://ADDR:PORT/boot.ipxe`, only the image's own files, Range
 * honoured, read errors answered 500); the default address is loopback.
 * `--tftp ADDR` also runs Debian's dnsmasq as a TFTP-only server (DNS and DHCP
 * off, port 69, `--tftp-secure`) on ADDR for PXE ROMs that cannot do HTTP: its
 * root is a private copy of the image files plus iPXE's loaders from Debian's
 * ipxe package when installed (undionly.kpxe for BIOS, ipxe.efi / snponly.efi
 * for UEFI), so a ROM can chain-load iPXE, and iPXE can fetch boot.ipxe,
 * vmlinuz and the initramfs over TFTP too (tftp://ADDR/boot.ipxe). Handing
 * out the boot file names is the site DHCP server's job.
 * `--append WORD` adds kernel command-line words to the served boot.ipxe (the
 * file on disk is unchanged), like `tfw boot --append`.
 */
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { TfwError } from '../../runtime/errors.js';
import { imageDir } from '../../images/builder/paths.js';
import { loadBoard, loadRole, DEFAULT_BOARD, DEFAULT_ROLE } from '../../images/builder/schema.js';
import { PXE_FILES, serveHttp, type PxeHttpOptions, type PxeServer } from '../pxe/http.js';

export { parseListen, parseRange, PXE_FILES, serveHttp, type PxeRequest, type PxeServer } from '../pxe/http.js';

interface PxeFlags {
  board: string;
  role: string;
  dir?: string;
  listen: string;
  maxRequests?: string;
  append: string[];
  tftp?: string;
}

const collect = (v: string, prev: string[]) => [...prev, v];

export interface PxeOptions extends PxeHttpOptions {
  /** Kernel command-line words added to the `kernel` line of the served boot.ipxe. */
  append?: string[];
}

/** The image's boot.ipxe with `append` words added to its `kernel` line; throws naming a bad word. */
export function pxeScript(dir: string, append: string[] = []): Buffer {
  const raw = readFileSync(join(dir, 'boot.ipxe'));
  if (append.length === 0) return raw;
  for (const w of append) {
    // One kernel word each: no blanks or newlines (they would add iPXE commands).
    if (!/^[\x21-\x7e]+$/.test(w)) throw new TfwError('ERR_TFW_CONFIG', `--append: expected one kernel word without blanks, got ${JSON.stringify(w)}`);
  }
  const lines = raw.toString('utf8').split('\n');
  const i = lines.findIndex((l) => /^kernel\s/.test(l));
  if (i < 0) throw new TfwError('ERR_TFW_IMAGE', `${join(dir, 'boot.ipxe')} has no kernel line; rebuild with tfw build`);
  lines[i] = [lines[i].trimEnd(), ...append].join(' ');
  return Buffer.from(lines.join('\n'));
}

/**
 * Serves the image folder `dir` on `listen` (ADDR:PORT, port 0 picks a free one)
 * and resolves once listening. Throws naming --listen for a bad address or a
 * port that cannot be bound, and naming the folder when it has no boot.ipxe.
 */
export async function servePxe(dir: string, listen: string, opts: PxeOptions = {}): Promise<PxeServer> {
  if (!existsSync(join(dir, 'boot.ipxe'))) throw new TfwError('ERR_TFW_IMAGE', `${dir} has no boot.ipxe; run tfw build first`);
  return serveHttp(dir, listen, pxeScript(dir, opts.append), opts);
}

/** iPXE loaders from Debian's ipxe package that `--tftp` serves when installed (BIOS, UEFI, UEFI with the firmware's NIC driver). */
export const IPXE_LOADERS = ['/usr/lib/ipxe/undionly.kpxe', '/usr/lib/ipxe/ipxe.efi', '/usr/lib/ipxe/snponly.efi'];

/** Parses --tftp: ADDR or ADDR:69 (IPv4); throws naming --tftp. */
export function parseTftp(s: string): string {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d{1,5}))?$/.exec(s);
  if (!m) throw new TfwError('ERR_TFW_CONFIG', `--tftp: expected an IPv4 address like 192.168.1.5 (port 69), got "${s}"`);
  if (m[2] !== undefined && m[2] !== '69') throw new TfwError('ERR_TFW_CONFIG', `--tftp: dnsmasq's TFTP server listens on port 69 only, got "${s}"`);
  return m[1];
}

/** The uid of `nobody` (dnsmasq's default user after it drops root), from /etc/passwd. */
function nobodyUid(): number {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:'));
  return line ? Number(line.split(':')[2]) : 65534;
}

export interface TftpServer {
  url: string;
  /** The files served (names in the TFTP root). */
  files: string[];
  /** Resolves with dnsmasq's exit code (null: killed by close()). */
  exited: Promise<number | null>;
  /** Stops dnsmasq and removes the TFTP root. */
  close: () => Promise<void>;
}

/**
 * Runs dnsmasq as a TFTP-only server on `addr` port 69 for the image in `dir`
 * (boot.ipxe as `script`, with --append words) plus the installed iPXE loaders.
 * Resolves once dnsmasq reports its TFTP root; throws naming the package when
 * dnsmasq is missing, or with dnsmasq's own message when it cannot start
 * (e.g. port 69 in use, or not root).
 */
export async function serveTftp(dir: string, addr: string, script: Buffer, log: (line: string) => void): Promise<TftpServer> {
  const host = parseTftp(addr);
  const root = mkdtempSync(join(tmpdir(), 'tfw-tftp-'));
  chmodSync(root, 0o755);
  const files: string[] = [];
  // --tftp-secure: dnsmasq (root dropping to nobody) serves only files nobody owns.
  const owner = process.getuid?.() === 0 ? nobodyUid() : undefined;
  const add = (name: string, from: string | Buffer) => {
    const to = join(root, name);
    if (typeof from === 'string') copyFileSync(from, to);
    else writeFileSync(to, from);
    chmodSync(to, 0o444);
    if (owner !== undefined) chownSync(to, owner, -1);
    files.push(name);
  };
  try {
    add('boot.ipxe', script);
    for (const f of Object.keys(PXE_FILES)) if (f !== '/boot.ipxe' && existsSync(join(dir, f))) add(f.slice(1), join(dir, f));
    for (const f of IPXE_LOADERS) if (existsSync(f)) add(f.split('/').pop()!, f);
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw err;
  }
  const args = [
    '--keep-in-foreground', '--conf-file=/dev/null', '--pid-file=', '--log-facility=-',
    '--port=0', '--no-resolv', '--no-hosts', // no DNS (and no DHCP: no --dhcp-range)
    `--listen-address=${host}`, '--bind-interfaces',
    '--enable-tftp', `--tftp-root=${root}`, '--tftp-secure',
  ];
  const child = spawn('dnsmasq', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let closing = false;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      rmSync(root, { recursive: true, force: true });
      resolve(closing ? null : code);
    });
    child.once('error', () => {
      rmSync(root, { recursive: true, force: true });
      resolve(127);
    });
  });
  let err = '';
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    let started = false;
    child.stderr!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/^dnsmasq(-tftp)?(\[\d+\])?: /, '');
        buf = buf.slice(nl + 1);
        if (!line.trim()) continue;
        if (!line.startsWith('compile time options')) log(`tftp: ${line}`);
        err = line;
        if (!started && line.startsWith('TFTP root is')) {
          started = true;
          resolve();
        }
      }
    });
    child.once('error', (e) => reject(new TfwError('ERR_TFW_TOOL', `--tftp: cannot start dnsmasq: ${e.message} (install dnsmasq-base: make sysdeps)`)));
    child.once('exit', (code) => reject(new TfwError('ERR_TFW_PXE', `--tftp ${addr}: dnsmasq exited (${code}): ${err.trim()}`)));
  });
  return {
    url: `tftp://${host}/boot.ipxe`,
    files: files.sort(),
    exited,
    close: async () => {
      closing = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export function register(program: Command): void {
  program
    .command('pxe')
    .description('Serve an image for iPXE over HTTP (and over TFTP with --tftp, via dnsmasq)')
    .option('-b, --board <board>', 'board name (tfw boards lists them)', DEFAULT_BOARD)
    .option('-r, --role <role>', 'image role (tfw roles lists them)', DEFAULT_ROLE)
    .option('-d, --dir <dir>', 'image folder (default build/images/<board>-<role>)')
    .option('-l, --listen <addr:port>', 'HTTP address (port 0 picks a free one)', '127.0.0.1:8069')
    .option('--append <word>', 'extra kernel command-line word in the served boot.ipxe (repeatable)', collect, [])
    .option('--max-requests <n>', 'exit after serving this many HTTP requests')
    .option('--tftp <addr>', 'also serve the image and iPXE\'s loaders (ipxe package) over TFTP on ADDR port 69 with dnsmasq (root)')
    .addHelpText('after', '\nThe defaults are those of every command: --board qemu-x86_64 --role 3router; a PXE-booted\n3Node is --board pc-x86_64 --role 3node.\n\nExamples:\n  tfw pxe                                        # build/images/qemu-x86_64-3router on 127.0.0.1:8069\n  tfw pxe --board pc-x86_64 --role 3node --listen 0.0.0.0:8069\n\nBoot a machine with iPXE and run:  chain http://ADDR:PORT/boot.ipxe\nor hand that URL out as the DHCP boot file name. Prints the URL on stdout\n(with --tftp, the tftp:// URL on a second line; a PXE ROM without HTTP gets\nundionly.kpxe (BIOS) or ipxe.efi (UEFI) by TFTP from the site DHCP server).')
    .action(async (f: PxeFlags) => {
      const dir = f.dir ?? imageDir(loadBoard(f.board).name, loadRole(f.role).role);
      if (!existsSync(join(dir, 'boot.ipxe'))) throw new TfwError('ERR_TFW_IMAGE', `${dir} has no boot.ipxe; run tfw build --board ${f.board} --role ${f.role}`);
      const max = f.maxRequests === undefined ? undefined : Number(f.maxRequests);
      if (max !== undefined && !(Number.isInteger(max) && max > 0)) throw new TfwError('ERR_TFW_CONFIG', `--max-requests: expected a count > 0, got "${f.maxRequests}"`);
      if (f.tftp !== undefined) parseTftp(f.tftp);
      const s = await servePxe(dir, f.listen, { maxRequests: max, append: f.append });
      let tftp: TftpServer | undefined;
      let tftpDied: number | null = null;
      try {
        tftp = f.tftp === undefined ? undefined : await serveTftp(dir, f.tftp, s.script, (l) => process.stderr.write(`tfw: pxe: ${l}\n`));
      } catch (err) {
        s.close();
        throw err;
      }
      process.stdout.write(`${s.url}\n${tftp ? `${tftp.url}\n` : ''}`);
      process.stderr.write(`tfw: pxe: serving ${dir}; in iPXE: chain ${s.url}\n`);
      if (tftp) process.stderr.write(`tfw: pxe: tftp: serving ${tftp.files.join(' ')} on ${tftp.url.replace(/\/boot\.ipxe$/, '')}\n`);
      tftp?.exited.then((code) => {
        if (code !== null) {
          tftpDied = code;
          s.close();
        }
      });
      process.once('SIGINT', s.close);
      process.once('SIGTERM', s.close);
      await s.closed;
      await tftp?.close();
      if (tftpDied !== null) throw new TfwError('ERR_TFW_PXE', `--tftp: dnsmasq exited (${tftpDied})`);
    });
}
