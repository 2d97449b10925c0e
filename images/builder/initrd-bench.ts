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
import { writeCpio } from './cpio.js';
import { initrdWithSegment } from './initrd-config.js';

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

/** The image's initramfs with the suite appended (initrd-config.ts's initrdWithSegment; cleanup removes it). */
export const initrdWithBench = (initramfs: string, guestMjs: Uint8Array): { path: string; cleanup: () => void } =>
  initrdWithSegment(initramfs, benchCpio(guestMjs), 'tfw-bench-initrd-');
