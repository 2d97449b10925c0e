/**
 * The device's timers (whitepaper section 6, wireguard-go device/timers.go):
 * the per-peer deadlines of `PeerTimers` (timers.ts) fired on each `tick`, and
 * the timer events of a completed handshake and of any authenticated packet.
 * Time is injected (the device's `now`), so tests drive the timers by hand.
 * The peer table, send path and handshakes stay in device.ts, send.ts and
 * handshake.ts; this class reaches them through `TimersHost`.
 */
import type { Drops } from './drops.js';
import type { IndexEntry } from './index-entry.js';
import type { Keypair } from './keypair.js';
import type { LimitedLog } from './log-limit.js';
import type { Peer } from './peer.js';
import { KEEPALIVE_TIMEOUT, MAX_TIMER_HANDSHAKES, REJECT_AFTER_TIME, REKEY_TIMEOUT } from './timers.js';

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

  /** A handshake completed (or the responder's first packet confirmed it): retries stop, the peer is up. */
  handshakeComplete(peer: Peer): void {
    peer.timers.retransmitHandshake = 0;
    peer.timers.handshakeAttempts = 0;
    peer.timers.sentLastMinuteHandshake = false;
    peer.lastHandshake = this.dev.now();
    peer.handshakes++;
    peer.lastReceived = this.dev.now();
    this.dev.peerState(peer, true);
  }

  /** Any authenticated packet sent or received: the persistent keepalive starts over. */
  anyAuthenticatedPacketTraversal(peer: Peer): void {
    if (peer.persistentKeepalive) peer.timers.persistentKeepalive = this.dev.now() + peer.persistentKeepalive * 1000;
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
