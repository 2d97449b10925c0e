/**
 * One guest run of the portable suite: boots a built image in QEMU with the
 * suite as a second initramfs segment (images/builder/initrd-bench.ts) and the
 * kernel words tfw.bench=1 / tfw.bench_args=..., reads the event lines off the
 * serial console (bench/guest/protocol.ts) while the guest runs them, and
 * returns once the guest powered off (the init hook does that after the suite)
 * or the timeout hit. The image is not rebuilt; it needs the init hook
 * (runtime/init/init.sh, any image built from this tree has it).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { initrdWithBench } from '../../images/builder/initrd-bench.js';
import { bootImage } from '../../images/builder/qemu.js';
import type { Board } from '../../images/builder/schema.js';
import { TfwError } from '../../runtime/errors.js';
import type { BenchTarget, KernelName, SuiteEvent } from '../kernels/result.js';
import { benchKernelWords, parseEventLine } from './protocol.js';

export type Accel = 'tcg' | 'kvm';

export interface GuestRunOptions {
  board: Board;
  /** Image folder (build/images/<board>-<role>). */
  dir: string;
  /** The bundled suite (bench/guest/bundle.ts). */
  bundle: Uint8Array;
  quick: boolean;
  kernels: KernelName[];
  accel: Accel;
  /** Seconds for the whole guest run, boot included. */
  timeout: number;
  /** Every event as it arrives (progress display). */
  onEvent?: (e: SuiteEvent) => void;
  /** Where the raw console goes (default: nowhere). */
  consoleOut?: NodeJS.WritableStream | null;
}

/**
 * The accelerator for a board: `auto` is kvm when /dev/kvm exists and the
 * board's arch is the host's, else tcg. An explicit kvm without /dev/kvm, or
 * for another arch, throws.
 * @throws TfwError ERR_TFW_CONFIG naming --accel
 */
export function resolveAccel(want: string, board: Board, hostArch = process.arch, kvmPresent = existsSync('/dev/kvm')): Accel {
  const native = (board.arch === 'x86_64' && hostArch === 'x64') || (board.arch === 'arm64' && hostArch === 'arm64');
  if (want === 'tcg') return 'tcg';
  if (want === 'auto') return kvmPresent && native ? 'kvm' : 'tcg';
  if (want !== 'kvm') throw new TfwError('ERR_TFW_CONFIG', `--accel: expected tcg, kvm or auto, got "${want}"`);
  if (!kvmPresent) throw new TfwError('ERR_TFW_CONFIG', '--accel kvm: /dev/kvm does not exist on this host; use --accel tcg');
  if (!native) throw new TfwError('ERR_TFW_CONFIG', `--accel kvm: board ${board.name} is ${board.arch} but this host is ${hostArch}; KVM runs the host's own arch only`);
  return 'kvm';
}

/**
 * Boots `o.board` with the suite and collects its results into a BenchTarget
 * (never rejects for guest failures: they go into `errors`).
 * @throws TfwError ERR_TFW_IMAGE when the image is missing; ERR_TFW_CONFIG for kvm (see below)
 */
export async function runGuest(o: GuestRunOptions): Promise<BenchTarget> {
  if (!existsSync(join(o.dir, 'manifest.json'))) {
    throw new TfwError('ERR_TFW_IMAGE', `${o.dir} has no image; run tfw build --board ${o.board.name} --role 3router`);
  }
  const target: BenchTarget = { label: `${o.board.name} (${o.accel})`, kind: 'guest', board: o.board.name, accel: o.accel, machine: null, results: [], seconds: 0, errors: [] };
  const t = initrdWithBench(join(o.dir, 'initramfs.cpio.zst'), o.bundle);
  const started = Date.now();
  let done = false;
  // An image built before the init hook boots its runtime instead: stop at its ready marker.
  const stop = new AbortController();
  try {
    const r = await bootImage({
      board: o.board,
      dir: o.dir,
      accel: o.accel,
      initrd: t.path,
      append: benchKernelWords(o.quick, o.kernels),
      timeout: o.timeout,
      net: 'user',
      consoleOut: o.consoleOut ?? null,
      signal: stop.signal,
      onLine: (line) => {
        const e = parseEventLine(line);
        if (!e && /tfw: ready \S+ \S+ /.test(line) && !stop.signal.aborted) {
          stop.abort(new Error(`${o.dir} has no bench hook in its init (built before it?); rebuild it with tfw build --board ${o.board.name}`));
          return;
        }
        if (!e) {
          if (/tfw: init: bench: (exited with status [1-9]|no payload)/.test(line)) target.errors.push(line.trim());
          return;
        }
        if ('error' in e) return void target.errors.push(e.error);
        o.onEvent?.(e);
        if (e.type === 'hello') target.machine = e.machine;
        else if (e.type === 'result') target.results.push(e.result);
        else if (e.type === 'error') target.errors.push(`${e.kernel}: ${e.message}`);
        else if (e.type === 'done') {
          done = true;
          target.seconds = (Date.now() - started) / 1000;
        }
      },
    });
    if (!done) {
      const last = r.tail.filter((l) => l.trim()).pop() ?? '';
      const cause = r.cause?.startsWith('no ready marker') ? `no end of run within ${o.timeout} s` : (r.cause ?? `QEMU exited with ${r.qemuExitCode}`);
      target.errors.push(`the suite did not finish: ${cause}${last ? `; last console line: ${last.trim().slice(0, 200)}` : ''}`);
    }
  } finally {
    t.cleanup();
  }
  return target;
}
