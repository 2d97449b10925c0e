/**
 * A transport keypair (whitepaper 5.4.5-5.4.6, wireguard-go device/keypair.go):
 * the two directional keys from one handshake, the send counter, the receive
 * replay window, and who initiated (only the initiator rekeys on time/count).
 * `keyIndex` is the key slot the device gave it in its AEAD pools (seal.ts).
 */
import type { SessionKeys } from './noise.js';
import { ReplayFilter } from './replay.js';

export class Keypair {
  readonly sendKey: Uint8Array;
  readonly recvKey: Uint8Array;
  readonly isInitiator: boolean;
  readonly localIndex: number;
  readonly remoteIndex: number;
  /** Next counter to send with (the nonce of the next transport message). */
  sendNonce = 0;
  readonly replay = new ReplayFilter();
  /** Key slot in the device's transport pools; -1 when released. */
  keyIndex = -1;

  constructor(keys: SessionKeys, readonly created: number) {
    this.sendKey = keys.sendKey;
    this.recvKey = keys.recvKey;
    this.isInitiator = keys.isInitiator;
    this.localIndex = keys.localIndex;
    this.remoteIndex = keys.remoteIndex;
  }
}

/** The three keypair slots of a peer (previous for late packets, current, next = responder's unconfirmed). */
export interface Keypairs {
  previous: Keypair | null;
  current: Keypair | null;
  next: Keypair | null;
}
