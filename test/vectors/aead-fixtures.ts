/** Shared fixtures for the AEAD tests: backends under test and the vector files. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../../runtime/kernels/aead.js'; // registers the native probe when the addon loads
import { availableBackends, wasmSimdSupported } from '../../runtime/kernels/backend.js';
import { unhex } from '../helpers.js';

/**
 * The backends the suite is parameterised over: the wasm variants this engine
 * runs, plus `native` when the N-API addon is built (TFW_AEAD_TEST_NATIVE=0 skips it).
 */
export const aeadBackends = [
  ...(wasmSimdSupported() ? ['wasm-simd'] : []),
  'wasm-scalar',
  ...(availableBackends().includes('native') && process.env.TFW_AEAD_TEST_NATIVE !== '0' ? ['native'] : []),
] as Array<'wasm-simd' | 'wasm-scalar' | 'native'>;

const vectorsDir = dirname(fileURLToPath(import.meta.url));
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const loadVectors = (name: string): any => JSON.parse(readFileSync(join(vectorsDir, name), 'utf8'));

/** A hex field, or the UTF-8 bytes of its `<field>Text` sibling. */
export function field(v: Record<string, unknown>, name: string): Uint8Array {
  if (typeof v[name] === 'string') return unhex(v[name] as string);
  if (typeof v[`${name}Text`] === 'string') return new TextEncoder().encode(v[`${name}Text`] as string);
  throw new Error(`vector ${String(v.section)} has no ${name}`);
}

/** WireGuard transport nonce: 4 zero bytes || le64(counter). */
export function counterNonce(counter: bigint): Uint8Array {
  const n = new Uint8Array(12);
  new DataView(n.buffer).setBigUint64(4, counter, true);
  return n;
}
