// tfw/erasure: known-answer parity from klauspost/reedsolomon (test/vectors/erasure),
// the API's semantics (split/join as klauspost's), and every error path, on each
// wasm backend.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ReedSolomon,
  selfTest,
  ShardCountError,
  ShardSizeError,
  ShortDataError,
  TooFewShardsError,
  xorshift32Bytes,
  type ErasureEngine,
  type Shards,
} from '../../runtime/kernels/erasure.js';
import { instantiateKernel } from '../../runtime/kernels/backend.js';
import { encodingMatrix, gfMul, matInvert, matMul } from '../../runtime/kernels/erasure-gf.js';
import { BACKENDS, clone, makeShards } from '../vectors/erasure/helpers.js';
import { hex, prng } from '../helpers.js';

interface Vector {
  k: number;
  m: number;
  size: number;
  seed: number;
  parity: { sha256: string; head: string }[];
  raw?: string[];
}
const vectors: Vector[] = JSON.parse(readFileSync(new URL('../vectors/erasure/erasure.json', import.meta.url), 'utf8'));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The data shards gen.go encoded: one xorshift32 stream across the k shards. */
function vectorData(v: Vector): Shards {
  const shards: Shards = [];
  let seed = v.seed;
  for (let i = 0; i < v.k; i++) {
    const s = new Uint8Array(v.size);
    seed = xorshift32Bytes(seed, s);
    shards.push(s);
  }
  for (let i = 0; i < v.m; i++) shards.push(null);
  return shards;
}

test('GF(2^8) and the encoding matrix match klauspost (0x11d; systematic top; inverse round trip)', () => {
  assert.is(gfMul(2, 0x80), 0x1d);
  assert.is(gfMul(3, 7), 9);
  const e = encodingMatrix(4, 2);
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) assert.is(e[r * 4 + c], r === c ? 1 : 0);
  // klauspost's New(4, 2) parity rows, read off by encoding unit vectors with it.
  assert.equal(Array.from(e.subarray(16)), [27, 28, 18, 20, 28, 27, 20, 18]);
  const sub = e.subarray(8, 24);
  const id = matMul(matInvert(sub, 4), 4, 4, sub, 4);
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) assert.is(id[r * 4 + c], r === c ? 1 : 0);
});

