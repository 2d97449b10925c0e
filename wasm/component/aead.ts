// tfw:kernels/aead over wasm/aead: RFC 8439 §2.8 ChaCha20-Poly1305 and
// draft-irtf-cfrg-xchacha-03 XChaCha20-Poly1305 on canonical-ABI lists.
import { aeadOpen, aeadSeal, xchachaPrepare } from '../aead/index';
import { bump, err4, okList } from './abi';

// aead-error cases (wit/kernels.wit order).
const BAD_KEY: u8 = 0;
const BAD_NONCE: u8 = 1;
const TOO_SHORT: u8 = 2;
const AUTH_FAILED: u8 = 3;
const BAD_BATCH: u8 = 4;

const SUBKEY: usize = memory.data(32, 16);
const NONCE12: usize = memory.data(16, 16);

function wipe(): void {
  memory.fill(SUBKEY, 0, 32);
}

/** Seal: a fresh list of len + 16 bytes (ciphertext || tag). */
function sealTo(key: usize, nonce: usize, pt: usize, ptLen: usize, aad: usize, aadLen: usize): usize {
  const out = bump(ptLen + 16, 16);
  aeadSeal(key, nonce, aad, aadLen, pt, out, ptLen, out + ptLen);
  return out;
}

/** Open: the plaintext list, or 0 when the tag does not verify. */
function openTo(key: usize, nonce: usize, ct: usize, ctLen: usize, aad: usize, aadLen: usize): usize {
  const n = ctLen - 16;
  const out = bump(n, 16);
  return aeadOpen(key, nonce, aad, aadLen, ct, out, n, ct + n) ? out : 0;
}

export function seal(kp: usize, kl: usize, np: usize, nl: usize, pp: usize, pl: usize, ap: usize, al: usize): usize {
  if (kl != 32) return err4(BAD_KEY);
  if (nl != 12) return err4(BAD_NONCE);
  return okList(sealTo(kp, np, pp, pl, ap, al), pl + 16);
}

export function open(kp: usize, kl: usize, np: usize, nl: usize, sp: usize, sl: usize, ap: usize, al: usize): usize {
  if (kl != 32) return err4(BAD_KEY);
  if (nl != 12) return err4(BAD_NONCE);
  if (sl < 16) return err4(TOO_SHORT);
  const out = openTo(kp, np, sp, sl, ap, al);
  return out ? okList(out, sl - 16) : err4(AUTH_FAILED);
}

export function xseal(kp: usize, kl: usize, np: usize, nl: usize, pp: usize, pl: usize, ap: usize, al: usize): usize {
  if (kl != 32) return err4(BAD_KEY);
  if (nl != 24) return err4(BAD_NONCE);
  xchachaPrepare(kp, np, SUBKEY, NONCE12);
  const out = sealTo(SUBKEY, NONCE12, pp, pl, ap, al);
  wipe();
  return okList(out, pl + 16);
}

export function xopen(kp: usize, kl: usize, np: usize, nl: usize, sp: usize, sl: usize, ap: usize, al: usize): usize {
  if (kl != 32) return err4(BAD_KEY);
  if (nl != 24) return err4(BAD_NONCE);
  if (sl < 16) return err4(TOO_SHORT);
  xchachaPrepare(kp, np, SUBKEY, NONCE12);
  const out = openTo(SUBKEY, NONCE12, sp, sl, ap, al);
  wipe();
  return out ? okList(out, sl - 16) : err4(AUTH_FAILED);
}

// A packet record: nonce (ptr, len), data (ptr, len), aad (ptr, len): 24 bytes.

/** Checks every nonce first, so a bad batch fails before any work. */
function checkNonces(pk: usize, n: usize): bool {
  for (let i: usize = 0; i < n; i++) if (load<u32>(pk + i * 24, 4) != 12) return false;
  return true;
}

