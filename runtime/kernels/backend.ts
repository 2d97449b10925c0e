/**
 * Backend selection and WebAssembly loading for the tfw kernels.
 *
 * Backends: `wasm-simd` (WebAssembly with 128-bit SIMD), `wasm-scalar` (no SIMD,
 * for engines that do not validate it), `native` (the N-API addon, when built).
 * Users pass `'auto' | 'wasm' | 'native'`; `wasm` means wasm-simd when the engine
 * validates SIMD, else wasm-scalar. The environment variable `TFW_BACKEND` sets the
 * default. Kernels are instantiated synchronously on first use and cached.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArgumentRangeError, BackendUnavailableError } from '../errors.js';

export type BackendName = 'auto' | 'wasm' | 'native' | 'wasm-simd' | 'wasm-scalar';
export type ConcreteBackend = 'wasm-simd' | 'wasm-scalar' | 'native';

export interface BackendOptions {
  /** Which implementation runs the kernel; default `process.env.TFW_BACKEND` or `'auto'`. */
  backend?: BackendName;
}

const BACKENDS: readonly BackendName[] = ['auto', 'wasm', 'native', 'wasm-simd', 'wasm-scalar'];

/** A minimal module using one v128 instruction: validates only where SIMD is supported. */
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

let simdSupported: boolean | undefined;
/** True when this engine validates WebAssembly SIMD (v128). */
export function wasmSimdSupported(): boolean {
  if (simdSupported === undefined) {
    simdSupported = process.env.TFW_WASM_SIMD !== '0' && WebAssembly.validate(SIMD_PROBE);
  }
  return simdSupported;
}

/**
 * Directory holding the built kernels (`<kernel>.wasm`, `<kernel>-simd.wasm`).
 * `TFW_WASM_DIR` overrides; otherwise searched relative to this module, which works
 * from the sources (tsx), from `build/js/` and from the bundled runtime
 * (`<prefix>/runtime/tfw-runtime.mjs` beside `<prefix>/wasm/`).
 */
export function wasmDir(): string {
  if (process.env.TFW_WASM_DIR) return process.env.TFW_WASM_DIR;
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    join(here, '../wasm'),
    join(here, '../../build/wasm'),
    join(here, '../../../wasm'),
    join(here, '../../../../build/wasm'),
  ];
  for (const c of candidates) if (existsSync(join(c, 'aead.wasm'))) return c;
  return candidates[1];
}

const moduleCache = new Map<string, WebAssembly.Module>();

interface WasiHost {
  readonly wasiImport: Record<string, unknown>;
  initialize(instance: WebAssembly.Instance): void;
}
type WasiConstructor = new (options: Record<string, unknown>) => WasiHost;
let wasiClass: WasiConstructor | undefined;

/**
 * `node:wasi`'s WASI class, loaded synchronously on first use. Node 18 and 20
 * print "ExperimentalWarning: WASI is an experimental feature" when the module
 * loads; that one warning is dropped (other warnings pass through).
 */
