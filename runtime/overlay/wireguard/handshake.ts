/**
 * The handshake side of the device (wireguard-go device/noise-protocol.go and
 * the handshake parts of device/receive.go): initiations sent and consumed,
 * responses created and consumed, cookie replies created under load and
 * consumed, mac1/mac2 checks, and the retry after crossed initiations. Transport data, timers and the peer table stay in device.ts;
 * this class reaches them through `HandshakeHost`.
 *
 * Off the data path, as wireguard-go's RoutineHandshake: the receive path
 * only queues initiations and responses (handshake-queue.ts, bounded);
 * `process` handles them later within a time budget. The device is "under
 * load" while the queue holds QUEUE_HANDSHAKE_SIZE / 8 messages or more, or
 * handshakes took more than HANDSHAKE_BUSY_MS of the last second, and for
 * UNDER_LOAD_AFTER_TIME after either: then a message without a valid mac2 is
 * answered by a cookie reply (no DH), and one with a valid mac2 passes the
 * per-source rate limit (ratelimiter.ts) before its DH.
 */
import type { Endpoint } from '../links/conn.js';
import { CookieChecker } from './cookie.js';
import type { DeviceTimers } from './timers.js';
import type { Drops } from '../drops.js';
import { HandshakeQueue, QUEUE_HANDSHAKE_SIZE } from './handshake-queue.js';
import type { IndexEntry } from './index-entry.js';
import { Keypair } from './keypair.js';
import { toBase64 } from './keys.js';
import { COOKIE_RECEIVER, INIT_SENDER, INITIATION_SIZE, RESP_SENDER, readU32 } from './messages.js';
import {
  beginSymmetricSession, consumeInitiation, consumeResponse, createInitiation, createResponse, HandshakeState, randomIndex,
  type Handshake, type LocalStatic,
} from './noise.js';
import type { LimitedLog } from '../log-limit.js';
import type { Peer } from './peer.js';
import { RateLimiter } from './ratelimiter.js';
import { COOKIE_RETRY, HANDSHAKE_BUSY_MS, REKEY_TIMEOUT, UNDER_LOAD_AFTER_TIME } from './constants.js';

/** Delay before the greater key re-initiates after a simultaneous-initiation collision (ms; > the 20 ms flood limit). */
const COLLISION_RETRY = 100;

/** Endpoint bytes for cookies: address, port and family of the record, as the cookie's "source" (whitepaper 5.4.7). */
const endpointBytes = (ep: Endpoint): Uint8Array => ep.raw.slice(0, 19);

/** The device state and steps the handshake side uses (device.ts provides them). */
export interface HandshakeHost {
  readonly local: LocalStatic;
  readonly peers: Map<string, Peer>;
  readonly drops: Drops;
  readonly indexTable: Map<number, IndexEntry>;
  now(): number;
  /** Queues a control message (unsealed) for the next flush. */
  queueDatagram(msg: Uint8Array, ep: Endpoint): void;
  /** Gives a new keypair its key slot in both pools and its index; false when no slot is free. */
  installKeypair(kp: Keypair, peer: Peer): boolean;
  /** Forgets a keypair: its index now, its key slot after the current batch. */
  releaseKeypair(kp: Keypair | null): void;
  /** Takes `from` as the peer's endpoint (roaming). */
  roam(peer: Peer, from: Endpoint): void;
  /** The only writer of peer timers (timers.ts): this path reports its timer events there. */
  readonly timers: DeviceTimers;
  /** Sends staged data, else a keepalive, to the peer. */
  sendKeepalive(peer: Peer): void;
  /** Sends what the batches hold (the replies handshakes queued). */
  flush(): void;
  log(msg: string): void;
  /** Refused handshakes are logged here: once per peer (or source) and interval, not per packet. */
  readonly failures: LimitedLog;
}

/** How the handshake work is run (DeviceOptions has the same fields, documented there). */
export interface HandshakeOptions {
  forceUnderLoad?: boolean;
  queueSize?: number;
  /** Default HANDSHAKE_BUSY_MS with `schedule`, unlimited without. */
  busyMs?: number;
  schedule?: (run: () => void) => void;
  /** Wall time per scheduled run (ms, default 2). */
  budgetMs?: number;
}

