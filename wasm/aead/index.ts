// tfw AEAD kernel: ChaCha20, Poly1305, ChaCha20-Poly1305 (RFC 8439 §2.4, §2.5,
// §2.8), HChaCha20 and XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03), and a
// batch seal/open over a packet pool in linear memory. Built twice (SIMD and
// scalar, branching on ASC_FEATURE_SIMD). The host validates lengths; this module
// only reads and writes the ranges it is given and allocates only in alloc().
import { chachaBlockXor, chachaBlocks4Xor, hchachaCore } from './chacha-core';
import { HIBIT, polyBlocks, polyFinish, polyInit } from './poly1305';

// Fixed scratch (zero-initialised data segments).
const ZERO: usize = memory.data(256, 16); // never written: source for keystream output
const KS: usize = memory.data(256, 16); // keystream of the last partial chunk
const POLYKEY: usize = memory.data(32, 16);
const PAD: usize = memory.data(16, 16); // padded Poly1305 block
const CALC: usize = memory.data(16, 16); // computed tag on open

/** Allocates `size` bytes (16-byte aligned) once at set-up; grows memory as needed. */
export function alloc(size: usize): usize {
  return heap.alloc(size);
}

/** 2 in the SIMD build, 1 in the scalar one. */
export function variant(): i32 {
  return ASC_FEATURE_SIMD ? 2 : 1;
}

/** XORs len bytes src -> dst with the ChaCha20 keystream from block `counter` (RFC 8439 §2.4). */
export function chacha20Xor(key: usize, nonce: usize, counter: u32, src: usize, dst: usize, len: usize): void {
  if (ASC_FEATURE_SIMD) {
    while (len >= 256) {
      chachaBlocks4Xor(key, nonce, counter, src, dst);
      counter += 4; src += 256; dst += 256; len -= 256;
    }
    if (len > 0) {
      chachaBlocks4Xor(key, nonce, counter, ZERO, KS);
      xorBytes(src, KS, dst, len);
    }
  } else {
    while (len >= 64) {
      chachaBlockXor(key, nonce, counter, src, dst);
      counter += 1; src += 64; dst += 64; len -= 64;
    }
    if (len > 0) {
      chachaBlockXor(key, nonce, counter, ZERO, KS);
      xorBytes(src, KS, dst, len);
    }
  }
}

// @ts-ignore: decorator
@inline function xorBytes(src: usize, ks: usize, dst: usize, len: usize): void {
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 16 <= len; i += 16) v128.store(dst + i, v128.xor(v128.load(src + i), v128.load(ks + i)));
  }
  for (; i + 8 <= len; i += 8) store<u64>(dst + i, load<u64>(src + i) ^ load<u64>(ks + i));
  for (; i < len; i++) store<u8>(dst + i, load<u8>(src + i) ^ load<u8>(ks + i));
}

/** HChaCha20 (draft-irtf-cfrg-xchacha-03 §2.2): 32-byte subkey from key and a 16-byte nonce. */
export function hchacha20(key: usize, nonce16: usize, out: usize): void {
  hchachaCore(key, nonce16, out);
}

/**
 * XChaCha20 set-up (draft-irtf-cfrg-xchacha-03 §2.3): subkey = HChaCha20(key,
 * nonce24[0..16]), nonce12 = 4 zero bytes || nonce24[16..24].
 */
export function xchachaPrepare(key: usize, nonce24: usize, subkeyOut: usize, nonce12Out: usize): void {
  hchachaCore(key, nonce24, subkeyOut);
  store<u32>(nonce12Out, 0, 0);
  store<u64>(nonce12Out, load<u64>(nonce24, 16), 4);
}

/** Poly1305 MAC of len bytes at m under a one-time 32-byte key (RFC 8439 §2.5). */
export function poly1305(key: usize, m: usize, len: usize, tag: usize): void {
  polyInit(key);
  polyBlocks(m, len >> 4, HIBIT);
  const rest = len & 15;
  if (rest) {
    memory.fill(PAD, 0, 16);
    memory.copy(PAD, m + (len & ~15), rest);
    store<u8>(PAD + rest, 1);
    polyBlocks(PAD, 1, 0);
  }
  polyFinish(tag);
}

