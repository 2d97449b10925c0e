/**
 * The linux-arm64 prebuild under qemu-aarch64-static with Debian's arm64 Node
 * (sysroot from native/scripts/arm64-sysroot.sh, `make native-arm64-sysroot`).
 * A plain .mjs script loads prebuilds/linux-arm64/tfw.napi.node and checks, on
 * the emulated CPU: the NEON Reed-Solomon kernel against a JS GF(2^8) product,
 * the RFC 8439 2.8.2 AEAD vector, ChaCha20-Poly1305 with the NEON and the
 * portable kernel (forced one by one) against the arm64 Node's own node:crypto, a batched UDP round trip on loopback, and the forward
 * kernel (IPv4/IPv6 lookups, one classified packet), XXH64 spec vectors, AES-256-GCM
 * through the arm64 Node's own libcrypto against its node:crypto. It prints one
 * JSON line; the assertions run here. Skips with a message when the prebuild,
 * qemu or the sysroot is missing and cannot be set up.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const addon = join(root, 'prebuilds/linux-arm64/tfw.napi.node');
const sysroot = process.env.TFW_ARM64_SYSROOT ?? join(root, '.cache/arm64-sysroot');
const qemu = spawnSync('sh', ['-c', 'command -v qemu-aarch64-static'], { encoding: 'utf8' }).stdout.trim();

function why(): string {
  if (!existsSync(addon)) return `${addon} not built (make native needs gcc-aarch64-linux-gnu)`;
  if (!qemu) return 'qemu-aarch64-static not installed (Debian qemu-user-static)';
  if (!existsSync(join(sysroot, '.complete'))) {
    const r = spawnSync('bash', [join(root, 'native/scripts/arm64-sysroot.sh')], { encoding: 'utf8', timeout: 540_000 });
    if (r.status !== 0) return `arm64 sysroot could not be set up: ${(r.stderr || String(r.error)).trim().split('\n').pop()}`;
  }
  return '';
}

const SCRIPT = String.raw`
import { createRequire } from 'node:module';
import { createCipheriv, randomBytes } from 'node:crypto';
const a = createRequire(import.meta.url)(process.argv[2]);
const hex = (b) => Buffer.from(b).toString('hex');
const out = { arch: process.arch, node: process.version, isa: a.rsIsa() };
function gfMul(x, y) { let p = 0; for (let i = 0; i < 8; i++) { if (y & 1) p ^= x; y >>= 1; x <<= 1; if (x & 0x100) x ^= 0x11d; } return p; }
let rsBad = 0;
for (const [k, rows, len] of [[10, 4, 1000], [3, 5, 33], [1, 1, 16]]) {
  const m = randomBytes(rows * k), ins = Array.from({ length: k }, () => randomBytes(len));
  const outs = Array.from({ length: rows }, () => new Uint8Array(len));
  a.rsEncode(m, rows, ins, outs, len);
  for (let r = 0; r < rows; r++) for (let b = 0; b < len; b++) {
    let v = 0; for (let j = 0; j < k; j++) v ^= gfMul(m[r * k + j], ins[j][b]);
    if (v !== outs[r][b]) rsBad++;
  }
}
out.rsBad = rsBad;
const pt = Buffer.from("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
const sealed = new Uint8Array(pt.length + 16);
a.aeadSeal(0, Buffer.from('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f', 'hex'), Buffer.from('070000004041424344454647', 'hex'), pt, Buffer.from('50515253c0c1c2c3c4c5c6c7', 'hex'), sealed);
out.rfcTag = hex(sealed.subarray(pt.length));
let aeadBad = 0;
out.aeadIsa = a.aeadIsa();
out.aeadIsas = [];
for (const isa of ['neon', 'portable']) {
  out.aeadIsas.push(a.aeadSetIsa(isa));
  for (const len of [0, 1, 63, 64, 65, 191, 192, 193, 255, 256, 257, 511, 512, 767, 1420, 5000]) {
    const key = randomBytes(32), nonce = randomBytes(12), p = randomBytes(len), aad = randomBytes(len % 17);
    const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
    c.setAAD(aad, { plaintextLength: len });
    const exp = Buffer.concat([c.update(p), c.final(), c.getAuthTag()]);
    const got = new Uint8Array(len + 16);
    a.aeadSeal(0, key, nonce, p, aad, got);
    if (hex(got) !== hex(exp)) aeadBad++;
  }
}
a.aeadSetIsa('auto');
out.aeadBad = aeadBad;
const [fa, pa] = a.udpOpen('127.0.0.1', 0, false, 1 << 20, 1 << 20);
const [fb, pb] = a.udpOpen('127.0.0.1', 0, false, 1 << 20, 1 << 20);
const N = 16, eps = new Uint8Array(N * 20);
for (let i = 0; i < N; i++) { eps.set([127, 0, 0, 1], i * 20); eps[i * 20 + 16] = pa >> 8; eps[i * 20 + 17] = pa & 255; eps[i * 20 + 18] = 4; }
const bufs = Array.from({ length: N }, (_, i) => new Uint8Array(100).fill(i));
out.sent = a.udpSendBatch(fb, 4, bufs, new Int32Array(N).fill(100), eps, N);
const rb = Array.from({ length: N }, () => new Uint8Array(200)), rs = new Int32Array(N), reps = new Uint8Array(N * 20);
let got = 0;
const deadline = Date.now() + 10000;
while (got < N && Date.now() < deadline) got += a.udpRecvBatch(fa, rb.slice(got), rs.subarray(got), reps.subarray(got * 20));
out.received = got;
out.udpOk = got === N && rb.every((b, i) => rs[i] === 100 && b[0] === i && b[99] === i) && ((reps[16] << 8) | reps[17]) === pb;
a.closeFd(fa); a.closeFd(fb);
const h = a.fwdCreate();
a.fwdV4Insert(h, 0x0a000000, 8, 1); a.fwdV4Insert(h, 0x0a010000, 16, 2); a.fwdV4Insert(h, 0x0a010280, 25, 3);
const v6 = (s) => Buffer.from(s, 'hex');
a.fwdV6Insert(h, v6('20010db8000000000000000000000000'), 32, 4, true);
a.fwdV6Insert(h, v6('20010db8000100000000000000000000'), 48, 5, true);
const a4 = Buffer.from([10, 1, 2, 200, 10, 1, 2, 1, 10, 9, 9, 9, 11, 0, 0, 1]), r4 = new Int32Array(4);
a.fwdV4LookupBatch(h, a4, 4, r4);
out.fib4 = [...r4, a.fwdV4Lookup(h, 0x0a0102c8)];
out.fib6 = [a.fwdV6Lookup(h, v6('20010db8000100020000000000000001')), a.fwdV6Lookup(h, v6('20010db8000200000000000000000001')), a.fwdV6Lookup(h, v6('20010db9000000000000000000000001'))];
const pkt = Buffer.from('450000140001000040110000c00002010a0102c8', 'hex');
let s = 0; for (let i = 0; i < 20; i += 2) s += pkt.readUInt16BE(i); while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
pkt.writeUInt16BE(~s & 0xffff, 10);
const pool = new Uint8Array(64); pool.set(pkt);
const verd = new Uint32Array(2);
a.fwdClassify(h, pool, Uint32Array.of(0, 20), 1, verd);
out.verdict = [verd[0], verd[1]];
out.packet = hex(pool.subarray(0, 20));
const x8 = new Uint8Array(8);
out.xxh64 = [];
for (const parts of [[''], ['abc'], ['a', 'bc'], ['1234567890'.repeat(8)], ['12345678901234567890123456789012345', '678901234567890123456789012345678901234567890']]) {
  a.xxh64(parts.map((p) => Buffer.from(p)), x8);
  out.xxh64.push(hex(x8));
}
// AES-256-GCM through the arm64 node's own libcrypto (gcm_napi.c): boxes cross-checked with node:crypto both ways.
out.gcm = typeof a.gcmKey === 'function';
out.gcmBad = 0;
if (out.gcm) {
  const hdr = Uint8Array.of(1, 0, 0, 0);
  for (const len of [0, 1, 15, 16, 17, 255, 1348, 1500]) {
    const key = randomBytes(32), nonce = randomBytes(12), p = randomBytes(len), k = a.gcmKey(key);
    const box = new Uint8Array(3 + 4 + len + 28);
    box.set(nonce, 3 + 4 + len + 16);
    const c = createCipheriv('aes-256-gcm', key, nonce);
    const exp = Buffer.concat([c.update(hdr), c.update(p), c.final(), c.getAuthTag(), nonce]);
    if (a.gcmSeal(k, hdr, p, box, 3) !== len + 32 || hex(box.subarray(3)) !== hex(exp)) out.gcmBad++;
    if (a.gcmOpen(k, box, 3, len + 32) !== len + 4 || hex(box.subarray(7, 7 + len)) !== hex(p)) out.gcmBad++;
    const t = Buffer.from(exp); t[4 + len] ^= 1;
    if (a.gcmOpen(k, t, 0, t.length) !== -1) out.gcmBad++;
  }
}
console.log('RESULT ' + JSON.stringify(out));
`;

/** The classified packet of SCRIPT after forwarding: TTL 63 and a recomputed checksum. */
function expectedPacket(): string {
  const p = Buffer.from('450000140001000040110000c00002010a0102c8', 'hex');
  p[8] = 63;
  let s = 0;
  for (let i = 0; i < 20; i += 2) s += p.readUInt16BE(i);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  p.writeUInt16BE(~s & 0xffff, 10);
  return p.toString('hex');
}

