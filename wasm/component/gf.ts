// GF(2^8) (polynomial 0x11d, generator 2) and the systematic coding matrix of
// klauspost/reedsolomon's default New(k, m) (galois.go, matrix.go): Vandermonde
// V[r][c] = r^c times the inverse of its top k x k square. Mirrors
// runtime/kernels/erasure-gf.ts; set-up code, not on the data path.
const EXP: usize = memory.data(512);
const LOG: usize = memory.data(256);
let ready = false;

function init(): void {
  let x: u32 = 1;
  for (let i: u32 = 0; i < 255; i++) {
    store<u8>(EXP + i, <u8>x);
    store<u8>(EXP + i + 255, <u8>x);
    store<u8>(LOG + x, <u8>i);
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  ready = true;
}

export function gfMul(a: u32, b: u32): u32 {
  if (a == 0 || b == 0) return 0;
  if (!ready) init();
  return load<u8>(EXP + <usize>load<u8>(LOG + a) + <usize>load<u8>(LOG + b));
}

function gfInv(a: u32): u32 {
  if (!ready) init();
  return load<u8>(EXP + 255 - <usize>load<u8>(LOG + a));
}

function gfExp(a: u32, n: u32): u32 {
  if (n == 0) return 1;
  if (a == 0) return 0;
  if (!ready) init();
  return load<u8>(EXP + (<usize>load<u8>(LOG + a) * <usize>n) % 255);
}

/** Inverts the n x n matrix at m into out (both row-major); `work` holds 2*n*n bytes. False when singular. */
export function matInvert(m: usize, n: i32, out: usize, work: usize): bool {
  const w = n << 1;
  memory.fill(work, 0, <usize>(n * w));
  for (let r = 0; r < n; r++) {
    memory.copy(work + <usize>(r * w), m + <usize>(r * n), <usize>n);
    store<u8>(work + <usize>(r * w + n + r), 1);
  }
  for (let col = 0; col < n; col++) {
    let p = col;
    while (p < n && load<u8>(work + <usize>(p * w + col)) == 0) p++;
    if (p == n) return false;
    if (p != col) {
      for (let c = 0; c < w; c++) {
        const a = work + <usize>(p * w + c), b = work + <usize>(col * w + c);
        const t = load<u8>(a);
        store<u8>(a, load<u8>(b));
        store<u8>(b, t);
      }
    }
    const inv = gfInv(load<u8>(work + <usize>(col * w + col)));
    for (let c = 0; c < w; c++) {
      const a = work + <usize>(col * w + c);
      store<u8>(a, <u8>gfMul(load<u8>(a), inv));
    }
    for (let r = 0; r < n; r++) {
      const f = <u32>load<u8>(work + <usize>(r * w + col));
      if (r == col || f == 0) continue;
      for (let c = 0; c < w; c++) {
        const a = work + <usize>(r * w + c);
        store<u8>(a, load<u8>(a) ^ <u8>gfMul(f, load<u8>(work + <usize>(col * w + c))));
      }
    }
  }
  for (let r = 0; r < n; r++) memory.copy(out + <usize>(r * n), work + <usize>(r * w + n), <usize>n);
  return true;
}

/**
 * The (k+m) x k encoding matrix into out; `work` holds (k+m)*k + k*k + 2*k*k bytes.
 * Rows 0..k-1 are the identity, rows k.. the parity coefficients.
 */
export function encodingMatrix(k: i32, m: i32, out: usize, work: usize): void {
  const total = k + m;
  const vm = work;
  const inv = vm + <usize>(total * k);
  const tmp = inv + <usize>(k * k);
  for (let r = 0; r < total; r++) for (let c = 0; c < k; c++) store<u8>(vm + <usize>(r * k + c), <u8>gfExp(r, c));
  matInvert(vm, k, inv, tmp); // the top square of a Vandermonde matrix is invertible
  for (let r = 0; r < total; r++) {
    for (let c = 0; c < k; c++) {
      let acc: u32 = 0;
      for (let i = 0; i < k; i++) acc ^= gfMul(load<u8>(vm + <usize>(r * k + i)), load<u8>(inv + <usize>(i * k + c)));
      store<u8>(out + <usize>(r * k + c), <u8>acc);
    }
  }
}

/**
 * Kernel tables for `rows` coefficient rows of `cols` bytes at coef (row-major):
 * SIMD: 32-byte nibble tables per coefficient (lo[x] = c*x, hi[x] = c*(x << 4));
 * scalar: the coefficient bytes themselves (see wasm/erasure/index.ts).
 */
export function kernelTable(coef: usize, rows: i32, cols: i32, tab: usize): void {
  const n = rows * cols;
  if (ASC_FEATURE_SIMD) {
    for (let i = 0; i < n; i++) {
      const c = <u32>load<u8>(coef + <usize>i);
      const t = tab + (<usize>i << 5);
      for (let x: u32 = 0; x < 16; x++) {
        store<u8>(t + x, <u8>gfMul(c, x));
        store<u8>(t + 16 + x, <u8>gfMul(c, x << 4));
      }
    }
  } else {
    memory.copy(tab, coef, <usize>n);
  }
}

/** Scalar build: the 256 x 256 product table for setMulTable. */
export function fillMulTable(p: usize): void {
  for (let a: u32 = 0; a < 256; a++) for (let b: u32 = 0; b < 256; b++) store<u8>(p + (<usize>a << 8) + b, <u8>gfMul(a, b));
}