export function sealBatch(kp: usize, kl: usize, pk: usize, n: usize): usize {
  if (kl != 32) return err4(BAD_KEY);
  if (!checkNonces(pk, n)) return err4(BAD_NONCE);
  const list = bump(n << 3, 4);
  for (let i: usize = 0; i < n; i++) {
    const r = pk + i * 24;
    const len = <usize>load<u32>(r, 12);
    store<u32>(list + (i << 3), <u32>sealTo(kp, <usize>load<u32>(r), <usize>load<u32>(r, 8), len, <usize>load<u32>(r, 16), <usize>load<u32>(r, 20)));
    store<u32>(list + (i << 3), <u32>(len + 16), 4);
  }
  return okList(list, n);
}

export function openBatch(kp: usize, kl: usize, pk: usize, n: usize): usize {
  if (kl != 32) return err4(BAD_KEY);
  if (!checkNonces(pk, n)) return err4(BAD_NONCE);
  // option<list<u8>>: u8 discriminant, (ptr, len) at offset 4: 12 bytes.
  const list = bump(n * 12, 4);
  for (let i: usize = 0; i < n; i++) {
    const r = pk + i * 24;
    const len = <usize>load<u32>(r, 12);
    const e = list + i * 12;
    const out: usize = len < 16 ? <usize>0 : openTo(kp, <usize>load<u32>(r), <usize>load<u32>(r, 8), len, <usize>load<u32>(r, 16), <usize>load<u32>(r, 20));
    store<u8>(e, out ? 1 : 0);
    store<u32>(e, <u32>out, 4);
    store<u32>(e, out ? <u32>(len - 16) : 0, 8);
  }
  return okList(list, n);
}

// ---- Packed batches: nonces (12 bytes each), data back to back, lengths (u32) ----

/** Total bytes of the packets (each at least `min`), or -1 when the lengths do not fit `dataLen`. */
function packedTotal(lens: usize, n: usize, dataLen: usize, min: u32): i64 {
  let total: u64 = 0;
  for (let i: usize = 0; i < n; i++) {
    const len = load<u32>(lens + (i << 2));
    if (len < min) return -1;
    total += len;
  }
  return total == <u64>dataLen ? <i64>total : -1;
}

export function sealPacked(kp: usize, kl: usize, np: usize, nl: usize, dp: usize, dl: usize, lp: usize, n: usize): usize {
  if (kl != 32) return err4(BAD_KEY);
  if (nl != n * 12) return err4(BAD_NONCE);
  if (packedTotal(lp, n, dl, 0) < 0) return err4(BAD_BATCH);
  const out = bump(dl + (n << 4), 16);
  let src = dp, dst = out;
  for (let i: usize = 0; i < n; i++) {
    const len = <usize>load<u32>(lp + (i << 2));
    aeadSeal(kp, np + i * 12, 0, 0, src, dst, len, dst + len);
    src += len;
    dst += len + 16;
  }
  return okList(out, dl + (n << 4));
}

export function openPacked(kp: usize, kl: usize, np: usize, nl: usize, dp: usize, dl: usize, lp: usize, n: usize): usize {
  if (kl != 32) return err4(BAD_KEY);
  if (nl != n * 12) return err4(BAD_NONCE);
  if (packedTotal(lp, n, dl, 16) < 0) return err4(BAD_BATCH);
  const outLen = dl - (n << 4);
  const out = bump(outLen, 16);
  const flags = bump(n, 1);
  let src = dp, dst = out;
  for (let i: usize = 0; i < n; i++) {
    const len = <usize>load<u32>(lp + (i << 2)) - 16;
    const ok = aeadOpen(kp, np + i * 12, 0, 0, src, dst, len, src + len);
    if (!ok) memory.fill(dst, 0, len);
    store<u8>(flags + i, <u8>ok);
    src += len + 16;
    dst += len;
  }
  // result<opened, E>: discriminant, then record { data: (ptr, len), verified: (ptr, len) } at offset 4.
  const r = bump(20, 4);
  store<u8>(r, 0);
  store<u32>(r, <u32>out, 4);
  store<u32>(r, <u32>outLen, 8);
  store<u32>(r, <u32>flags, 12);
  store<u32>(r, <u32>n, 16);
  return r;
}
