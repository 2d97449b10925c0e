// Routing behaviour of a live Mycelium-dialect node against a scripted peer
// (raw TCP, Mycelium frames): a node that told no neighbour about a route
// keeps no feasibility distance for it, so the route's next hop may raise the
// metric (load raises RTT costs) without the route being lost; and split
// horizon: the node never advertises a route back to its next hop; and an
// unfeasible update better than the selected route makes the node ask its
// sender (only) for a newer seqno, once per dedup window (RFC 8966 §3.8.2.2).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type Socket } from 'node:net';
import { MyceliumNode } from '../../../runtime/overlay/mycelium/node.js';
import { encodeControlFrame, FrameDecoder } from '../../../runtime/overlay/mycelium/frame.js';
import { Counters } from '../../../runtime/overlay/mycelium/counters.js';
import type { Tlv } from '../../../runtime/overlay/mycelium/tlv.js';
import { generatePrivateKey, publicKeyFromPrivate } from '../../../runtime/overlay/wireguard/keys.js';
import { overlayAddressBytes } from '../../../runtime/overlay/address.js';
import { newRouterId } from '../../../runtime/overlay/mycelium/router-id.js';
import { subnet64, subnetKey } from '../../../runtime/overlay/mycelium/subnet.js';
import { routeMetric } from '../../../runtime/overlay/mycelium/routes.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a route only learned (never advertised) survives a metric increase from its next hop; no route goes back to it', async () => {
  const node = new MyceliumNode({ privateKey: generatePrivateKey(), listen: [{ host: '127.0.0.1', port: 0 }], helloIntervalMs: 100_000, updateIntervalMs: 100_000, log: () => {} });
  await node.start();
  const s: Socket = await new Promise((res) => {
    const c = connect(node.listenPorts()[0], '127.0.0.1', () => res(c));
  });
  let rx = Buffer.alloc(0);
  s.on('data', (d) => (rx = Buffer.concat([rx, d])));
  try {
    const pk = publicKeyFromPrivate(generatePrivateKey());
    const rid = newRouterId(pk, new Uint8Array(6));
    const subnet = subnet64(overlayAddressBytes(pk));
    const key = subnetKey(subnet);
    const send = (metric: number) => s.write(encodeControlFrame({ type: 'update', flags: 0, interval: 1000, seqno: 7, metric, subnet, routerId: rid }));
    send(10);
    for (let i = 0; i < 100 && !node.table.selectedFor(key); i++) await sleep(10);
    assert.ok(node.table.selectedFor(key));
    send(500); // same seqno, higher metric: feasible, since the node told nobody
    for (let i = 0; i < 100 && node.table.selectedFor(key)?.metric !== 500; i++) await sleep(10);
    const r = node.table.selectedFor(key);
    assert.ok(r, 'route kept');
    assert.is(r!.metric, 500);
    assert.ok(routeMetric(r!) >= 500);
    assert.is(node.counters.drops.unfeasible, 0);
    // Split horizon: its own route never came back on the link it was learned from.
    assert.not.ok(rx.includes(Buffer.from(rid)), 'the route was advertised back to its next hop');
  } finally {
    s.destroy();
    node.stop();
  }
});

test('an unfeasible update better than the selected route asks its sender for FD seqno + 1, once per dedup window', async () => {
  const node = new MyceliumNode({ privateKey: generatePrivateKey(), listen: [{ host: '127.0.0.1', port: 0 }], helloIntervalMs: 100_000, updateIntervalMs: 100_000, log: () => {} });
  await node.start();
  const peer = async () => {
    const sock: Socket = await new Promise((res) => {
      const c = connect(node.listenPorts()[0], '127.0.0.1', () => res(c));
    });
    const got: Tlv[] = [];
    const dec = new FrameDecoder({ data: () => {}, control: (t) => got.push(t) }, new Counters());
    sock.on('data', (d) => dec.push(d));
    return { sock, got };
  };
  const a = await peer();
  const b = await peer();
  try {
    for (let i = 0; i < 100 && node.links.size < 2; i++) await sleep(10);
    const pk = publicKeyFromPrivate(generatePrivateKey());
    const rid = newRouterId(pk, new Uint8Array(6));
    const subnet = subnet64(overlayAddressBytes(pk));
    const key = subnetKey(subnet);
    const update = (seqno: number, metric: number) => encodeControlFrame({ type: 'update', flags: 0, interval: 1000, seqno, metric, subnet, routerId: rid });
    const requests = (p: { got: Tlv[] }) => p.got.filter((t) => t.type === 'seqno-request');
    // Via a: seqno 8, metric 1000 (+ link cost); the node tells b, so its FD becomes (8, ~1100).
    a.sock.write(update(8, 1000));
    for (let i = 0; i < 100 && !b.got.some((t) => t.type === 'update' && t.seqno === 8); i++) await sleep(10);
    assert.is(node.table.selectedFor(key)!.seqno, 8);
    // b offers the older seqno 7 with metric 250: unfeasible, but much better than ~1100.
    b.sock.write(update(7, 250));
    for (let i = 0; i < 100 && requests(b).length === 0; i++) await sleep(10);
    assert.is(node.counters.drops.unfeasible, 1);
    assert.is(node.table.selectedFor(key)!.seqno, 8, 'the unfeasible route was not used');
    const req = requests(b);
    assert.is(req.length, 1);
    assert.is(req[0].type === 'seqno-request' && req[0].seqno, 9);
    assert.ok(req[0].type === 'seqno-request' && Buffer.from(req[0].routerId).equals(Buffer.from(rid)));
    assert.is(req[0].type === 'seqno-request' && subnetKey(req[0].subnet), key);
    // The same offer again within the dedup window: no second request; a never gets one.
    b.sock.write(update(7, 250));
    for (let i = 0; i < 100 && node.counters.drops.unfeasible < 2; i++) await sleep(10);
    await sleep(50);
    assert.is(requests(b).length, 1);
    assert.is(requests(a).length, 0);
  } finally {
    a.sock.destroy();
    b.sock.destroy();
    node.stop();
  }
});

test.run();
