/**
 * The addon's Reed-Solomon kernel (runtime/kernels/native.ts `nativeRs`,
 * native/src/rs*.c): parity equals a straightforward GF(2^8) matrix product
 * (poly 0x11d, shift-and-add multiplication, written here independently of the
 * C tables) on random matrices and shards, for every ISA this CPU runs (AVX2,
 * SSSE3, NEON, scalar), at lengths that exercise the 32/16-byte tails; plus
 * argument errors. Skips (with a message) without the addon.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nativeAvailable, nativeLoadError, nativeRs } from '../../runtime/kernels/native.js';
import { prng } from '../helpers.js';

const have = nativeAvailable();
if (!have) console.log(`tfw: test: native-rs skipped: ${nativeLoadError()}`);
const maybe = have ? test : test.skip;
const r = prng();

/** a*b in GF(2^8) mod x^8+x^4+x^3+x^2+1 (0x11d), bit by bit. */
function gfMul(a: number, b: number): number {
  let p = 0;
  for (let i = 0; i < 8; i++) {
    if (b & 1) p ^= a;
    b >>= 1;
    a <<= 1;
    if (a & 0x100) a ^= 0x11d;
  }
  return p;
}

function reference(matrix: Uint8Array, rows: number, inputs: Uint8Array[], len: number): Uint8Array[] {
  const k = inputs.length;
  const out: Uint8Array[] = [];
  for (let row = 0; row < rows; row++) {
    const o = new Uint8Array(len);
    for (let j = 0; j < k; j++) {
      const c = matrix[row * k + j];
      for (let b = 0; b < len; b++) o[b] ^= gfMul(c, inputs[j][b]);
    }
    out.push(o);
  }
  return out;
}

const ISAS = ['avx2', 'ssse3', 'neon', 'scalar'] as const;

maybe('GF(2^8) sanity of the reference: 2^8 wraps to 0x1d, 0x53*0xca = 0x8f under 0x11d', () => {
  assert.is(gfMul(0x80, 2), 0x1d);
  assert.is(gfMul(1, 0xab), 0xab);
  assert.is(gfMul(0x53, 0xca), 0x8f);
});

maybe('parity equals the reference matrix product for every ISA available', () => {
  const shapes: [number, number][] = [[1, 1], [4, 2], [10, 4], [6, 9], [17, 3]];
  const lens = [0, 1, 15, 16, 31, 32, 33, 100, 1024 + 17];
  const used = new Set<string>();
  try {
    for (const isa of ISAS) {
      const got = nativeRs.setIsa(isa);
      if (got !== isa) continue; // not this CPU
      used.add(got);
      for (const [k, rows] of shapes) {
        for (const len of lens) {
          const matrix = r.bytes(rows * k);
          matrix[0] = 0; // zero and one coefficients take the same path
          if (matrix.length > 1) matrix[1] = 1;
          const inputs = Array.from({ length: k }, () => r.bytes(len + r.int(5)));
          const outputs = Array.from({ length: rows }, () => r.bytes(len + 3));
          const tails = outputs.map((o) => o.slice(len));
          nativeRs.encode(matrix, rows, inputs, outputs, len);
          const exp = reference(matrix, rows, inputs, len);
          for (let i = 0; i < rows; i++) {
            assert.equal(outputs[i].subarray(0, len), exp[i], `${isa} k=${k} rows=${rows} len=${len} row ${i}`);
            assert.equal(outputs[i].subarray(len), tails[i], 'bytes past len untouched');
          }
        }
      }
    }
  } finally {
    nativeRs.setIsa('auto');
  }
  assert.ok(used.has('scalar'));
  assert.ok(used.size >= 2 || process.arch !== 'x64', `x64 runs at least one SIMD kernel, used ${[...used]}`);
});

maybe('shards may be views into WebAssembly memory at odd offsets', () => {
  const heap = new Uint8Array(new WebAssembly.Memory({ initial: 2 }).buffer);
  const k = 5, rows = 3, len = 999;
  const inputs = Array.from({ length: k }, (_, j) => heap.subarray(7 + j * 1000, 7 + j * 1000 + len));
  inputs.forEach((v) => v.set(r.bytes(len)));
  const outputs = Array.from({ length: rows }, (_, i) => heap.subarray(60001 + i * 1000, 60001 + i * 1000 + len));
  const matrix = r.bytes(rows * k);
  nativeRs.encode(matrix, rows, inputs, outputs, len);
  const exp = reference(matrix, rows, inputs, len);
  outputs.forEach((o, i) => assert.equal(o, exp[i]));
});

maybe('bad shapes are refused with the field named', () => {
  const s = (n: number) => Array.from({ length: n }, () => new Uint8Array(8));
  assert.throws(() => nativeRs.encode(new Uint8Array(5), 2, s(3), s(2), 8), /matrix: expected rows\*k = 2\*3 = 6 bytes, got 5/);
  assert.throws(() => nativeRs.encode(new Uint8Array(6), 2, s(3), s(2), 9), /inputs\[0\]: expected at least 9 bytes/);
  assert.throws(() => nativeRs.encode(new Uint8Array(6), 2, s(3), s(1), 8), /outputs: expected 2 shards/);
  assert.throws(() => nativeRs.encode(new Uint8Array(0), 0, s(3), s(1), 8), /rows: expected 1\.\.256/);
  const shared = s(3);
  assert.throws(() => nativeRs.encode(new Uint8Array(3), 1, shared, [shared[1]], 8), /outputs\[0\]: must not overlap inputs\[1\]/);
});

test.run();
