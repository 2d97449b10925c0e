// Batch packet classifier: parse IPv4 (RFC 791) / IPv6 (RFC 8200), decide local /
// forward / drop, decrement TTL or hop limit and patch the IPv4 header checksum
// incrementally (RFC 1624, eqn. 3). Every read is checked against the packet's own
// length, and every descriptor against the pool, so any input yields a verdict.
//
// Verdict record: 8 bytes per packet, two little-endian u32 (docs/forward.md):
//   word0 = action | reason << 8 | version << 16 | headerLength << 24
//   word1 = nextHop | flags << 16
import { v4Lookup, v4Ready } from './dir24';
import { v6Lookup, v6Ready } from './poptrie6-lookup';

export const ACTION_FORWARD: u32 = 1;
export const ACTION_LOCAL: u32 = 2;
export const ACTION_DROP: u32 = 3;

export const REASON_DESCRIPTOR: u32 = 1; // offset/length outside the pool
export const REASON_TRUNCATED: u32 = 2; // shorter than the fixed header
export const REASON_BAD_VERSION: u32 = 3;
export const REASON_BAD_IHL: u32 = 4; // IHL < 5, or header longer than the buffer
export const REASON_BAD_LENGTH: u32 = 5; // total / payload length vs. header and buffer
export const REASON_BAD_CHECKSUM: u32 = 6;
export const REASON_BAD_OPTIONS: u32 = 7; // IPv4 option list runs past the header
export const REASON_BAD_FRAGMENT: u32 = 8; // fragment offset + length > 65,535
export const REASON_TTL_EXPIRED: u32 = 9;
export const REASON_NO_ROUTE: u32 = 10;
export const REASON_BAD_EXT_HEADER: u32 = 11; // IPv6 extension header past the payload

export const FLAG_FRAGMENT: u32 = 1;
export const FLAG_OPTIONS: u32 = 2; // IPv4 options / IPv6 extension headers present
export const FLAG_TRAILING: u32 = 4; // buffer longer than the datagram (link padding)

// Local addresses: up to 64 per family, checked before the FIB (like Linux's local table).
export const MAX_LOCAL: u32 = 64;
const LOCAL4: usize = memory.data(64 * 8); // addr u32, mask u32
const LOCAL6: usize = memory.data(64 * 32); // hi, lo, maskHi, maskLo (u64)
let local4Count: u32 = 0;
let local6Count: u32 = 0;

/** Sets local IPv4 entry `i` (address and mask, host order); `count` entries are used. */
export function setLocal4(i: u32, addr: u32, mask: u32, count: u32): void {
  if (i < MAX_LOCAL) {
    store<u32>(LOCAL4 + (<usize>i << 3), addr & mask);
    store<u32>(LOCAL4 + (<usize>i << 3), mask, 4);
  }
  local4Count = count <= MAX_LOCAL ? count : MAX_LOCAL;
}

/** Sets local IPv6 entry `i`; `count` entries are used. */
export function setLocal6(i: u32, hi: u64, lo: u64, mhi: u64, mlo: u64, count: u32): void {
  if (i < MAX_LOCAL) {
    const p = LOCAL6 + (<usize>i << 5);
    store<u64>(p, hi & mhi);
    store<u64>(p, lo & mlo, 8);
    store<u64>(p, mhi, 16);
    store<u64>(p, mlo, 24);
  }
  local6Count = count <= MAX_LOCAL ? count : MAX_LOCAL;
}

function isLocal4(a: u32): bool {
  for (let i: u32 = 0; i < local4Count; i++) {
    const p = LOCAL4 + (<usize>i << 3);
    if ((a & load<u32>(p, 4)) == load<u32>(p)) return true;
  }
  return false;
}

function isLocal6(hi: u64, lo: u64): bool {
  for (let i: u32 = 0; i < local6Count; i++) {
    const p = LOCAL6 + (<usize>i << 5);
    if ((hi & load<u64>(p, 16)) == load<u64>(p) && (lo & load<u64>(p, 24)) == load<u64>(p, 8)) return true;
  }
  return false;
}

// @ts-ignore: decorator
@inline function put(out: usize, w0: u32, w1: u32): void {
  store<u32>(out, w0);
  store<u32>(out, w1, 4);
}
// @ts-ignore: decorator
@inline function be16(p: usize): u32 {
  return (<u32>load<u8>(p) << 8) | <u32>load<u8>(p, 1);
}
// @ts-ignore: decorator
@inline function drop(reason: u32, version: u32, hl: u32): u32 {
  return ACTION_DROP | (reason << 8) | (version << 16) | (hl << 24);
}

/** One's-complement sum (RFC 1071) of `len` bytes at `p`, `len` even, folded to 16 bits. */
function csum(p: usize, len: u32): u32 {
  let s: u32 = 0;
  for (let i: u32 = 0; i < len; i += 2) s += be16(p + i);
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return s;
}

