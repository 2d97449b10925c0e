/**
 * The addon's C AEAD kernel (runtime/kernels/native.ts `nativeAead`, native/src/
 * chacha20poly1305.c): RFC 8439 vectors (2.4.2, 2.5.2, 2.8.2, A.5),
 * draft-irtf-cfrg-xchacha-03 2.2.1 (HChaCha20), cross-checks against node:crypto
 * (ChaCha20-Poly1305, ChaCha20) and libsodium (XChaCha20-Poly1305) at every
 * length class around the 64- and 256-byte block boundaries, batch API, tamper
 * rejection and argument errors; then, for every kernel this CPU runs (AVX-512,
 * AVX2, NEON, portable; `nativeAead.setIsa`, checked to have switched), the
 * node:crypto cross-checks at the SIMD group boundaries (256/512/1,024-byte
 * groups, the 192-byte first group of a seal, the 256-byte tail cut-over) and random lengths up to 70,000 bytes with AAD,
 * Poly1305 against a BigInt reference on worst-case (all-ones) inputs, the
 * counter wrap against the portable kernel, and the batch/pool entry points.
 * Skips (with a message) without the addon.
 */
import { createCipheriv } from 'node:crypto';
import { readFileSync } from 'node:fs';
import sodium from 'libsodium-wrappers';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AEAD_CHACHA20POLY1305 as C20, AEAD_XCHACHA20POLY1305 as X20, nativeAead, nativeAvailable, nativeLoadError } from '../../runtime/kernels/native.js';
import { hex, prng, unhex } from '../helpers.js';

const have = nativeAvailable();
if (!have) console.log(`tfw: test: native-aead skipped: ${nativeLoadError()}`);
const maybe = have ? test : test.skip;
const r = prng();
const LENGTHS = [0, 1, 15, 16, 17, 63, 64, 65, 127, 255, 256, 257, 511, 1420, 4096 + 3];

function nodeSeal(key: Uint8Array, nonce: Uint8Array, pt: Uint8Array, aad: Uint8Array): Uint8Array {
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  c.setAAD(aad, { plaintextLength: pt.length });
  return new Uint8Array(Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]));
}

function seal(alg: number, key: Uint8Array, nonce: Uint8Array, pt: Uint8Array, aad: Uint8Array | null): Uint8Array {
  const out = new Uint8Array(pt.length + 16);
  assert.is(nativeAead.seal(alg, key, nonce, pt, aad, out), pt.length + 16);
  return out;
}

