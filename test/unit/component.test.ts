// The tfw:kernels WebAssembly component (wit/kernels.wit, built by `make components`
// and transpiled by jco) against the core modules behind the TypeScript APIs
// (wasm-simd): byte-identical on the RFC 8439 / XChaCha vectors, klauspost's
// Reed-Solomon fixtures and random FIB tables; its error cases; and its WIT.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { componentEmbed, componentNew, componentWit, transpile } from '@bytecodealliance/jco';
import {
  chacha20poly1305Open,
  chacha20poly1305Seal,
  xchacha20poly1305Seal,
} from '../../runtime/kernels/aead.js';
import { wasmSimdSupported } from '../../runtime/kernels/backend.js';
import { ReedSolomon, xorshift32Bytes, type Shards } from '../../runtime/kernels/erasure.js';
import { Fib, formatAddress } from '../../runtime/kernels/forward.js';
import { field, loadVectors } from '../vectors/aead-fixtures.js';
import { hex, prng } from '../helpers.js';
import { componentFile, errorCase, loadComponent } from './component-helpers.js';

const c = await loadComponent();
const backend = wasmSimdSupported() ? 'wasm-simd' : 'wasm-scalar';
const rfc = loadVectors('aead-rfc8439.json');
const xv = loadVectors('aead-xchacha.json');
const none = new Uint8Array(0);

test('AEAD: RFC 8439 §2.8.2 and A.5 vectors, same bytes as the core module', () => {
  for (const v of rfc.aead) {
    const [key, nonce, aad, pt] = [field(v, 'key'), field(v, 'nonce'), field(v, 'aad'), field(v, 'plaintext')];
    const sealed = c.aead.seal(key, nonce, pt, aad);
    assert.is(hex(sealed), hex(field(v, 'ciphertext')) + hex(field(v, 'tag')), v.section);
    assert.is(hex(sealed), hex(chacha20poly1305Seal(key, nonce, pt, aad, { backend })), v.section);
    assert.is(hex(c.aead.open(key, nonce, sealed, aad)), hex(pt), v.section);
    const bad = sealed.slice();
    bad[0] ^= 1;
    assert.is(errorCase(() => c.aead.open(key, nonce, bad, aad)), 'auth-failed', v.section);
  }
});

test('AEAD: XChaCha20-Poly1305 draft-irtf-cfrg-xchacha-03 vector, same bytes as the core module', () => {
  const v = xv.aead;
  const [key, nonce, aad, pt] = [field(v, 'key'), field(v, 'nonce'), field(v, 'aad'), field(v, 'plaintext')];
  const sealed = c.aead.xchachaSeal(key, nonce, pt, aad);
  assert.is(hex(sealed), hex(field(v, 'ciphertext')) + hex(field(v, 'tag')));
  assert.is(hex(sealed), hex(xchacha20poly1305Seal(key, nonce, pt, aad, { backend })));
  assert.is(hex(c.aead.xchachaOpen(key, nonce, sealed, aad)), hex(pt));
  assert.is(errorCase(() => c.aead.xchachaOpen(key, nonce, sealed, aad.subarray(1))), 'auth-failed');
});

test('AEAD: batch of 64 packets (0..1420 bytes) equals per-packet core seals; open-batch marks forgeries', () => {
  const rng = prng();
  const key = rng.bytes(32);
  const packets = Array.from({ length: 64 }, (_, i) => ({
    nonce: rng.bytes(12),
    data: rng.bytes(i === 0 ? 0 : i === 1 ? 1420 : rng.int(1421)),
    aad: rng.bytes(i % 3 === 0 ? 0 : rng.int(40)),
  }));
  const sealed = c.aead.sealBatch(key, packets);
  assert.is(sealed.length, 64);
  packets.forEach((p, i) => assert.is(hex(sealed[i]), hex(chacha20poly1305Seal(key, p.nonce, p.data, p.aad, { backend })), `packet ${i}`));
  const tampered = new Set([3, 17, 63]);
  const back = c.aead.openBatch(
    key,
    packets.map((p, i) => {
      const s = sealed[i].slice();
      if (tampered.has(i)) s[s.length - 1] ^= 0x80;
      return { nonce: p.nonce, data: s, aad: p.aad };
    }),
  );
  back.forEach((b, i) => {
    if (tampered.has(i)) assert.is(b, undefined, `packet ${i} forged`);
    else assert.is(hex(b!), hex(chacha20poly1305Open(key, packets[i].nonce, sealed[i], packets[i].aad, { backend })), `packet ${i}`);
  });
  assert.is(c.aead.openBatch(key, [{ nonce: packets[0].nonce, data: new Uint8Array(15), aad: none }])[0], undefined, 'shorter than a tag');
});

