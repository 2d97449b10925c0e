/**
 * The device's timers (whitepaper section 6, wireguard-go device/timers.go):
 * the only writer of every peer's `PeerTimers` (peer.ts). The send, receive
 * and handshake paths report what happened through the named events below
 * (timersDataSent, timersDataReceived, timersAnyAuthenticatedPacketSent /
 * Received, timersHandshakeInitiated / Complete, timersSessionDerived,
 * timersAnyAuthenticatedPacketTraversal, as wireguard-go names them, plus
 * the few tfw adds, each saying why); `tick` fires the deadlines that are due.
 * Time is injected (the device's `now`), so tests drive the timers by hand.
 */
import type { Drops } from '../drops.js';
import type { IndexEntry } from './index-entry.js';
import type { Keypair } from './keypair.js';
import type { LimitedLog } from '../log-limit.js';
import type { Peer } from './peer.js';
import { KEEPALIVE_TIMEOUT, MAX_TIMER_HANDSHAKES, REJECT_AFTER_TIME, REKEY_TIMEOUT, jitter } from './constants.js';

/** The device state and steps the timers use (device.ts provides them). */
export interface TimersHost {
  readonly peers: Map<string, Peer>;
  readonly drops: Drops;
  readonly indexTable: Map<number, IndexEntry>;
  now(): number;
  /** Reports a peer going down / coming back once per change (onPeerState). */
  peerState(peer: Peer, up: boolean): void;
  sendInitiation(peer: Peer, isRetry: boolean): void;
  /** Sends staged data, else a keepalive, to the peer. */
  sendKeepalive(peer: Peer): void;
  /** Forgets a keypair: its index now, its key slot after the current batch. */
  releaseKeypair(kp: Keypair | null): void;
  /** Sends what the batches hold (transport and control). */
  flush(): void;
  /** Unanswered handshakes are logged here: once per peer and interval, not per retry. */
  readonly failures: LimitedLog;
}

/** The five timers of whitepaper section 6 for every peer of one device. */
export class DeviceTimers {
  constructor(private readonly dev: TimersHost) {}

  // ---- events (wireguard-go timers.go, in its order) ----------------------

  /** timersDataSent: after an authenticated data packet (not a keepalive) is sent: expect an answer within KEEPALIVE_TIMEOUT + REKEY_TIMEOUT, else rehandshake. */
  dataSent(peer: Peer): void {
    if (!peer.timers.newHandshake) peer.timers.newHandshake = this.dev.now() + KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + jitter();
  }

  /** timersDataReceived: after an authenticated data packet (not a keepalive) is received: answer with a keepalive in KEEPALIVE_TIMEOUT unless something else goes out. */
  dataReceived(peer: Peer): void {
    const tm = peer.timers;
    if (!tm.sendKeepalive) tm.sendKeepalive = this.dev.now() + KEEPALIVE_TIMEOUT;
    else tm.keepaliveAgain = true;
  }

  /** timersAnyAuthenticatedPacketSent: after any authenticated packet (keepalive, data, handshake) is sent: no passive keepalive is owed. */
  anyAuthenticatedPacketSent(peer: Peer): void {
    peer.timers.sendKeepalive = 0;
  }

  /**
   * timersAnyAuthenticatedPacketReceived: after any authenticated packet (keepalive, data, handshake) is received:
   * the peer answered, no rehandshake is needed. tfw also stamps
   * `lastReceived` here and reports a peer declared down as up again.
   */
  anyAuthenticatedPacketReceived(peer: Peer): void {
    peer.timers.newHandshake = 0;
    peer.lastReceived = this.dev.now();
    if (peer.down) this.dev.peerState(peer, true);
  }

  /** timersHandshakeInitiated: after a handshake initiation is sent: retry in REKEY_TIMEOUT plus jitter if unanswered. */
  handshakeInitiated(peer: Peer): void {
    peer.timers.retransmitHandshake = this.dev.now() + REKEY_TIMEOUT + jitter();
  }

  /** timersHandshakeComplete: a handshake completed (or the responder's first packet confirmed it): retries stop, the peer is up. */
  handshakeComplete(peer: Peer): void {
    peer.timers.retransmitHandshake = 0;
    peer.timers.handshakeAttempts = 0;
    peer.timers.sentLastMinuteHandshake = false;
    peer.lastHandshake = this.dev.now();
    peer.handshakes++;
    peer.lastReceived = this.dev.now();
    this.dev.peerState(peer, true);
  }

