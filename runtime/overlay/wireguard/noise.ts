/**
 * The WireGuard handshake: Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s (whitepaper
 * section 5.4.2-5.4.4; Perrin, "The Noise Protocol Framework", rev. 34), in
 * the order of wireguard-go's CreateMessageInitiation / ConsumeMessageInitiation
 * / CreateMessageResponse / ConsumeMessageResponse / BeginSymmetricSession.
 * mac1/mac2 are added and checked by cookie.ts; this file only builds and
 * consumes the Noise payloads.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import { dh, generateEphemeral, privateKeyObject, publicKeyFromPrivate, publicKeyObject } from './keys.js';
import {
  INIT_EPHEMERAL, INIT_SENDER, INIT_STATIC, INIT_TIMESTAMP, INITIATION_SIZE, MESSAGE_INITIATION, MESSAGE_RESPONSE,
  RESP_EMPTY, RESP_EPHEMERAL, RESP_RECEIVER, RESP_SENDER, RESPONSE_SIZE, readU32, writeType, writeU32,
} from './messages.js';
import { AuthenticationError, HASH, KDF1, KDF2, KDF3, aeadOpen, aeadSeal } from './primitives.js';
import { tai64n, tai64nAfter } from './timestamp.js';
import { HANDSHAKE_INITIATION_RATE } from './constants.js';

const enc = new TextEncoder();
/** Noise protocol name (whitepaper 5.4). */
export const CONSTRUCTION = enc.encode('Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s');
/** WireGuard's prologue identifier. */
export const IDENTIFIER = enc.encode('WireGuard v1 zx2c4 Jason@zx2c4.com');
/** Ci = HASH(CONSTRUCTION), the initial chaining key. */
export const INITIAL_CHAIN_KEY = HASH(CONSTRUCTION);
/** Hi = HASH(Ci || IDENTIFIER), the initial hash. */
export const INITIAL_HASH = HASH(INITIAL_CHAIN_KEY, IDENTIFIER);

const ZERO_NONCE = new Uint8Array(12);
const EMPTY = new Uint8Array(0);
const ZERO32 = new Uint8Array(32);

export const enum HandshakeState {
  Zeroed = 0,
  InitiationCreated = 1,
  InitiationConsumed = 2,
  ResponseCreated = 3,
  ResponseConsumed = 4,
}

/** This node's static identity; the private key is imported once (keys.ts: DER import costs ~0.4 ms). */
export interface LocalStatic {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
  privateKeyObject: KeyObject;
}

/** The LocalStatic of a raw 32-byte private key. @throws RangeError when it is not 32 bytes */
export function localStatic(privateKey: Uint8Array): LocalStatic {
  const privateKeyObj = privateKeyObject(privateKey);
  return { privateKey, publicKey: publicKeyFromPrivate(privateKeyObj), privateKeyObject: privateKeyObj };
}

/** Per-peer handshake state (wireguard-go device.Handshake). */
export class Handshake {
  state = HandshakeState.Zeroed;
  hash: Uint8Array = new Uint8Array(32);
  chainKey: Uint8Array = new Uint8Array(32);
  /** Our ephemeral private key while a handshake is in progress. */
  localEphemeral: KeyObject | null = null;
  remoteEphemeral: Uint8Array = new Uint8Array(32);
  localIndex = 0;
  remoteIndex = 0;
  /** Last accepted initiation timestamp (TAI64N) from this peer. */
  lastTimestamp: Uint8Array = new Uint8Array(12);
  /** When (ms) an initiation from this peer was last consumed (flood limit). */
  lastInitiationConsumption = 0;
  /** When (ms) we last sent an initiation. */
  lastSentHandshake = 0;
  /** A cookie reply already advanced the retry of the current initiation (handshake.ts receiveCookieReply). */
  cookieRetried = false;
  /** DH(S_priv_local, S_pub_remote), fixed for the peer's lifetime. */
  readonly precomputedStaticStatic: Uint8Array;
  /** The peer's static public key as a KeyObject, imported once. */
  readonly remoteStaticKey: KeyObject;

  constructor(
    readonly local: LocalStatic,
    readonly remoteStatic: Uint8Array,
    public presharedKey: Uint8Array = ZERO32,
  ) {
    this.remoteStaticKey = publicKeyObject(remoteStatic);
    this.precomputedStaticStatic = dh(local.privateKeyObject, this.remoteStaticKey);
  }