// @ts-ignore: decorator
@inline function polyPadded(m: usize, len: usize): void {
  polyBlocks(m, len >> 4, HIBIT);
  const rest = len & 15;
  if (rest) {
    memory.fill(PAD, 0, 16);
    memory.copy(PAD, m + (len & ~15), rest);
    polyBlocks(PAD, 1, HIBIT);
  }
}

/** The AEAD MAC (RFC 8439 §2.8): Poly1305 over aad || pad16 || ct || pad16 || le64(aadLen) || le64(len). */
function aeadTag(aad: usize, aadLen: usize, ct: usize, len: usize, tag: usize): void {
  polyInit(POLYKEY);
  polyPadded(aad, aadLen);
  polyPadded(ct, len);
  store<u64>(PAD, <u64>aadLen, 0);
  store<u64>(PAD, <u64>len, 8);
  polyBlocks(PAD, 1, HIBIT);
  polyFinish(tag);
}

/**
 * Derives the Poly1305 key from block 0 (§2.6) and encrypts/decrypts src -> dst
 * from block 1. The SIMD build computes blocks 0..3 in one pass and uses
 * blocks 1..3 for the first 192 bytes.
 */
function keyAndCrypt(key: usize, nonce: usize, src: usize, dst: usize, len: usize): void {
  if (ASC_FEATURE_SIMD) {
    chachaBlocks4Xor(key, nonce, 0, ZERO, KS);
    v128.store(POLYKEY, v128.load(KS), 0);
    v128.store(POLYKEY, v128.load(KS, 16), 16);
    const first = len < 192 ? len : 192;
    xorBytes(src, KS + 64, dst, first);
    if (len > 192) chacha20Xor(key, nonce, 4, src + 192, dst + 192, len - 192);
  } else {
    chachaBlockXor(key, nonce, 0, ZERO, KS);
    memory.copy(POLYKEY, KS, 32);
    chacha20Xor(key, nonce, 1, src, dst, len);
  }
}

/** Constant-time 16-byte comparison: 1 when equal (OR-accumulated XOR, no early exit). */
// @ts-ignore: decorator
@inline function tagsEqual(a: usize, b: usize): i32 {
  const x = (load<u64>(a, 0) ^ load<u64>(b, 0)) | (load<u64>(a, 8) ^ load<u64>(b, 8));
  return <i32>(((x | (0 - x)) >> 63) ^ 1);
}

/** ChaCha20-Poly1305 seal (RFC 8439 §2.8): len bytes src -> dst (equal or disjoint), 16-byte tag to tagOut. */
export function aeadSeal(key: usize, nonce: usize, aad: usize, aadLen: usize, src: usize, dst: usize, len: usize, tagOut: usize): void {
  keyAndCrypt(key, nonce, src, dst, len);
  aeadTag(aad, aadLen, dst, len, tagOut);
  memory.fill(POLYKEY, 0, 32);
}

/**
 * ChaCha20-Poly1305 open (RFC 8439 §2.8): verifies the tag over the ciphertext
 * first; only on success decrypts src -> dst. Returns 1 when authentic, 0 otherwise
 * (dst untouched).
 */
export function aeadOpen(key: usize, nonce: usize, aad: usize, aadLen: usize, src: usize, dst: usize, len: usize, tag: usize): i32 {
  if (ASC_FEATURE_SIMD) {
    chachaBlocks4Xor(key, nonce, 0, ZERO, KS); // blocks 0..3, kept for the first 192 bytes
  } else {
    chachaBlockXor(key, nonce, 0, ZERO, KS);
  }
  memory.copy(POLYKEY, KS, 32);
  aeadTag(aad, aadLen, src, len, CALC);
  memory.fill(POLYKEY, 0, 32);
  const ok = tagsEqual(CALC, tag);
  if (ok) {
    if (ASC_FEATURE_SIMD) {
      const first = len < 192 ? len : 192;
      xorBytes(src, KS + 64, dst, first);
      if (len > 192) chacha20Xor(key, nonce, 4, src + 192, dst + 192, len - 192);
    } else {
      chacha20Xor(key, nonce, 1, src, dst, len);
    }
  }
  memory.fill(KS, 0, 256);
  return ok;
}

