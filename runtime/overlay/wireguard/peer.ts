/**
 * One WireGuard peer (wireguard-go device/peer.go): its static key, handshake
 * state, keypairs, endpoint (updated by roaming), timers, staged packets and
 * counters for /status.
 */
import type { PeerConfig } from '../../config/schema.js';
import { Endpoint } from '../links/conn.js';
import { overlayAddressBytes } from '../address.js';
import { CookieGenerator } from './cookie.js';
import type { Keypairs } from './keypair.js';
import { fromBase64 } from './keys.js';
import { Handshake, type LocalStatic } from './noise.js';

/**
 * Per-peer deadlines (ms since epoch, 0 = not armed) of the five timers of
 * whitepaper section 6 (wireguard-go peer.go's timers): written only by
 * timers.ts, which checks them on each tick, so tests can drive time by hand.
 */
export class PeerTimers {
  retransmitHandshake = 0;
  sendKeepalive = 0;
  newHandshake = 0;
  zeroKeyMaterial = 0;
  persistentKeepalive = 0;
  handshakeAttempts = 0;
  keepaliveAgain = false;
  sentLastMinuteHandshake = false;

  clear(): void {
    this.retransmitHandshake = this.sendKeepalive = this.newHandshake = this.zeroKeyMaterial = this.persistentKeepalive = 0;
    this.handshakeAttempts = 0;
    this.keepaliveAgain = this.sentLastMinuteHandshake = false;
  }
}

export class Peer {
  readonly publicKey: Uint8Array;
  readonly publicKeyB64: string;
  readonly handshake: Handshake;
  readonly cookieGenerator: CookieGenerator;
  /** The peer's overlay node address (its whole Mycelium /128, address.ts), used as its Babel link address. */
  readonly nodeAddress: Uint8Array;
  readonly keypairs: Keypairs = { previous: null, current: null, next: null };
  readonly timers = new PeerTimers();
  endpoint: Endpoint | null = null;
  /** Seconds; 0 = off. */
  persistentKeepalive = 0;
  allowedIPs: string[] = [];
  /** Copies of packets waiting for a session (at most MAX_STAGED_PACKETS). */
  staged: Uint8Array[] = [];
  rxBytes = 0;
  txBytes = 0;
  /** Unix ms of the last completed handshake, 0 before the first. */
  lastHandshake = 0;
  /** Handshakes completed with this peer (timers.ts; tfw_handshakes_completed_total). */
  handshakes = 0;
  /** Device clock (ms) of the last authenticated packet from the peer, 0 before the first. */
  lastReceived = 0;
  /**
   * Set once a Babel frame arrived from the peer inside the tunnel (mesh.ts):
   * it is a tfw mesh router, not a plain WireGuard peer.
   */
  meshNeighbour = false;
  /** WireGuard declared the peer unreachable (device.ts `onPeerState`); cleared by the next handshake or packet. */
  down = false;

  constructor(local: LocalStatic, cfg: PeerConfig, now: () => number) {
    this.publicKeyB64 = cfg.publicKey;
    this.publicKey = fromBase64(cfg.publicKey);
    this.handshake = new Handshake(local, this.publicKey, cfg.presharedKey ? fromBase64(cfg.presharedKey) : undefined);
    this.cookieGenerator = new CookieGenerator(this.publicKey, now);
    this.nodeAddress = overlayAddressBytes(this.publicKey);
    this.applyConfig(cfg);
  }

  /** Takes the changeable fields of a (re)loaded config; sessions are kept. */
  applyConfig(cfg: PeerConfig): void {
    this.persistentKeepalive = cfg.persistentKeepalive ?? 0;
    this.allowedIPs = cfg.allowedIPs;
    this.handshake.presharedKey = cfg.presharedKey ? fromBase64(cfg.presharedKey) : new Uint8Array(32);
    // Host names were resolved to addresses by the caller (index.ts); an unparsable one leaves the endpoint unset.
    if (cfg.endpoint) {
      try {
        this.endpoint = Endpoint.parse(cfg.endpoint);
      } catch {
        /* left as is: roaming peers send first */
      }
    }
  }
}
