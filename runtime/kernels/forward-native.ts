/**
 * The `native` forward engine: the N-API addon's DIR-24-8 / Poptrie tables and
 * batch classifier (native/src/fib*.c, classify.c via `nativeForward` in
 * native.ts) behind the ForwardEngine contract, registered at import.
 *
 * Copies: none. Address batches and `out` go to C as the caller's typed arrays
 * (the wasm engine copies them into linear memory and back). The packet pool,
 * descriptors and verdicts are ordinary JS typed arrays allocated once by
 * `reservePool` and handed to C on each `classify` call, so the Classifier's
 * views never move or detach (unlike wasm memory after a table grows).
 */
import { ForwardMemoryError, registerNativeForwardEngine, type ForwardEngine } from './forward-engine.js';
import { nativeForward, type NativeFibHandle } from './native.js';

export class NativeForwardEngine implements ForwardEngine {
  readonly backend = 'native' as const;
  private readonly h: NativeFibHandle;
  private pool = new Uint8Array(0);
  private desc = new Uint32Array(0);
  private verdicts = new Uint32Array(0);

  /** @throws BackendUnavailableError when the addon (or its forward kernel) is missing */
  constructor() {
    this.h = nativeForward.create();
  }

  v4Insert(addr: number, length: number, nextHop: number): void {
    if (nativeForward.v4Insert(this.h, addr >>> 0, length, nextHop) < 0) throw new ForwardMemoryError('growing the IPv4 table');
  }
  v4Delete(addr: number, length: number, coverNextHop: number, coverLength: number): void {
    nativeForward.v4Delete(this.h, addr >>> 0, length, coverNextHop, coverLength);
  }
  v4Lookup(addr: number): number {
    return nativeForward.v4Lookup(this.h, addr >>> 0);
  }
  v4LookupBatch(addrs: Uint8Array, count: number, out: Int32Array): void {
    nativeForward.v4LookupBatch(this.h, addrs, count, out);
  }
  v4Bytes(): number {
    return nativeForward.bytes(this.h, 4);
  }
  v6Insert(bytes: Uint8Array, length: number, nextHop: number, isNew: boolean): void {
    if (nativeForward.v6Insert(this.h, bytes, length, nextHop, isNew) < 0) throw new ForwardMemoryError('growing the IPv6 table');
  }
  v6Delete(bytes: Uint8Array, length: number): boolean {
    const r = nativeForward.v6Delete(this.h, bytes, length);
    if (r < 0) throw new ForwardMemoryError('rebuilding the IPv6 table');
    return r === 1;
  }
  v6Lookup(bytes: Uint8Array): number {
    return nativeForward.v6Lookup(this.h, bytes);
  }
  v6LookupBatch(addrs: Uint8Array, count: number, out: Int32Array): void {
    nativeForward.v6LookupBatch(this.h, addrs, count, out);
  }
  v6Begin(): void {
    if (nativeForward.v6Begin(this.h) < 0) throw new ForwardMemoryError('creating the IPv6 table');
  }
  v6Commit(): void {
    if (nativeForward.v6Commit(this.h) < 0) throw new ForwardMemoryError('rebuilding the IPv6 table');
  }
  v6Bytes(): number {
    return nativeForward.bytes(this.h, 6);
  }
  private setLocal(family: 4 | 6, entries: Array<{ bytes: Uint8Array; length: number }>): void {
    const width = family === 4 ? 4 : 16;
    const bytes = new Uint8Array(entries.length * width);
    const lengths = new Uint8Array(entries.length);
    entries.forEach((e, i) => {
      bytes.set(e.bytes.subarray(0, width), i * width);
      lengths[i] = e.length;
    });
    nativeForward.setLocal(this.h, family, bytes, lengths);
  }
  setLocal4(entries: Array<{ bytes: Uint8Array; length: number }>): void {
    this.setLocal(4, entries);
  }
  setLocal6(entries: Array<{ bytes: Uint8Array; length: number }>): void {
    this.setLocal(6, entries);
  }
  reservePool(poolBytes: number, maxPackets: number): void {
    try {
      this.pool = new Uint8Array(poolBytes);
      this.desc = new Uint32Array(maxPackets * 2);
      this.verdicts = new Uint32Array(maxPackets * 2);
    } catch {
      throw new ForwardMemoryError(`reserving a ${poolBytes}-byte packet pool`);
    }
  }
  poolView(): Uint8Array {
    return this.pool;
  }
  descriptorView(): Uint32Array {
    return this.desc;
  }
  verdictView(): Uint32Array {
    return this.verdicts;
  }
  classify(count: number): void {
    nativeForward.classify(this.h, this.pool, this.desc, count, this.verdicts);
  }
  classifyIn(pool: Uint8Array, descriptors: Uint32Array, count: number, verdicts: Uint32Array): void {
    nativeForward.classify(this.h, pool, descriptors, count, verdicts);
  }
}

registerNativeForwardEngine(() => new NativeForwardEngine());

/** Whether `{ backend: 'native' }` can build a forward engine in this process. */
export function nativeForwardAvailable(): boolean {
  return nativeForward.available();
}
