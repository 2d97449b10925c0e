/**
 * Batched UDP (runtime/overlay/links/conn.ts over native/src/udp.c) on loopback:
 * recvmmsg/sendmmsg round trips with contents and endpoints checked, dual-stack
 * endpoint mapping, wasm-memory buffers, per-packet refusals, and errors.
 * Skips (with a message) when the addon is not built.
 */
import { createSocket } from 'node:dgram';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nativeAvailable, nativeLoadError } from '../../runtime/kernels/native.js';
import { bindUdp, Endpoint, EndpointBatch, formatEndpoint, UdpError, type UdpBind } from '../../runtime/overlay/links/conn.js';
import { prng } from '../helpers.js';

const have = nativeAvailable();
if (!have) console.log(`tfw: test: native-udp skipped: ${nativeLoadError()}`);
const maybe = have ? test : test.skip;

/** Waits for the socket to become readable, then drains until `want` datagrams arrived. */
function recvAll(sock: UdpBind, bufs: Uint8Array[], sizes: Int32Array, eps: EndpointBatch, want: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const tmpB = bufs.map((b) => b);
    const timer = setTimeout(() => {
      sock.onReadable(null);
      reject(new Error(`timed out with ${got}/${want} datagrams`));
    }, 5000);
    sock.onReadable(() => {
      // Receive into the tail of the arrays so the order of arrival is kept.
      const n = sock.recvBatch(tmpB.slice(got), sizes.subarray(got), sliceBatch(eps, got));
      got += n;
      if (got >= want) {
        clearTimeout(timer);
        sock.onReadable(null);
        resolve(got);
      }
    });
  });
}

/** An EndpointBatch-shaped view of slots [from..) of `eps` (test-only convenience). */
function sliceBatch(eps: EndpointBatch, from: number): EndpointBatch {
  return { raw: eps.raw.subarray(from * 20), items: eps.items.slice(from), length: eps.length - from } as EndpointBatch;
}

maybe('64 datagrams round trip over IPv4 loopback with sender endpoints', async () => {
  const r = prng();
  const a = bindUdp({ port: 0, host: '127.0.0.1' });
  const b = bindUdp({ port: 0, host: '127.0.0.1' });
  try {
    assert.ok(a.port > 0 && b.port > 0 && a.port !== b.port);
    assert.is(a.family, 4);
    const N = 64;
    const out = Array.from({ length: N }, (_, i) => r.bytes(1 + ((i * 37) % 1400)));
    const sizes = new Int32Array(out.map((p) => p.length));
    const to = new EndpointBatch(N);
    for (const e of to.items) e.parse(`127.0.0.1:${a.port}`);
    assert.is(b.sendBatch(out, sizes, to, N), N);
    const inBufs = Array.from({ length: N }, () => new Uint8Array(2048));
    const inSizes = new Int32Array(N);
    const from = new EndpointBatch(N);
    assert.is(await recvAll(a, inBufs, inSizes, from, N), N);
    for (let i = 0; i < N; i++) {
      assert.is(inSizes[i], out[i].length, `size of datagram ${i}`);
      assert.equal(inBufs[i].subarray(0, inSizes[i]), out[i], `contents of datagram ${i}`);
      assert.is(from.items[i].family, 4);
      assert.is(from.items[i].port, b.port);
      assert.is(from.items[i].toString(), `127.0.0.1:${b.port}`);
    }
  } finally {
    a.close();
    b.close();
  }
});

