/**
 * mac1/mac2 and cookie replies (whitepaper section 5.3 and 5.4.7, wireguard-go
 * device/cookie.go). Every handshake message ends with
 *   mac1 = MAC(HASH(LABEL_MAC1 || S_pub_receiver), msg up to mac1)
 *   mac2 = MAC(cookie, msg up to mac2), or zeros without a fresh cookie,
 * where cookie = MAC(R_secret, source IP || port) and R_secret changes every
 * two minutes. Under load, a responder answers a message with a valid mac1 but
 * no valid mac2 by a cookie reply (type 3) instead of doing any DH:
 *   reply.cookie = XAEAD(HASH(LABEL_COOKIE || S_pub_responder), nonce24, cookie, mac1).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { COOKIE_COOKIE, COOKIE_NONCE, COOKIE_RECEIVER, COOKIE_REPLY_SIZE, MESSAGE_COOKIE_REPLY, writeType, writeU32 } from './messages.js';
import { HASH, MAC, xaeadOpen, xaeadSeal } from './primitives.js';
import { COOKIE_REFRESH_TIME } from './constants.js';

const enc = new TextEncoder();
export const LABEL_MAC1 = enc.encode('mac1----');
export const LABEL_COOKIE = enc.encode('cookie--');
const ZERO16 = new Uint8Array(16);

const eq = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && timingSafeEqual(a, b);

/** Responder side: checks incoming macs and makes cookie replies (keyed by this node's public key). */
export class CookieChecker {
  private readonly mac1Key: Uint8Array;
  private readonly encryptionKey: Uint8Array;
  private secret = new Uint8Array(32);
  private secretSet = -Infinity;

  constructor(localPublicKey: Uint8Array, private readonly now: () => number = Date.now) {
    this.mac1Key = HASH(LABEL_MAC1, localPublicKey);
    this.encryptionKey = HASH(LABEL_COOKIE, localPublicKey);
  }

  /** True when the message's mac1 (bytes [len-32, len-16)) is valid for this node. */
  checkMac1(msg: Uint8Array): boolean {
    const n = msg.length;
    return eq(MAC(this.mac1Key, msg.subarray(0, n - 32)), msg.subarray(n - 32, n - 16));
  }

  /** True when mac2 proves the sender holds a current cookie for `source` (IP bytes || port). */
  checkMac2(msg: Uint8Array, source: Uint8Array): boolean {
    if (this.now() - this.secretSet > COOKIE_REFRESH_TIME) return false;
    const cookie = MAC(this.secret, source);
    const n = msg.length;
    return eq(MAC(cookie, msg.subarray(0, n - 16)), msg.subarray(n - 16));
  }

  /** A cookie reply (64 bytes) to handshake message `msg` from `source`, for sender index `receiverIndex`. */
  createReply(msg: Uint8Array, receiverIndex: number, source: Uint8Array): Uint8Array {
    const t = this.now();
    if (t - this.secretSet > COOKIE_REFRESH_TIME) {
      this.secret = new Uint8Array(randomBytes(32));
      this.secretSet = t;
    }
    const cookie = MAC(this.secret, source);
    const reply = new Uint8Array(COOKIE_REPLY_SIZE);
    writeType(reply, MESSAGE_COOKIE_REPLY);
    writeU32(reply, COOKIE_RECEIVER, receiverIndex);
    const nonce = new Uint8Array(randomBytes(24));
    reply.set(nonce, COOKIE_NONCE);
    const n = msg.length;
    reply.set(xaeadSeal(this.encryptionKey, nonce, cookie, msg.subarray(n - 32, n - 16)), COOKIE_COOKIE);
    return reply;
  }
}

/** Initiator side: adds macs to outgoing handshake messages and stores cookies from replies (keyed by the peer's public key). */
export class CookieGenerator {
  private readonly mac1Key: Uint8Array;
  private readonly encryptionKey: Uint8Array;
  private cookie = new Uint8Array(16);
  private cookieSet = -Infinity;
  private lastMac1: Uint8Array | null = null;

  constructor(remotePublicKey: Uint8Array, private readonly now: () => number = Date.now) {
    this.mac1Key = HASH(LABEL_MAC1, remotePublicKey);
    this.encryptionKey = HASH(LABEL_COOKIE, remotePublicKey);
  }

  /** Fills mac1 and mac2 (the last 32 bytes) of an outgoing handshake message in place. */
  addMacs(msg: Uint8Array): void {
    const n = msg.length;
    const mac1 = MAC(this.mac1Key, msg.subarray(0, n - 32));
    msg.set(mac1, n - 32);
    this.lastMac1 = mac1;
    msg.set(this.now() - this.cookieSet < COOKIE_REFRESH_TIME ? MAC(this.cookie, msg.subarray(0, n - 16)) : ZERO16, n - 16);
  }

  /** Decrypts and stores the cookie of a reply; false when it does not authenticate against our last mac1. */
  consumeReply(reply: Uint8Array): boolean {
    if (!this.lastMac1 || reply.length !== COOKIE_REPLY_SIZE) return false;
    try {
      this.cookie = xaeadOpen(this.encryptionKey, reply.subarray(COOKIE_NONCE, COOKIE_COOKIE), reply.subarray(COOKIE_COOKIE), this.lastMac1).slice();
    } catch {
      return false;
    }
    this.cookieSet = this.now();
    return true;
  }
}
