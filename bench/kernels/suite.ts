/**
 * The portable kernel suite: AEAD, Reed-Solomon and forward benchmarks that
 * run the same way on the host and inside a QEMU guest (bench/guest/guest.ts),
 * each kernel on every backend the machine has beside its in-machine peer.
 * A kernel that throws (a wrong answer, a backend that fails to load) becomes
 * an `error` event and the others still run.
 */
import { cpus, release, totalmem } from 'node:os';
import { availableBackends } from '../../runtime/kernels/backend.js';
import { nativeAead, nativeAvailable, nativeLoadError, nativeRs } from '../../runtime/kernels/native.js';
// Side-effect imports: each kernel registers its native engine when the addon loads.
import '../../runtime/kernels/aead.js';
import '../../runtime/kernels/erasure.js';
import '../../runtime/kernels/forward.js';
import { AEAD_SIZES, runAead } from './aead.js';
import { ERASURE_SHAPES, runErasure } from './erasure.js';
import { FORWARD_CASES, runForward } from './forward.js';
import { FULL, QUICK } from './measure.js';
import { KERNEL_NAMES, type KernelName, type MachineInfo, type SuiteEvent } from './result.js';

/** What this machine is, as the suite sees it (goes into the report). */
export function machineInfo(): MachineInfo {
  const native: MachineInfo['native'] = {};
  if (nativeAvailable()) {
    try {
      native.aead = nativeAead.setIsa('auto');
      native.erasure = nativeRs.setIsa('auto');
    } catch (err) {
      native.error = (err as Error).message;
    }
  } else native.error = nativeLoadError();
  const c = cpus();
  return {
    arch: process.arch,
    platform: process.platform,
    node: process.version,
    v8: process.versions.v8,
    kernel: release(),
    cpus: c.length,
    cpuModel: c[0]?.model?.trim() || 'unknown',
    memMiB: Math.round(totalmem() / 2 ** 20),
    backends: availableBackends(),
    native,
  };
}

/**
 * Checks kernel names (an empty list means all).
 * @throws Error naming the unknown one and the known ones
 */
export function parseKernels(names: string[]): KernelName[] {
  const bad = names.filter((n) => !(KERNEL_NAMES as readonly string[]).includes(n));
  if (bad.length) throw new Error(`kernel: unknown ${bad.join(', ')}; expected one of ${KERNEL_NAMES.join(', ')}`);
  return names.length ? KERNEL_NAMES.filter((k) => names.includes(k)) : [...KERNEL_NAMES];
}

/**
 * Runs `kernels` (quick: one small size each, short rounds) and reports every
 * step through `emit`: hello, progress, result, error, done.
 */
export function runSuite(kernels: KernelName[], quick: boolean, emit: (e: SuiteEvent) => void): void {
  const t0 = process.hrtime.bigint();
  emit({ type: 'hello', machine: machineInfo(), quick, kernels });
  let results = 0;
  const count = (e: SuiteEvent) => {
    if (e.type === 'result') results++;
    emit(e);
  };
  const o = quick ? QUICK : FULL;
  const mode = quick ? 'quick' : 'full';
  for (const k of kernels) {
    try {
      if (k === 'aead') runAead(AEAD_SIZES[mode], o, count);
      else if (k === 'erasure') runErasure(ERASURE_SHAPES[mode], o, count);
      else runForward(FORWARD_CASES[mode], o, quick, count);
    } catch (err) {
      emit({ type: 'error', kernel: k, message: (err as Error).message.split('\n')[0] });
    }
  }
  emit({ type: 'done', results, seconds: Number(process.hrtime.bigint() - t0) / 1e9 });
}
