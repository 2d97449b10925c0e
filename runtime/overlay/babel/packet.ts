/**
 * Babel packets (RFC 8966 §4.2): Magic 42, Version 2, Body length, then a
 * sequence of TLVs (§4.3); bytes past the body (the packet trailer, §4.2) are
 * ignored. The parser keeps the per-packet state of §4.5 (current router-id, next
 * hops, default prefixes) and resolves it into each Update. It never throws:
 * malformed packets and TLVs are counted in ParseStats and skipped.
 */
import { Ack, AckRequest, decodeAck, decodeAckRequest, encodeAck, encodeAckRequest } from './ack.js';
import { AE, BABEL_MAGIC, BABEL_VERSION, MAX_PACKET_SIZE, PACKET_HEADER_LENGTH, TlvType, UPDATE_FLAG_DEFAULT_PREFIX, UPDATE_FLAG_ROUTER_ID } from './constants.js';
import { decodeHello, encodeHello, Hello } from './hello.js';
import { decodeIhu, encodeIhu, Ihu } from './ihu.js';
import { decodeNextHop, encodeNextHop, NextHop } from './next-hop.js';
import { decodePadN, encodePad1, encodePadN, Pad1, PadN } from './pad.js';
import { prefixWireLength } from './prefix.js';
import { decodeRouteRequest, encodeRouteRequest, RouteRequest } from './route-request.js';
import { decodeRouterId, encodeRouterId, RouterId, validRouterId } from './router-id.js';
import { decodeSeqnoRequest, encodeSeqnoRequest, SeqnoRequest } from './seqno-request.js';
import { decodeUpdate, encodeUpdate, Update } from './update.js';
import { scanSubTlvs, u16, Writer } from './wire.js';

/** Every TLV this implementation knows (RFC 8966 §4.6.1 - §4.6.11). */
export type Tlv = Pad1 | PadN | AckRequest | Ack | Hello | Ihu | RouterId | NextHop | Update | RouteRequest | SeqnoRequest;

/** Counters of what the parser skipped; `packets` counts every datagram offered. */
export interface ParseStats {
  packets: number;
  /** Shorter than the header, wrong magic or wrong version (§4.2: silently ignored). */
  badHeader: number;
  /** Body length runs past the end of the datagram (§4.2). */
  truncated: number;
  /** A TLV or sub-TLV shorter than its fields or running past the body, or invalid field values. */
  malformedTlv: number;
  /** TLV types this implementation does not know (§4.3: silently ignored). */
  unknownTlv: number;
  /** Address encodings this implementation does not know (§4.1.3: the TLV is ignored). */
  unknownAe: number;
  /** TLVs ignored because of an unknown sub-TLV with the mandatory bit (§4.4). */
  ignoredMandatory: number;
}

export function newParseStats(): ParseStats {
  return { packets: 0, badHeader: 0, truncated: 0, malformedTlv: 0, unknownTlv: 0, unknownAe: 0, ignoredMandatory: 0 };
}

type Decoded = { tlv: Tlv; length: number } | null | 'unknownAe' | 'unknownType';

/** §4.5: per-packet parser state. */
interface ParserState {
  routerId: Uint8Array | null;
  nextHop4: Uint8Array | null;
  nextHop6: Uint8Array | null;
  default1: Uint8Array | undefined;
  default2: Uint8Array | undefined;
}

function decodeOne(type: number, body: Uint8Array, st: ParserState): Decoded {
  switch (type) {
    case TlvType.PadN:
      return decodePadN(body);
    case TlvType.AckRequest:
      return decodeAckRequest(body);
    case TlvType.Ack:
      return decodeAck(body);
    case TlvType.Hello:
      return decodeHello(body);
    case TlvType.IHU:
      return decodeIhu(body);
    case TlvType.RouterId:
      return decodeRouterId(body);
    case TlvType.NextHop:
      return decodeNextHop(body);
    case TlvType.Update:
      return decodeUpdate(body, (ae) => (ae === AE.IPv4 ? st.default1 : ae === AE.IPv6 ? st.default2 : undefined));
    case TlvType.RouteRequest:
      return decodeRouteRequest(body);
    case TlvType.SeqnoRequest:
      return decodeSeqnoRequest(body);
    default:
      return 'unknownType';
  }
}

