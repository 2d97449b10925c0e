// Three tfw nodes speaking only Mycelium's dialect, in a line A - B - C over
// loopback TCP (runtime/overlay/mycelium/node.ts). The links A-B and B-C pass
// through recording TCP proxies, so the test sees every byte B's links carry.
// It checks convergence (A and C select routes to each other through B), an
// echo request and reply with a marker payload delivered end to end, the
// marker absent from every byte on B's links, B's relay counters, and that
// cutting B-C retracts C's route at A. Bounded: every wait has a deadline.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { MyceliumNode } from '../../runtime/overlay/mycelium/node.js';
import { generatePrivateKey } from '../../runtime/overlay/wireguard/keys.js';
import { subnetKey } from '../../runtime/overlay/mycelium/subnet.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor(cond: () => boolean, ms = 10_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await sleep(20);
  }
  return true;
}

/** A TCP proxy to 127.0.0.1:target that records the bytes both ways. */
function recorder(target: number): Promise<{ server: Server; port: number; bytes: () => Buffer; cut: () => void }> {
  const seen: Buffer[] = [];
  const socks: Socket[] = [];
  const server = createServer((a) => {
    const b = connect(target, '127.0.0.1');
    socks.push(a, b);
    a.on('data', (d) => (seen.push(d), b.write(d)));
    b.on('data', (d) => (seen.push(d), a.write(d)));
    a.on('error', () => b.destroy());
    b.on('error', () => a.destroy());
    a.on('close', () => b.destroy());
    b.on('close', () => a.destroy());
  });
  return new Promise((res) =>
    server.listen(0, '127.0.0.1', () =>
      res({ server, port: (server.address() as { port: number }).port, bytes: () => Buffer.concat(seen), cut: () => socks.forEach((s) => s.destroy()) }),
    ),
  );
}

/** An ICMPv6 echo (request 128 / reply 129) from src to dst carrying `payload`. */
function echo(type: 128 | 129, src: Uint8Array, dst: Uint8Array, payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(40 + 8 + payload.length);
  p[0] = 0x60;
  p[4] = (8 + payload.length) >> 8;
  p[5] = (8 + payload.length) & 0xff;
  p[6] = 58;
  p[7] = 64;
  p.set(src, 8);
  p.set(dst, 24);
  p[40] = type;
  p[44] = 0x12; // identifier
  p[47] = 1; // sequence
  p.set(payload, 48);
  return p;
}

const MARKER = Buffer.from('tfw-mycelium-marker-8c1d5e');
const fast = { helloIntervalMs: 200, updateIntervalMs: 1000, reconnectMinMs: 50, reconnectMaxMs: 400, log: () => {} };

test('A - B - C: converge, deliver end to end, relays see only ciphertext', async () => {
  const got: Record<string, Uint8Array[]> = { A: [], B: [], C: [] };
  const C = new MyceliumNode({ ...fast, privateKey: generatePrivateKey(), listen: [{ host: '127.0.0.1', port: 0 }], deliver: (p) => got.C.push(p.slice()) });
  await C.start();
  const bc = await recorder(C.listenPorts()[0]);
  const B = new MyceliumNode({ ...fast, privateKey: generatePrivateKey(), listen: [{ host: '127.0.0.1', port: 0 }], peers: [{ host: '127.0.0.1', port: bc.port }], deliver: (p) => got.B.push(p.slice()) });
  await B.start();
  const ab = await recorder(B.listenPorts()[0]);
  const A = new MyceliumNode({ ...fast, privateKey: generatePrivateKey(), peers: [{ host: '127.0.0.1', port: ab.port }], deliver: (p) => got.A.push(p.slice()) });
  await A.start();
  try {
    const cKey = subnetKey(C.subnet);
    const aKey = subnetKey(A.subnet);
    assert.ok(await waitFor(() => !!A.table.selectedFor(cKey) && !!C.table.selectedFor(aKey)), 'A and C learn routes to each other');
    // Through B: A's next hop for C is its only link, and the metric is two link costs.
    assert.is(Buffer.from(A.table.selectedFor(cKey)!.routerId.subarray(0, 32)).toString('hex'), Buffer.from(C.publicKey).toString('hex'));

    const relayedBefore = B.counters.relayed;
    for (let i = 0; i < 5; i++) A.send(echo(128, A.address, C.address, MARKER));
    assert.ok(await waitFor(() => got.C.length >= 5), 'C receives the 5 requests');
    for (const p of got.C) assert.ok(Buffer.from(p).includes(MARKER));
    for (const p of got.C) C.send(echo(129, C.address, A.address, MARKER));
    assert.ok(await waitFor(() => got.A.length >= 5), 'A receives the 5 replies');
    assert.is(got.A[0][40], 129);
    assert.ok(B.counters.relayed - relayedBefore >= 10, `B relayed ${B.counters.relayed - relayedBefore}`);
    assert.is(B.counters.delivered, 0);
    assert.is(got.B.length, 0);
    // The marker never crosses B's links in clear, in either direction.
    assert.not.ok(ab.bytes().includes(MARKER), 'marker on the A-B link');
    assert.not.ok(bc.bytes().includes(MARKER), 'marker on the B-C link');
    assert.ok(ab.bytes().length > 0 && bc.bytes().length > 0);
    assert.is(A.counters.drops.decrypt + C.counters.drops.decrypt, 0);

    // A packet whose source is not A's own /64 is refused at A (counted).
    A.send(echo(128, C.address, C.address, MARKER));
    assert.is(A.counters.drops['bad-source'], 1);

    // Cut B-C (and stop C so nothing reconnects): A loses C's route (retraction through B).
    C.stop();
    bc.cut();
    assert.ok(await waitFor(() => !A.table.selectedFor(cKey)), "A drops C's route after the B-C link goes");
    A.send(echo(128, A.address, C.address, MARKER));
    assert.ok(A.counters.drops['no-route'] >= 1);
  } finally {
    A.stop();
    B.stop();
    C.stop();
    ab.server.close();
    bc.server.close();
    ab.cut();
    bc.cut();
  }
});

test.run();
