// tfw:kernels/erasure over wasm/erasure's mulMatrix: Reed-Solomon encode,
// reconstruct and verify on canonical-ABI lists of shards, with the coding matrix
// of klauspost/reedsolomon's New(k, m) (see gf.ts), so parity is byte-identical.
import { mulMatrix, setMulTable } from '../erasure/index';
import { blockAlloc, blockFree } from '../forward/index';
import { bump, err1, err4, ok8, okList, ROW_PAD } from './abi';
import { encodingMatrix, fillMulTable, kernelTable, matInvert } from './gf';

// erasure-error cases (wit/kernels.wit order).
const BAD_SHAPE: u8 = 0;
const BAD_SHARD_COUNT: u8 = 1;
const BAD_SHARD_SIZE: u8 = 2;
const TOO_FEW_SHARDS: u8 = 3;

/** Bytes per shard per kernel pass: about 256 KiB of rows for (10,4) stays in L2. */
const CHUNK: usize = 16384;
const TAB_UNIT: usize = ASC_FEATURE_SIMD ? 32 : 1;

// Cached encoding matrix and parity tables of the last (k, m) used by encode/verify.
let cacheK: i32 = 0;
let cacheM: i32 = 0;
let cacheTab: usize = 0;
let mulReady = false;

function ensureMulTable(): void {
  if (ASC_FEATURE_SIMD || mulReady) return;
  const p = blockAlloc(65536);
  if (p == 0) unreachable();
  fillMulTable(p);
  setMulTable(p);
  mulReady = true;
}

function shapeOk(k: i32, m: i32): bool {
  return k >= 1 && m >= 1 && k + m <= 256;
}

/** The encoding matrix of (k, m) into the arena. */
function encMatrix(k: i32, m: i32): usize {
  const total = k + m;
  const enc = bump(<usize>(total * k), 16);
  encodingMatrix(k, m, enc, bump(<usize>(total * k + 3 * k * k), 16));
  return enc;
}

/** Parity tables of (k, m), cached across calls (persistent blocks, not the arena). */
function parityTables(k: i32, m: i32): usize {
  if (k == cacheK && m == cacheM) return cacheTab;
  const enc = encMatrix(k, m);
  if (cacheTab != 0) blockFree(cacheTab, <usize>(cacheM * cacheK) * TAB_UNIT);
  cacheTab = blockAlloc(<usize>(m * k) * TAB_UNIT);
  if (cacheTab == 0) unreachable(); // out of memory: the call traps
  kernelTable(enc + <usize>(k * k), m, k, cacheTab);
  cacheK = k;
  cacheM = m;
  return cacheTab;
}

/** outputs = M x inputs in CHUNK-byte passes (rows `stride` bytes apart). */
function mul(tab: usize, inBase: usize, nIn: i32, outBase: usize, nOut: i32, stride: usize, len: usize): void {
  ensureMulTable();
  for (let off: usize = 0; off < len; off += CHUNK) {
    const n = len - off < CHUNK ? len - off : CHUNK;
    mulMatrix(tab, inBase + off, nIn, outBase + off, nOut, stride, n);
  }
}

/** Row distance of the block the last gather returned. */
let stride: usize = 0;

/** A row distance for `size`-byte rows that is not a multiple of 4 KiB (see ROW_PAD). */
function strideFor(size: usize): usize {
  const s = (size + 15) & ~(<usize>15);
  return size >= 1024 ? s + ROW_PAD : s;
}

/**
 * Rows at the given pointers as one strided block: the host lowers each inner
 * list through cabi_realloc in order, so they usually sit a constant distance
 * apart already (used in place); otherwise they are copied. Returns the base and
 * sets `stride`.
 */
function gather(ptrs: usize, count: i32, size: usize): usize {
  const first = <usize>load<u32>(ptrs);
  const d = count > 1 ? <usize>load<u32>(ptrs, 4) - first : strideFor(size);
  let inPlace = d >= size && d <= size + ROW_PAD + 16;
  for (let j = 2; j < count && inPlace; j++) inPlace = <usize>load<u32>(ptrs + (<usize>j << 2)) == first + <usize>j * d;
  if (inPlace) {
    stride = d;
    return first;
  }
  stride = strideFor(size);
  const base = bump(<usize>count * stride, 16);
  for (let j = 0; j < count; j++) memory.copy(base + <usize>j * stride, <usize>load<u32>(ptrs + (<usize>j << 2)), size);
  return base;
}

/** Shard size of a list<list<u8>> of n entries, or 0 when empty or unequal. */
function listSize(lp: usize, n: i32): usize {
  const size = <usize>load<u32>(lp, 4);
  for (let i = 1; i < n; i++) if (<usize>load<u32>(lp + (<usize>i << 3), 4) != size) return 0;
  return size;
}

/** Pointers of list<list<u8>> entries [from, from+count) into a u32 array. */
function pointersOf(lp: usize, from: i32, count: i32): usize {
  const ptrs = bump(<usize>count << 2, 4);
  for (let j = 0; j < count; j++) store<u32>(ptrs + (<usize>j << 2), load<u32>(lp + (<usize>(from + j) << 3)));
  return ptrs;
}

/** Parity of the k data shards (pointers at ptrs) into a fresh block of m rows `stride` bytes apart; returns it. */
function parity(k: i32, m: i32, ptrs: usize, size: usize): usize {
  const tab = parityTables(k, m);
  const inBase = gather(ptrs, k, size);
  const out = bump(<usize>m * stride, 16);
  mul(tab, inBase, k, out, m, stride, size);
  return out;
}

