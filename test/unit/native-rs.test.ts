/**
 * The addon's Reed-Solomon kernel (runtime/kernels/native.ts `nativeRs`,
 * native/src/rs*.c): parity equals a straightforward GF(2^8) matrix product
 * (poly 0x11d, shift-and-add multiplication, written here independently of the
 * C tables) on random matrices and shards, for every ISA this CPU runs (GFNI with
 * AVX-512 or AVX2, AVX2, SSSE3, NEON, scalar; each one the CPU's flags in
 * /proc/cpuinfo promise must really be selected), at lengths that exercise the
 * 128/64/32/16-byte steps, aligning heads, masked and scalar tails and the 8 KiB
 * blocking of more than four output rows, on shards at random offsets; plus
 * argument errors. Skips (with a message) without
 * the addon.
 */
import { readFileSync } from 'node:fs';
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

/** gfMul(a, b) at [a*256 + b], filled from the bit-by-bit product above. */
const MUL = new Uint8Array(65536);
for (let a = 0; a < 256; a++) for (let b = 0; b < 256; b++) MUL[a * 256 + b] = gfMul(a, b);

function reference(matrix: Uint8Array, rows: number, inputs: Uint8Array[], len: number): Uint8Array[] {
  const k = inputs.length;
  const out: Uint8Array[] = [];
  for (let row = 0; row < rows; row++) {
    const o = new Uint8Array(len);
    for (let j = 0; j < k; j++) {
      const c = matrix[row * k + j] * 256;
      for (let b = 0; b < len; b++) o[b] ^= MUL[c + inputs[j][b]];
    }
    out.push(o);
  }
  return out;
}

const ISAS = ['gfni-avx512', 'gfni-avx2', 'avx2', 'ssse3', 'neon', 'scalar'] as const;

/** The kernels this CPU must offer, best first, from the kernel's flags (Linux; empty elsewhere). */
function expectedIsas(): string[] {
  let flags: Set<string>;
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => /^(flags|Features)\s*:/.test(l));
    flags = new Set((line ?? '').replace(/^[^:]*:/, '').trim().split(/\s+/));
  } catch {
    return [];
  }
  const has = (...f: string[]) => f.every((x) => flags.has(x));
  const out: string[] = [];
  if (process.arch === 'x64') {
    if (has('gfni', 'avx512f', 'avx512bw')) out.push('gfni-avx512');
    if (has('gfni', 'avx2')) out.push('gfni-avx2');
    if (has('avx2')) out.push('avx2');
    if (has('ssse3')) out.push('ssse3');
  } else if (process.arch === 'arm64') out.push('neon');
  return out;
}

maybe('GF(2^8) sanity of the reference: 2^8 wraps to 0x1d, 0x53*0xca = 0x8f under 0x11d', () => {
  assert.is(gfMul(0x80, 2), 0x1d);
  assert.is(gfMul(1, 0xab), 0xab);
  assert.is(gfMul(0x53, 0xca), 0x8f);
});

maybe('parity equals the reference matrix product for every ISA available', () => {
  const shapes: [number, number][] = [[1, 1], [4, 2], [10, 4], [6, 9], [17, 3], [3, 5]];
  const lens = [0, 1, 15, 16, 17, 31, 32, 33, 48, 63, 64, 65, 100, 127, 128, 129, 200, 1024 + 17, 2 * 8192 + 77];
  const expected = expectedIsas();
  const used = new Set<string>();
  try {
    for (const isa of ISAS) {
      const got = nativeRs.setIsa(isa);
      if (expected.includes(isa)) assert.is(got, isa, `this CPU's flags promise ${isa}`);
      if (got !== isa) continue; // not this CPU
      assert.is(nativeRs.isa(), isa);
      used.add(got);
      // every offset of outputs[0] mod 64 (where the aligned part starts) at short lengths, plus random shapes
      const cases: [k: number, rows: number, len: number, off0: number][] = [];
      for (let off0 = 0; off0 < 64; off0++) for (const len of [33, 64, 65, 100, 130]) cases.push([3, 5, len, off0], [4, 2, len, off0]);
      for (const [k, rows] of shapes) for (const len of lens) cases.push([k, rows, len, -1]);
      for (const [k, rows, len, off0] of cases) {
        const matrix = r.bytes(rows * k);
        matrix[0] = 0; // zero and one coefficients take the same path
        if (matrix.length > 1) matrix[1] = 1;
        // views at random offsets mod 64: the GFNI kernels align their stores to outputs[0]
        const view = (n: number, off = r.int(64)) => r.bytes(off + n).subarray(off);
        const inputs = Array.from({ length: k }, () => view(len + r.int(5)));
        const outputs = Array.from({ length: rows }, (_, i) => view(len + 3, i === 0 && off0 >= 0 ? off0 : undefined));
        const tails = outputs.map((o) => o.slice(len));
        nativeRs.encode(matrix, rows, inputs, outputs, len);
        const exp = reference(matrix, rows, inputs, len);
        for (let i = 0; i < rows; i++) {
          assert.equal(outputs[i].subarray(0, len), exp[i], `${isa} k=${k} rows=${rows} len=${len} row ${i}`);
          assert.equal(outputs[i].subarray(len), tails[i], 'bytes past len untouched');
        }
      }
    }
  } finally {
    nativeRs.setIsa('auto');
  }
  assert.ok(used.has('scalar'));
  assert.ok(used.size >= 2 || process.arch !== 'x64', `x64 runs at least one SIMD kernel, used ${[...used]}`);
  if (expected.length) assert.is(nativeRs.isa(), expected[0], "'auto' picks the best kernel the CPU runs");
  console.log(`tfw: test: native-rs kernels checked: ${[...used].join(', ')} (auto: ${nativeRs.isa()})`);
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
