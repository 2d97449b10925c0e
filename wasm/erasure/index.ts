// Reed-Solomon data loops over GF(2^8) (polynomial 0x11d): out = M x in, where M is
// an nOut x nIn coefficient matrix prepared by runtime/kernels/erasure-engine.ts.
//
// Memory: the host reserves one region at start-up with `reserve` (inputs, outputs,
// tables) and nothing is allocated per call. Inputs sit `stride` bytes apart
// (input j at inBase + j*stride), outputs likewise at outBase + o*stride.
//
// SIMD build (ASC_FEATURE_SIMD): split-nibble multiplication (Plank, Greenan,
// Miller, "Screaming Fast Galois Field Arithmetic Using Intel SIMD Instructions",
// FAST'13): for coefficient c, tab holds lo[x] = c*x and hi[x] = c*(x<<4) for
// x < 16 (32 bytes, output-major: entry (o, j) at tab + (o*nIn + j)*32), and
// c*b = lo[b & 15] ^ hi[b >> 4], sixteen bytes at a time with i8x16.swizzle.
// Up to four outputs are accumulated in registers per pass over the inputs, two
// 16-byte columns per step so each table load serves both; bytes past the last
// multiple of 16 go one at a time through the same tables.
//
// Scalar build: tab holds the coefficient bytes (entry (o, j) at tab + o*nIn + j)
// and `setMulTable` points at a 256 x 256 product table (row c at c*256).

/** Reserves `bytes` bytes of linear memory (16-byte aligned); returns the pointer. Call at set-up only. */
export function reserve(bytes: usize): usize {
  return heap.alloc(bytes);
}

let MUL: usize = 0;

/** Scalar build: sets the 64 KiB product table (row c, column x at c*256 + x). */
export function setMulTable(ptr: usize): void {
  MUL = ptr;
}

/** Reports which build this is: 1 for SIMD, 0 for scalar. */
export function simd(): i32 {
  return ASC_FEATURE_SIMD ? 1 : 0;
}

/**
 * outputs[o][0..len) = sum over j of M[o][j] * inputs[j][0..len) in GF(2^8).
 * Pointers and sizes in bytes; the host validated every range.
 */
export function mulMatrix(tab: usize, inBase: usize, nIn: i32, outBase: usize, nOut: i32, stride: usize, len: usize): void {
  if (ASC_FEATURE_SIMD) {
    const rowBytes = (<usize>nIn) << 5;
    let o = 0;
    for (; o + 4 <= nOut; o += 4) {
      simd4(tab + <usize>o * rowBytes, rowBytes, inBase, nIn, outBase + <usize>o * stride, stride, len);
    }
    if (o + 2 <= nOut) {
      simd2(tab + <usize>o * rowBytes, rowBytes, inBase, nIn, outBase + <usize>o * stride, stride, len);
      o += 2;
    }
    if (o < nOut) simd1(tab + <usize>o * rowBytes, inBase, nIn, outBase + <usize>o * stride, stride, len);
    const done = len & ~(<usize>15);
    if (done < len) nibbleTail(tab, inBase, nIn, outBase, nOut, stride, done, len);
  } else {
    for (let o = 0; o < nOut; o++) {
      scalarRow(tab + <usize>o * <usize>nIn, inBase, nIn, outBase + <usize>o * stride, stride, len);
    }
  }
}

// ---- SIMD: four, two or one output rows per pass over the inputs ----

// @ts-ignore: decorator
@inline function mulNib(t: usize, lo: v128, hi: v128): v128 {
  return v128.xor(i8x16.swizzle(v128.load(t), lo), i8x16.swizzle(v128.load(t, 16), hi));
}

