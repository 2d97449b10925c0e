/**
 * Babel constants, named as in RFC 8966. Wire values come from §4 (packet format)
 * and §4.6 (TLV types); timer defaults from Appendix B ("Protocol Parameters").
 * Times here are milliseconds; the wire carries intervals in centiseconds (§4.1.1).
 */

/** §4.2: first octet of every Babel packet. */
export const BABEL_MAGIC = 42;
/** §4.2: protocol version carried in the second octet. */
export const BABEL_VERSION = 2;
/** §4.2: Magic (1) + Version (1) + Body length (2). */
export const PACKET_HEADER_LENGTH = 4;

/** §4.6: TLV type codes. */
export const TlvType = {
  Pad1: 0,
  PadN: 1,
  AckRequest: 2,
  Ack: 3,
  Hello: 4,
  IHU: 5,
  RouterId: 6,
  NextHop: 7,
  Update: 8,
  RouteRequest: 9,
  SeqnoRequest: 10,
} as const;

/** §4.1.3: address encodings. */
export const AE = {
  Wildcard: 0,
  IPv4: 1,
  IPv6: 2,
  LinkLocalIPv6: 3,
} as const;

/** §2.1: the infinite metric (a retraction, an unusable link). */
export const INFINITY = 0xffff;

/** §4.6.5: Hello flag U (unicast Hello). */
export const HELLO_FLAG_UNICAST = 0x8000;
/** §4.6.9: Update flag 0x80: the prefix becomes the default prefix for its AE. */
export const UPDATE_FLAG_DEFAULT_PREFIX = 0x80;
/** §4.6.9: Update flag 0x40: the router-id is the low 64 bits of the prefix. */
export const UPDATE_FLAG_ROUTER_ID = 0x40;

/** §4.4: sub-TLV types and the mandatory bit. */
export const SUBTLV_PAD1 = 0;
export const SUBTLV_PADN = 1;
export const SUBTLV_MANDATORY = 0x80;

/** Appendix B: Multicast Hello interval, 4 s (tfw sends the same interval as unicast Hellos, §3.4.1). */
export const HELLO_INTERVAL = 4000;
/** Appendix B: IHU interval, 3 × Hello interval. */
export const IHU_INTERVAL_FACTOR = 3;
/** Appendix B: Update interval, 4 × Hello interval. */
export const UPDATE_INTERVAL_FACTOR = 4;
/** Appendix B: IHU hold time, 3.5 × the advertised IHU interval. */
export const IHU_HOLD_FACTOR = 3.5;
/** Appendix B: route expiry time, 3.5 × the advertised update interval. */
export const ROUTE_EXPIRY_FACTOR = 3.5;
/** Appendix A.1: a Hello is declared missed 1.5 × the advertised interval after the previous one. */
export const HELLO_TIMEOUT_FACTOR = 1.5;
/** Appendix B: request timeout, initially 2 s, doubled at each resend. */
export const REQUEST_TIMEOUT = 2000;
/** Appendix B: a request is resent at most three times. */
export const REQUEST_RESENDS = 3;
/** Appendix B: urgent timeout, 0.2 s (minimum spacing of identical urgent messages). */
export const URGENT_TIMEOUT = 200;
/** Appendix B: source GC time, 3 minutes. */
export const SOURCE_GC_TIME = 180_000;
/** §3.8.2.1 / babeld: hop count of a seqno request we originate. */
export const SEQNO_REQUEST_HOP_COUNT = 64;
/** Appendix A.2.1: nominal cost K of a link that passes the 2-out-of-3 test (babeld's wired default). */
export const NOMINAL_LINK_COST = 96;
/** Babel packets travel inside WireGuard: IPv6 minimum MTU (1280) minus IPv6 (40) and UDP (8) headers. */
export const MAX_PACKET_SIZE = 1232;
/**
 * Routes learned from one neighbour at most (a local policy, not RFC 8966: the
 * RFC leaves resource limits to implementations, section 3.5.3 "MAY ignore").
 * Above 10,000 so a large mesh still fits; below what would stall the node.
 */
export const MAX_PREFIXES_PER_NEIGHBOUR = 16384;