for (const backend of BACKENDS) {
  test(`${backend}: parity equals klauspost/reedsolomon for every vector`, () => {
    for (const v of vectors) {
      const rs = new ReedSolomon(v.k, v.m, { backend });
      const shards = vectorData(v);
      rs.encode(shards);
      for (let p = 0; p < v.m; p++) {
        const got = shards[v.k + p]!;
        const where = `(${v.k},${v.m}) size ${v.size} parity ${p}`;
        assert.is(hex(got.subarray(0, 16)), v.parity[p].head, where);
        assert.is(sha256(got), v.parity[p].sha256, where);
        if (v.raw) assert.is(hex(got), v.raw[p], where);
      }
      assert.ok(rs.verify(shards));
    }
  });

  test(`${backend}: vectors reconstruct from the last k shards (all data lost when m >= k)`, () => {
    for (const v of vectors) {
      const rs = new ReedSolomon(v.k, v.m, { backend });
      const full = vectorData(v);
      rs.encode(full);
      const lost = clone(full);
      for (let i = 0; i < v.m; i++) lost[i] = null;
      rs.reconstruct(lost);
      for (let i = 0; i < v.k + v.m; i++) assert.equal(lost[i], full[i], `(${v.k},${v.m}) shard ${i}`);
    }
  });

  test(`${backend}: selfTest passes its known answer`, () => {
    const r = selfTest({ backend });
    assert.ok(r.ok);
    assert.is(r.backend, backend);
    assert.match(r.figure, /GB\/s/);
  });

  test(`${backend}: split pads like klauspost (ceil(len/k) per shard, zero tail, parity allocated) and join inverts it`, () => {
    const rs = new ReedSolomon(4, 2, { backend });
    const data = prng(11).bytes(1001);
    const shards = rs.split(data);
    assert.is(shards.length, 6);
    for (const s of shards) assert.is(s.length, 251);
    assert.equal(shards[3].subarray(248), new Uint8Array(3));
    assert.equal(shards[3].subarray(0, 248), data.subarray(753));
    assert.equal(shards[0], data.subarray(0, 251));
    rs.encode(shards);
    assert.ok(rs.verify(shards));
    const broken: Shards = shards.slice();
    broken[0] = null;
    broken[2] = null;
    rs.reconstructData(broken);
    assert.equal(rs.join(broken, 1001), data);
    assert.equal(rs.join(broken, 10), data.subarray(0, 10));
    // One byte: one 1-byte data shard, the others zero padding.
    const one = rs.split(new Uint8Array([7]));
    assert.equal(one.map((s) => s.length), [1, 1, 1, 1, 1, 1]);
    assert.is(one[0][0], 7);
    // data is copied, not aliased.
    data[0] ^= 1;
    assert.is.not(shards[0][0], data[0]);
  });

  test(`${backend}: constructor rejects bad k and m with RangeError`, () => {
    for (const [k, m] of [[0, 1], [1, 0], [4, -1], [200, 57], [256, 1], [2.5, 1], [NaN, 2]]) {
      assert.throws(() => new ReedSolomon(k, m, { backend }), (e: Error) => e instanceof RangeError, `(${k},${m})`);
    }
    assert.throws(() => new ReedSolomon(4, 2, { backend, chunkBytes: 1000 }), /chunkBytes/);
    assert.not.throws(() => new ReedSolomon(1, 255, { backend }));
    assert.not.throws(() => new ReedSolomon(255, 1, { backend }));
  });

  test(`${backend}: shard errors name the index and lengths, and write nothing`, () => {
    const rs = new ReedSolomon(4, 2, { backend });
    const bytes = prng(5).bytes;
    const good = makeShards(4, 2, 100, bytes);
    rs.encode(good);
    const err = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return e as Error & { code?: string };
      }
      assert.unreachable('expected a throw');
    };
    // wrong count
    let e = err(() => rs.encode(good.slice(0, 5)))!;
    assert.instance(e, ShardCountError);
    assert.is(e.code, 'ERR_TFW_SHARD_COUNT');
    assert.match(e.message, /expected an array of 6 shards.*got 5/);
    // differing lengths: index and both lengths named
    const bad = clone(good);
    bad[3] = new Uint8Array(99);
    e = err(() => rs.encode(bad))!;
    assert.instance(e, ShardSizeError);
    assert.is(e.code, 'ERR_TFW_SHARD_SIZE');
    assert.match(e.message, /shards\[3\]: length 99 bytes differs from shards\[0\] \(100 bytes\)/);
    // a differing parity shard is refused before any parity is written
    const badParity = clone(good);
    badParity[4]!.fill(0xaa);
    badParity[5] = new Uint8Array(101);
    assert.throws(() => rs.encode(badParity), (x: Error) => x instanceof ShardSizeError && /shards\[5\]/.test(x.message));
    assert.ok(badParity[4]!.every((b) => b === 0xaa));
    // empty shards
    const empty = makeShards(4, 2, 0, bytes);
    assert.throws(() => rs.encode(empty), /shards\[0\]: empty/);
    // encode needs all data shards
    const noData = clone(good);
    noData[1] = null;
    assert.throws(() => rs.encode(noData), (x: Error) => x instanceof ShardSizeError && /shards\[1\]: data shard missing/.test(x.message));
    // verify needs every shard
    const noParity = clone(good);
    noParity[5] = null;
    assert.throws(() => rs.verify(noParity), /shards\[5\]: missing/);
    // not a Uint8Array
    const wrongType = clone(good) as unknown[];
    wrongType[2] = [1, 2, 3];
    assert.throws(() => rs.encode(wrongType as Shards), /shards\[2\]: expected a Uint8Array/);
  });

  test(`${backend}: too few shards throws TooFewShardsError and leaves every slot as it was`, () => {
    const rs = new ReedSolomon(4, 2, { backend });
    const shards = makeShards(4, 2, 64, prng(6).bytes);
    rs.encode(shards);
    const lost = clone(shards);
    lost[0] = lost[2] = lost[5] = null;
    const before = clone(lost);
    for (const fn of [() => rs.reconstruct(lost), () => rs.reconstructData(lost)]) {
      try {
        fn();
        assert.unreachable('expected TooFewShardsError');
      } catch (e) {
        assert.instance(e, TooFewShardsError);
        assert.is((e as TooFewShardsError).code, 'ERR_TFW_TOO_FEW_SHARDS');
        assert.match((e as Error).message, /3 present, at least 4 needed/);
      }
      assert.equal(lost, before);
    }
    assert.throws(() => rs.reconstruct([null, null, null, null, null, null]), (e: Error) => e instanceof TooFewShardsError);
    // mismatched lengths among survivors: refused before any slot is filled
    const mixed = clone(shards);
    mixed[0] = null;
    mixed[4] = new Uint8Array(63);
    assert.throws(() => rs.reconstruct(mixed), /shards\[4\]: length 63/);
    assert.is(mixed[0], null);
  });

  test(`${backend}: split and join errors`, () => {
    const rs = new ReedSolomon(3, 2, { backend });
    assert.throws(() => rs.split(new Uint8Array(0)), (e: Error) => e instanceof ShortDataError && (e as ShortDataError).code === 'ERR_TFW_SHORT_DATA');
    const shards = rs.split(new Uint8Array(30).fill(1));
    assert.throws(() => rs.join(shards, 31), (e: Error) => e instanceof ShortDataError && /31 bytes asked, the data shards hold only 30/.test(e.message));
    assert.throws(() => rs.join(shards.slice(0, 2), 5), (e: Error) => e instanceof ShardCountError);
    assert.throws(() => rs.join(shards, -1), (e: Error) => e instanceof RangeError);
    const gap: Shards = shards.slice();
    gap[1] = null;
    assert.throws(() => rs.join(gap, 20), /shards\[1\]: data shard missing/);
    assert.equal(rs.join(gap, 10), new Uint8Array(10).fill(1)); // shard 1 not needed for 10 bytes
  });
}

