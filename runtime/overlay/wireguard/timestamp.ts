/**
 * TAI64N timestamps (https://cr.yp.to/libtai/tai64.html) for handshake
 * initiations: 8 bytes big-endian 2^62 + 10 + Unix seconds (TAI is 10 s ahead
 * of the Unix epoch's UTC, as wireguard-go counts it), then 4 bytes big-endian
 * nanoseconds. The responder accepts an initiation only when its timestamp is
 * greater than the last one from that peer (whitepaper 5.1, replay of
 * initiations). Nanoseconds are rounded down to 2^24 ns (~16.8 ms) so the
 * timestamp does not leak a fine clock (as wireguard-go's whitener does).
 */
export const TAI64N_SIZE = 12;

/** TAI64N of `nowMs` (Unix milliseconds, default Date.now()). */
export function tai64n(nowMs = Date.now()): Uint8Array {
  const out = new Uint8Array(TAI64N_SIZE);
  const v = new DataView(out.buffer);
  const secs = Math.floor(nowMs / 1000);
  const nanos = Math.floor((nowMs - secs * 1000) * 1e6) & ~0xffffff;
  v.setBigUint64(0, 0x400000000000000an + BigInt(secs));
  v.setUint32(8, nanos >>> 0);
  return out;
}

/** True when `a` is strictly later than `b` (bytewise big-endian comparison). */
export function tai64nAfter(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < TAI64N_SIZE; i++) if (a[i] !== b[i]) return a[i] > b[i];
  return false;
}