function loadWasi(): WasiConstructor {
  if (wasiClass) return wasiClass;
  const emit = process.emitWarning;
  process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]) {
    const text = typeof warning === 'string' ? warning : warning?.message;
    if (/\bWASI\b/.test(String(text))) return;
    return (emit as (...a: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    wasiClass = (createRequire(import.meta.url)('node:wasi') as { WASI: WasiConstructor }).WASI;
  } finally {
    process.emitWarning = emit;
  }
  return wasiClass;
}

/**
 * A fresh WASI preview 1 host for one kernel instance: no arguments, no
 * environment, no preopened directories; stdout/stderr are the process's (a
 * kernel writes only on abort). `returnOnExit` turns the module's `proc_exit`
 * (an AssemblyScript abort) into an exception instead of ending the process.
 */
function wasiHost(): WasiHost {
  const WASI = loadWasi();
  return new WASI({ version: 'preview1', args: [], env: {}, returnOnExit: true });
}

/**
 * Compiles (once) and instantiates a kernel module synchronously. Kernels are
 * WASI preview 1 reactors (built with @assemblyscript/wasi-shim, importing only
 * `wasi_snapshot_preview1`): each instance gets its own `node:wasi` host and is
 * initialised with `wasi.initialize(instance)`, as any other WASI host would.
 * @param kernel  kernel name, e.g. `'aead'`
 * @param variant `'wasm-simd'` or `'wasm-scalar'`
 * @param imports extra import modules (merged over the WASI ones; `env` kept for
 *                kernels built without the shim)
 * @throws BackendUnavailableError when the .wasm file is missing or does not validate
 */
export function instantiateKernel(
  kernel: string,
  variant: 'wasm-simd' | 'wasm-scalar',
  imports: WebAssembly.Imports = {},
): WebAssembly.Instance {
  const file = join(wasmDir(), variant === 'wasm-simd' ? `${kernel}-simd.wasm` : `${kernel}.wasm`);
  let mod = moduleCache.get(file);
  if (!mod) {
    if (!existsSync(file)) {
      throw new BackendUnavailableError(`kernel ${kernel}: ${file} not found (run \`make wasm\`, or set TFW_WASM_DIR)`);
    }
    try {
      mod = new WebAssembly.Module(readFileSync(file));
    } catch (err) {
      throw new BackendUnavailableError(`kernel ${kernel}: ${file} does not compile here: ${(err as Error).message}`);
    }
    moduleCache.set(file, mod);
  }
  const wasi = wasiHost();
  const env = {
    abort(msg: number, fileName: number, line: number, col: number) {
      throw new Error(`tfw: wasm ${kernel}: abort at ${line}:${col}`);
    },
    ...(imports.env ?? {}),
  };
  const instance = new WebAssembly.Instance(mod, {
    wasi_snapshot_preview1: wasi.wasiImport as WebAssembly.ModuleImports,
    ...imports,
    env,
  });
  if (WebAssembly.Module.exports(mod).some((e) => e.name === 'memory')) wasi.initialize(instance);
  return instance;
}

/** True when the native addon is built and loadable (set by runtime/kernels/native.ts). */
let nativeProbe: (() => boolean) | undefined;
export function setNativeProbe(probe: () => boolean): void {
  nativeProbe = probe;
}

/**
 * Resolves a user's backend choice to a concrete one.
 * `auto`: the backend that ran the kernel's calibration job fastest (measured
 * once per process on first use, under 50 ms for all kernels), else the best
 * wasm variant.
 * @throws RangeError for an unknown name; BackendUnavailableError when `native`
 *         is asked for but not built, or `wasm-simd` on an engine without SIMD.
 */
export function resolveBackend(opts?: BackendOptions, kernel?: string): ConcreteBackend {
  const requested = opts?.backend ?? (process.env.TFW_BACKEND as BackendName | undefined) ?? 'auto';
  if (!BACKENDS.includes(requested)) {
    throw new ArgumentRangeError(`backend: expected one of ${BACKENDS.join(', ')}, got ${JSON.stringify(requested)}`);
  }
  switch (requested) {
    case 'native':
      if (!nativeProbe?.()) throw new BackendUnavailableError('backend: native addon is not built for this platform (run `make native`)');
      return 'native';
    case 'wasm-simd':
      if (!wasmSimdSupported()) throw new BackendUnavailableError('backend: this engine does not validate WebAssembly SIMD');
      return 'wasm-simd';
    case 'wasm-scalar':
      return 'wasm-scalar';
    case 'auto':
      if (kernel) {
        const d = autoDecisions.get(kernel) ?? calibrate(kernel);
        if (d) return d.chosen;
      }
    // fall through
    case 'wasm':
      return wasmSimdSupported() ? 'wasm-simd' : 'wasm-scalar';
  }
}

/**
 * A kernel's calibration workload: runs a small representative job once on the
 * given backend (e.g. seal 16 packets of 1,420 bytes). Registered by each kernel
 * module with `registerCalibration`.
 */
export type CalibrationJob = (backend: ConcreteBackend) => void;

/** Why `auto` picked a backend for a kernel: jobs per second on each candidate. */
export interface AutoDecision {
  kernel: string;
  chosen: ConcreteBackend;
  /** Calibration jobs per second per backend (empty when there was nothing to compare). */
  jobsPerSec: Partial<Record<ConcreteBackend, number>>;
  /** Wall time the calibration took, milliseconds. */
  ms: number;
  reason: string;
}

const calibrations = new Map<string, CalibrationJob>();
export const autoDecisions = new Map<string, AutoDecision>();

/** Registers the calibration job `auto` runs for `kernel` (once per process, on first use). */
export function registerCalibration(kernel: string, job: CalibrationJob): void {
  calibrations.set(kernel, job);
  autoDecisions.delete(kernel);
}

/** Per-backend time of one calibration (half warm-up, half measured), milliseconds: 3 kernels x 3 backends stay near 30 ms plus instantiation. */
export const CALIBRATION_BUDGET_MS = 3;
const CALIBRATION_ROUNDS = 4;

/**
 * Measures each available backend once on the kernel's calibration job and
 * records the fastest as the kernel's `auto` choice. With a single candidate
 * (no native addon) nothing is measured. A backend whose job throws is skipped.
 * Figures are jobs per second in the best of CALIBRATION_ROUNDS interleaved rounds.
 */
export function calibrate(kernel: string): AutoDecision | undefined {
  const job = calibrations.get(kernel);
  if (!job) return undefined;
  const start = performance.now();
  const candidates = availableBackends();
  const fallback: ConcreteBackend = wasmSimdSupported() ? 'wasm-simd' : 'wasm-scalar';
  const jobsPerSec: Partial<Record<ConcreteBackend, number>> = {};
  if (candidates.length > 1) {
    // Warm every candidate (instantiation, JIT tier-up), then measure in
    // interleaved rounds and keep each backend's best round, so a burst of load
    // from elsewhere on the machine does not decide the choice alone.
    const usable = candidates.filter((b) => {
      try {
        const w0 = performance.now();
        do job(b);
        while (performance.now() - w0 < CALIBRATION_BUDGET_MS / 3);
        return true;
      } catch {
        return false; // unusable here: not a candidate
      }
    });
    const slice = (CALIBRATION_BUDGET_MS * 2) / 3 / CALIBRATION_ROUNDS;
    for (let r = 0; r < CALIBRATION_ROUNDS; r++) {
      for (const b of usable) {
        let n = 0;
        const t0 = performance.now();
        let t = t0;
        do {
          job(b);
          n++;
          t = performance.now();
        } while (t - t0 < slice);
        jobsPerSec[b] = Math.max(jobsPerSec[b] ?? 0, n / ((t - t0) / 1000));
      }
    }
  }
  const ranked = (Object.entries(jobsPerSec) as Array<[ConcreteBackend, number]>).sort((a, b) => b[1] - a[1]);
  const chosen = ranked[0]?.[0] ?? fallback;
  const reason = ranked.length > 1
    ? `${chosen} ran the calibration job ${(ranked[0][1] / ranked[1][1]).toFixed(2)}x as fast as ${ranked[1][0]}`
    : `only ${chosen} is available`;
  const d: AutoDecision = { kernel, chosen, jobsPerSec, ms: performance.now() - start, reason };
  autoDecisions.set(kernel, d);
  return d;
}

/** Backends runnable on this machine, for parameterised tests and benches. */
export function availableBackends(): ConcreteBackend[] {
  const out: ConcreteBackend[] = [];
  if (wasmSimdSupported()) out.push('wasm-simd');
  out.push('wasm-scalar');
  if (nativeProbe?.()) out.push('native');
  return out;
}
