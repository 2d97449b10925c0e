// Routing behaviour of a live Mycelium-dialect node against a scripted peer
// (raw TCP, Mycelium frames): a node that told no neighbour about a route
// keeps no feasibility distance for it, so the route's next hop may raise the
// metric (load raises RTT costs) without the route being lost; and split
// horizon: the node never advertises a route back to its next hop.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type Socket } from 'node:net';
import { MyceliumNode } from '../../../runtime/overlay/mycelium/node.js';
import { encodeControlFrame } from '../../../runtime/overlay/mycelium/frame.js';
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

test.run();
