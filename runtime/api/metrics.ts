/**
 * `GET /metrics`: the device's state in the Prometheus text exposition format
 * (https://prometheus.io/docs/instrumenting/exposition_formats/, version
 * 0.0.4), built with prom-client. Every scrape reads the overlay afresh
 * (`collect` callbacks), so the values equal those of `/v1/status` taken at
 * the same moment:
 *
 * | metric | type | labels | source |
 * | --- | --- | --- | --- |
 * | `tfw_peer_receive_bytes_total`, `tfw_peer_transmit_bytes_total` | counter | public_key | status().peers[].rxBytes / txBytes |
 * | `tfw_peer_last_handshake_seconds` | gauge | public_key | status().peers[].lastHandshake (Unix s, 0 = never) |
 * | `tfw_handshakes_completed_total` | counter | | peers' completed handshakes (peer.handshakes) |
 * | `tfw_handshakes_failed_total` | counter | | refused handshake messages: drops.handshake + drops.mac |
 * | `tfw_drops_total` | counter | reason | status().drops |
 * | `tfw_end_to_end_packets_total` | counter | path (`handedOff`, `hopByHop`) | status().endToEnd: multi-hop 400::/7 packets sealed end to end / sent hop by hop for want of a Mycelium route (absent while end to end is off) |
 * | `tfw_peers`, `tfw_routes` | gauge | | status().peers / routes count |
 * | `tfw_kernel_backend_info` | gauge (1) | kernel, backend | overlay engines + `auto` decisions |
 * | `tfw_build_info` | gauge (1) | version, board, role, arch, slot | DeviceState |
 *
 * plus prom-client's default process metrics (`process_*`, `nodejs_*`).
 */
import client from 'prom-client';
import type { DeviceState } from '../device/device.js';
import { autoDecisions } from '../kernels/backend.js';
import type { Overlay } from '../overlay/index.js';

/** The sources a scrape reads. */
export interface MetricsSource {
  /** The running overlay, or null (no overlay configured): its metrics are then absent. */
  overlay: () => Overlay | null;
  device: Pick<DeviceState, 'version' | 'board' | 'role' | 'arch' | 'slot'>;
}

export interface Metrics {
  /** `text/plain; version=0.0.4; charset=utf-8` */
  readonly contentType: string;
  /** The exposition text of one scrape. */
  text(): Promise<string>;
}

/**
 * Builds the registry for one runtime (one per process: the default metrics
 * are registered on it, not on prom-client's global registry).
 */
export function createMetrics(src: MetricsSource): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const peerLabel = ['public_key'] as const;
  // Counters are refilled from the device's own counters on each scrape (reset + inc: prom-client has no set on counters).
  new client.Counter({ name: 'tfw_peer_receive_bytes_total', help: 'Bytes received from the peer (decrypted transport payload, as wg counts)', labelNames: peerLabel, registers: [registry], collect() {
    this.reset();
    for (const p of src.overlay()?.status().peers ?? []) this.inc({ public_key: p.publicKey }, p.rxBytes);
  } });
  new client.Counter({ name: 'tfw_peer_transmit_bytes_total', help: 'Bytes sent to the peer', labelNames: peerLabel, registers: [registry], collect() {
    this.reset();
    for (const p of src.overlay()?.status().peers ?? []) this.inc({ public_key: p.publicKey }, p.txBytes);
  } });
  new client.Gauge({ name: 'tfw_peer_last_handshake_seconds', help: 'Unix time of the last completed handshake with the peer (0 = never)', labelNames: peerLabel, registers: [registry], collect() {
    this.reset();
    for (const p of src.overlay()?.status().peers ?? []) this.set({ public_key: p.publicKey }, p.lastHandshake);
  } });
  new client.Counter({ name: 'tfw_handshakes_completed_total', help: 'Handshakes completed with current peers', registers: [registry], collect() {
    this.reset();
    let n = 0;
    for (const p of src.overlay()?.device.peers.values() ?? []) n += p.handshakes;
    this.inc(n);
  } });
  new client.Counter({ name: 'tfw_handshakes_failed_total', help: 'Handshake messages refused (bad mac1, failed decryption, unknown peer, replayed timestamp)', registers: [registry], collect() {
    this.reset();
    const d = src.overlay()?.device.drops;
    this.inc(d ? d.handshake + d.mac : 0);
  } });
  new client.Counter({ name: 'tfw_drops_total', help: 'Packets dropped, by reason (the drops of /v1/status)', labelNames: ['reason'], registers: [registry], collect() {
    this.reset();
    for (const [reason, n] of Object.entries(src.overlay()?.status().drops ?? {})) this.inc({ reason }, n ?? 0);
  } });
  new client.Counter({ name: 'tfw_end_to_end_packets_total', help: 'Multi-hop overlay packets sealed end to end (handedOff) or sent hop by hop while Mycelium had no route (hopByHop)', labelNames: ['path'], registers: [registry], collect() {
    this.reset();
    for (const [path, n] of Object.entries(src.overlay()?.status().endToEnd ?? {})) this.inc({ path }, n);
  } });
  new client.Gauge({ name: 'tfw_peers', help: 'Configured peers', registers: [registry], collect() {
    this.set(src.overlay()?.status().peers.length ?? 0);
  } });
  new client.Gauge({ name: 'tfw_routes', help: 'Routes in the overlay table (allowed IPs, or Babel-selected routes in mesh mode)', registers: [registry], collect() {
    this.set(src.overlay()?.status().routes.length ?? 0);
  } });
  new client.Gauge({ name: 'tfw_kernel_backend_info', help: 'The backend each kernel runs on (value 1)', labelNames: ['kernel', 'backend'], registers: [registry], collect() {
    this.reset();
    const seen = new Set<string>();
    const o = src.overlay();
    if (o) {
      const e = o.device.engines;
      this.set({ kernel: 'aead', backend: e.aead }, 1);
      this.set({ kernel: 'routes', backend: e.routes }, 1);
      seen.add('aead');
    }
    for (const [kernel, d] of autoDecisions) if (!seen.has(kernel)) this.set({ kernel, backend: d.chosen }, 1);
  } });
  const d = src.device;
  new client.Gauge({ name: 'tfw_build_info', help: 'The running firmware (value 1)', labelNames: ['version', 'board', 'role', 'arch', 'slot'], registers: [registry] })
    .set({ version: d.version, board: d.board, role: d.role, arch: d.arch, slot: d.slot ?? '' }, 1);
  return { contentType: registry.contentType, text: () => registry.metrics() };
}