// ---- Batch API over a packet pool ----------------------------------------
// A pool descriptor (14 u32 words, written once by the host):
//   0 slotsBase  1 slotBytes  2 slots  3 keysBase  4 keys  5 maxEntries
//   6 entSlot  7 entOffset  8 entLength  9 entAadOffset  10 entAadLength
//   11 entKey  12 entNonce (12 bytes per entry)  13 entStatus (1 byte per entry)
// Entry fields are arrays of u32 (struct of arrays). Status: 0 ok, 1 auth failed,
// 2 invalid entry (slot, key or range out of bounds).

// @ts-ignore: decorator
@inline const ST_OK: u8 = 0;
// @ts-ignore: decorator
@inline const ST_AUTH: u8 = 1;
// @ts-ignore: decorator
@inline const ST_INVALID: u8 = 2;

function batch(desc: usize, count: u32, open: bool): u32 {
  const slotsBase = <usize>load<u32>(desc, 0);
  const slotBytes = <u64>load<u32>(desc, 4);
  const slots = load<u32>(desc, 8);
  const keysBase = <usize>load<u32>(desc, 12);
  const keys = load<u32>(desc, 16);
  const maxEntries = load<u32>(desc, 20);
  const eSlot = <usize>load<u32>(desc, 24), eOff = <usize>load<u32>(desc, 28), eLen = <usize>load<u32>(desc, 32);
  const eAadOff = <usize>load<u32>(desc, 36), eAadLen = <usize>load<u32>(desc, 40), eKey = <usize>load<u32>(desc, 44);
  const eNonce = <usize>load<u32>(desc, 48), eStatus = <usize>load<u32>(desc, 52);
  if (count > maxEntries) count = maxEntries;
  let failed: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    const w = <usize>i << 2;
    const slot = load<u32>(eSlot + w), off = <u64>load<u32>(eOff + w), len = <u64>load<u32>(eLen + w);
    const aadOff = <u64>load<u32>(eAadOff + w), aadLen = <u64>load<u32>(eAadLen + w), k = load<u32>(eKey + w);
    // Bounds (public values): the sealed form (len + 16 on seal, len on open) fits the slot.
    const need = open ? len : len + 16;
    if (slot >= slots || k >= keys || (open && len < 16) || off + need > slotBytes || aadOff + aadLen > slotBytes) {
      store<u8>(eStatus + i, ST_INVALID);
      failed++;
      continue;
    }
    const base = slotsBase + <usize>slot * <usize>slotBytes;
    const data = base + <usize>off;
    const key = keysBase + (<usize>k << 5);
    const nonce = eNonce + <usize>i * 12;
    if (open) {
      const n = <usize>len - 16;
      if (aeadOpen(key, nonce, base + <usize>aadOff, <usize>aadLen, data, data, n, data + n)) {
        store<u32>(eLen + w, <u32>n);
        store<u8>(eStatus + i, ST_OK);
      } else {
        store<u8>(eStatus + i, ST_AUTH);
        failed++;
      }
    } else {
      aeadSeal(key, nonce, base + <usize>aadOff, <usize>aadLen, data, data, <usize>len, data + <usize>len);
      store<u32>(eLen + w, <u32>(len + 16));
      store<u8>(eStatus + i, ST_OK);
    }
  }
  return failed;
}

/** Seals entries 0..count-1 in place (tag appended, length += 16); returns the number of failures. */
export function batchSeal(desc: usize, count: u32): u32 {
  return batch(desc, count, false);
}

/** Opens entries 0..count-1 in place (length -= 16 on success); returns the number of failures. */
export function batchOpen(desc: usize, count: u32): u32 {
  return batch(desc, count, true);
}
