/**
 * Which engine runs each AEAD backend: the two wasm variants and the N-API addon
 * (aead-native.ts). Another engine replaces one with `registerAeadEngine`.
 * Engines are created on first use and cached.
 */
import { BackendUnavailableError } from '../errors.js';
import type { ConcreteBackend } from './backend.js';
import type { AeadEngine } from './aead-engine.js';
import { WasmAeadEngine } from './aead-wasm.js';
import { NativeAeadEngine } from './aead-native.js';

const factories = new Map<ConcreteBackend, () => AeadEngine>([
  ['wasm-simd', () => new WasmAeadEngine('wasm-simd')],
  ['wasm-scalar', () => new WasmAeadEngine('wasm-scalar')],
  // resolveBackend only returns 'native' when the addon loads (native.ts sets the probe).
  ['native', () => new NativeAeadEngine()],
]);
const engines = new Map<ConcreteBackend, AeadEngine>();

/** Registers (or replaces) the engine factory for a backend. */
export function registerAeadEngine(backend: ConcreteBackend, factory: () => AeadEngine): void {
  factories.set(backend, factory);
  engines.delete(backend);
}

/** The cached engine of a resolved backend. @throws BackendUnavailableError when none is registered */
export function engineFor(backend: ConcreteBackend): AeadEngine {
  let e = engines.get(backend);
  if (!e) {
    const make = factories.get(backend);
    if (!make) throw new BackendUnavailableError(`aead: no engine registered for backend ${backend}`);
    e = make();
    engines.set(backend, e);
  }
  return e;
}
