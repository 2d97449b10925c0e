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
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BackendUnavailableError } from '../errors.js';

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

/**
 * Compiles (once) and instantiates a kernel module synchronously.
 * @param kernel  kernel name, e.g. `'aead'`
 * @param variant `'wasm-simd'` or `'wasm-scalar'`
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
  const env = {
    abort(msg: number, fileName: number, line: number, col: number) {
      throw new Error(`tfw: wasm ${kernel}: abort at ${line}:${col}`);
    },
    ...(imports.env ?? {}),
  };
  return new WebAssembly.Instance(mod, { ...imports, env });
}

/** True when the native addon is built and loadable (set by runtime/kernels/native.ts). */
let nativeProbe: (() => boolean) | undefined;
export function setNativeProbe(probe: () => boolean): void {
  nativeProbe = probe;
}

/**
 * Resolves a user's backend choice to a concrete one.
 * `auto`: native when available and registered as faster, else the best wasm variant.
 * @throws RangeError for an unknown name; BackendUnavailableError when `native`
 *         is asked for but not built, or `wasm-simd` on an engine without SIMD.
 */
export function resolveBackend(opts?: BackendOptions, kernel?: string): ConcreteBackend {
  const requested = opts?.backend ?? (process.env.TFW_BACKEND as BackendName | undefined) ?? 'auto';
  if (!BACKENDS.includes(requested)) {
    throw new RangeError(`backend: expected one of ${BACKENDS.join(', ')}, got ${JSON.stringify(requested)}`);
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
      if (kernel && autoChoice.has(kernel)) return autoChoice.get(kernel)!;
    // fall through
    case 'wasm':
      return wasmSimdSupported() ? 'wasm-simd' : 'wasm-scalar';
  }
}

/** Per-kernel `auto` choice, filled by the start-up calibration once native exists. */
export const autoChoice = new Map<string, ConcreteBackend>();

/** Backends runnable on this machine, for parameterised tests and benches. */
export function availableBackends(): ConcreteBackend[] {
  const out: ConcreteBackend[] = [];
  if (wasmSimdSupported()) out.push('wasm-simd');
  out.push('wasm-scalar');
  if (nativeProbe?.()) out.push('native');
  return out;
}