test('AEAD: packed batches (one buffer each way) equal per-packet core seals and opens', () => {
  const rng = prng(7);
  const key = rng.bytes(32);
  const lengths = Array.from({ length: 40 }, (_, i) => (i === 0 ? 0 : i === 1 ? 1420 : rng.int(1500)));
  const nonces = rng.bytes(12 * lengths.length);
  const data = rng.bytes(lengths.reduce((a, b) => a + b, 0));
  const sealed = c.aead.sealPacked(key, { nonces, data, lengths: Uint32Array.from(lengths) });
  const expected: Uint8Array[] = [];
  let off = 0;
  lengths.forEach((len, i) => {
    expected.push(chacha20poly1305Seal(key, nonces.subarray(i * 12, i * 12 + 12), data.subarray(off, off + len), undefined, { backend }));
    off += len;
  });
  assert.is(hex(sealed), expected.map(hex).join(''));
  const forged = sealed.slice();
  forged[lengths[0] + 16 + 5] ^= 4; // packet 1's ciphertext
  const opened = c.aead.openPacked(key, { nonces, data: forged, lengths: Uint32Array.from(lengths, (l) => l + 16) });
  assert.equal(opened.verified, lengths.map((_, i) => i !== 1));
  off = 0;
  lengths.forEach((len, i) => {
    const got = opened.data.subarray(off, off + len);
    if (i === 1) assert.is(hex(got), hex(new Uint8Array(len)), 'a forged packet leaves zeros');
    else assert.is(hex(got), hex(chacha20poly1305Open(key, nonces.subarray(i * 12, i * 12 + 12), expected[i], undefined, { backend })), `packet ${i}`);
    off += len;
  });
  assert.is(errorCase(() => c.aead.sealPacked(key, { nonces, data: data.subarray(1), lengths })), 'bad-batch');
  assert.is(errorCase(() => c.aead.sealPacked(key, { nonces: nonces.subarray(12), data, lengths })), 'bad-nonce');
  assert.is(errorCase(() => c.aead.openPacked(key, { nonces: nonces.subarray(0, 12), data: new Uint8Array(15), lengths: [15] })), 'bad-batch');
});

test('AEAD: error cases name the bad input', () => {
  const k = new Uint8Array(32);
  const n = new Uint8Array(12);
  assert.is(errorCase(() => c.aead.seal(k.subarray(1), n, none, none)), 'bad-key');
  assert.is(errorCase(() => c.aead.seal(k, new Uint8Array(24), none, none)), 'bad-nonce');
  assert.is(errorCase(() => c.aead.xchachaSeal(k, n, none, none)), 'bad-nonce');
  assert.is(errorCase(() => c.aead.open(k, n, new Uint8Array(15), none)), 'too-short');
  assert.is(errorCase(() => c.aead.sealBatch(k, [{ nonce: n, data: none, aad: none }, { nonce: k, data: none, aad: none }])), 'bad-nonce');
  assert.is(errorCase(() => c.aead.openBatch(new Uint8Array(31), [])), 'bad-key');
  // The instance keeps working after errors.
  assert.is(c.aead.seal(k, n, none, none).length, 16);
});

interface ErasureVector {
  k: number;
  m: number;
  size: number;
  seed: number;
  parity: { sha256: string; head: string }[];
}
const erasureVectors: ErasureVector[] = JSON.parse(readFileSync(new URL('../vectors/erasure/erasure.json', import.meta.url), 'utf8'));
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function vectorData(v: ErasureVector): Uint8Array[] {
  let seed = v.seed;
  return Array.from({ length: v.k }, () => {
    const s = new Uint8Array(v.size);
    seed = xorshift32Bytes(seed, s);
    return s;
  });
}

test('erasure: klauspost/reedsolomon parity fixtures, same bytes as the core module', () => {
  for (const v of erasureVectors) {
    const data = vectorData(v);
    const parity = c.erasure.encode(v.k, v.m, data);
    assert.is(parity.length, v.m);
    parity.forEach((p, i) => assert.is(sha256(p), v.parity[i].sha256, `(${v.k},${v.m}) size ${v.size} parity ${i}`));
    const core: Shards = [...data, ...Array.from({ length: v.m }, () => null)];
    new ReedSolomon(v.k, v.m, { backend }).encode(core);
    parity.forEach((p, i) => assert.is(hex(p), hex(core[v.k + i]!), `(${v.k},${v.m}) parity ${i} vs core`));
    assert.ok(c.erasure.verify(v.k, v.m, [...data, ...parity]));
    const bad = parity.map((p) => p.slice());
    bad[v.m - 1][v.size - 1] ^= 1;
    assert.not.ok(c.erasure.verify(v.k, v.m, [...data, ...bad]), 'a flipped parity byte');
  }
});

