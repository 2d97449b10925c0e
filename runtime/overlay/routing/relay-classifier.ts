/**
 * The forward kernel's batch `Classifier` (runtime/kernels/forward-classifier.ts,
 * docs/forward.md) on the mesh relay path: receive.ts hands it the opened
 * packets where they lie in the receive slots (offsets into the AEAD pool's
 * memory), and it checks the headers (RFC 791 / RFC 8200, IPv4 header
 * checksum as RFC 1812 5.2.2 asks), matches the local set, looks the
 * destination up in the device's route table (built on the classifier's own
 * Fib pair, so verdicts name its next-hop ids) and decrements TTL / hop limit
 * with the RFC 1624 checksum patch, a batch per call, in place.
 *
 * Only the native engine reads memory it does not own; with the wasm engine
 * (its own linear memory), or pools whose slots are separate buffers
 * (node:crypto), there is no classifier and receive.ts looks up per packet
 * (hop.ts).
 */
import { Classifier } from '../../kernels/forward.js';

/**
 * A native classifier whose `classifyIn` can read `slots` in place (they must
 * share one buffer), or null. TFW_OVERLAY_CLASSIFIER=off or TFW_OVERLAY_FIB=js
 * turn it off. Never throws.
 */
export function relayClassifier(slots: Uint8Array[]): Classifier | null {
  if (process.env.TFW_OVERLAY_CLASSIFIER === 'off' || process.env.TFW_OVERLAY_FIB === 'js') return null;
  if (!slots.length || slots.some((s) => s.buffer !== slots[0].buffer)) return null;
  try {
    const c = new Classifier({ backend: 'native', poolBytes: 64, maxPackets: 1 });
    return c.classifiesInPlace ? c : null;
  } catch {
    return null;
  }
}

/** Verdict word 0 bits 0..7 (forward-classifier.ts Action). */
export const VERDICT_FORWARD = 1;
export const VERDICT_LOCAL = 2;