maybe('GSO runs (same endpoint, same size, shorter last) arrive as the same datagrams, with and without GSO', async () => {
  const r = prng(7);
  for (const gso of [true, false]) {
    const a = bindUdp({ port: 0, host: '127.0.0.1' });
    const c = bindUdp({ port: 0, host: '127.0.0.1' });
    const b = bindUdp({ port: 0, host: '127.0.0.1', gso });
    try {
      // 100 datagrams: runs of 1200-byte datagrams to a, a 700-byte run end, then some to c, then a again.
      const N = 100;
      const sizes = new Int32Array(N).fill(1200);
      sizes[40] = 700;
      sizes[99] = 13;
      const to = new EndpointBatch(N);
      to.items.forEach((e, i) => e.parse(`127.0.0.1:${i >= 60 && i < 70 ? c.port : a.port}`));
      const out = Array.from({ length: N }, (_, i) => r.bytes(sizes[i]));
      const want = Int32Array.from(sizes);
      assert.is(b.sendBatch(out, sizes, to, N), N);
      assert.equal([...sizes], [...want], 'sizes untouched when all were sent');
      const inA = Array.from({ length: 90 }, () => new Uint8Array(1500));
      const sA = new Int32Array(90);
      await recvAll(a, inA, sA, new EndpointBatch(90), 90);
      const inC = Array.from({ length: 10 }, () => new Uint8Array(1500));
      const sC = new Int32Array(10);
      await recvAll(c, inC, sC, new EndpointBatch(10), 10);
      const expA = out.filter((_, i) => i < 60 || i >= 70);
      for (let i = 0; i < 90; i++) assert.equal(inA[i].subarray(0, sA[i]), expA[i], `gso=${gso} datagram ${i} to a`);
      for (let i = 0; i < 10; i++) assert.equal(inC[i].subarray(0, sC[i]), out[60 + i], `gso=${gso} datagram ${i} to c`);
    } finally {
      a.close();
      b.close();
      c.close();
    }
  }
});

maybe('dual-stack socket: IPv6 peers keep family 6, IPv4 peers arrive as family 4', async () => {
  const a = bindUdp({ port: 0 }); // '::', dual stack
  const v6 = bindUdp({ port: 0, host: '::1' });
  const v4 = bindUdp({ port: 0, host: '127.0.0.1' });
  try {
    assert.is(a.family, 6);
    const bufs = [new Uint8Array([6, 6, 6]), new Uint8Array([4, 4])];
    const to = new EndpointBatch(1);
    to.items[0].parse(`[::1]:${a.port}`);
    assert.is(v6.sendBatch([bufs[0]], new Int32Array([3]), to, 1), 1);
    to.items[0].parse(`127.0.0.1:${a.port}`);
    assert.is(v4.sendBatch([bufs[1]], new Int32Array([2]), to, 1), 1);
    const inBufs = [new Uint8Array(64), new Uint8Array(64)];
    const sizes = new Int32Array(2);
    const from = new EndpointBatch(2);
    await recvAll(a, inBufs, sizes, from, 2);
    const seen = new Map(from.items.map((e, i) => [e.family, { e: e.toString(), size: sizes[i], b: inBufs[i][0] }]));
    assert.equal(seen.get(6), { e: `[::1]:${v6.port}`, size: 3, b: 6 });
    assert.equal(seen.get(4), { e: `127.0.0.1:${v4.port}`, size: 2, b: 4 });
    // Reply from the dual-stack socket to the IPv4 endpoint it reported (v4-mapped send).
    const reply = new EndpointBatch(1);
    reply.items[0].set(from.items.find((e) => e.family === 4)!);
    assert.is(a.sendBatch([new Uint8Array([9])], new Int32Array([1]), reply, 1), 1);
    const got = new Int32Array(1);
    const src = new EndpointBatch(1);
    await recvAll(v4, [new Uint8Array(8)], got, src, 1);
    assert.is(got[0], 1);
    assert.is(src.items[0].toString(), `127.0.0.1:${a.port}`);
  } finally {
    a.close();
    v6.close();
    v4.close();
  }
});