/**
 * Applies a TLV's effect on the parser state (§4.5), which happens even when the
 * TLV itself is ignored for a mandatory sub-TLV (§4.4). Returns false when the
 * Update's flag 0x40 yields an invalid router-id.
 */
function applyState(tlv: Tlv, st: ParserState): boolean {
  if (tlv.type === 'routerId') st.routerId = tlv.routerId;
  else if (tlv.type === 'nextHop') {
    if (tlv.ae === AE.IPv4) st.nextHop4 = tlv.address;
    else st.nextHop6 = tlv.address;
  } else if (tlv.type === 'update') {
    if (tlv.flags & UPDATE_FLAG_DEFAULT_PREFIX) {
      if (tlv.ae === AE.IPv4) st.default1 = tlv.prefix;
      else if (tlv.ae === AE.IPv6) st.default2 = tlv.prefix;
    }
    if (tlv.flags & UPDATE_FLAG_ROUTER_ID && tlv.ae !== AE.Wildcard) {
      // The router-id is the low 64 bits of the prefix (an IPv4 prefix is zero-extended).
      const rid = new Uint8Array(8);
      if (tlv.prefix.length === 16) rid.set(tlv.prefix.subarray(8, 16));
      else rid.set(tlv.prefix, 4);
      if (!validRouterId(rid)) return false;
      st.routerId = rid;
    }
    tlv.routerId = st.routerId;
    tlv.nextHop = tlv.ae === AE.IPv4 ? st.nextHop4 : st.nextHop6;
  }
  return true;
}

/**
 * Parses one datagram into its TLVs (Pad1/PadN dropped). Never throws: a bad
 * header or a body length past the end drops the packet, a malformed TLV is
 * skipped, a TLV whose length runs past the body ends the parse (§4.3).
 */
export function parsePacket(bytes: Uint8Array, stats: ParseStats): Tlv[] {
  stats.packets++;
  if (bytes.length < PACKET_HEADER_LENGTH || bytes[0] !== BABEL_MAGIC || bytes[1] !== BABEL_VERSION) {
    stats.badHeader++;
    return [];
  }
  const bodyLength = u16(bytes, 2);
  if (PACKET_HEADER_LENGTH + bodyLength > bytes.length) {
    stats.truncated++;
    return [];
  }
  const body = bytes.subarray(PACKET_HEADER_LENGTH, PACKET_HEADER_LENGTH + bodyLength);
  const st: ParserState = { routerId: null, nextHop4: null, nextHop6: null, default1: undefined, default2: undefined };
  const out: Tlv[] = [];
  let i = 0;
  while (i < body.length) {
    const type = body[i];
    if (type === TlvType.Pad1) {
      i++;
      continue;
    }
    if (i + 2 > body.length || i + 2 + body[i + 1] > body.length) {
      stats.malformedTlv++;
      break;
    }
    const tb = body.subarray(i + 2, i + 2 + body[i + 1]);
    i += 2 + tb.length;
    let d: Decoded;
    try {
      d = decodeOne(type, tb, st);
    } catch {
      d = null; // defensive: a decoder bug must not take the router down
    }
    if (d === 'unknownType') {
      stats.unknownTlv++;
      continue;
    }
    if (d === 'unknownAe') {
      stats.unknownAe++;
      continue;
    }
    if (d === null) {
      stats.malformedTlv++;
      continue;
    }
    const scan = scanSubTlvs(tb.subarray(d.length));
    if (scan === 'malformed') {
      stats.malformedTlv++;
      continue;
    }
    if (!applyState(d.tlv, st)) {
      stats.malformedTlv++;
      continue;
    }
    if (scan === 'mandatory') {
      stats.ignoredMandatory++;
      continue;
    }
    if (d.tlv.type !== 'padN') out.push(d.tlv);
  }
  return out;
}