test('erasure: reconstruct from random losses of up to m shards equals the originals and the core module', () => {
  const rng = prng();
  for (const v of erasureVectors) {
    const data = vectorData(v);
    const all = [...data, ...c.erasure.encode(v.k, v.m, data)];
    for (let round = 0; round < 3; round++) {
      const lose = new Set<number>();
      const count = 1 + rng.int(v.m);
      while (lose.size < count) lose.add(rng.int(v.k + v.m));
      const holes = all.map((s, i) => (lose.has(i) ? undefined : s));
      const got = c.erasure.reconstruct(v.k, v.m, holes);
      const core: Shards = all.map((s, i) => (lose.has(i) ? null : s.slice()));
      new ReedSolomon(v.k, v.m, { backend }).reconstruct(core);
      got.forEach((s, i) => {
        assert.is(hex(s), hex(all[i]), `(${v.k},${v.m}) lost ${[...lose]} shard ${i}`);
        assert.is(hex(s), hex(core[i]!), `(${v.k},${v.m}) shard ${i} vs core`);
      });
    }
  }
});

test('erasure: error cases', () => {
  const s = (n: number, size = 8) => Array.from({ length: n }, () => new Uint8Array(size));
  assert.is(errorCase(() => c.erasure.encode(0, 2, [])), 'bad-shape');
  assert.is(errorCase(() => c.erasure.encode(200, 57, s(200))), 'bad-shape');
  assert.is(errorCase(() => c.erasure.encode(4, 2, s(3))), 'bad-shard-count');
  assert.is(errorCase(() => c.erasure.encode(2, 1, [new Uint8Array(8), new Uint8Array(9)])), 'bad-shard-size');
  assert.is(errorCase(() => c.erasure.encode(2, 1, s(2, 0))), 'bad-shard-size');
  assert.is(errorCase(() => c.erasure.verify(2, 1, s(2))), 'bad-shard-count');
  assert.is(errorCase(() => c.erasure.reconstruct(4, 2, [undefined, undefined, undefined, ...s(3)])), 'too-few-shards');
  assert.is(errorCase(() => c.erasure.reconstruct(2, 1, [new Uint8Array(4), undefined, new Uint8Array(5)])), 'bad-shard-size');
  assert.is(c.erasure.encode(2, 1, s(2))[0].length, 8, 'still usable');
});

// ---- FIB ----
type Rng = ReturnType<typeof prng>;
function randomPrefixes(rng: Rng, width: number, n: number): Array<{ bytes: Uint8Array; len: number; nh: number }> {
  const out: Array<{ bytes: Uint8Array; len: number; nh: number }> = [];
  for (let i = 0; i < n; i++) {
    // Nest most prefixes inside an earlier one, so deletes fall back to covers.
    const base = i > 0 && rng.int(3) > 0 ? out[rng.int(out.length)] : null;
    const bytes = base ? base.bytes.slice() : rng.bytes(width);
    const minLen = base ? base.len : 0;
    const len = Math.min(width * 8, minLen + rng.int(width * 8 - minLen + 1));
    for (let b = minLen; b < width * 8; b++) if (b >= (base?.len ?? 0) && rng.int(2)) bytes[b >> 3] ^= 0x80 >> (b & 7);
    for (let b = len; b < width * 8; b++) bytes[b >> 3] &= ~(0x80 >> (b & 7));
    out.push({ bytes, len, nh: rng.int(65536) });
  }
  return out;
}