maybe('buffers may be views into WebAssembly memory at any offset', async () => {
  const mem = new WebAssembly.Memory({ initial: 1 });
  const heap = new Uint8Array(mem.buffer);
  const a = bindUdp({ port: 0, host: '127.0.0.1' });
  const b = bindUdp({ port: 0, host: '127.0.0.1' });
  try {
    const N = 8;
    const tx = Array.from({ length: N }, (_, i) => heap.subarray(1000 + i * 300, 1000 + i * 300 + 200));
    tx.forEach((v, i) => v.fill(i + 1));
    const to = new EndpointBatch(N);
    for (const e of to.items) e.parse(`127.0.0.1:${a.port}`);
    assert.is(b.sendBatch(tx, new Int32Array(N).fill(200), to, N), N);
    const rx = Array.from({ length: N }, (_, i) => heap.subarray(20001 + i * 512, 20001 + (i + 1) * 512));
    const sizes = new Int32Array(N);
    await recvAll(a, rx, sizes, new EndpointBatch(N), N);
    for (let i = 0; i < N; i++) {
      assert.is(sizes[i], 200);
      assert.ok(rx[i].subarray(0, 200).every((x) => x === i + 1), `datagram ${i} landed in its wasm slot`);
      assert.is(rx[i][200], 0, 'nothing written past the datagram');
    }
  } finally {
    a.close();
    b.close();
  }
});

maybe('interoperates with node:dgram both ways', async () => {
  const a = bindUdp({ port: 0, host: '127.0.0.1' });
  const d = createSocket('udp4');
  await new Promise<void>((res) => d.bind(0, '127.0.0.1', () => res()));
  try {
    const dport = d.address().port;
    const got = new Promise<[Buffer, number]>((res) => d.once('message', (m, ri) => res([m, ri.port])));
    const to = new EndpointBatch(1);
    to.items[0].parse(`127.0.0.1:${dport}`);
    a.sendBatch([new TextEncoder().encode('hello dgram')], new Int32Array([11]), to, 1);
    const [msg, port] = await got;
    assert.is(msg.toString(), 'hello dgram');
    assert.is(port, a.port);
    d.send('hello tfw', a.port, '127.0.0.1');
    const buf = [new Uint8Array(64)];
    const sizes = new Int32Array(1);
    const from = new EndpointBatch(1);
    await recvAll(a, buf, sizes, from, 1);
    assert.is(new TextDecoder().decode(buf[0].subarray(0, sizes[0])), 'hello tfw');
    assert.is(from.items[0].port, dport);
  } finally {
    a.close();
    d.close();
  }
});

maybe('a datagram the kernel refuses is skipped with -errno, the rest still go', async () => {
  const a = bindUdp({ port: 0, host: '127.0.0.1' });
  const b = bindUdp({ port: 0, host: '127.0.0.1' });
  try {
    const to = new EndpointBatch(3);
    to.items[0].parse(`127.0.0.1:${a.port}`);
    to.items[1].parse(`[::1]:${a.port}`); // IPv6 endpoint on an IPv4 socket
    to.items[2].parse(`127.0.0.1:${a.port}`);
    const sizes = new Int32Array([1, 1, 1]);
    const bufs = [new Uint8Array([1]), new Uint8Array([2]), new Uint8Array([3])];
    assert.is(b.sendBatch(bufs, sizes, to, 3), 3);
    assert.ok(sizes[1] < 0, `sizes[1] = ${sizes[1]} marks the refused datagram`);
    const rx = [new Uint8Array(4), new Uint8Array(4)];
    await recvAll(a, rx, new Int32Array(2), new EndpointBatch(2), 2);
    assert.equal([rx[0][0], rx[1][0]], [1, 3]);
  } finally {
    a.close();
    b.close();
  }
});

