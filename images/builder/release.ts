/**
 * `tfw release`: an image folder made into a signed update bundle
 * (runtime/device/bundle.ts) and its minisign signature `X.tfwup.minisig`,
 * which Debian's `minisign -Vm X.tfwup -p KEY.pub` verifies. Reproducible:
 * the archive is deterministic and Ed25519 signatures are too (RFC 8032 §5.1.6),
 * so the same image and key give the same two files.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { TfwError } from '../../runtime/errors.js';
import { BUNDLE_FORMAT, SLOT_FILES, writeTar, type BundleManifest } from '../../runtime/device/bundle.js';
import { parseSecretKey, signFile } from '../../runtime/device/minisign.js';
import type { Manifest } from './image.js';
import { sourceDateEpoch } from './image.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const WORD_RE = /^[^\s"']+$/;

export interface ReleaseOptions {
  /** Image folder (vmlinuz, initramfs.cpio.zst, cmdline, manifest.json). */
  dir: string;
  /** minisign secret key file (unencrypted). */
  keyFile: string;
  /** Output bundle path; the signature goes to `<output>.minisig`. */
  output: string;
  /** Extra kernel command-line words for the slot. */
  append?: string[];
}

/**
 * The slot manifest of an image folder (what a bundle carries as manifest.json
 * and a slot keeps as `<slot>/manifest.json`): version, board, the slot's
 * kernel command line (image cmdline + `append`) and every file's sha256.
 * @throws TfwError naming a missing image file or a bad `append` word
 */
export function slotManifest(dir: string, append: string[] = []): BundleManifest {
  for (const f of [...SLOT_FILES, 'cmdline', 'manifest.json']) {
    if (!existsSync(join(dir, f))) throw new TfwError('ERR_TFW_IMAGE', `${join(dir, f)} is missing; run tfw build first`);
  }
  for (const w of append) if (!WORD_RE.test(w)) throw new TfwError('ERR_TFW_CONFIG', `--append: expected one kernel command-line word without spaces or quotes, got ${JSON.stringify(w)}`);
  const imageManifestBytes = readFileSync(join(dir, 'manifest.json'));
  const image = JSON.parse(imageManifestBytes.toString('utf8')) as Manifest;
  const files = SLOT_FILES.map((f) => {
    const b = readFileSync(join(dir, f));
    return { path: f, sha256: sha256(b), size: b.length };
  });
  return {
    format: BUNDLE_FORMAT,
    board: image.board,
    role: image.role,
    arch: image.arch,
    version: image.version,
    cmdline: [readFileSync(join(dir, 'cmdline'), 'utf8').trim(), ...append].join(' '),
    image: sha256(imageManifestBytes),
    files,
  };
}

/**
 * Writes the bundle and its signature (each to a temporary name, then renamed).
 * @throws TfwError naming the missing image file, the bad key or the bad --append word
 */
export async function makeRelease(o: ReleaseOptions): Promise<{ output: string; signature: string; manifest: BundleManifest; bytes: number }> {
  const manifest = slotManifest(o.dir, o.append);
  if (!existsSync(o.keyFile)) throw new TfwError('ERR_TFW_CONFIG', `--key: ${o.keyFile} does not exist; make one with tfw keygen --signing -o ${o.keyFile}`);
  const key = parseSecretKey(readFileSync(o.keyFile, 'utf8'));
  const data = SLOT_FILES.map((f) => ({ name: f, data: readFileSync(join(o.dir, f)) }));
  const epoch = sourceDateEpoch();
  const tar = writeTar([{ name: 'manifest.json', data: Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`) }, ...data], epoch);
  const tmp = `${o.output}.tmp-${process.pid}`;
  const sigPath = `${o.output}.minisig`;
  try {
    writeFileSync(tmp, tar);
    const sig = await signFile(tmp, key, `timestamp:${epoch}\tfile:${basename(o.output)}\thashed`);
    writeFileSync(`${sigPath}.tmp-${process.pid}`, sig);
    renameSync(tmp, o.output);
    renameSync(`${sigPath}.tmp-${process.pid}`, sigPath);
  } finally {
    rmSync(tmp, { force: true });
    rmSync(`${sigPath}.tmp-${process.pid}`, { force: true });
  }
  return { output: o.output, signature: sigPath, manifest, bytes: tar.length };
}
