/**
 * The value the device's route table (routes.ts) holds per prefix: a leaf
 * file, so the send and receive paths that look routes up do not import the
 * device that fills the table.
 */
import type { Peer } from '../wireguard/peer.js';

/** A route's target: a peer and Babel metric (0 = static allowed IP). */
export interface RouteVia {
  peer: Peer;
  metric: number;
}
