/** Test fixture: two in-process WireGuard devices joined by an in-memory "wire", with a hand-driven clock. */
import { Endpoint, type EndpointBatch } from '../../../runtime/overlay/links/conn.js';
import type { PeerConfig } from '../../../runtime/config/schema.js';
import { Device, type DeviceOptions } from '../../../runtime/overlay/device.js';
import { generatePrivateKey, publicKeyFromPrivate, toBase64 } from '../../../runtime/overlay/wireguard/keys.js';

export interface Datagram {
  data: Uint8Array;
  to: Endpoint;
  from: Endpoint;
}

export function ipv4(src: number[], dst: number[], payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(20 + payload.length);
  p[0] = 0x45;
  p[2] = p.length >> 8;
  p[3] = p.length & 0xff;
  p[8] = 64;
  p[9] = 17;
  p.set(src, 12);
  p.set(dst, 16);
  p.set(payload, 20);
  return p;
}

export function makePair(opts: { psk?: string; pskB?: string; a?: Partial<DeviceOptions>; b?: Partial<DeviceOptions>; keepaliveA?: number } = {}) {
  let clock = 1_700_000_000_000;
  const now = () => clock;
  const keyA = generatePrivateKey(), keyB = generatePrivateKey();
  const pubA = toBase64(publicKeyFromPrivate(keyA)), pubB = toBase64(publicKeyFromPrivate(keyB));
  const epA = Endpoint.parse('10.0.0.1:1000');
  const epB = Endpoint.parse('10.0.0.2:2000');
  const wire: Datagram[] = [];
  const deliveredA: Uint8Array[] = [], deliveredB: Uint8Array[] = [];
  const io = (self: Endpoint, delivered: Uint8Array[]) => ({
    transmit(bufs: Uint8Array[], sizes: Int32Array, eps: EndpointBatch, count: number) {
      for (let i = 0; i < count; i++) wire.push({ data: bufs[i].slice(0, sizes[i]), to: new Endpoint().set(eps.items[i]), from: self });
    },
    deliver(bufs: Uint8Array[], sizes: Int32Array, count: number) {
      for (let i = 0; i < count; i++) delivered.push(bufs[i].slice(0, sizes[i]));
    },
  });
  const a = new Device({ privateKey: keyA, io: io(epA, deliveredA), now, ...opts.a });
  const b = new Device({ privateKey: keyB, io: io(epB, deliveredB), now, ...opts.b });
  const peerOfA: PeerConfig = { publicKey: pubB, endpoint: '10.0.0.2:2000', allowedIPs: ['10.100.0.2/32'], presharedKey: opts.psk, persistentKeepalive: opts.keepaliveA };
  const peerOfB: PeerConfig = { publicKey: pubA, endpoint: '10.0.0.1:1000', allowedIPs: ['10.100.0.1/32'], presharedKey: opts.pskB ?? opts.psk };
  a.setPeers([peerOfA]);
  b.setPeers([peerOfB]);
  /** Delivers queued datagrams (those to A go to A, the rest to B) until the wire is quiet or `max` rounds. */
  const pump = (max = 10, filter: (d: Datagram) => boolean = () => true) => {
    let moved = 0;
    for (let round = 0; round < max && wire.length; round++) {
      const batch = wire.splice(0);
      for (const d of batch) {
        if (!filter(d)) continue;
        moved++;
        const dev = d.to.port === 1000 ? a : b;
        dev.receive([d.data], [d.data.length], [d.from], 1);
      }
    }
    return moved;
  };
  return {
    a, b, keyA, keyB, pubA, pubB, epA, epB, wire, deliveredA, deliveredB, pump, peerOfA, peerOfB,
    advance(ms: number) { clock += ms; },
    now,
    sendA(pkt: Uint8Array) { a.send([pkt], [pkt.length], 1); },
    sendB(pkt: Uint8Array) { b.send([pkt], [pkt.length], 1); },
  };
}

export const A_TO_B = (payload: Uint8Array) => ipv4([10, 100, 0, 1], [10, 100, 0, 2], payload);
export const B_TO_A = (payload: Uint8Array) => ipv4([10, 100, 0, 2], [10, 100, 0, 1], payload);
