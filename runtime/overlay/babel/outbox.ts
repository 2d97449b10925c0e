/**
 * Per-neighbour output queue: TLVs collected while the router handles one event
 * are sent together, packed into as few packets as fit (RFC 8966 §4.2; the
 * packet encoder adds Router-Id TLVs and prefix compression).
 */
import { encodePackets, Tlv } from './packet.js';

export class Outbox {
  private readonly pending = new Map<string, Tlv[]>();

  constructor(
    private readonly maxPacketSize: number,
    private readonly onError: (id: string, err: Error) => void,
  ) {}

  queue(id: string, tlv: Tlv): void {
    let q = this.pending.get(id);
    if (!q) this.pending.set(id, (q = []));
    q.push(tlv);
  }

  /** Forgets what is queued for one neighbour. */
  drop(id: string): void {
    this.pending.delete(id);
  }

  clear(): void {
    this.pending.clear();
  }

  /** Encodes and sends everything queued; `sender(id)` is undefined for a neighbour that went away. */
  flush(sender: (id: string) => ((bytes: Uint8Array) => void) | undefined): void {
    for (const [id, tlvs] of this.pending) {
      this.pending.delete(id);
      const send = sender(id);
      if (!send || tlvs.length === 0) continue;
      for (const pkt of encodePackets(tlvs, this.maxPacketSize)) {
        try {
          send(pkt);
        } catch (err) {
          this.onError(id, err instanceof Error ? err : new Error(String(err)));
        }
      }
    }
  }
}
