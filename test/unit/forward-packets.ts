/** Packet builders shared by the forward classifier tests (wasm and native): IPv4 and IPv6 headers with knobs for every field the classifier checks. */
import { parseAddress } from '../../runtime/kernels/forward.js';

/** RFC 1071 checksum over `b` (even length): the value to store. */
export function checksum(b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += (b[i] << 8) | b[i + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

export interface V4 {
  dst?: string;
  ttl?: number;
  options?: number[];
  ihl?: number;
  total?: number;
  payload?: number;
  frag?: number; // flags + offset word
  id?: number;
  extra?: number; // bytes after the datagram
}
/** An IPv4/UDP test packet from 198.51.100.1 (header checksum valid unless fields make it wrong on purpose). */
export function ip4(o: V4 = {}): Uint8Array {
  const opts = o.options ?? [];
  const hl = 20 + opts.length;
  const payload = o.payload ?? 8;
  const p = new Uint8Array(hl + payload + (o.extra ?? 0));
  const total = o.total ?? hl + payload;
  p[0] = 0x40 | (o.ihl ?? hl / 4);
  p[2] = total >> 8;
  p[3] = total & 0xff;
  p[4] = (o.id ?? 0x1234) >> 8;
  p[5] = (o.id ?? 0x1234) & 0xff;
  p[6] = (o.frag ?? 0) >> 8;
  p[7] = (o.frag ?? 0) & 0xff;
  p[8] = o.ttl ?? 64;
  p[9] = 17;
  p.set([198, 51, 100, 1], 12);
  p.set(parseAddress('ipv4', o.dst ?? '10.1.2.3'), 16);
  p.set(opts, 20);
  for (let i = hl; i < p.length; i++) p[i] = i & 0xff;
  const c = checksum(p.subarray(0, hl));
  p[10] = c >> 8;
  p[11] = c & 0xff;
  return p;
}

export interface V6 {
  dst?: string;
  hop?: number;
  next?: number;
  ext?: number[]; // extension header bytes
  payload?: number;
  plen?: number;
  extra?: number;
}
/** An IPv6 test packet from 2001:db8:ffff::1, optional extension header bytes. */
export function ip6(o: V6 = {}): Uint8Array {
  const ext = o.ext ?? [];
  const payload = o.payload ?? 8;
  const p = new Uint8Array(40 + ext.length + payload + (o.extra ?? 0));
  const plen = o.plen ?? ext.length + payload;
  p[0] = 0x60;
  p[4] = plen >> 8;
  p[5] = plen & 0xff;
  p[6] = o.next ?? 17;
  p[7] = o.hop ?? 64;
  p.set(parseAddress('ipv6', '2001:db8:ffff::1'), 8);
  p.set(parseAddress('ipv6', o.dst ?? '2001:db8:1::5'), 24);
  p.set(ext, 40);
  return p;
}