/** Writes one TLV as given (no compression, no implied Router-Id). */
export function encodeTlv(w: Writer, tlv: Tlv): void {
  switch (tlv.type) {
    case 'pad1':
      return encodePad1(w);
    case 'padN':
      return encodePadN(w, tlv);
    case 'ackRequest':
      return encodeAckRequest(w, tlv);
    case 'ack':
      return encodeAck(w, tlv);
    case 'hello':
      return encodeHello(w, tlv);
    case 'ihu':
      return encodeIhu(w, tlv);
    case 'routerId':
      return encodeRouterId(w, tlv);
    case 'nextHop':
      return encodeNextHop(w, tlv);
    case 'update':
      return encodeUpdate(w, tlv);
    case 'routeRequest':
      return encodeRouteRequest(w, tlv);
    case 'seqnoRequest':
      return encodeSeqnoRequest(w, tlv);
  }
}

function sameBytes(a: Uint8Array | null | undefined, b: Uint8Array | null | undefined): boolean {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Builds packets of at most `maxSize` octets. Updates carrying `routerId` get a
 * Router-Id TLV in front when it differs from the one in force (§4.6.7), and their
 * prefixes are compressed against the previous prefix of the same AE (§4.6.9:
 * flag 0x80 on every Update, Omitted = octets shared with the previous one).
 */
export class PacketEncoder {
  private w = new Writer();
  private routerId: Uint8Array | null = null;
  private default1: Uint8Array | undefined;
  private default2: Uint8Array | undefined;
  private count = 0;

  constructor(private readonly maxSize = MAX_PACKET_SIZE) {
    this.w.u8(BABEL_MAGIC).u8(BABEL_VERSION).u16(0);
  }

  /** TLVs added so far. */
  get size(): number {
    return this.count;
  }

  /** Appends a TLV; returns false (and changes nothing) when it does not fit. */
  add(tlv: Tlv): boolean {
    const t = new Writer();
    let routerId = this.routerId;
    let def1 = this.default1;
    let def2 = this.default2;
    if (tlv.type === 'update' && tlv.ae !== AE.Wildcard) {
      if (tlv.routerId && !sameBytes(tlv.routerId, routerId)) {
        encodeRouterId(t, { type: 'routerId', routerId: tlv.routerId });
        routerId = tlv.routerId;
      }
      let omitted = 0;
      let flags = tlv.flags & ~UPDATE_FLAG_ROUTER_ID;
      if (tlv.ae === AE.IPv4 || tlv.ae === AE.IPv6) {
        const def = tlv.ae === AE.IPv4 ? def1 : def2;
        const max = prefixWireLength(tlv.ae, tlv.plen);
        if (def) while (omitted < max && def[omitted] === tlv.prefix[omitted]) omitted++;
        flags |= UPDATE_FLAG_DEFAULT_PREFIX;
        if (tlv.ae === AE.IPv4) def1 = tlv.prefix;
        else def2 = tlv.prefix;
      }
      encodeUpdate(t, { ...tlv, flags, omitted });
    } else {
      encodeTlv(t, tlv);
    }
    if (this.w.length + t.length > this.maxSize && this.count > 0) return false;
    this.w.bytes(t.toBytes());
    this.routerId = routerId;
    this.default1 = def1;
    this.default2 = def2;
    this.count++;
    return true;
  }

  /** The finished packet with its body length filled in. */
  finish(): Uint8Array {
    this.w.patchU16(2, this.w.length - PACKET_HEADER_LENGTH);
    return this.w.toBytes();
  }
}

/** Encodes TLVs into as many packets of at most `maxSize` octets as needed. */
export function encodePackets(tlvs: Tlv[], maxSize = MAX_PACKET_SIZE): Uint8Array[] {
  const out: Uint8Array[] = [];
  let enc = new PacketEncoder(maxSize);
  for (const tlv of tlvs) {
    if (enc.add(tlv)) continue;
    out.push(enc.finish());
    enc = new PacketEncoder(maxSize);
    enc.add(tlv);
  }
  if (enc.size > 0) out.push(enc.finish());
  return out;
}

/** Encodes TLVs verbatim (no compression, no size limit) into one packet. */
export function encodePacket(tlvs: Tlv[]): Uint8Array {
  const w = new Writer();
  w.u8(BABEL_MAGIC).u8(BABEL_VERSION).u16(0);
  for (const t of tlvs) encodeTlv(w, t);
  w.patchU16(2, w.length - PACKET_HEADER_LENGTH);
  return w.toBytes();
}