test('each build reports its variant; the scalar one carries no SIMD', () => {
  for (const backend of BACKENDS) {
    if (backend === 'native') continue;
    const simd = (instantiateKernel('erasure', backend).exports.simd as () => number)();
    assert.is(simd, backend === 'wasm-simd' ? 1 : 0, backend);
  }
});

for (const backend of BACKENDS.filter((b) => b !== 'native')) {
  test(`${backend}: wasm memory is reserved at construction and never grows per call`, () => {
    const rs = new ReedSolomon(10, 4, { backend });
    const engine = (rs as unknown as { engine: ErasureEngine }).engine;
    const before = engine.memoryBytes;
    let seed = 3;
    const full = makeShards(10, 4, 300_001, (n) => {
      const b = new Uint8Array(n);
      seed = xorshift32Bytes(seed, b);
      return b;
    });
    for (let r = 0; r < 3; r++) {
      rs.encode(full);
      const lost = clone(full);
      lost[0] = lost[5] = lost[11] = null;
      rs.reconstruct(lost);
      assert.ok(rs.verify(lost));
    }
    assert.is(engine.memoryBytes, before);
  });
}

test('a null parity slot is allocated by encode; all backends agree byte for byte', () => {
  const data = makeShards(10, 4, 4099, prng(9).bytes);
  const outs = BACKENDS.map((backend) => {
    const s = clone(data);
    new ReedSolomon(10, 4, { backend }).encode(s);
    return s;
  });
  for (const o of outs) assert.equal(o, outs[0]);
});

test.run();