function classify4(p: usize, len: u32, out: usize): void {
  if (len < 20) { put(out, drop(REASON_TRUNCATED, 4, 0), 0); return; }
  const ihl = <u32>load<u8>(p) & 15;
  if (ihl < 5) { put(out, drop(REASON_BAD_IHL, 4, 0), 0); return; }
  const hl = ihl << 2;
  if (hl > len) { put(out, drop(REASON_BAD_IHL, 4, hl), 0); return; }
  const total = be16(p + 2);
  if (total < hl || total > len) { put(out, drop(REASON_BAD_LENGTH, 4, hl), 0); return; }
  let flags: u32 = total < len ? FLAG_TRAILING : 0;
  if (csum(p, hl) != 0xffff) { put(out, drop(REASON_BAD_CHECKSUM, 4, hl), flags << 16); return; }
  if (hl > 20) {
    flags |= FLAG_OPTIONS;
    // RFC 791 options: 0 = end of list, 1 = no-op, others type, length (>= 2), data.
    let o: u32 = 20;
    while (o < hl) {
      const t = <u32>load<u8>(p + o);
      if (t == 0) break;
      if (t == 1) { o++; continue; }
      if (o + 1 >= hl) { put(out, drop(REASON_BAD_OPTIONS, 4, hl), flags << 16); return; }
      const ol = <u32>load<u8>(p + o + 1);
      if (ol < 2 || o + ol > hl) { put(out, drop(REASON_BAD_OPTIONS, 4, hl), flags << 16); return; }
      o += ol;
    }
  }
  const frag = be16(p + 6);
  if ((frag & 0x3fff) != 0) {
    flags |= FLAG_FRAGMENT;
    if (((frag & 0x1fff) << 3) + total - hl > 65535) { put(out, drop(REASON_BAD_FRAGMENT, 4, hl), flags << 16); return; }
  }
  const dst = bswap<u32>(load<u32>(p + 16));
  if (isLocal4(dst)) { put(out, ACTION_LOCAL | (4 << 16) | (hl << 24), flags << 16); return; }
  const nh = v4Ready() ? v4Lookup(dst) : -1;
  if (nh < 0) { put(out, drop(REASON_NO_ROUTE, 4, hl), flags << 16); return; }
  const ttl = <u32>load<u8>(p + 8);
  if (ttl <= 1) { put(out, drop(REASON_TTL_EXPIRED, 4, hl), <u32>nh | (flags << 16)); return; }
  // RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), m = the TTL/protocol word.
  const m = be16(p + 8);
  const m2 = m - 0x100;
  const hc = be16(p + 10);
  let s: u32 = (~hc & 0xffff) + (~m & 0xffff) + m2;
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  const hc2 = ~s & 0xffff;
  store<u8>(p + 8, <u8>(ttl - 1));
  store<u8>(p + 10, <u8>(hc2 >>> 8));
  store<u8>(p + 11, <u8>hc2);
  put(out, ACTION_FORWARD | (4 << 16) | (hl << 24), <u32>nh | (flags << 16));
}

function classify6(p: usize, len: u32, out: usize): void {
  if (len < 40) { put(out, drop(REASON_TRUNCATED, 6, 0), 0); return; }
  const plen = be16(p + 4);
  const end: u32 = 40 + plen;
  // A zero payload length with a Jumbo Payload option (RFC 2675) is not supported: dropped.
  if (end > len || (plen == 0 && load<u8>(p + 6) == 0)) { put(out, drop(REASON_BAD_LENGTH, 6, 40), 0); return; }
  let flags: u32 = end < len ? FLAG_TRAILING : 0;
  // Walk the extension headers a router may meet before the upper layer (RFC 8200 4.1).
  let nxt = <u32>load<u8>(p + 6);
  let o: u32 = 40;
  for (let n = 0; n < 8 && (nxt == 0 || nxt == 43 || nxt == 44 || nxt == 60); n++) {
    flags |= FLAG_OPTIONS;
    if (o + 8 > end) { put(out, drop(REASON_BAD_EXT_HEADER, 6, 40), flags << 16); return; }
    const next = <u32>load<u8>(p + o);
    if (nxt == 44) {
      flags |= FLAG_FRAGMENT;
      o += 8;
    } else {
      const el = (<u32>load<u8>(p + o + 1) + 1) << 3;
      if (o + el > end) { put(out, drop(REASON_BAD_EXT_HEADER, 6, 40), flags << 16); return; }
      o += el;
    }
    nxt = next;
  }
  const hi = bswap<u64>(load<u64>(p + 24));
  const lo = bswap<u64>(load<u64>(p + 32));
  if (isLocal6(hi, lo)) { put(out, ACTION_LOCAL | (6 << 16) | (40 << 24), flags << 16); return; }
  const nh = v6Ready() ? v6Lookup(hi, lo) : -1;
  if (nh < 0) { put(out, drop(REASON_NO_ROUTE, 6, 40), flags << 16); return; }
  const hop = <u32>load<u8>(p + 7);
  if (hop <= 1) { put(out, drop(REASON_TTL_EXPIRED, 6, 40), <u32>nh | (flags << 16)); return; }
  store<u8>(p + 7, <u8>(hop - 1));
  put(out, ACTION_FORWARD | (6 << 16) | (40 << 24), <u32>nh | (flags << 16));
}

/**
 * Classifies `n` packets of the pool [pool, pool + poolLen). `desc`: n x (offset u32,
 * length u32) relative to `pool`; `out`: n x 8-byte verdicts. Forwarded packets are
 * rewritten in place (TTL / hop limit, IPv4 checksum).
 */
export function classify(pool: usize, poolLen: u32, desc: usize, n: u32, out: usize): void {
  for (let i: usize = 0; i < <usize>n; i++) {
    const off = load<u32>(desc + (i << 3));
    const len = load<u32>(desc + (i << 3), 4);
    const o = out + (i << 3);
    if (<u64>off + <u64>len > <u64>poolLen) { put(o, drop(REASON_DESCRIPTOR, 0, 0), 0); continue; }
    if (len == 0) { put(o, drop(REASON_TRUNCATED, 0, 0), 0); continue; }
    const p = pool + <usize>off;
    const v = <u32>load<u8>(p) >> 4;
    if (v == 4) classify4(p, len, o);
    else if (v == 6) classify6(p, len, o);
    else put(o, drop(REASON_BAD_VERSION, 0, 0), 0);
  }
}
