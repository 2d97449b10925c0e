/**
 * GF(2^8) arithmetic and the coding matrices of tfw's Reed-Solomon code.
 *
 * Field: polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11d), generator 2, as in
 * klauspost/reedsolomon (galois.go), Backblaze JavaReedSolomon and the Rust
 * reed-solomon-erasure crate. Matrices are row-major `Uint8Array`s of
 * `rows * cols` coefficients. This is set-up code (cached by the callers); the
 * data loops live in wasm/erasure.
 */

/** exp[i] = 2^i for i in [0, 510) (doubled so exp[log a + log b] needs no modulo). */
export const GF_EXP = new Uint8Array(510);
/** log[a] for a in [1, 256); log[0] is unused. */
export const GF_LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    GF_EXP[i] = x;
    GF_EXP[i + 255] = x;
    GF_LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
}

/** a * b in GF(2^8). */
export function gfMul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : GF_EXP[GF_LOG[a] + GF_LOG[b]];
}

/** a^-1 in GF(2^8); a must be non-zero. */
export function gfInv(a: number): number {
  return GF_EXP[255 - GF_LOG[a]];
}

/** a^n in GF(2^8) with 0^0 = 1 (klauspost's galExp). */
export function gfExp(a: number, n: number): number {
  if (n === 0) return 1;
  if (a === 0) return 0;
  return GF_EXP[(GF_LOG[a] * n) % 255];
}

let mulTable: Uint8Array | undefined;
/** The full 256 x 256 product table (row a, column b at a*256 + b), built once (64 KiB). */
export function gfMulTable(): Uint8Array {
  if (!mulTable) {
    mulTable = new Uint8Array(65536);
    for (let a = 1; a < 256; a++) for (let b = 1; b < 256; b++) mulTable[a * 256 + b] = GF_EXP[GF_LOG[a] + GF_LOG[b]];
  }
  return mulTable;
}

/** (rows x n) * (n x cols) -> rows x cols. */
export function matMul(a: Uint8Array, rows: number, n: number, b: Uint8Array, cols: number): Uint8Array {
  const out = new Uint8Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < n; i++) {
      const c = a[r * n + i];
      if (c === 0) continue;
      for (let col = 0; col < cols; col++) out[r * cols + col] ^= gfMul(c, b[i * cols + col]);
    }
  }
  return out;
}

/**
 * Inverse of an n x n matrix by Gauss-Jordan elimination.
 * @throws Error when the matrix is singular (cannot happen for k rows of the coding matrix).
 */
export function matInvert(m: Uint8Array, n: number): Uint8Array {
  const w = 2 * n;
  const a = new Uint8Array(n * w);
  for (let r = 0; r < n; r++) {
    a.set(m.subarray(r * n, r * n + n), r * w);
    a[r * w + n + r] = 1;
  }
  for (let col = 0; col < n; col++) {
    let p = col;
    while (p < n && a[p * w + col] === 0) p++;
    if (p === n) throw new Error('tfw: erasure: singular matrix (internal error)');
    if (p !== col) {
      const tmp = a.slice(p * w, p * w + w);
      a.copyWithin(p * w, col * w, col * w + w);
      a.set(tmp, col * w);
    }
    const inv = gfInv(a[col * w + col]);
    for (let c = 0; c < w; c++) a[col * w + c] = gfMul(a[col * w + c], inv);
    for (let r = 0; r < n; r++) {
      const f = a[r * w + col];
      if (r === col || f === 0) continue;
      for (let c = 0; c < w; c++) a[r * w + c] ^= gfMul(f, a[col * w + c]);
    }
  }
  const out = new Uint8Array(n * n);
  for (let r = 0; r < n; r++) out.set(a.subarray(r * w + n, r * w + w), r * n);
  return out;
}

/**
 * The (k+m) x k systematic encoding matrix of klauspost/reedsolomon's default
 * `New(k, m)` (buildMatrix): the Vandermonde matrix V[r][c] = r^c times the
 * inverse of its top k x k square, so the top k rows are the identity and any k
 * rows stay invertible.
 */
export function encodingMatrix(k: number, m: number): Uint8Array {
  const total = k + m;
  const vm = new Uint8Array(total * k);
  for (let r = 0; r < total; r++) for (let c = 0; c < k; c++) vm[r * k + c] = gfExp(r, c);
  return matMul(vm, total, k, matInvert(vm.subarray(0, k * k), k), k);
}
