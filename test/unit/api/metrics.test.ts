/**
 * GET /metrics (runtime/api/metrics.ts) without root: the exposition text of
 * a real Device behind a stand-in overlay, every line checked against the
 * text format's grammar and every tfw value against the status it reads, and
 * a second scrape following the device's counters.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { keygen } from '../../../host-tools/commands/keygen.js';
import { createMetrics } from '../../../runtime/api/metrics.js';
import { Device } from '../../../runtime/overlay/device.js';
import type { Overlay } from '../../../runtime/overlay/index.js';
import { fromBase64 } from '../../../runtime/overlay/wireguard/keys.js';
import { deviceStatus } from '../../../runtime/overlay/status.js';

const A = keygen(), B = keygen(), C = keygen();

/** Parses exposition text strictly: HELP/TYPE comments, blank lines, `name{labels} value` samples. */
function parse(text: string): { samples: Map<string, number>; types: Map<string, string> } {
  const samples = new Map<string, number>(), types = new Map<string, string>();
  for (const line of text.trimEnd().split('\n')) {
    if (line === '') continue;
    const c = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (c) {
      if (c[1] === 'TYPE') {
        assert.ok(['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(c[3]), line);
        types.set(c[2], c[3]);
      }
      continue;
    }
    // prom-client writes NaN as `Nan` (an empty event-loop histogram); Prometheus reads values with Go's
    // strconv.ParseFloat, which takes any case.
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})?) (-?[0-9.e+-]+|NaN|Nan|[+-]Inf)$/.exec(line);
    assert.ok(m, `not an exposition line: ${JSON.stringify(line)}`);
    assert.not.ok(samples.has(m![1]), `duplicate sample ${m![1]}`);
    samples.set(m![1], Number(m![2]));
  }
  return { samples, types };
}

test('every tfw metric equals the status it reads; counters are counters; scrapes follow the device', async () => {
  const device = new Device({ privateKey: fromBase64(A.privateKey), io: { transmit() {}, deliver() {} } });
  device.setPeers([
    { publicKey: B.publicKey, allowedIPs: ['10.100.0.2/32'] },
    { publicKey: C.publicKey, allowedIPs: ['10.100.0.3/32', '10.100.3.0/24'] },
  ]);
  const overlay = { device, status: () => deviceStatus(device, 51820) } as unknown as Overlay;
  const metrics = createMetrics({ overlay: () => overlay, device: { version: '1.2.3', board: 'host', role: '3router', arch: 'x86_64', slot: 'b' } });
  assert.match(metrics.contentType, 'text/plain; version=0.0.4');
  const b = device.peers.get(B.publicKey)!;
  b.rxBytes = 4096;
  b.txBytes = 77;
  b.lastHandshake = 1_700_000_123_000;
  b.handshakes = 3;
  device.drops.replay = 5;
  device.drops.mac = 2;
  device.drops.handshake = 1;

  const { samples, types } = parse(await metrics.text());
  const status = overlay.status();
  for (const p of status.peers) {
    assert.is(samples.get(`tfw_peer_receive_bytes_total{public_key="${p.publicKey}"}`), p.rxBytes);
    assert.is(samples.get(`tfw_peer_transmit_bytes_total{public_key="${p.publicKey}"}`), p.txBytes);
    assert.is(samples.get(`tfw_peer_last_handshake_seconds{public_key="${p.publicKey}"}`), p.lastHandshake);
  }
  for (const [reason, n] of Object.entries(status.drops)) assert.is(samples.get(`tfw_drops_total{reason="${reason}"}`), n, reason);
  assert.is(samples.get('tfw_peers'), 2);
  assert.is(samples.get('tfw_routes'), 3);
  assert.is(samples.get('tfw_handshakes_completed_total'), 3);
  assert.is(samples.get('tfw_handshakes_failed_total'), 3);
  assert.is(samples.get(`tfw_kernel_backend_info{kernel="aead",backend="${device.engines.aead}"}`), 1);
  assert.is(samples.get(`tfw_kernel_backend_info{kernel="routes",backend="${device.engines.routes}"}`), 1);
  assert.is(samples.get('tfw_build_info{version="1.2.3",board="host",role="3router",arch="x86_64",slot="b"}'), 1);
  assert.ok(samples.has('process_cpu_user_seconds_total'), 'default process metrics');
  for (const n of ['tfw_peer_receive_bytes_total', 'tfw_peer_transmit_bytes_total', 'tfw_drops_total', 'tfw_handshakes_completed_total', 'tfw_handshakes_failed_total']) assert.is(types.get(n), 'counter', n);
  for (const n of ['tfw_peer_last_handshake_seconds', 'tfw_peers', 'tfw_routes', 'tfw_kernel_backend_info']) assert.is(types.get(n), 'gauge', n);

  // The next scrape reads afresh: moved counters, a removed peer gone (no stale series).
  b.rxBytes = 5000;
  device.setPeers([{ publicKey: B.publicKey, allowedIPs: ['10.100.0.2/32'] }]);
  const again = parse(await metrics.text()).samples;
  assert.is(again.get(`tfw_peer_receive_bytes_total{public_key="${B.publicKey}"}`), 5000);
  assert.not.ok(again.has(`tfw_peer_receive_bytes_total{public_key="${C.publicKey}"}`));
  assert.is(again.get('tfw_peers'), 1);
});

test('without an overlay: no peer series, zero counts, the process and build metrics still there', async () => {
  const metrics = createMetrics({ overlay: () => null, device: { version: '1.2.3', board: 'b', role: 'r', arch: 'arm64', slot: undefined } });
  const { samples } = parse(await metrics.text());
  assert.not.ok([...samples.keys()].some((k) => k.startsWith('tfw_peer_')));
  assert.is(samples.get('tfw_peers'), 0);
  assert.is(samples.get('tfw_build_info{version="1.2.3",board="b",role="r",arch="arm64",slot=""}'), 1);
  assert.ok(samples.has('process_resident_memory_bytes'));
});

test('tfw_end_to_end_packets_total: absent while end to end is off, then the status endToEnd counters by path', async () => {
  const device = new Device({ privateKey: fromBase64(A.privateKey), io: { transmit() {}, deliver() {} } });
  const overlay = { device, status: () => deviceStatus(device, 51820) } as unknown as Overlay;
  const metrics = createMetrics({ overlay: () => overlay, device: { version: '1.2.3', board: 'host', role: '3node', arch: 'x86_64', slot: 'a' } });
  assert.not.ok([...parse(await metrics.text()).samples.keys()].some((k) => k.startsWith('tfw_end_to_end_packets_total')));
  device.mycelium.endToEnd = () => false;
  const counts = device.mycelium.endToEndCounts as { handedOff: number; hopByHop: number };
  counts.handedOff = 7;
  counts.hopByHop = 2;
  const { samples, types } = parse(await metrics.text());
  assert.is(types.get('tfw_end_to_end_packets_total'), 'counter');
  assert.is(samples.get('tfw_end_to_end_packets_total{path="handedOff"}'), 7);
  assert.is(samples.get('tfw_end_to_end_packets_total{path="hopByHop"}'), 2);
});

test.run();
