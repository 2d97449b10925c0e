/**
 * Prefixes as Mycelium's Babel dialect carries them: an address encoding (AE,
 * RFC 8966 §4.1.5) plus a prefix length, with only ceil(plen / 8) prefix
 * bytes on the wire and no prefix compression (Mycelium never sets the
 * Omitted field). Source: threefoldtech/mycelium mycelium/src/babel.rs
 * (AE_* constants) and babel/update.rs `from_bytes`.
 */

/** RFC 8966 §4.1.5 address encodings. */
export const AE_WILDCARD = 0;
export const AE_IPV4 = 1;
export const AE_IPV6 = 2;
/** Link-local IPv6: 8 bytes on the wire, fe80::/64 implied. */
export const AE_IPV6_LL = 3;

/**
 * A prefix: family 4 (4 bytes) or 6 (16 bytes), bits past `plen` zero, except
 * for AE 3 (link-local), whose 8 wire bytes are the interface id after an
 * implied fe80::/64 and are kept, as Mycelium's Subnet keeps them.
 */
export interface Subnet {
  family: 4 | 6;
  bytes: Uint8Array;
  plen: number;
}

/** Zeroes the bits of `bytes` past `plen` (in place) and returns it. */
export function maskBytes(bytes: Uint8Array, plen: number): Uint8Array {
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, plen - i * 8));
    bytes[i] &= (0xff << (8 - keep)) & 0xff;
  }
  return bytes;
}

/** A /64 from the first 8 bytes of a 16-byte IPv6 address. */
export function subnet64(addr: Uint8Array): Subnet {
  const b = new Uint8Array(16);
  b.set(addr.subarray(0, 8));
  return { family: 6, bytes: b, plen: 64 };
}

/** A map key for a subnet, e.g. `6:0597d890a254dd45/64` (only the prefix bytes). */
export function subnetKey(s: Subnet): string {
  return `${s.family}:${Buffer.from(s.bytes.subarray(0, (s.plen + 7) >> 3)).toString('hex')}/${s.plen}`;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * subnetKey(subnet64(addr[off..off+16))) without building the subnet: the
 * per-packet lookup key of the data plane.
 */
export function subnet64Key(addr: Uint8Array, off = 0): string {
  return `6:${HEX[addr[off]]}${HEX[addr[off + 1]]}${HEX[addr[off + 2]]}${HEX[addr[off + 3]]}${HEX[addr[off + 4]]}${HEX[addr[off + 5]]}${HEX[addr[off + 6]]}${HEX[addr[off + 7]]}/64`;
}

/** Number of prefix bytes on the wire for a prefix length. */
export const prefixBytes = (plen: number): number => (plen + 7) >> 3;

/**
 * Reads a prefix given its AE and plen from `body` at `off`. Returns the
 * subnet and bytes consumed, `'wildcard'` for AE 0 with plen 0, or null when
 * the AE is unknown, plen exceeds the family, or the body is too short.
 */
export function readPrefix(ae: number, plen: number, body: Uint8Array, off: number): { subnet: Subnet | null; used: number } | null {
  switch (ae) {
    case AE_WILDCARD:
      return plen === 0 ? { subnet: null, used: 0 } : null;
    case AE_IPV4:
    case AE_IPV6: {
      const family = ae === AE_IPV4 ? 4 : 6;
      const max = family === 4 ? 32 : 128;
      if (plen > max) return null;
      const n = prefixBytes(plen);
      if (off + n > body.length) return null;
      const bytes = new Uint8Array(family === 4 ? 4 : 16);
      bytes.set(body.subarray(off, off + n));
      return { subnet: { family, bytes: maskBytes(bytes, plen), plen }, used: n };
    }
    case AE_IPV6_LL: {
      if (plen !== 64 || off + 8 > body.length) return null;
      const bytes = new Uint8Array(16);
      bytes[0] = 0xfe;
      bytes[1] = 0x80;
      bytes.set(body.subarray(off, off + 8), 8);
      return { subnet: { family: 6, bytes, plen: 64 }, used: 8 };
    }
    default:
      return null;
  }
}

/** The AE Mycelium writes for a subnet (it never writes AE 3 itself). */
export const aeOf = (s: Subnet): number => (s.family === 4 ? AE_IPV4 : AE_IPV6);

/** The on-wire prefix bytes of a subnet. */
export const prefixOf = (s: Subnet): Uint8Array => s.bytes.subarray(0, prefixBytes(s.plen));