maybe('a refused GSO run (port 0: EINVAL) is retried one by one and marked, GSO keeps working after', async () => {
  const a = bindUdp({ port: 0, host: '127.0.0.1' });
  const b = bindUdp({ port: 0, host: '127.0.0.1' });
  try {
    for (let round = 0; round < 6; round++) {
      const to = new EndpointBatch(6);
      to.items.forEach((e, i) => e.parse(`127.0.0.1:${i < 3 ? 0 : a.port}`));
      const sizes = new Int32Array(6).fill(500);
      const bufs = Array.from({ length: 6 }, (_, i) => new Uint8Array(500).fill(round * 10 + i));
      assert.is(b.sendBatch(bufs, sizes, to, 6), 6);
      assert.equal([...sizes], [-22, -22, -22, 500, 500, 500], `round ${round}`);
      const rx = Array.from({ length: 3 }, () => new Uint8Array(600));
      const rs = new Int32Array(3);
      await recvAll(a, rx, rs, new EndpointBatch(3), 3);
      assert.equal([rx[0][0], rx[1][0], rx[2][0], ...rs], [round * 10 + 3, round * 10 + 4, round * 10 + 5, 500, 500, 500]);
    }
  } finally {
    a.close();
    b.close();
  }
});

maybe('recvBatch returns 0 when nothing is pending; closed sockets throw UdpError', () => {
  const a = bindUdp({ port: 0, host: '127.0.0.1' });
  assert.is(a.recvBatch([new Uint8Array(10)], new Int32Array(1), new EndpointBatch(1)), 0);
  a.close();
  a.close(); // idempotent
  assert.throws(() => a.recvBatch([new Uint8Array(10)], new Int32Array(1), new EndpointBatch(1)), (e: UdpError) => e.code === 'ERR_TFW_UDP');
});

maybe('bind errors name the address and errno; bad arguments are refused', () => {
  const a = bindUdp({ port: 0, host: '127.0.0.1' });
  try {
    assert.throws(() => bindUdp({ port: a.port, host: '127.0.0.1' }), (e: UdpError) => e.code === 'ERR_TFW_UDP' && e.errnoName === 'EADDRINUSE' && /bind 127\.0\.0\.1:\d+: EADDRINUSE/.test(e.message));
    assert.throws(() => bindUdp({ port: 70000 }), /port: expected an integer 0\.\.65535, got 70000/);
    assert.throws(() => bindUdp({ port: 0, host: 'localhost' }), /host: expected an IPv4 or IPv6 address, got "localhost"/);
    const eps = new EndpointBatch(1);
    eps.items[0].parse('127.0.0.1:9');
    assert.throws(() => a.sendBatch([new Uint8Array(4)], new Int32Array([5]), eps, 1), /sizes\[0\]: expected 0\.\.4/);
    assert.throws(() => a.sendBatch([new Uint8Array(4)], new Int32Array([4]), eps, 2), /count: expected 0\.\.1/);
    assert.throws(() => a.sendBatch(['x' as never], new Int32Array([1]), eps, 1), /bufs\[i\]: expected a Uint8Array/);
  } finally {
    a.close();
  }
});

test('Endpoint parses, formats and compares without the addon', () => {
  const e = Endpoint.parse('10.0.0.1:51820');
  assert.is(e.family, 4);
  assert.is(e.port, 51820);
  assert.equal([...e.address.subarray(0, 4)], [10, 0, 0, 1]);
  assert.is(e.toString(), '10.0.0.1:51820');
  for (const s of ['[::1]:1', '[2001:db8::8:800:200c:417a]:443', '[fe80::1:0:0:0]:5', '[::ffff:1.2.3.4]:7', '[1:2:3:4:5:6:7:8]:9']) {
    assert.is(Endpoint.parse(s).toString(), s === '[::ffff:1.2.3.4]:7' ? '[::ffff:102:304]:7' : s);
  }
  assert.is(formatEndpoint(new Uint8Array(20)), '');
  const f = new Endpoint().set(e);
  assert.ok(f.equals(e));
  f.port = 1;
  assert.not.ok(f.equals(e));
  for (const bad of ['10.0.0.1', '10.0.0.1:99999', '::1:80', '[10.0.0.1]:80', 'host:80', '[::1]']) {
    assert.throws(() => Endpoint.parse(bad), /endpoint: expected 'a\.b\.c\.d:port' or '\[ipv6\]:port'/, bad);
  }
});

test.run();