const skip = why();
if (skip) console.log(`tfw: test: native-arm64 skipped: ${skip}`);
(skip ? test.skip : test)('arm64 prebuild under qemu: NEON RS, AEAD vectors, batched UDP, the forward kernel, XXH64 and AES-256-GCM', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tfw-arm64-'));
  try {
    const script = join(dir, 'check.mjs');
    writeFileSync(script, SCRIPT);
    const r = spawnSync(qemu, ['-L', sysroot, join(sysroot, 'usr/bin/node'), script, addon], { encoding: 'utf8', timeout: 300_000 });
    const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    assert.ok(line, `no result from the arm64 node: status ${r.status} ${r.error ?? ''}\n${r.stderr}`);
    const res = JSON.parse(line!.slice(7));
    assert.is(res.arch, 'arm64');
    assert.is(res.isa, 'neon');
    assert.is(res.rsBad, 0, 'NEON parity equals the JS GF(2^8) product');
    assert.is(res.rfcTag, '1ae10b594f09e26a7e902ecbd0600691', 'RFC 8439 2.8.2 tag');
    assert.is(res.aeadIsa, 'neon', 'AEAD kernel picked on arm64');
    assert.equal(res.aeadIsas, ['neon', 'portable'], 'both arm64 AEAD kernels forced');
    assert.is(res.aeadBad, 0, 'ChaCha20-Poly1305 (NEON and portable) equals the arm64 node:crypto');
    assert.is(res.sent, 16);
    assert.is(res.received, 16);
    assert.ok(res.udpOk, 'datagram contents and sender port');
    // Forward kernel in C: DIR-24-8 / Poptrie lookups and one classified IPv4 packet
    // (TTL 64 -> 63, checksum patched per RFC 1624 = a full recomputation).
    assert.equal(res.fib4, [3, 2, 1, -1, 3], 'IPv4 longest-prefix match on arm64');
    assert.equal(res.fib6, [5, 4, -1], 'IPv6 longest-prefix match on arm64');
    assert.equal(res.verdict, [0x14040001, 3], 'FORWARD, v4, 20-byte header, next hop 3');
    assert.is(res.packet, expectedPacket(), 'rewritten header');
    // XXH64 (storage checksums) from the same xxhash.h on arm64: the spec vectors, whole and split
    assert.equal(res.xxh64, ['ef46db3751d8e999', '44bc2cf5ad770999', '44bc2cf5ad770999', 'e04a477f19ee145d', 'e04a477f19ee145d'], 'XXH64 on arm64');
    // AES-256-GCM from Debian's arm64 Node's libcrypto.so.3 (dlsym at load): present, equal to its node:crypto, tags checked
    assert.ok(res.gcm, 'gcm functions exported (EVP_* resolved in the arm64 node process)');
    assert.is(res.gcmBad, 0, 'AES-256-GCM seal/open equals the arm64 node:crypto; a flipped tag bit fails');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