export function encode(k: i32, m: i32, lp: usize, n: i32): usize {
  if (!shapeOk(k, m)) return err4(BAD_SHAPE);
  if (n != k) return err4(BAD_SHARD_COUNT);
  const size = listSize(lp, n);
  if (size == 0) return err4(BAD_SHARD_SIZE);
  const out = parity(k, m, pointersOf(lp, 0, k), size);
  const list = bump(<usize>m << 3, 4);
  for (let o = 0; o < m; o++) {
    store<u32>(list + (<usize>o << 3), <u32>(out + <usize>o * stride));
    store<u32>(list + (<usize>o << 3), <u32>size, 4);
  }
  return okList(list, m);
}

export function verify(k: i32, m: i32, lp: usize, n: i32): usize {
  if (!shapeOk(k, m)) return err1(BAD_SHAPE);
  if (n != k + m) return err1(BAD_SHARD_COUNT);
  const size = listSize(lp, n);
  if (size == 0) return err1(BAD_SHARD_SIZE);
  const out = parity(k, m, pointersOf(lp, 0, k), size);
  let same = true;
  for (let o = 0; o < m && same; o++) {
    same = memory.compare(out + <usize>o * stride, <usize>load<u32>(lp + (<usize>(k + o) << 3)), size) == 0;
  }
  return ok8(same ? 1 : 0);
}

/**
 * Missing shards from any k present ones (klauspost's Reconstruct): invert the
 * rows of the present shards to get the data back, then re-encode missing parity.
 * Entries are option<list<u8>>: u8 discriminant, (ptr, len) at offset 4 (12 bytes).
 */
export function reconstruct(k: i32, m: i32, lp: usize, n: i32): usize {
  if (!shapeOk(k, m)) return err4(BAD_SHAPE);
  if (n != k + m) return err4(BAD_SHARD_COUNT);
  let size: usize = 0;
  let present = 0;
  const ptrs = bump(<usize>n << 2, 4); // pointer of each shard, 0 when missing
  for (let i = 0; i < n; i++) {
    const e = lp + <usize>i * 12;
    if (load<u8>(e) == 0) {
      store<u32>(ptrs + (<usize>i << 2), 0);
      continue;
    }
    const len = <usize>load<u32>(e, 8);
    if (len == 0 || (present > 0 && len != size)) return err4(BAD_SHARD_SIZE);
    size = len;
    store<u32>(ptrs + (<usize>i << 2), load<u32>(e, 4));
    present++;
  }
  if (present == 0) return err4(TOO_FEW_SHARDS);
  if (present < k) return err4(TOO_FEW_SHARDS);
  if (present < n) {
    const enc = encMatrix(k, m);
    // Data: rows of the first k present shards, inverted.
    const sub = bump(<usize>(k * k), 16);
    const rows = bump(<usize>k << 2, 4);
    let r = 0;
    for (let i = 0; i < n && r < k; i++) {
      const p = load<u32>(ptrs + (<usize>i << 2));
      if (p == 0) continue;
      memory.copy(sub + <usize>(r * k), enc + <usize>(i * k), <usize>k);
      store<u32>(rows + (<usize>r << 2), p);
      r++;
    }
    const inv = bump(<usize>(k * k), 16);
    if (!matInvert(sub, k, inv, bump(<usize>(2 * k * k), 16))) unreachable(); // any k rows are independent
    let missing = 0;
    for (let d = 0; d < k; d++) if (load<u32>(ptrs + (<usize>d << 2)) == 0) missing++;
    if (missing > 0) {
      const coef = bump(<usize>(missing * k), 16);
      let q = 0;
      for (let d = 0; d < k; d++) {
        if (load<u32>(ptrs + (<usize>d << 2)) != 0) continue;
        memory.copy(coef + <usize>(q * k), inv + <usize>(d * k), <usize>k);
        q++;
      }
      const tab = bump(<usize>(missing * k) * TAB_UNIT, 16);
      kernelTable(coef, missing, k, tab);
      const inBase = gather(rows, k, size);
      const out = bump(<usize>missing * stride, 16);
      mul(tab, inBase, k, out, missing, stride, size);
      q = 0;
      for (let d = 0; d < k; d++) {
        if (load<u32>(ptrs + (<usize>d << 2)) != 0) continue;
        store<u32>(ptrs + (<usize>d << 2), <u32>(out + <usize>q * stride));
        q++;
      }
    }
    // Parity: re-encode the missing rows from the (now complete) data shards.
    let missingP = 0;
    for (let p = 0; p < m; p++) if (load<u32>(ptrs + (<usize>(k + p) << 2)) == 0) missingP++;
    if (missingP > 0) {
      const coef = bump(<usize>(missingP * k), 16);
      let q = 0;
      for (let p = 0; p < m; p++) {
        if (load<u32>(ptrs + (<usize>(k + p) << 2)) != 0) continue;
        memory.copy(coef + <usize>(q * k), enc + <usize>((k + p) * k), <usize>k);
        q++;
      }
      const tab = bump(<usize>(missingP * k) * TAB_UNIT, 16);
      kernelTable(coef, missingP, k, tab);
      const inBase = gather(ptrs, k, size);
      const out = bump(<usize>missingP * stride, 16);
      mul(tab, inBase, k, out, missingP, stride, size);
      q = 0;
      for (let p = 0; p < m; p++) {
        if (load<u32>(ptrs + (<usize>(k + p) << 2)) != 0) continue;
        store<u32>(ptrs + (<usize>(k + p) << 2), <u32>(out + <usize>q * stride));
        q++;
      }
    }
  }
  const list = bump(<usize>n << 3, 4);
  for (let i = 0; i < n; i++) {
    store<u32>(list + (<usize>i << 3), load<u32>(ptrs + (<usize>i << 2)));
    store<u32>(list + (<usize>i << 3), <u32>size, 4);
  }
  return okList(list, n);
}
