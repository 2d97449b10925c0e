/**
 * The device's index table entry (wireguard-go device/indextable.go
 * IndexTableEntry): a leaf file, so the receive path and the timers that read
 * the table do not import the handshake code that fills it.
 */
import type { Keypair } from './keypair.js';
import type { Handshake } from './noise.js';
import type { Peer } from './peer.js';

/** What a receiver index (the index table's key) stands for: a handshake in progress or a keypair. */
export type IndexEntry = { peer: Peer; handshake?: Handshake; keypair?: Keypair };