/**
 * Handshake messages (types 1, 2, 3) in and out for one device. Nothing from
 * the network throws: refused messages are counted in `drops.handshake`
 * (and `drops.mac` for a bad mac1), as in device.ts.
 */
export class Handshakes {
  private readonly cookieChecker: CookieChecker;
  private readonly queue: HandshakeQueue;
  private readonly limiter: RateLimiter;
  /** Device clock (ms) until which the device counts as under load. */
  private underLoadUntil = 0;
  /** Wall time (performance.now(), ms) spent on handshake messages since `busyWindowStart`. */
  private busyMs = 0;
  private busyWindowStart = 0;

  private readonly forceUnderLoad: boolean;
  private readonly busyLimitMs: number;
  private readonly schedule: ((run: () => void) => void) | null;
  private readonly budgetMs: number;
  private scheduled = false;

  constructor(private readonly dev: HandshakeHost, opts: HandshakeOptions = {}) {
    this.cookieChecker = new CookieChecker(dev.local.publicKey, dev.now);
    this.queue = new HandshakeQueue(opts.queueSize ?? QUEUE_HANDSHAKE_SIZE);
    this.limiter = new RateLimiter(dev.now);
    this.forceUnderLoad = opts.forceUnderLoad ?? false;
    this.schedule = opts.schedule ?? null;
    this.busyLimitMs = opts.busyMs ?? (this.schedule ? HANDSHAKE_BUSY_MS : Infinity);
    this.budgetMs = opts.budgetMs ?? 2;
  }