for (const family of ['ipv4', 'ipv6'] as const) {
  test(`forward: ${family} fib resource gives the core Fib's next hops through inserts, replaces and deletes`, () => {
    const width = family === 'ipv4' ? 4 : 16;
    const rng = prng();
    const fib = c.forward.Fib.create(family);
    try {
      const core = new Fib(family, { backend });
      const routes = randomPrefixes(rng, width, 400);
      const probes = [...routes.map((r) => r.bytes), ...Array.from({ length: 400 }, () => rng.bytes(width))];
      // Probe around each prefix too: its first address with low bits flipped.
      for (const r of routes.slice(0, 100)) {
        const p = r.bytes.slice();
        p[width - 1] ^= 1 + rng.int(255);
        probes.push(p);
      }
      const packed = new Uint8Array(probes.length * width);
      probes.forEach((p, i) => packed.set(p, i * width));
      const check = (label: string) => {
        const want = new Int32Array(probes.length);
        core.lookupBatch(packed, want);
        probes.forEach((p, i) => assert.is(fib.lookup(p), want[i], `${label}: ${formatAddress(p)}`));
        assert.equal(Array.from(fib.lookupBatch(packed)), Array.from(want), `${label}: batch`);
      };
      check('empty');
      for (const r of routes) {
        fib.insert(r.bytes, r.len, r.nh);
        core.insert(`${formatAddress(r.bytes)}/${r.len}`, r.nh);
      }
      check('inserted');
      for (const r of routes.slice(0, 50)) {
        r.nh = rng.int(65536);
        fib.insert(r.bytes, r.len, r.nh);
        core.insert(`${formatAddress(r.bytes)}/${r.len}`, r.nh);
      }
      check('replaced');
      for (const r of routes.filter((_, i) => i % 2 === 0)) {
        const text = `${formatAddress(r.bytes)}/${r.len}`;
        assert.is(fib.delete(r.bytes, r.len), core.delete(text), `delete ${text}`);
      }
      check('deleted half');
      assert.not.ok(fib.delete(routes[0].bytes, routes[0].len), 'second delete of a prefix');
      // Host bits beyond the length are ignored, as in the core Fib.
      const host = routes[1].bytes.slice();
      host[width - 1] |= 1;
      if (routes[1].len < width * 8) {
        fib.insert(host, routes[1].len, 7);
        core.insert(`${formatAddress(host)}/${routes[1].len}`, 7);
        check('host bits');
      }
      assert.is(errorCase(() => fib.insert(new Uint8Array(width + 1), 8, 1)), 'bad-address');
      assert.is(errorCase(() => fib.insert(new Uint8Array(width), width * 8 + 1, 1)), 'bad-length');
      assert.is(errorCase(() => fib.lookup(new Uint8Array(width - 1))), 'bad-address');
      assert.is(errorCase(() => fib.lookupBatch(new Uint8Array(width + 1))), 'bad-address');
      assert.is(errorCase(() => c.forward.Fib.create(family)), 'family-in-use');
    } finally {
      fib[Symbol.dispose]();
    }
    // Dropping the resource empties the family's table for the next one.
    const again = c.forward.Fib.create(family);
    try {
      assert.is(again.lookup(new Uint8Array(width)), -1);
      assert.equal(Array.from(again.lookupBatch(rng.bytes(width * 64))), new Array(64).fill(-1));
    } finally {
      again[Symbol.dispose]();
    }
  });
}

// ---- WIT ----
const strip = (s: string) => s.replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\s+/g, ' ').trim();
const witSource = readFileSync(new URL('../../wit/kernels.wit', import.meta.url), 'utf8');

test('jco wit of the component exports the interfaces of world kernels in wit/', async () => {
  const printed = await componentWit(new Uint8Array(readFileSync(componentFile)));
  const pkg = witSource.match(/^package ([^;]+);/m)![1];
  const [ns, rest] = pkg.split(':');
  const [name, version] = rest.split('@');
  const world = witSource.match(/world kernels \{([^}]*)\}/)![1];
  const want = [...world.matchAll(/export (\S+);/g)].map((m) => `export ${ns}:${name}/${m[1]}@${version};`);
  const got = strip(printed).match(/world \S+ \{([^}]*)\}/)![1].trim().split(/ (?=export)/);
  assert.equal(got.sort(), want.sort());
});

test('the component has exactly the types of wit/: its jco bindings equal those of a component made from wit/ alone', async () => {
  const bindings = async (component: Uint8Array) => {
    const { files } = await transpile(component, { name: 'tfw-kernels', quiet: true });
    return Object.keys(files)
      .filter((f) => f.endsWith('.d.ts'))
      .sort()
      .map((f) => `${f}\n${strip(Buffer.from(files[f]).toString())}`)
      .join('\n');
  };
  const dummy = await componentNew(await componentEmbed({ dummy: true, witSource, world: 'kernels' }));
  const real = await bindings(new Uint8Array(readFileSync(componentFile)));
  assert.ok(real.includes('lookupBatch'), 'bindings generated');
  assert.fixture(real, await bindings(dummy));
});

test.run();
