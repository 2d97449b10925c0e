/**
 * AeadPacketPool: batch ChaCha20-Poly1305 (RFC 8439 §2.8) over packets that live
 * in a fixed pool in the kernel's memory. Callers write packets straight into
 * `pool.slot(i)` (a view of that memory), describe each packet with
 * `setPacket`, and seal or open a whole batch in one call: no copies, no
 * per-packet allocation, no memory growth after construction.
 *
 * Memory layout (byte offsets from the pool base, every block 16-byte aligned;
 * N = entries, S = slots, B = slotBytes, K = keys):
 *
 *   0            descriptor, 14 x u32 (absolute addresses):
 *                slotsBase, B, S, keysBase, K, N, then the addresses of the
 *                entry arrays slot, offset, length, aadOffset, aadLength, key,
 *                nonce, status
 *   64           key table: K x 32 bytes
 *   ...          entry arrays (struct of arrays, N entries each):
 *                slot u32, offset u32, length u32, aadOffset u32, aadLength u32,
 *                key u32, nonce 12 bytes, status u8
 *   ...          S slots of B bytes each
 *
 * Entry i refers to packet bytes slot[i] at [offset, offset + length) and AAD
 * at [aadOffset, aadOffset + aadLength) of the same slot. Seal encrypts in place
 * and appends the 16-byte tag (length += 16); open verifies the trailing tag and
 * decrypts in place (length -= 16); a packet that fails keeps its bytes. Status:
 * 0 ok, 1 authentication failed, 2 invalid entry (slot/key index or range out of
 * bounds). WireGuard transport data (nonce = 4 zero bytes || le64 counter, empty
 * AAD) is `setPacket(i, slot, length, key, counter, 16)` with the 16-byte
 * message header at the slot's start.
 */
import { resolveBackend, type BackendOptions } from './backend.js';
import { KEY_BYTES, NONCE_BYTES, TAG_BYTES, type PoolMemory } from './aead-engine.js';
import { engineFor } from './aead-registry.js';
import { bytesArg, intArg } from './args.js';
import { ArgumentRangeError } from '../errors.js';

export const AEAD_STATUS_OK = 0;
export const AEAD_STATUS_AUTH = 1;
export const AEAD_STATUS_INVALID = 2;

export interface AeadPacketPoolOptions extends BackendOptions {
  /** Number of packet slots (1..65536). */
  slots: number;
  /** Bytes per slot (32..1 MiB); a sealed packet (offset + length + 16) must fit. */
  slotBytes: number;
  /** Key table size (1..65536, default 64). */
  keys?: number;
  /** Batch entries (1..65536, default `slots`). */
  entries?: number;
}

const align16 = (n: number) => (n + 15) & ~15;
/** A slot index no pool has (slots <= 65536): the kernels answer it with status 2. */
const INVALID_INDEX = 0xffffffff;

const intIn = intArg;

export class AeadPacketPool {
  readonly slots: number;
  readonly slotBytes: number;
  readonly keys: number;
  readonly entries: number;
  readonly backend: string;
  /** Per-entry packet length in bytes (in: plaintext/sealed length; out: sealed/plaintext length). */
  readonly lengths: Uint32Array;
  /** Per-entry status after the last seal/open (0 ok, 1 auth failed, 2 invalid). Reused across calls. */
  readonly status: Uint8Array;
  /** Per-entry slot index, data offset in the slot, AAD offset/length, key index. */
  readonly slotIndex: Uint32Array;
  readonly offsets: Uint32Array;
  readonly aadOffsets: Uint32Array;
  readonly aadLengths: Uint32Array;
  readonly keyIndex: Uint32Array;
  /** Per-entry 12-byte nonces (entry i at i*12). */
  readonly nonces: Uint8Array;
  /** Failures in the last seal/open. */
  failures = 0;
  private readonly nonceWords: Uint32Array;
  private readonly keyTable: Uint8Array;
  private readonly slotViews: Uint8Array[];
  private readonly mem: PoolMemory;