function simd4(t0: usize, rowBytes: usize, inBase: usize, nIn: i32, out: usize, stride: usize, len: usize): void {
  const mask = i8x16.splat(0x0f);
  let pos: usize = 0;
  for (; pos + 32 <= len; pos += 32) {
    let a0 = i64x2.splat(0), a1 = i64x2.splat(0), a2 = i64x2.splat(0), a3 = i64x2.splat(0);
    let b0 = i64x2.splat(0), b1 = i64x2.splat(0), b2 = i64x2.splat(0), b3 = i64x2.splat(0);
    let t = t0;
    let p = inBase + pos;
    for (let j = 0; j < nIn; j++) {
      const x = v128.load(p);
      const y = v128.load(p, 16);
      const xl = v128.and(x, mask);
      const xh = v128.and(i16x8.shr_u(x, 4), mask);
      const yl = v128.and(y, mask);
      const yh = v128.and(i16x8.shr_u(y, 4), mask);
      let l = v128.load(t), h = v128.load(t, 16);
      a0 = v128.xor(a0, v128.xor(i8x16.swizzle(l, xl), i8x16.swizzle(h, xh)));
      b0 = v128.xor(b0, v128.xor(i8x16.swizzle(l, yl), i8x16.swizzle(h, yh)));
      l = v128.load(t + rowBytes); h = v128.load(t + rowBytes, 16);
      a1 = v128.xor(a1, v128.xor(i8x16.swizzle(l, xl), i8x16.swizzle(h, xh)));
      b1 = v128.xor(b1, v128.xor(i8x16.swizzle(l, yl), i8x16.swizzle(h, yh)));
      l = v128.load(t + 2 * rowBytes); h = v128.load(t + 2 * rowBytes, 16);
      a2 = v128.xor(a2, v128.xor(i8x16.swizzle(l, xl), i8x16.swizzle(h, xh)));
      b2 = v128.xor(b2, v128.xor(i8x16.swizzle(l, yl), i8x16.swizzle(h, yh)));
      l = v128.load(t + 3 * rowBytes); h = v128.load(t + 3 * rowBytes, 16);
      a3 = v128.xor(a3, v128.xor(i8x16.swizzle(l, xl), i8x16.swizzle(h, xh)));
      b3 = v128.xor(b3, v128.xor(i8x16.swizzle(l, yl), i8x16.swizzle(h, yh)));
      t += 32;
      p += stride;
    }
    const q = out + pos;
    v128.store(q, a0);
    v128.store(q, b0, 16);
    v128.store(q + stride, a1);
    v128.store(q + stride, b1, 16);
    v128.store(q + 2 * stride, a2);
    v128.store(q + 2 * stride, b2, 16);
    v128.store(q + 3 * stride, a3);
    v128.store(q + 3 * stride, b3, 16);
  }
  if (pos + 16 <= len) {
    let a0 = i64x2.splat(0), a1 = i64x2.splat(0), a2 = i64x2.splat(0), a3 = i64x2.splat(0);
    let t = t0;
    let p = inBase + pos;
    for (let j = 0; j < nIn; j++) {
      const x = v128.load(p);
      const lo = v128.and(x, mask);
      const hi = v128.and(i16x8.shr_u(x, 4), mask);
      a0 = v128.xor(a0, mulNib(t, lo, hi));
      a1 = v128.xor(a1, mulNib(t + rowBytes, lo, hi));
      a2 = v128.xor(a2, mulNib(t + 2 * rowBytes, lo, hi));
      a3 = v128.xor(a3, mulNib(t + 3 * rowBytes, lo, hi));
      t += 32;
      p += stride;
    }
    const q = out + pos;
    v128.store(q, a0);
    v128.store(q + stride, a1);
    v128.store(q + 2 * stride, a2);
    v128.store(q + 3 * stride, a3);
  }
}

function simd2(t0: usize, rowBytes: usize, inBase: usize, nIn: i32, out: usize, stride: usize, len: usize): void {
  const mask = i8x16.splat(0x0f);
  // Two 16-byte columns per step: the same register budget as simd4.
  let pos: usize = 0;
  for (; pos + 32 <= len; pos += 32) {
    let a0 = i64x2.splat(0), a1 = i64x2.splat(0), b0 = i64x2.splat(0), b1 = i64x2.splat(0);
    let t = t0;
    let p = inBase + pos;
    for (let j = 0; j < nIn; j++) {
      const x = v128.load(p);
      const y = v128.load(p, 16);
      const xl = v128.and(x, mask);
      const xh = v128.and(i16x8.shr_u(x, 4), mask);
      const yl = v128.and(y, mask);
      const yh = v128.and(i16x8.shr_u(y, 4), mask);
      const l0 = v128.load(t), h0 = v128.load(t, 16);
      const l1 = v128.load(t + rowBytes), h1 = v128.load(t + rowBytes, 16);
      a0 = v128.xor(a0, v128.xor(i8x16.swizzle(l0, xl), i8x16.swizzle(h0, xh)));
      b0 = v128.xor(b0, v128.xor(i8x16.swizzle(l0, yl), i8x16.swizzle(h0, yh)));
      a1 = v128.xor(a1, v128.xor(i8x16.swizzle(l1, xl), i8x16.swizzle(h1, xh)));
      b1 = v128.xor(b1, v128.xor(i8x16.swizzle(l1, yl), i8x16.swizzle(h1, yh)));
      t += 32;
      p += stride;
    }
    const q = out + pos;
    v128.store(q, a0);
    v128.store(q, b0, 16);
    v128.store(q + stride, a1);
    v128.store(q + stride, b1, 16);
  }
  if (pos + 16 <= len) {
    let a0 = i64x2.splat(0), a1 = i64x2.splat(0);
    let t = t0;
    let p = inBase + pos;
    for (let j = 0; j < nIn; j++) {
      const x = v128.load(p);
      const lo = v128.and(x, mask);
      const hi = v128.and(i16x8.shr_u(x, 4), mask);
      a0 = v128.xor(a0, mulNib(t, lo, hi));
      a1 = v128.xor(a1, mulNib(t + rowBytes, lo, hi));
      t += 32;
      p += stride;
    }
    v128.store(out + pos, a0);
    v128.store(out + pos + stride, a1);
  }
}

