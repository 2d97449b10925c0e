/**
 * A different overlay config for a built image without rebuilding it: a tiny
 * second initramfs segment (uncompressed cpio newc holding only
 * /etc/tfw/config.cbor) appended after the image's zstd initramfs. The kernel
 * unpacks concatenated archives in order and later files replace earlier ones
 * (Documentation/driver-api/early-userspace/buffer-format.rst: "initramfs" is a
 * series of compressed or uncompressed cpio archives, each padded to 4 bytes).
 * The segment is uncompressed so the kernel needs no second decompressor run
 * and the bytes stay inspectable (`cpio -t`); it is ~300 bytes.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCpio } from './cpio.js';

/** The path the runtime reads in images (init.sh TFW_CONFIG default). */
export const IMAGE_CONFIG_PATH = 'etc/tfw/config.cbor';

/**
 * An uncompressed newc archive with etc/, etc/tfw/ and etc/tfw/config.cbor
 * (mode 0600: it holds the private key). `mtime` in Unix seconds.
 */
export function configCpio(cbor: Uint8Array, mtime = 0): Buffer {
  return writeCpio(
    [
      { path: 'etc', type: 'dir', mode: 0o755 },
      { path: 'etc/tfw', type: 'dir', mode: 0o755 },
      { path: IMAGE_CONFIG_PATH, type: 'file', mode: 0o600, data: cbor },
    ],
    mtime,
  );
}

/**
 * Writes `<image initramfs> + pad to 4 + segment` to a new private temp folder
 * (mode 0600) and returns the file path and a cleanup function (removes the
 * folder). `initramfs` is the image's initramfs.cpio.zst path; `segment` an
 * uncompressed newc archive (configCpio, initrd-bench.ts's benchCpio).
 */
export function initrdWithSegment(initramfs: string, segment: Uint8Array, prefix = 'tfw-initrd-'): { path: string; cleanup: () => void } {
  const base = readFileSync(initramfs);
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const path = join(dir, 'initrd');
  const pad = Buffer.alloc((4 - (base.length % 4)) % 4);
  writeFileSync(path, Buffer.concat([base, pad, segment]), { mode: 0o600 });
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The image's initramfs with the config segment appended (initrdWithSegment). */
export const initrdWithConfig = (initramfs: string, cbor: Uint8Array): { path: string; cleanup: () => void } => initrdWithSegment(initramfs, configCpio(cbor));
