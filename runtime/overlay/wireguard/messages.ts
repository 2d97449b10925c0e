/**
 * WireGuard message layouts (whitepaper section 5.4, wireguard-go
 * device/noise-protocol.go). All integers little-endian; the first byte is the
 * type, followed by 3 reserved zero bytes.
 */
export const MESSAGE_INITIATION = 1;
export const MESSAGE_RESPONSE = 2;
export const MESSAGE_COOKIE_REPLY = 3;
export const MESSAGE_TRANSPORT = 4;

/** Initiation: type, sender(4), ephemeral(32), static(32+16), timestamp(12+16), mac1(16), mac2(16). */
export const INITIATION_SIZE = 148;
export const INIT_SENDER = 4;
export const INIT_EPHEMERAL = 8;
export const INIT_STATIC = 40;
export const INIT_TIMESTAMP = 88;
export const INIT_MAC1 = 116;
export const INIT_MAC2 = 132;

/** Response: type, sender(4), receiver(4), ephemeral(32), empty(0+16), mac1(16), mac2(16). */
export const RESPONSE_SIZE = 92;
export const RESP_SENDER = 4;
export const RESP_RECEIVER = 8;
export const RESP_EPHEMERAL = 12;
export const RESP_EMPTY = 44;
export const RESP_MAC1 = 60;
export const RESP_MAC2 = 76;

/** Cookie reply: type, receiver(4), nonce(24), encrypted cookie(16+16). */
export const COOKIE_REPLY_SIZE = 64;
export const COOKIE_RECEIVER = 4;
export const COOKIE_NONCE = 8;
export const COOKIE_COOKIE = 32;

/** Transport: type, receiver(4), counter(8), encrypted packet (>= 16 bytes: tag). */
export const TRANSPORT_HEADER_SIZE = 16;
export const TRANSPORT_RECEIVER = 4;
export const TRANSPORT_COUNTER = 8;
export const TAG_SIZE = 16;
export const TRANSPORT_MIN_SIZE = TRANSPORT_HEADER_SIZE + TAG_SIZE;
/** Bytes WireGuard adds around an IP packet: header + tag (padding aside). */
export const TRANSPORT_OVERHEAD = TRANSPORT_HEADER_SIZE + TAG_SIZE;

export const readU32 = (b: Uint8Array, o: number): number => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v; b[o + 1] = v >>> 8; b[o + 2] = v >>> 16; b[o + 3] = v >>> 24;
}
/** Reads a little-endian 64-bit counter as a number (exact below 2^53; larger values read as >= 2^53). */
export const readU64 = (b: Uint8Array, o: number): number => readU32(b, o) + readU32(b, o + 4) * 0x100000000;
export function writeU64(b: Uint8Array, o: number, v: number): void {
  writeU32(b, o, v >>> 0);
  writeU32(b, o + 4, Math.floor(v / 0x100000000) >>> 0);
}

/** Writes the type byte and the 3 reserved zeros. */
export function writeType(b: Uint8Array, type: number): void {
  b[0] = type; b[1] = 0; b[2] = 0; b[3] = 0;
}