maybe('RFC 8439 section 2.8.2: AEAD encryption vector', () => {
  const pt = new TextEncoder().encode("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
  const key = unhex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
  const out = seal(C20, key, unhex('070000004041424344454647'), pt, unhex('50515253c0c1c2c3c4c5c6c7'));
  assert.is(
    hex(out),
    'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116' +
      '1ae10b594f09e26a7e902ecbd0600691',
  );
});

maybe('RFC 8439 appendix A.5: AEAD decryption vector', () => {
  const key = unhex('1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0');
  const sealed = unhex(
    '64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb24c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf' +
      '332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c8559797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4' +
      'b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523eaf4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a' +
      '0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a1049e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29' +
      'a6ad5cb4022b02709b' + 'eead9d67890cbb22392336fea1851f38',
  );
  const out = new Uint8Array(sealed.length - 16);
  assert.is(nativeAead.open(C20, key, unhex('000000000102030405060708'), sealed, unhex('f33388860000000000004e91'), out), 265);
  const text = Buffer.from(out).toString('utf8');
  assert.ok(text.startsWith('Internet-Drafts are draft documents valid for a maximum of six months'));
  assert.ok(text.endsWith('as /\u201cwork in progress./\u201d'));
});

maybe('RFC 8439 sections 2.4.2 and 2.5.2: ChaCha20 and Poly1305 vectors', () => {
  const key = unhex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
  const pt = new TextEncoder().encode("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
  const out = new Uint8Array(pt.length);
  nativeAead.chacha20(key, unhex('000000000000004a00000000'), 1, pt, out);
  assert.is(hex(out.subarray(0, 32)), '6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b');
  assert.is(hex(out.subarray(96)), '5af90bbf74a35be6b40b8eedf2785e42874d');
  const tag = new Uint8Array(16);
  nativeAead.poly1305(unhex('85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b'), new TextEncoder().encode('Cryptographic Forum Research Group'), tag);
  assert.is(hex(tag), 'a8061dc1305136c6c22b8baf0c0127a9');
});

maybe('draft-irtf-cfrg-xchacha-03 section 2.2.1: HChaCha20 vector', () => {
  const out = new Uint8Array(32);
  nativeAead.hchacha20(unhex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'), unhex('000000090000004a0000000031415927'), out);
  assert.is(hex(out), '82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc');
});

maybe('ChaCha20-Poly1305 equals node:crypto at every length class, and opens back', () => {
  for (const len of LENGTHS) {
    for (const aadLen of [0, 5, 16, 33]) {
      const key = r.bytes(32), nonce = r.bytes(12), pt = r.bytes(len), aad = r.bytes(aadLen);
      const out = seal(C20, key, nonce, pt, aadLen ? aad : null);
      assert.is(hex(out), hex(nodeSeal(key, nonce, pt, aad)), `len ${len} aad ${aadLen}`);
      const back = new Uint8Array(len);
      assert.is(nativeAead.open(C20, key, nonce, out, aad, back), len);
      assert.equal(back, pt);
    }
  }
});

maybe('200 random plaintext/aad lengths (0..3000 B) equal node:crypto', () => {
  for (let i = 0; i < 200; i++) {
    const len = r.int(3001), aadLen = r.int(70);
    const key = r.bytes(32), nonce = r.bytes(12), pt = r.bytes(len), aad = r.bytes(aadLen);
    assert.is(hex(seal(C20, key, nonce, pt, aad)), hex(nodeSeal(key, nonce, pt, aad)), `len ${len} aad ${aadLen}`);
  }
});

maybe('ChaCha20 keystream equals node:crypto chacha20 from any counter', () => {
  for (const len of LENGTHS) {
    const key = r.bytes(32), nonce = r.bytes(12), data = r.bytes(len), counter = r.int(1000);
    const iv = new Uint8Array(16);
    new DataView(iv.buffer).setUint32(0, counter, true);
    iv.set(nonce, 4);
    const c = createCipheriv('chacha20', key, iv);
    const exp = Buffer.concat([c.update(data), c.final()]);
    const out = new Uint8Array(len);
    nativeAead.chacha20(key, nonce, counter, data, out);
    assert.is(hex(out), exp.toString('hex'), `len ${len}`);
  }
});

maybe('XChaCha20-Poly1305 equals libsodium at every length class', async () => {
  await sodium.ready;
  for (const len of LENGTHS) {
    const key = r.bytes(32), nonce = r.bytes(24), pt = r.bytes(len), aad = r.bytes(len % 20);
    const exp = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(pt, aad, null, nonce, key);
    const out = seal(X20, key, nonce, pt, aad);
    assert.is(hex(out), hex(exp), `len ${len}`);
    const back = new Uint8Array(len);
    assert.is(nativeAead.open(X20, key, nonce, out, aad, back), len);
    assert.equal(back, pt);
  }
});

maybe('any flipped bit in ciphertext, tag, aad or nonce is rejected and the output zeroed', () => {
  const key = r.bytes(32), nonce = r.bytes(12), pt = r.bytes(100), aad = r.bytes(10);
  const sealed = seal(C20, key, nonce, pt, aad);
  const out = new Uint8Array(100);
  for (const pos of [0, 50, 99, 100, 115]) {
    const bad = sealed.slice();
    bad[pos] ^= 0x01;
    out.fill(7);
    assert.is(nativeAead.open(C20, key, nonce, bad, aad, out), -1, `flip at ${pos}`);
    assert.ok(out.every((x) => x === 0));
  }
  const badAad = aad.slice();
  badAad[3] ^= 0x80;
  assert.is(nativeAead.open(C20, key, nonce, sealed, badAad, out), -1);
  const badNonce = nonce.slice();
  badNonce[11] ^= 1;
  assert.is(nativeAead.open(C20, key, badNonce, sealed, aad, out), -1);
});

maybe('in place: seal and open on the same memory (a wasm-memory view)', () => {
  const heap = new Uint8Array(new WebAssembly.Memory({ initial: 1 }).buffer);
  const key = r.bytes(32), nonce = r.bytes(12), pt = r.bytes(1420);
  const view = heap.subarray(333, 333 + 1420 + 16);
  view.set(pt);
  nativeAead.seal(C20, key, nonce, view.subarray(0, 1420), null, view);
  assert.is(hex(view), hex(nodeSeal(key, nonce, pt, new Uint8Array(0))));
  assert.is(nativeAead.open(C20, key, nonce, view, null, view), 1420);
  assert.equal(view.subarray(0, 1420), pt);
});

maybe('batch seal/open in place with per-packet keys and nonces', () => {
  for (const alg of [C20, X20]) {
    const n = 20;
    const nl = alg === C20 ? 12 : 24;
    const keys = r.bytes(32 * n), nonces = r.bytes(nl * n);
    const pts = Array.from({ length: n }, (_, i) => r.bytes(LENGTHS[i % LENGTHS.length]));
    const bufs = pts.map((p) => {
      const b = new Uint8Array(p.length + 16 + 5);
      b.set(p);
      return b;
    });
    const sizes = new Int32Array(pts.map((p) => p.length));
    assert.is(nativeAead.sealBatch(alg, keys, nonces, bufs, sizes, n), n);
    for (let i = 0; i < n; i++) {
      assert.is(sizes[i], pts[i].length + 16);
      const single = seal(alg, keys.subarray(32 * i, 32 * i + 32), nonces.subarray(nl * i, nl * i + nl), pts[i], null);
      assert.equal(bufs[i].subarray(0, sizes[i]), single, `packet ${i}`);
    }
    bufs[3][0] ^= 1; // tamper with one packet
    sizes[5] = 10; // and make one too short to hold a tag
    assert.is(nativeAead.openBatch(alg, keys, nonces, bufs, sizes, n), n - 2);
    for (let i = 0; i < n; i++) {
      if (i === 3 || i === 5) assert.is(sizes[i], -1, `packet ${i} rejected`);
      else assert.equal(bufs[i].subarray(0, sizes[i]), pts[i], `packet ${i} opened`);
    }
  }
  // One shared key for the whole batch.
  const key = r.bytes(32), nonces = r.bytes(24);
  const b = [new Uint8Array(20), new Uint8Array(20)];
  const s = new Int32Array([4, 4]);
  assert.is(nativeAead.sealBatch(C20, key, nonces, b, s, 2), 2);
  assert.equal(b[0].subarray(0, 20), seal(C20, key, nonces.subarray(0, 12), new Uint8Array(4), null));
});

/** Lays out an AeadPacketPool (runtime/kernels/aead-pool.ts contract) by hand in a wasm memory at `base`. */
function poolLayout(mem: Uint8Array, base: number, S: number, B: number, K: number, N: number) {
  const dv = new DataView(mem.buffer, mem.byteOffset);
  const a16 = (x: number) => (x + 15) & ~15;
  let at = base + 64;
  const keysBase = at;
  at = a16(at + K * 32);
  const arr: number[] = [];
  for (let i = 0; i < 6; i++) {
    arr.push(at);
    at = a16(at + N * 4);
  }
  const nonce = at;
  at = a16(at + N * 12);
  const status = at;
  at = a16(at + N);
  const slotsBase = at;
  [slotsBase, B, S, keysBase, K, N, ...arr, nonce, status].forEach((v, i) => dv.setUint32(base + 4 * i, v, true));
  const set = (e: number, f: number, v: number) => dv.setUint32(arr[f] + 4 * e, v, true);
  return {
    slot: (i: number) => mem.subarray(slotsBase + i * B, slotsBase + (i + 1) * B),
    key: (k: number) => mem.subarray(keysBase + 32 * k, keysBase + 32 * k + 32),
    nonce: (e: number) => mem.subarray(nonce + 12 * e, nonce + 12 * e + 12),
    entry(e: number, slot: number, off: number, len: number, aadOff: number, aadLen: number, key: number) {
      [slot, off, len, aadOff, aadLen, key].forEach((v, f) => set(e, f, v));
    },
    len: (e: number) => dv.getUint32(arr[2] + 4 * e, true),
    status: (e: number) => mem[status + e],
  };
}

maybe('packet-pool batch (AeadPacketPool layout): seal/open in place with AAD, status per entry', () => {
  const mem = new Uint8Array(new WebAssembly.Memory({ initial: 2 }).buffer);
  const base = 4096;
  const p = poolLayout(mem, base, 8, 256, 3, 8);
  for (let k = 0; k < 3; k++) p.key(k).set(r.bytes(32));
  const plain: Uint8Array[] = [];
  const aads: Uint8Array[] = [];
  for (let e = 0; e < 6; e++) {
    const len = [0, 1, 64, 100, 200, 223][e];
    plain.push(r.bytes(len));
    p.slot(e).set(plain[e], 16);
    p.slot(e).set(r.bytes(16), 0); // header bytes used as AAD by odd entries
    aads.push(e % 2 ? p.slot(e).slice(0, 16) : new Uint8Array(0));
    p.nonce(e).set(r.bytes(12));
    p.entry(e, e, 16, len, 0, e % 2 ? 16 : 0, e % 3);
  }
  p.entry(6, 9, 0, 10, 0, 0, 0); // slot out of range
  p.entry(7, 7, 16, 230, 0, 0, 0); // sealed packet would not fit the slot
  assert.is(nativeAead.poolRun(mem, base, 8, false), 2);
  for (let e = 0; e < 6; e++) {
    assert.is(p.status(e), 0);
    assert.is(p.len(e), plain[e].length + 16);
    assert.is(hex(p.slot(e).subarray(16, 16 + p.len(e))), hex(nodeSeal(p.key(e % 3), p.nonce(e), plain[e], aads[e])), `entry ${e}`);
  }
  assert.equal([p.status(6), p.status(7)], [2, 2]);
  p.slot(3)[20] ^= 1; // tamper
  const kept = p.slot(3).slice();
  assert.is(nativeAead.poolRun(mem, base, 6, true), 1);
  for (let e = 0; e < 6; e++) {
    if (e === 3) {
      assert.is(p.status(3), 1);
      assert.equal(p.slot(3), kept, 'a failed packet keeps its bytes');
      continue;
    }
    assert.is(p.status(e), 0);
    assert.equal(p.slot(e).subarray(16, 16 + p.len(e)), plain[e]);
  }
  const small = new Uint8Array(100);
  new DataView(small.buffer).setUint32(4, 64, true); // slotBytes
  new DataView(small.buffer).setUint32(8, 4, true); // 4 slots of 64 bytes: past the end
  assert.throws(() => nativeAead.poolRun(small, 0, 1, false), /descriptor: slots or keys outside the 100-byte memory/);
  assert.throws(() => nativeAead.poolRun(small, 60, 1, false), /base: descriptor at 60 does not fit 100 bytes/);
});

maybe('bad lengths are refused with the field named', () => {
  const out = new Uint8Array(64);
  assert.throws(() => nativeAead.seal(C20, new Uint8Array(31), new Uint8Array(12), new Uint8Array(1), null, out), /key: expected 32 bytes, got 31/);
  assert.throws(() => nativeAead.seal(X20, new Uint8Array(32), new Uint8Array(12), new Uint8Array(1), null, out), /nonce: expected 24 bytes, got 12/);
  assert.throws(() => nativeAead.seal(C20, new Uint8Array(32), new Uint8Array(12), new Uint8Array(60), null, out), /out: expected at least 76 bytes/);
  assert.throws(() => nativeAead.open(C20, new Uint8Array(32), new Uint8Array(12), new Uint8Array(15), null, out), /sealed: expected at least 16 bytes/);
  assert.throws(() => nativeAead.seal(7, new Uint8Array(32), new Uint8Array(12), new Uint8Array(1), null, out), /alg: expected 0/);
  assert.throws(() => nativeAead.seal(C20, new Uint8Array(32), new Uint8Array(12), out.subarray(0, 10), null, out.subarray(1)), /out: must be the input's memory/);
  assert.throws(() => nativeAead.sealBatch(C20, new Uint8Array(32), new Uint8Array(12), [new Uint8Array(10)], new Int32Array([1]), 1), /sizes\[0\]: expected 0\.\.0/);
  assert.throws(() => nativeAead.seal(C20, 'k' as never, new Uint8Array(12), new Uint8Array(1), null, out), /key: expected a Uint8Array/);
});

// ---------------------------------------------------------------------------
// Every kernel this CPU runs, forced one by one.

const ISAS = ['avx512', 'avx2', 'neon', 'portable'] as const;
type Isa = (typeof ISAS)[number];

/** Kernels this CPU must be able to run, from /proc/cpuinfo (x86 flags) or the architecture (NEON is baseline on arm64). */
function expectedIsas(): Isa[] {
  const out: Isa[] = ['portable'];
  if (process.arch === 'arm64') out.push('neon');
  if (process.arch === 'x64') {
    let flags = '';
    try {
      flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '';
    } catch {
      // no /proc: only the portable kernel is required
    }
    const f = new Set(flags.trim().split(/\s+/));
    if (f.has('avx2')) out.push('avx2');
    if (f.has('avx512f')) out.push('avx512');
  }
  return out;
}

/** Runs fn under every kernel the addon accepts here, asserting each switch took; returns the ones run. */
function forEachIsa(fn: (isa: Isa) => void): Isa[] {
  const ran: Isa[] = [];
  try {
    for (const isa of ISAS) {
      const got = nativeAead.setIsa(isa);
      if (got !== isa) {
        assert.is(got, 'portable', `${isa} unavailable falls back to portable`);
        continue;
      }
      assert.is(nativeAead.isa(), isa);
      ran.push(isa);
      fn(isa);
    }
  } finally {
    nativeAead.setIsa('auto');
  }
  return ran;
}

/** Poly1305 (RFC 8439 section 2.5) in BigInt, written from the RFC text: the independent reference. */
function poly1305Ref(key: Uint8Array, msg: Uint8Array): Uint8Array {
  const le = (b: Uint8Array): bigint => b.reduceRight((acc, x) => (acc << 8n) | BigInt(x), 0n);
  const p = (1n << 130n) - 5n;
  const r = le(key.subarray(0, 16)) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
  let acc = 0n;
  for (let i = 0; i < msg.length; i += 16) {
    const block = msg.subarray(i, i + 16);
    acc = ((acc + le(block) + (1n << BigInt(8 * block.length))) * r) % p;
  }
  acc = (acc + le(key.subarray(16, 32))) & ((1n << 128n) - 1n);
  return Uint8Array.from({ length: 16 }, (_, i) => Number((acc >> BigInt(8 * i)) & 0xffn));
}

/**
 * Lengths on both sides of: the 64-byte block; the AEAD's first 4-block group (block 0 = Poly1305 key, then
 * 192 bytes); the 256/512/1,024-byte SIMD groups, alone (ChaCha20) and after the first group (AEAD); the
 * 256-byte tail left to the 4-block step; the 256-byte switch to the SIMD Poly1305.
 */
const SIMD_LENGTHS = [
  0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 191, 192, 193, 255, 256, 257, 319, 320, 447, 448, 449, 511, 512, 513, 575, 576,
  703, 704, 705, 767, 768, 769, 959, 960, 961, 1023, 1024, 1025, 1087, 1088, 1215, 1216, 1217, 1280, 1281, 1420, 1471, 1472,
  1473, 1535, 1536, 2047, 2048, 2049, 2239, 2240, 2241, 3071, 3072, 4096 + 3, 65536,
];

maybe('the kernel switch: auto picks the best, each CPU kernel can be forced, unknown names are refused', () => {
  const want = expectedIsas();
  const ran = forEachIsa(() => {});
  assert.equal([...ran].sort(), [...want].sort(), `kernels run (cpu offers ${want.join(', ')})`);
  assert.is(nativeAead.setIsa('auto'), want.includes('avx512') ? 'avx512' : want.includes('avx2') ? 'avx2' : want.includes('neon') ? 'neon' : 'portable');
  assert.throws(() => nativeAead.setIsa('sse9' as never), /isa: expected auto, avx512, avx2, neon or portable, got 'sse9'/);
  assert.is(nativeAead.isa(), nativeAead.setIsa('auto'), 'a refused name leaves the kernel alone');
});

maybe('every kernel: ChaCha20-Poly1305 equals node:crypto at the SIMD boundaries (AAD 0..300 B), and opens back', () => {
  const ran = forEachIsa((isa) => {
    for (const len of SIMD_LENGTHS) {
      const aadLen = [0, 12, 255, 256, 300][len % 5];
      const key = r.bytes(32), nonce = r.bytes(12), pt = r.bytes(len), aad = r.bytes(aadLen);
      const out = seal(C20, key, nonce, pt, aadLen ? aad : null);
      assert.is(hex(out), hex(nodeSeal(key, nonce, pt, aad)), `${isa}: len ${len} aad ${aadLen}`);
      const back = new Uint8Array(len);
      assert.is(nativeAead.open(C20, key, nonce, out, aad, back), len, `${isa}: open len ${len}`);
      assert.equal(back, pt);
      out[len >> 1] ^= 4;
      assert.is(nativeAead.open(C20, key, nonce, out, aad, back), -1, `${isa}: tampered len ${len}`);
    }
  });
  assert.ok(ran.length >= 2 || process.arch !== 'x64', `ran ${ran.join(', ')}`);
});

maybe('every kernel: 40 random lengths up to 70,000 B with random AAD equal node:crypto; XChaCha equals libsodium', async () => {
  await sodium.ready;
  forEachIsa((isa) => {
    for (let i = 0; i < 40; i++) {
      const len = r.int(70001), aadLen = r.int(600);
      const key = r.bytes(32), nonce = r.bytes(12), pt = r.bytes(len), aad = r.bytes(aadLen);
      assert.is(hex(seal(C20, key, nonce, pt, aad)), hex(nodeSeal(key, nonce, pt, aad)), `${isa}: len ${len} aad ${aadLen}`);
    }
    for (const len of [0, 200, 1024, 5000]) {
      const key = r.bytes(32), nonce = r.bytes(24), pt = r.bytes(len), aad = r.bytes(7);
      assert.is(hex(seal(X20, key, nonce, pt, aad)), hex(sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(pt, aad, null, nonce, key)), `${isa}: xchacha len ${len}`);
    }
  });
});

maybe('every kernel: ChaCha20 keystream equals node:crypto from any counter, in place too', () => {
  forEachIsa((isa) => {
    for (const len of SIMD_LENGTHS) {
      const key = r.bytes(32), nonce = r.bytes(12), data = r.bytes(len), counter = r.int(1_000_000);
      const iv = new Uint8Array(16);
      new DataView(iv.buffer).setUint32(0, counter, true);
      iv.set(nonce, 4);
      const c = createCipheriv('chacha20', key, iv);
      const exp = Buffer.concat([c.update(data), c.final()]).toString('hex');
      const out = new Uint8Array(len);
      nativeAead.chacha20(key, nonce, counter, data, out);
      assert.is(hex(out), exp, `${isa}: len ${len}`);
      nativeAead.chacha20(key, nonce, counter, data, data);
      assert.is(hex(data), exp, `${isa}: in place len ${len}`);
    }
  });
});

maybe('every kernel: the 32-bit block counter wraps mod 2^32 (section 2.4) exactly as the portable kernel', () => {
  const key = r.bytes(32), nonce = r.bytes(12), data = r.bytes(3000);
  const want = new Map<number, string>();
  nativeAead.setIsa('portable');
  for (const start of [0xffffffff, 0xfffffff9, 0xfffffff0, 0xffffffe5]) {
    const out = new Uint8Array(data.length);
    nativeAead.chacha20(key, nonce, start, data, out);
    want.set(start, hex(out));
    // the block after counter 2^32-1 is block 0 (keystream = the counter-0 output XOR its input)
    const zero = new Uint8Array(data.length);
    nativeAead.chacha20(key, nonce, 0, data, zero);
    const before = 2 ** 32 - start;
    assert.is(hex(out.subarray(64 * before, 64 * before + 128)), hex(zero.subarray(0, 128).map((x, i) => x ^ data[i] ^ data[64 * before + i])), `wrap from ${start}`);
  }
  forEachIsa((isa) => {
    for (const [start, exp] of want) {
      const out = new Uint8Array(data.length);
      nativeAead.chacha20(key, nonce, start, data, out);
      assert.is(hex(out), exp, `${isa}: counter from ${start}`);
    }
  });
});

maybe('every kernel: Poly1305 equals a BigInt reference, worst-case all-ones keys and messages included', () => {
  const ff = (n: number) => new Uint8Array(n).fill(0xff);
  const cases: Array<[Uint8Array, Uint8Array]> = [];
  for (const len of [0, 15, 16, 63, 64, 255, 256, 257, 511, 1024, 1040, 4099, 20000]) {
    cases.push([ff(32), ff(len)], [r.bytes(32), r.bytes(len)], [ff(32), r.bytes(len)]);
  }
  const want = cases.map(([k, m]) => hex(poly1305Ref(k, m)));
  forEachIsa((isa) => {
    cases.forEach(([k, m], i) => {
      const tag = new Uint8Array(16);
      nativeAead.poly1305(k, m, tag);
      assert.is(hex(tag), want[i], `${isa}: case ${i} len ${m.length}`);
    });
  });
});

maybe('every kernel: batch and packet-pool entry points equal node:crypto (1,420-byte packets and friends)', () => {
  forEachIsa((isa) => {
    const lens = [1420, 64, 0, 600, 1420, 3000, 191, 1024];
    const n = lens.length;
    const keys = r.bytes(32 * n), nonces = r.bytes(12 * n);
    const pts = lens.map((l) => r.bytes(l));
    const bufs = pts.map((p) => {
      const b = new Uint8Array(p.length + 16);
      b.set(p);
      return b;
    });
    const sizes = new Int32Array(lens);
    assert.is(nativeAead.sealBatch(C20, keys, nonces, bufs, sizes, n), n);
    for (let i = 0; i < n; i++) {
      const exp = nodeSeal(keys.subarray(32 * i, 32 * i + 32), nonces.subarray(12 * i, 12 * i + 12), pts[i], new Uint8Array(0));
      assert.is(hex(bufs[i]), hex(exp), `${isa}: batch packet ${i}`);
    }
    assert.is(nativeAead.openBatch(C20, keys, nonces, bufs, sizes, n), n);
    for (let i = 0; i < n; i++) assert.equal(bufs[i].subarray(0, sizes[i]), pts[i], `${isa}: batch open ${i}`);

    const mem = new Uint8Array(new WebAssembly.Memory({ initial: 2 }).buffer);
    const p = poolLayout(mem, 4096, 4, 3100, 1, 4);
    p.key(0).set(r.bytes(32));
    const plain = [1420, 300, 3000, 513].map((l) => r.bytes(l));
    const aads: Uint8Array[] = [];
    plain.forEach((pt, e) => {
      p.slot(e).set(r.bytes(24), 0);
      p.slot(e).set(pt, 24);
      aads.push(p.slot(e).slice(0, 24));
      p.nonce(e).set(r.bytes(12));
      p.entry(e, e, 24, pt.length, 0, 24, 0);
    });
    assert.is(nativeAead.poolRun(mem, 4096, 4, false), 0);
    plain.forEach((pt, e) => {
      assert.is(hex(p.slot(e).subarray(24, 24 + p.len(e))), hex(nodeSeal(p.key(0), p.nonce(e), pt, aads[e])), `${isa}: pool entry ${e}`);
    });
    assert.is(nativeAead.poolRun(mem, 4096, 4, true), 0);
    plain.forEach((pt, e) => assert.equal(p.slot(e).subarray(24, 24 + p.len(e)), pt, `${isa}: pool open ${e}`));
  });
});

test.run();