  /**
   * @throws RangeError when a size is out of range; BackendUnavailableError when the backend cannot load.
   */
  constructor(opts: AeadPacketPoolOptions) {
    this.slots = intIn('slots', opts?.slots, 1, 65536);
    this.slotBytes = intIn('slotBytes', opts.slotBytes, 32, 1 << 20);
    this.keys = intIn('keys', opts.keys ?? 64, 1, 65536);
    this.entries = intIn('entries', opts.entries ?? this.slots, 1, 65536);
    const n = this.entries;
    const rel = { desc: 0, keys: 64, ent: 0, nonce: 0, status: 0, slots: 0, total: 0 };
    rel.ent = rel.keys + this.keys * KEY_BYTES;
    const arr = align16(n * 4);
    rel.nonce = rel.ent + 6 * arr;
    rel.status = rel.nonce + align16(n * NONCE_BYTES);
    rel.slots = rel.status + align16(n);
    rel.total = rel.slots + this.slots * this.slotBytes;
    if (rel.total > 1 << 30) throw new ArgumentRangeError(`slots x slotBytes: expected at most 1 GiB in total, got ${rel.total} bytes`);

    const backend = resolveBackend(opts, 'aead');
    this.backend = backend;
    this.mem = engineFor(backend).createPool(rel.total);
    const { buffer, base } = this.mem;
    const u32 = (off: number, len: number) => new Uint32Array(buffer, base + off, len);
    const a = base + rel.ent;
    const desc = u32(0, 14);
    desc.set([base + rel.slots, this.slotBytes, this.slots, base + rel.keys, this.keys, n,
      a, a + arr, a + 2 * arr, a + 3 * arr, a + 4 * arr, a + 5 * arr, base + rel.nonce, base + rel.status]);
    this.slotIndex = u32(rel.ent, n);
    this.offsets = u32(rel.ent + arr, n);
    this.lengths = u32(rel.ent + 2 * arr, n);
    this.aadOffsets = u32(rel.ent + 3 * arr, n);
    this.aadLengths = u32(rel.ent + 4 * arr, n);
    this.keyIndex = u32(rel.ent + 5 * arr, n);
    this.nonces = new Uint8Array(buffer, base + rel.nonce, n * NONCE_BYTES);
    this.nonceWords = new Uint32Array(buffer, base + rel.nonce, n * 3);
    this.status = new Uint8Array(buffer, base + rel.status, n);
    this.keyTable = new Uint8Array(buffer, base + rel.keys, this.keys * KEY_BYTES);
    this.slotViews = [];
    for (let i = 0; i < this.slots; i++) this.slotViews.push(new Uint8Array(buffer, base + rel.slots + i * this.slotBytes, this.slotBytes));
  }

  /** The whole of slot `i` (slotBytes bytes), a view of the pool memory that stays valid for the pool's life. */
  slot(i: number): Uint8Array {
    const v = this.slotViews[i];
    if (v === undefined) intIn('slot', i, 0, this.slots - 1);
    return v;
  }

  /** Stores a 32-byte key in key slot `k` (0..keys-1). @throws RangeError / TypeError */
  setKey(k: number, key: Uint8Array): void {
    intIn('key index', k, 0, this.keys - 1);
    bytesArg('key', key, KEY_BYTES);
    this.keyTable.set(key, k * KEY_BYTES);
  }

  /** Zeroes key slot `k`. */
  clearKey(k: number): void {
    intIn('key index', k, 0, this.keys - 1);
    this.keyTable.fill(0, k * KEY_BYTES, (k + 1) * KEY_BYTES);
  }