  /** Forgets the ephemeral and chaining state (not the timestamps). */
  clear(): void {
    this.state = HandshakeState.Zeroed;
    this.hash.fill(0);
    this.chainKey.fill(0);
    this.localEphemeral = null;
    this.remoteEphemeral.fill(0);
    this.localIndex = this.remoteIndex = 0;
  }
}

/** Transport keys from a completed handshake (whitepaper 5.4.5). */
export interface SessionKeys {
  sendKey: Uint8Array;
  recvKey: Uint8Array;
  isInitiator: boolean;
  localIndex: number;
  remoteIndex: number;
}

/**
 * Builds a handshake initiation (148 bytes, mac1/mac2 still zero) for `hs`,
 * with `localIndex` as sender index. `nowMs` feeds the TAI64N timestamp.
 */
export function createInitiation(hs: Handshake, localIndex: number, nowMs = Date.now()): Uint8Array {
  const msg = new Uint8Array(INITIATION_SIZE);
  writeType(msg, MESSAGE_INITIATION);
  writeU32(msg, INIT_SENDER, localIndex);
  let h = HASH(INITIAL_HASH, hs.remoteStatic);
  let c = INITIAL_CHAIN_KEY;
  const e = generateEphemeral();
  hs.localEphemeral = e.privateKey;
  const ePub = e.publicKey;
  msg.set(ePub, INIT_EPHEMERAL);
  c = KDF1(c, ePub);
  h = HASH(h, ePub);
  let k: Uint8Array;
  [c, k] = KDF2(c, dh(e.privateKey, hs.remoteStaticKey));
  const encStatic = aeadSeal(k, ZERO_NONCE, hs.local.publicKey, h);
  msg.set(encStatic, INIT_STATIC);
  h = HASH(h, encStatic);
  [c, k] = KDF2(c, hs.precomputedStaticStatic);
  const encTs = aeadSeal(k, ZERO_NONCE, tai64n(nowMs), h);
  msg.set(encTs, INIT_TIMESTAMP);
  h = HASH(h, encTs);
  hs.hash = h;
  hs.chainKey = c;
  hs.localIndex = localIndex;
  hs.state = HandshakeState.InitiationCreated;
  return msg;
}

/** Why an initiation was refused (counted by the device). */
export type InitiationRefusal = 'auth' | 'unknownPeer' | 'replay' | 'flood';

/**
 * Consumes an initiation (length already checked, mac1 already verified).
 * `findPeer` maps the decrypted initiator static key to its handshake state.
 * Returns the handshake (now InitiationConsumed) or a refusal reason; never throws.
 */
export function consumeInitiation(
  local: LocalStatic,
  msg: Uint8Array,
  findPeer: (remoteStatic: Uint8Array) => Handshake | undefined,
  nowMs = Date.now(),
): Handshake | InitiationRefusal {
  try {
    let h = HASH(INITIAL_HASH, local.publicKey);
    let c = INITIAL_CHAIN_KEY;
    const ePub = msg.subarray(INIT_EPHEMERAL, INIT_EPHEMERAL + 32);
    c = KDF1(c, ePub);
    h = HASH(h, ePub);
    let k: Uint8Array;
    [c, k] = KDF2(c, dh(local.privateKeyObject, ePub));
    const encStatic = msg.subarray(INIT_STATIC, INIT_STATIC + 48);
    const remoteStatic = aeadOpen(k, ZERO_NONCE, encStatic, h);
    h = HASH(h, encStatic);
    const hs = findPeer(remoteStatic);
    if (!hs) return 'unknownPeer';
    [c, k] = KDF2(c, hs.precomputedStaticStatic);
    const encTs = msg.subarray(INIT_TIMESTAMP, INIT_TIMESTAMP + 28);
    const ts = aeadOpen(k, ZERO_NONCE, encTs, h);
    h = HASH(h, encTs);
    if (!tai64nAfter(ts, hs.lastTimestamp)) return 'replay';
    if (hs.lastInitiationConsumption && nowMs - hs.lastInitiationConsumption < HANDSHAKE_INITIATION_RATE) return 'flood';
    hs.hash = h;
    hs.chainKey = c;
    hs.remoteIndex = readU32(msg, INIT_SENDER);
    hs.remoteEphemeral = ePub.slice();
    hs.lastTimestamp = ts.slice();
    hs.lastInitiationConsumption = nowMs;
    hs.state = HandshakeState.InitiationConsumed;
    return hs;
  } catch {
    // AEAD failure or a low-order ephemeral key (X25519 gives zero).
    return 'auth';
  }
}

