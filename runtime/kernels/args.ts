/**
 * Argument checks shared by the kernel wrappers (aead, aead-pool, forward),
 * done in JavaScript before any backend is called, so every backend refuses
 * the same inputs with the same coded error (ERR_TFW_ARG_TYPE /
 * ERR_TFW_ARG_RANGE) naming the argument, the value and what was expected.
 */
import { ArgumentRangeError, ArgumentTypeError } from '../errors.js';

const hasDetached = 'detached' in ArrayBuffer.prototype;

/**
 * True when `v` views a detached ArrayBuffer (transferred or a wasm memory
 * that grew): such a view reads as empty. Node 18's V8 has no
 * `ArrayBuffer.prototype.detached`; constructing a view over a detached buffer
 * throws there, which is the test.
 */
export function isDetached(v: ArrayBufferView): boolean {
  if (v.byteLength !== 0) return false;
  const buf = v.buffer as ArrayBuffer & { detached?: boolean };
  if (hasDetached) return buf.detached === true;
  try {
    new Uint8Array(buf, 0, 0);
    return false;
  } catch {
    return true;
  }
}

const describe = (v: unknown): string => (v === null ? 'null' : typeof v === 'object' ? (v as object).constructor?.name ?? 'object' : typeof v);

/**
 * `v` as a Uint8Array of `len` bytes (any length when undefined, at most `max`).
 * @throws ArgumentTypeError for a non-Uint8Array or a detached one; ArgumentRangeError for a wrong size
 */
export function bytesArg(name: string, v: unknown, len?: number, max = Infinity): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new ArgumentTypeError(`${name}: expected a Uint8Array, got ${describe(v)}`);
  if (isDetached(v)) throw new ArgumentTypeError(`${name}: expected a Uint8Array over a live buffer, got one whose ArrayBuffer is detached`);
  if (len !== undefined && v.length !== len) throw new ArgumentRangeError(`${name}: expected ${len} bytes, got ${v.length}`);
  if (v.length > max) throw new ArgumentRangeError(`${name}: expected at most ${max} bytes, got ${v.length}`);
  return v;
}

/** `v` as an integer in [min, max]. @throws ArgumentRangeError naming `name` */
export function intArg(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ArgumentRangeError(`${name}: expected an integer in [${min}, ${max}], got ${String(v)}`);
  }
  return v;
}

/** `v` as an Int32Array of at least `min` entries, not detached. @throws ArgumentTypeError / ArgumentRangeError */
export function int32ArrayArg(name: string, v: unknown, min: number): Int32Array {
  if (!(v instanceof Int32Array)) throw new ArgumentTypeError(`${name}: expected an Int32Array, got ${describe(v)}`);
  if (isDetached(v)) throw new ArgumentTypeError(`${name}: expected an Int32Array over a live buffer, got one whose ArrayBuffer is detached`);
  if (v.length < min) throw new ArgumentRangeError(`${name}: expected at least ${min} entries, got ${v.length}`);
  return v;
}