  /**
   * Describes entry `i`: `length` bytes at `offset` in slot `slot`, sealed/opened
   * with key slot `key` and the WireGuard-style nonce 4 zero bytes || le64(counter).
   * AAD is reset to empty (see setAad). On seal, `length` is the plaintext length
   * (offset + length + 16 must fit the slot); on open, the sealed length with tag.
   * A slot, key, length or offset that is not an integer in [0, 2^32-1]
   * (negative, fractional, NaN, 2^32 and above, which a Uint32Array would
   * wrap to a valid index) marks the entry invalid: status 2 on every
   * backend, as slot and key indexes past the pool's and packet ranges that
   * do not fit are (checked by the kernel).
   * @param counter 0..2^64-1 as a bigint, or a safe integer number
   * @throws ArgumentRangeError (ERR_TFW_ARG_RANGE) for an entry index or counter out of range
   */
  setPacket(i: number, slot: number, length: number, key: number, counter: number | bigint, offset = 0): void {
    if (!(i >= 0 && i < this.entries && Number.isInteger(i))) intIn('entry', i, 0, this.entries - 1);
    // (x >>> 0) === x holds exactly for integers in [0, 2^32-1].
    if ((slot >>> 0) !== slot || (key >>> 0) !== key || (length >>> 0) !== length || (offset >>> 0) !== offset) slot = INVALID_INDEX;
    this.slotIndex[i] = slot;
    this.offsets[i] = offset;
    this.lengths[i] = length;
    this.keyIndex[i] = key;
    this.aadLengths[i] = 0;
    this.aadOffsets[i] = 0;
    const w = i * 3;
    this.nonceWords[w] = 0;
    if (typeof counter === 'number') {
      if (!(counter >= 0 && counter <= Number.MAX_SAFE_INTEGER && Number.isInteger(counter))) {
        throw new ArgumentRangeError(`counter: expected a safe integer >= 0 or a bigint, got ${counter}`);
      }
      this.nonceWords[w + 1] = counter >>> 0;
      this.nonceWords[w + 2] = Math.floor(counter / 4294967296);
    } else {
      if (counter < 0n || counter >= 1n << 64n) throw new ArgumentRangeError(`counter: expected 0..2^64-1, got ${counter}`);
      this.nonceWords[w + 1] = Number(counter & 0xffffffffn);
      this.nonceWords[w + 2] = Number(counter >> 32n);
    }
  }

  /** Replaces entry `i`'s nonce with an arbitrary 12-byte nonce. @throws RangeError / TypeError */
  setNonce(i: number, nonce12: Uint8Array): void {
    intIn('entry', i, 0, this.entries - 1);
    bytesArg('nonce', nonce12, NONCE_BYTES);
    this.nonces.set(nonce12, i * NONCE_BYTES);
  }

  /** Sets entry `i`'s AAD to `length` bytes at `offset` in its slot. */
  setAad(i: number, offset: number, length: number): void {
    intIn('entry', i, 0, this.entries - 1);
    this.aadOffsets[i] = intIn('aadOffset', offset, 0, this.slotBytes);
    this.aadLengths[i] = intIn('aadLength', length, 0, this.slotBytes);
  }

  /**
   * Seals entries 0..count-1 in place (RFC 8439 §2.8), appending each 16-byte tag.
   * @returns the reused status array (entries >= count are stale); `failures` counts non-zero ones
   */
  seal(count: number): Uint8Array {
    intIn('count', count, 0, this.entries);
    this.failures = this.mem.seal(count);
    return this.status;
  }

  /**
   * Opens entries 0..count-1 in place: a packet whose tag does not verify gets
   * status 1 and keeps its bytes; the others are decrypted and their length
   * reduced by 16.
   * @returns the reused status array (entries >= count are stale)
   */
  open(count: number): Uint8Array {
    intIn('count', count, 0, this.entries);
    this.failures = this.mem.open(count);
    return this.status;
  }

  /** Packet bytes of entry `i` as a view (after seal: ciphertext||tag; after open: plaintext). */
  packet(i: number): Uint8Array {
    const off = this.offsets[i];
    return this.slot(this.slotIndex[i]).subarray(off, off + this.lengths[i]);
  }

  /** Size in bytes of the memory holding the pool (constant for the pool's life). */
  get memoryBytes(): number {
    return this.mem.buffer.byteLength;
  }

  /** Bytes a sealed packet adds: the 16-byte tag. */
  static readonly TAG_BYTES = TAG_BYTES;
}