  /** After a receive batch: handles the queued messages now (no scheduler), or schedules a run. */
  afterReceive(): void {
    if (!this.queue.length) return;
    if (!this.schedule) this.run(Infinity);
    else if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(this.scheduledRun);
    }
  }

  /** Handles queued messages for up to `budgetMs` of wall time and sends the replies; returns how many are left. */
  run(budgetMs = this.budgetMs): number {
    const left = this.process(budgetMs);
    this.dev.flush();
    return left;
  }

  private readonly scheduledRun = (): void => {
    this.scheduled = false;
    try {
      if (this.run() > 0) {
        this.scheduled = true;
        this.schedule!(this.scheduledRun);
      }
    } catch (err) {
      this.dev.log(`handshakes: ${(err as Error).message}`);
    }
  };

  /** Handshake messages waiting for `process`. */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * Queues an initiation (type 1, 148 bytes) or response (type 2, 92 bytes)
   * for `process`; a full queue drops it (`drops.handshakeQueueFull`).
   */
  enqueue(msg: Uint8Array, len: number, from: Endpoint): void {
    if (!this.queue.push(msg, len, from)) this.dev.drops.handshakeQueueFull++;
  }

  /**
   * Handles queued handshake messages, oldest first, until the queue is empty
   * or `budgetMs` of wall time went by; returns how many are left. Replies are
   * queued on the device (the caller flushes).
   */
  process(budgetMs = Infinity): number {
    const start = performance.now();
    let t = start;
    while (this.queue.length && t - start < budgetMs) {
      this.queue.shift(this.handle);
      const after = performance.now();
      if (after - this.busyWindowStart > 1000) {
        this.busyWindowStart = after;
        this.busyMs = 0;
      }
      this.busyMs += after - t;
      t = after;
    }
    return this.queue.length;
  }

  private readonly handle = (msg: Uint8Array, from: Endpoint): void => {
    if (msg.length === INITIATION_SIZE) this.receiveInitiation(msg, from);
    else this.receiveResponse(msg, from);
  };

  /** Sends a handshake initiation to `peer` unless one went out less than REKEY_TIMEOUT ago. */
  sendInitiation(peer: Peer, isRetry: boolean): void {
    const t = this.dev.now();
    if (!isRetry) this.dev.timers.handshakeRequested(peer);
    const hs = peer.handshake;
    if (hs.lastSentHandshake && t - hs.lastSentHandshake < REKEY_TIMEOUT) return;
    if (!peer.endpoint) {
      this.dev.drops.noEndpoint++;
      return;
    }
    hs.lastSentHandshake = t;
    if (!isRetry) hs.cookieRetried = false;
    if (hs.localIndex) this.dev.indexTable.delete(hs.localIndex);
    const index = this.newIndex({ peer, handshake: hs });
    const msg = createInitiation(hs, index, t);
    peer.cookieGenerator.addMacs(msg);
    this.dev.queueDatagram(msg, peer.endpoint);
    const timers = this.dev.timers;
    timers.anyAuthenticatedPacketTraversal(peer);
    timers.anyAuthenticatedPacketSent(peer);
    timers.handshakeInitiated(peer);
  }

  private newIndex(entry: IndexEntry): number {
    let i = randomIndex();
    while (i === 0 || this.dev.indexTable.has(i)) i = randomIndex();
    this.dev.indexTable.set(i, entry);
    return i;
  }

  /** wireguard-go Device.IsUnderLoad, with the time spent on handshakes as a second signal. */
  private underLoad(): boolean {
    if (this.forceUnderLoad) return true;
    const t = this.dev.now();
    const busy = performance.now() - this.busyWindowStart <= 1000 && this.busyMs > this.busyLimitMs;
    if (busy || this.queue.length >= this.queue.capacity / 8) {
      this.underLoadUntil = t + UNDER_LOAD_AFTER_TIME;
      return true;
    }
    return this.underLoadUntil > t;
  }

  /**
   * mac1 and (under load) mac2 and rate-limit checks; false = handled
   * (counted: `mac`, `cookieReplies` or `rateLimited`).
   */
  private checkMacs(msg: Uint8Array, from: Endpoint, senderIndexOffset: number): boolean {
    if (!this.cookieChecker.checkMac1(msg)) {
      this.dev.drops.mac++;
      const src = from.toString();
      this.dev.failures.note(src, `handshake from ${src} refused: bad mac1 (sent to another public key?)`);
      return false;
    }
    if (this.underLoad()) {
      const src = endpointBytes(from);
      if (!this.cookieChecker.checkMac2(msg, src)) {
        this.dev.queueDatagram(this.cookieChecker.createReply(msg, readU32(msg, senderIndexOffset), src), from);
        this.dev.drops.cookieReplies++;
        return false;
      }
      if (!this.limiter.allow(from)) {
        this.dev.drops.rateLimited++;
        return false;
      }
    }
    return true;
  }

  /** Handles a 148-byte initiation (type 1): macs, consume, answer with a response; the new keypair waits in `next`. */
  private receiveInitiation(msg: Uint8Array, from: Endpoint): void {
    if (!this.checkMacs(msg, from, INIT_SENDER)) return;
    const t = this.dev.now();
    let initiating = false;
    let claimed = '';
    const res = consumeInitiation(this.dev.local, msg, (pub) => {
      claimed = toBase64(pub);
      const hs = this.dev.peers.get(claimed)?.handshake;
      initiating = hs?.state === HandshakeState.InitiationCreated;
      return hs;
    }, t);
    if (typeof res === 'string') {
      this.dev.drops.handshake++;
      const src = from.toString();
      // Keyed by the peer when it is one of ours, else by the source: claimed keys cost an attacker nothing.
      const known = claimed !== '' && this.dev.peers.has(claimed);
      this.dev.failures.note(known ? claimed : src, `handshake initiation from ${known ? `peer ${claimed}` : 'an unknown sender'} at ${src} refused: ${res}`);
      return;
    }
    const peer = this.dev.peers.get(toBase64(res.remoteStatic))!;
    this.dev.roam(peer, from);
    if (res.localIndex) this.dev.indexTable.delete(res.localIndex);
    const index = this.newIndex({ peer, handshake: res });
    const resp = createResponse(res, index);
    peer.cookieGenerator.addMacs(resp);
    const kp = new Keypair(beginSymmetricSession(res), t);
    this.dev.indexTable.delete(index);
    if (!this.dev.installKeypair(kp, peer)) {
      this.dev.drops.handshake++;
      return;
    }
    // Responder: the new keypair waits in `next` until the initiator uses it.
    const kps = peer.keypairs;
    this.dev.releaseKeypair(kps.next);
    this.dev.releaseKeypair(kps.previous);
    kps.next = kp;
    kps.previous = null;
    this.dev.queueDatagram(resp, peer.endpoint!);
    if (initiating) this.crossedInitiations(peer, t);
    const timers = this.dev.timers;
    timers.sessionDerived(peer);
    timers.anyAuthenticatedPacketTraversal(peer);
    timers.anyAuthenticatedPacketSent(peer);
  }

  /**
   * The way out of simultaneous initiations (every peer, mesh or not): when
   * both ends start together, each consumes the other's initiation before the
   * other's response arrives, both responses are refused and both would wait
   * REKEY_TIMEOUT (wireguard-go relies on retry jitter, which our 250 ms timer
   * tick coarsens and slow links can outlast round after round). So when we answer an
   * initiation while ours is outstanding, the end with the greater public key
   * initiates again COLLISION_RETRY ms later (past the receiver's initiation
   * flood limit), unless the session is confirmed before (the initiations did
   * not cross: timersHandshakeComplete cancels the retry). The other end just
   * answers, so the retry cannot cross again.
   */
  private crossedInitiations(peer: Peer, t: number): void {
    const a = this.dev.local.publicKey, b = peer.publicKey;
    let greater = false;
    for (let i = 0; i < 32; i++) if (a[i] !== b[i]) {
      greater = a[i] > b[i];
      break;
    }
    if (!greater) return;
    peer.handshake.lastSentHandshake = t - REKEY_TIMEOUT + COLLISION_RETRY;
    this.dev.timers.handshakeRetryIn(peer, COLLISION_RETRY);
  }

  /** Handles a 92-byte response (type 2): macs, consume, the new keypair becomes current, then a keepalive confirms it. */
  private receiveResponse(msg: Uint8Array, from: Endpoint): void {
    if (!this.checkMacs(msg, from, RESP_SENDER)) return;
    const hs = consumeResponse(this.dev.local, msg, (i) => this.dev.indexTable.get(i)?.handshake);
    if (!hs) {
      this.dev.drops.handshake++;
      const src = from.toString();
      this.dev.failures.note(src, `handshake response from ${src} refused: no initiation of ours matches it, or it does not decrypt`);
      return;
    }
    const t = this.dev.now();
    const entry = this.dev.indexTable.get(hs.localIndex)!;
    const peer = entry.peer;
    this.dev.roam(peer, from);
    const kp = new Keypair(beginSymmetricSession(hs), t);
    this.dev.indexTable.delete(kp.localIndex);
    if (!this.dev.installKeypair(kp, peer)) {
      this.dev.drops.handshake++;
      return;
    }
    const kps = peer.keypairs;
    if (kps.next) {
      this.dev.releaseKeypair(kps.current);
      this.dev.releaseKeypair(kps.previous);
      kps.previous = kps.next;
      kps.next = null;
    } else {
      this.dev.releaseKeypair(kps.previous);
      kps.previous = kps.current;
    }
    kps.current = kp;
    const timers = this.dev.timers;
    timers.sessionDerived(peer);
    timers.handshakeComplete(peer);
    timers.anyAuthenticatedPacketTraversal(peer);
    timers.anyAuthenticatedPacketReceived(peer);
    // Confirm the session to the responder: staged data, else a keepalive.
    this.dev.sendKeepalive(peer);
  }

  /**
   * Handles a 64-byte cookie reply (type 3) for one of our outstanding
   * handshakes (whitepaper 5.4.7): stores the cookie, and sends the
   * initiation again (now with mac2) COOKIE_RETRY ms later instead of after
   * REKEY_TIMEOUT, so a peer under load is rejoined in well under a second.
   * Once per initiation: the retry's own reply waits for the normal timer.
   */
  receiveCookieReply(msg: Uint8Array): void {
    const entry = this.dev.indexTable.get(readU32(msg, COOKIE_RECEIVER));
    if (!entry || !entry.peer.cookieGenerator.consumeReply(msg)) {
      this.dev.drops.handshake++;
      return;
    }
    const peer = entry.peer, hs = peer.handshake;
    if (entry.handshake !== hs || hs.state !== HandshakeState.InitiationCreated || hs.cookieRetried) return;
    hs.cookieRetried = true;
    const t = this.dev.now();
    hs.lastSentHandshake = Math.min(hs.lastSentHandshake, t - REKEY_TIMEOUT + COOKIE_RETRY);
    this.dev.timers.handshakeRetryIn(peer, COOKIE_RETRY);
  }
}