  /** timersSessionDerived: after a session's keys are derived (response sent or received): all key material goes after REJECT_AFTER_TIME * 3 without a new one. */
  sessionDerived(peer: Peer): void {
    peer.timers.zeroKeyMaterial = this.dev.now() + REJECT_AFTER_TIME * 3;
  }

  /** timersAnyAuthenticatedPacketTraversal: before any authenticated packet is sent, or after one is received: the persistent keepalive starts over. */
  anyAuthenticatedPacketTraversal(peer: Peer): void {
    if (peer.persistentKeepalive) peer.timers.persistentKeepalive = this.dev.now() + peer.persistentKeepalive * 1000;
  }

  // ---- events tfw adds ------------------------------------------------------

  /**
   * A new handshake is asked for, not a timer retry: the attempt count starts
   * over (wireguard-go does this in SendHandshakeInitiation, send.go).
   */
  handshakeRequested(peer: Peer): void {
    peer.timers.handshakeAttempts = 0;
  }

  /**
   * The initiation is to be sent again after `ms` rather than REKEY_TIMEOUT:
   * after a cookie reply (COOKIE_RETRY) or crossed initiations (handshake.ts).
   */
  handshakeRetryIn(peer: Peer, ms: number): void {
    peer.timers.retransmitHandshake = this.dev.now() + ms;
  }

  /** The last-minute rehandshake of keepKeyFreshReceiving (wireguard-go receive.go) went out: once per keypair. */
  lastMinuteHandshakeSent(peer: Peer): void {
    peer.timers.sentLastMinuteHandshake = true;
  }

  /** A persistent keepalive was configured on a peer that had none armed: the first goes out on the next tick (wireguard-go uapi.go sends one at once). */
  persistentKeepaliveEnabled(peer: Peer): void {
    if (peer.persistentKeepalive && !peer.timers.persistentKeepalive) peer.timers.persistentKeepalive = this.dev.now();
  }

  /** Fires due timers for every peer; call every ~100-250 ms. */
  tick(): void {
    const t = this.dev.now();
    for (const peer of this.dev.peers.values()) {
      const tm = peer.timers;
      if (tm.retransmitHandshake && t >= tm.retransmitHandshake) {
        tm.retransmitHandshake = 0;
        if (peer.lastReceived && t - peer.lastReceived >= REKEY_TIMEOUT) this.dev.peerState(peer, false);
        if (tm.handshakeAttempts >= MAX_TIMER_HANDSHAKES) {
          this.dev.failures.note(`${peer.publicKeyB64} gave up`, `handshake with peer ${peer.publicKeyB64} did not complete after ${tm.handshakeAttempts + 1} attempts: giving up until there is traffic for it`);
          this.dev.drops.staged += peer.staged.length;
          peer.staged = [];
          if (!tm.zeroKeyMaterial) tm.zeroKeyMaterial = t + REJECT_AFTER_TIME * 3;
        } else {
          tm.handshakeAttempts++;
          this.dev.failures.note(peer.publicKeyB64, `handshake with peer ${peer.publicKeyB64} did not complete after ${REKEY_TIMEOUT / 1000} s, retrying (attempt ${tm.handshakeAttempts + 1})`);
          this.dev.sendInitiation(peer, true);
        }
      }
      if (tm.sendKeepalive && t >= tm.sendKeepalive) {
        tm.sendKeepalive = 0;
        this.dev.sendKeepalive(peer);
        if (tm.keepaliveAgain) {
          tm.keepaliveAgain = false;
          tm.sendKeepalive = t + KEEPALIVE_TIMEOUT;
        }
      }
      if (tm.newHandshake && t >= tm.newHandshake) {
        tm.newHandshake = 0;
        this.dev.peerState(peer, false);
        this.dev.sendInitiation(peer, false);
      }
      if (tm.zeroKeyMaterial && t >= tm.zeroKeyMaterial) {
        tm.zeroKeyMaterial = 0;
        const kps = peer.keypairs;
        for (const k of [kps.previous, kps.current, kps.next]) this.dev.releaseKeypair(k);
        kps.previous = kps.current = kps.next = null;
        if (peer.handshake.localIndex) this.dev.indexTable.delete(peer.handshake.localIndex);
        peer.handshake.clear();
      }
      if (tm.persistentKeepalive && t >= tm.persistentKeepalive) {
        tm.persistentKeepalive = 0;
        this.dev.sendKeepalive(peer);
      }
    }
    this.dev.flush();
  }
}
