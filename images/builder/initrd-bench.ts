/**
 * The benchmark payload for a built image, without rebuilding it: a second,
 * uncompressed initramfs segment holding only /usr/lib/tfw/bench/guest.mjs
 * (the bundled portable kernel suite, bench/guest/guest.ts), appended after the
 * image's zstd initramfs. As with initrd-config.ts, the kernel unpacks the
 * concatenated archives in order (Documentation/driver-api/early-userspace/
 * buffer-format.rst); the guest init runs the file when the kernel word
 * tfw.bench=1 is present (runtime/init/init.sh, bench hook). Beside the
 * runtime, so the suite finds /usr/lib/tfw/wasm and /usr/lib/tfw/prebuilds the
 * way the bundled runtime does.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeCpio } from './cpio.js';

/** Where the guest init looks for the suite (init.sh bench hook). */
export const IMAGE_BENCH_PATH = 'usr/lib/tfw/bench/guest.mjs';

/** An uncompressed newc archive with the parent folders and the suite (mode 0644). `mtime` in Unix seconds. */
export function benchCpio(guestMjs: Uint8Array, mtime = 0): Buffer {
  return writeCpio(
    [
      { path: 'usr', type: 'dir', mode: 0o755 },
      { path: 'usr/lib', type: 'dir', mode: 0o755 },
      { path: 'usr/lib/tfw', type: 'dir', mode: 0o755 },
      { path: 'usr/lib/tfw/bench', type: 'dir', mode: 0o755 },
      { path: IMAGE_BENCH_PATH, type: 'file', mode: 0o644, data: guestMjs },
    ],
    mtime,
  );
}

/**
 * Writes `<image initramfs> + pad to 4 + benchCpio(guestMjs)` to a new private
 * temp folder; returns the file path and a cleanup function (removes the
 * folder). `initramfs` is the image's initramfs.cpio.zst path.
 */
export function initrdWithBench(initramfs: string, guestMjs: Uint8Array): { path: string; cleanup: () => void } {
  const base = readFileSync(initramfs);
  const dir = mkdtempSync(join(tmpdir(), 'tfw-bench-initrd-'));
  const path = join(dir, 'initrd');
  const pad = Buffer.alloc((4 - (base.length % 4)) % 4);
  writeFileSync(path, Buffer.concat([base, pad, benchCpio(guestMjs)]));
  return { path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
