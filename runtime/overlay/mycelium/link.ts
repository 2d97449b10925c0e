/**
 * A Mycelium peer link: one TCP connection carrying the framed stream
 * (frame.ts), plain as in Mycelium (its links are not encrypted; the data
 * they carry is, end to end). The link measures its cost as Mycelium does:
 * the time from our Hello to the neighbour's IHU, in milliseconds (router.rs
 * handle_incoming_ihu), smoothed here so one slow reply does not flap routes.
 * The IHU carries no Hello seqno, so each IHU is matched to the oldest Hello
 * it has not answered yet (the stream is in order and the neighbour answers
 * every Hello with one IHU): a Hello sent before the previous one's IHU came
 * back does not turn that IHU into a too-short sample.
 * Sends are bounded: past `maxQueued` unsent bytes a frame is dropped
 * ('queue-full') instead of buffering without limit.
 */
import type { Counters } from './counters.js';
import { FrameDecoder, encodeControlFrame, type FrameSink } from './frame.js';
import type { Neighbour } from './routes.js';
import type { Tlv } from './tlv.js';

/**
 * What a link needs of its byte stream: a TCP Socket satisfies it; the
 * mesh-scale simulation (bench/mycelium-sim.ts) passes an in-memory one.
 * 'data' hands received bytes, 'error' / 'close' end the link.
 */
export interface LinkTransport {
  readonly writableLength: number;
  /** The far end's IP address (a Socket's); a datagram path maps it to a WireGuard peer (node.ts). */
  readonly remoteAddress?: string;
  setNoDelay(noDelay?: boolean): unknown;
  on(event: 'data' | 'error' | 'close', listener: (...args: any[]) => void): unknown;
  cork(): void;
  uncork(): void;
  write(bytes: Uint8Array): boolean;
  destroy(): unknown;
}

/** Cost of a link before its first Hello/IHU round trip (ms). */
export const INITIAL_LINK_COST = 100;
/** Hellos awaiting their IHU that a link remembers; an older one is forgotten (its IHU, if it comes, then counts for the next). */
export const MAX_UNANSWERED_HELLOS = 4;
/** Default bound on bytes waiting in a link's socket. */
export const MAX_QUEUED_BYTES = 4 << 20;

let nextId = 1;

export class PeerLink implements Neighbour {
  readonly id = nextId++;
  cost = INITIAL_LINK_COST;
  /** Smoothed RTT in ms, or -1 before the first sample. */
  srtt = -1;
  helloSeqno = 0;
  /** now() (the node's clock) of each Hello not answered by an IHU yet, oldest first (at most MAX_UNANSWERED_HELLOS). */
  private readonly unanswered: number[] = [];
  /** now() of the last TLV or data frame received. */
  lastHeard: number;
  /** Bytes read from and written to this link. */
  rxBytes = 0;
  txBytes = 0;
  /**
   * The WireGuard peer this link runs through (its remote address is the
   * peer's node address), set by the node while it has a datagram path
   * (wg-datagram.ts): data frames for this next hop go to that peer as
   * WireGuard packets, control stays on the TCP link. Null: all on TCP.
   */
  datagramPeer: object | null = null;
  private readonly decoder: FrameDecoder;
  private closed = false;
  private corked = false;
  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  constructor(
    readonly socket: LinkTransport,
    /** `tcp://HOST:PORT` as configured, or the remote address of an inbound link. */
    readonly endpoint: string,
    readonly inbound: boolean,
    sink: FrameSink,
    private readonly counters: Counters,
    private readonly onClose: (l: PeerLink) => void,
    readonly maxQueued = MAX_QUEUED_BYTES,
    /** The clock of lastHeard (ms): the node's (clock.ts), real time by default. */
    private readonly now: () => number = () => performance.now(),
  ) {
    this.lastHeard = now();
    socket.setNoDelay(true);
    this.decoder = new FrameDecoder(sink, counters);
    socket.on('data', (chunk: Buffer) => {
      this.rxBytes += chunk.length;
      this.lastHeard = this.now();
      if (!this.decoder.push(chunk)) this.close();
    });
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends one control TLV. */
  sendTlv(t: Tlv): boolean {
    return this.sendFrame(encodeControlFrame(t));
  }

  /** Sends one whole frame (the bytes are not copied: do not reuse them). */
  sendFrame(frame: Uint8Array): boolean {
    if (this.closed) {
      this.counters.drop('link-down');
      return false;
    }
    if (this.socket.writableLength > this.maxQueued) {
      this.counters.drop('queue-full');
      return false;
    }
    this.txBytes += frame.length;
    // Frames written in one tick leave in one writev (cork until the tick ends).
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    this.socket.write(frame);
    return true;
  }

  /** Records that a Hello went out at `now` (ms, the node's clock); its IHU is matched to it in order (ihuReceived). */
  helloSent(now: number): void {
    if (this.unanswered.length >= MAX_UNANSWERED_HELLOS) this.unanswered.shift();
    this.unanswered.push(now);
  }

  /**
   * Records an IHU received at `now` (ms): it answers the oldest unanswered
   * Hello (helloSent), whose round trip is the sample; cost = smoothed samples
   * in ms (3/4 old + 1/4 new), at least 1. An IHU with no Hello outstanding is
   * ignored. Returns true when the cost changed.
   */
  ihuReceived(now: number): boolean {
    const sent = this.unanswered.shift();
    if (sent === undefined) return false;
    const rtt = now - sent;
    this.srtt = this.srtt < 0 ? rtt : 0.75 * this.srtt + 0.25 * rtt;
    const cost = Math.max(1, Math.min(0xfffe, Math.round(this.srtt)));
    const changed = cost !== this.cost;
    this.cost = cost;
    return changed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.onClose(this);
  }
}