function simd1(t0: usize, inBase: usize, nIn: i32, out: usize, stride: usize, len: usize): void {
  const mask = i8x16.splat(0x0f);
  let pos: usize = 0;
  for (; pos + 32 <= len; pos += 32) {
    let a0 = i64x2.splat(0), b0 = i64x2.splat(0);
    let t = t0;
    let p = inBase + pos;
    for (let j = 0; j < nIn; j++) {
      const x = v128.load(p);
      const y = v128.load(p, 16);
      const l0 = v128.load(t), h0 = v128.load(t, 16);
      a0 = v128.xor(a0, v128.xor(i8x16.swizzle(l0, v128.and(x, mask)), i8x16.swizzle(h0, v128.and(i16x8.shr_u(x, 4), mask))));
      b0 = v128.xor(b0, v128.xor(i8x16.swizzle(l0, v128.and(y, mask)), i8x16.swizzle(h0, v128.and(i16x8.shr_u(y, 4), mask))));
      t += 32;
      p += stride;
    }
    v128.store(out + pos, a0);
    v128.store(out + pos, b0, 16);
  }
  if (pos + 16 <= len) {
    let a0 = i64x2.splat(0);
    let t = t0;
    let p = inBase + pos;
    for (let j = 0; j < nIn; j++) {
      const x = v128.load(p);
      a0 = v128.xor(a0, mulNib(t, v128.and(x, mask), v128.and(i16x8.shr_u(x, 4), mask)));
      t += 32;
      p += stride;
    }
    v128.store(out + pos, a0);
  }
}

/** Bytes [from, len) of every output, one at a time, from the same nibble tables. */
function nibbleTail(tab: usize, inBase: usize, nIn: i32, outBase: usize, nOut: i32, stride: usize, from: usize, len: usize): void {
  for (let o = 0; o < nOut; o++) {
    const row = tab + ((<usize>o * <usize>nIn) << 5);
    for (let pos = from; pos < len; pos++) {
      let acc: u32 = 0;
      let t = row;
      let p = inBase + pos;
      for (let j = 0; j < nIn; j++) {
        const b = <usize>load<u8>(p);
        acc ^= <u32>load<u8>(t + (b & 15)) ^ <u32>load<u8>(t + 16 + (b >> 4));
        t += 32;
        p += stride;
      }
      store<u8>(outBase + <usize>o * stride + pos, <u8>acc);
    }
  }
}

// ---- Scalar: product-table lookups, eight bytes per step ----

function scalarRow(coef: usize, inBase: usize, nIn: i32, out: usize, stride: usize, len: usize): void {
  memory.fill(out, 0, len);
  for (let j = 0; j < nIn; j++) {
    const c = <usize>load<u8>(coef + <usize>j);
    if (c == 0) continue;
    const src = inBase + <usize>j * stride;
    let pos: usize = 0;
    if (c == 1) {
      for (; pos + 8 <= len; pos += 8) store<u64>(out + pos, load<u64>(out + pos) ^ load<u64>(src + pos));
      for (; pos < len; pos++) store<u8>(out + pos, load<u8>(out + pos) ^ load<u8>(src + pos));
      continue;
    }
    const m = MUL + (c << 8);
    for (; pos + 8 <= len; pos += 8) {
      const x = load<u64>(src + pos);
      const lo: u32 =
        <u32>load<u8>(m + <usize>(x & 0xff)) |
        (<u32>load<u8>(m + <usize>((x >> 8) & 0xff)) << 8) |
        (<u32>load<u8>(m + <usize>((x >> 16) & 0xff)) << 16) |
        (<u32>load<u8>(m + <usize>((x >> 24) & 0xff)) << 24);
      const hi: u32 =
        <u32>load<u8>(m + <usize>((x >> 32) & 0xff)) |
        (<u32>load<u8>(m + <usize>((x >> 40) & 0xff)) << 8) |
        (<u32>load<u8>(m + <usize>((x >> 48) & 0xff)) << 16) |
        (<u32>load<u8>(m + <usize>(x >> 56)) << 24);
      store<u64>(out + pos, load<u64>(out + pos) ^ ((<u64>hi << 32) | <u64>lo));
    }
    for (; pos < len; pos++) store<u8>(out + pos, load<u8>(out + pos) ^ load<u8>(m + <usize>load<u8>(src + pos)));
  }
}