/** Builds the response (92 bytes, macs zero) to a consumed initiation. */
export function createResponse(hs: Handshake, localIndex: number): Uint8Array {
  if (hs.state !== HandshakeState.InitiationConsumed) throw new AuthenticationError('handshake: response without a consumed initiation');
  const msg = new Uint8Array(RESPONSE_SIZE);
  writeType(msg, MESSAGE_RESPONSE);
  writeU32(msg, RESP_SENDER, localIndex);
  writeU32(msg, RESP_RECEIVER, hs.remoteIndex);
  let h = hs.hash;
  let c = hs.chainKey;
  const e = generateEphemeral();
  const ePub = e.publicKey;
  msg.set(ePub, RESP_EPHEMERAL);
  c = KDF1(c, ePub);
  h = HASH(h, ePub);
  c = KDF1(c, dh(e.privateKey, hs.remoteEphemeral));
  c = KDF1(c, dh(e.privateKey, hs.remoteStaticKey));
  let tau: Uint8Array, k: Uint8Array;
  [c, tau, k] = KDF3(c, hs.presharedKey);
  h = HASH(h, tau);
  const empty = aeadSeal(k, ZERO_NONCE, EMPTY, h);
  msg.set(empty, RESP_EMPTY);
  h = HASH(h, empty);
  hs.hash = h;
  hs.chainKey = c;
  hs.localIndex = localIndex;
  hs.state = HandshakeState.ResponseCreated;
  return msg;
}

/**
 * Consumes a response (length and mac1 checked). `findByIndex` maps the
 * receiver index to the handshake that sent the initiation. Returns the
 * handshake (ResponseConsumed) or null when it does not authenticate.
 */
export function consumeResponse(
  local: LocalStatic,
  msg: Uint8Array,
  findByIndex: (index: number) => Handshake | undefined,
): Handshake | null {
  const hs = findByIndex(readU32(msg, RESP_RECEIVER));
  if (!hs || hs.state !== HandshakeState.InitiationCreated) return null;
  try {
    let h = hs.hash;
    let c = hs.chainKey;
    const ePub = msg.subarray(RESP_EPHEMERAL, RESP_EPHEMERAL + 32);
    c = KDF1(c, ePub);
    h = HASH(h, ePub);
    const eObj = publicKeyObject(ePub);
    c = KDF1(c, dh(hs.localEphemeral!, eObj));
    c = KDF1(c, dh(local.privateKeyObject, eObj));
    let tau: Uint8Array, k: Uint8Array;
    [c, tau, k] = KDF3(c, hs.presharedKey);
    h = HASH(h, tau);
    const empty = msg.subarray(RESP_EMPTY, RESP_EMPTY + 16);
    aeadOpen(k, ZERO_NONCE, empty, h);
    h = HASH(h, empty);
    hs.hash = h;
    hs.chainKey = c;
    hs.remoteIndex = readU32(msg, RESP_SENDER);
    hs.state = HandshakeState.ResponseConsumed;
    return hs;
  } catch {
    return null;
  }
}

/**
 * Derives the transport keys (whitepaper 5.4.5): (T_send, T_recv) =
 * KDF2(C, empty) for the initiator, swapped for the responder; then wipes
 * the handshake's chaining state.
 */
export function beginSymmetricSession(hs: Handshake): SessionKeys {
  const isInitiator = hs.state === HandshakeState.ResponseConsumed;
  if (!isInitiator && hs.state !== HandshakeState.ResponseCreated) throw new AuthenticationError('handshake: no completed handshake to derive keys from');
  const [t1, t2] = KDF2(hs.chainKey, EMPTY);
  const keys: SessionKeys = {
    sendKey: isInitiator ? t1 : t2,
    recvKey: isInitiator ? t2 : t1,
    isInitiator,
    localIndex: hs.localIndex,
    remoteIndex: hs.remoteIndex,
  };
  hs.clear();
  return keys;
}

/** A random 32-bit session index. */
export const randomIndex = (): number => randomBytes(4).readUInt32LE(0);
