// Nothing a peer sends can crash, stall or grow a Mycelium-dialect node: a
// running node on loopback gets many connections carrying random bytes, valid
// frame headers over random bodies, and well-formed TLVs with random fields.
// Every bad input is a counted drop or a closed link; the node keeps serving
// (a clean peer still gets its routes) and holds no more links than its bound.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { connect, type Socket } from 'node:net';
import { MyceliumNode } from '../../../runtime/overlay/mycelium/node.js';
import { encodeControlFrame } from '../../../runtime/overlay/mycelium/frame.js';
import { generatePrivateKey } from '../../../runtime/overlay/wireguard/keys.js';
import { prng } from '../../helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const open = (port: number) =>
  new Promise<Socket>((res, rej) => {
    const s = connect(port, '127.0.0.1', () => res(s));
    s.on('error', rej);
  });

test('random and mutated streams: counted drops, no crash, bounded links, still routing', async () => {
  const r = prng(11);
  const node = new MyceliumNode({ privateKey: generatePrivateKey(), listen: [{ host: '127.0.0.1', port: 0 }], maxLinks: 8, helloIntervalMs: 100_000, updateIntervalMs: 100_000, log: () => {} });
  await node.start();
  const port = node.listenPorts()[0];
  const templates = [
    encodeControlFrame({ type: 'update', flags: 0, interval: 100, seqno: 1, metric: 5, subnet: { family: 6, bytes: new Uint8Array(16).fill(4, 0, 1), plen: 64 }, routerId: r.bytes(40) }),
    encodeControlFrame({ type: 'seqno-request', seqno: 3, hopCount: 2, subnet: { family: 6, bytes: new Uint8Array(16).fill(5, 0, 1), plen: 64 }, routerId: r.bytes(40) }),
    encodeControlFrame({ type: 'route-request', generation: 0, subnet: null }),
    Uint8Array.from([1, 0, 0, 0, 0, 0, 40, 9, ...r.bytes(32), ...r.bytes(40)]),
  ];
  const kept: Socket[] = [];
  try {
    for (let round = 0; round < 40; round++) {
      const s = await open(port);
      s.on('error', () => {});
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < 20; i++) {
        const t = templates[r.int(templates.length)].slice();
        const mode = r.int(4);
        if (mode === 0) chunks.push(r.bytes(r.int(300)));
        else if (mode === 1) chunks.push(t);
        else {
          for (let k = 0; k < 2; k++) t[4 + r.int(t.length - 4)] = r.int(256);
          chunks.push(mode === 2 ? t : t.subarray(0, r.int(t.length)));
        }
      }
      for (const c of chunks) s.write(c);
      if (round % 2 === 0) s.destroy();
      else kept.push(s);
      await sleep(5);
    }
    await sleep(200);
    assert.ok(node.links.size <= 8, `links ${node.links.size}`);
    assert.ok(node.counters.dropped() > 0);
    for (const s of kept) s.destroy();
    for (let i = 0; i < 100 && node.links.size > 0; i++) await sleep(10);
    // A well-behaved peer still gets the node's own route (a full dump answers its wildcard request).
    const clean = await open(port);
    let got = Buffer.alloc(0);
    clean.on('data', (d) => (got = Buffer.concat([got, d])));
    clean.write(encodeControlFrame({ type: 'route-request', generation: 0, subnet: null }));
    const own = Buffer.from(node.routerId);
    for (let i = 0; i < 100 && !got.includes(own); i++) await sleep(20);
    assert.ok(got.includes(own), 'the node still answers with its own update');
    clean.destroy();
  } finally {
    node.stop();
  }
});

test.run();
