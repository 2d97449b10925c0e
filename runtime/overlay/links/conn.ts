/**
 * UDP bind for the overlay router: a socket owned by the native addon
 * (native/src/udp.c) that moves batches of datagrams with recvmmsg(2) /
 * sendmmsg(2) — the wireguard-go `conn.Bind` shape.
 *
 * Zero per-packet allocation: the caller owns packet buffers (`Uint8Array`s,
 * also views into wasm memory), one `Int32Array` of sizes and one
 * `EndpointBatch`, a single `Uint8Array` of fixed 20-byte endpoint records with
 * an `Endpoint` view object per slot, created once:
 *
 * ```
 * record: bytes 0..15 address (IPv4 in bytes 0..3), 16..17 port (big endian),
 *         18 family (4 | 6, 0 = unset), 19 reserved (0)
 * ```
 *
 * ```ts
 * const udp = bindUdp({ port: 51820 });
 * const eps = new EndpointBatch(64);
 * udp.onReadable(() => {
 *   let n;
 *   while ((n = udp.recvBatch(bufs, sizes, eps)) > 0) receive(bufs, sizes, eps, n);
 * });
 * eps.items[0].set(peer.endpoint);     // 20-byte copy, no allocation
 * udp.sendBatch(bufs, sizes, eps, 1);
 * ```
 *
 * Receiving fills each slot with the sender's address and port; comparing
 * (`equals`) and copying (`set`) endpoints are byte operations. Strings are only
 * made on demand (`toString`, for logs and status). IPv6 link-local scope ids
 * are not carried.
 */
import { isIP } from 'node:net';
import { TfwError } from '../../errors.js';
import { requireNative, type NativeAddon } from '../../kernels/native.js';
import { PolledFd } from './polled-fd.js';

/** Bytes per endpoint record. */
export const ENDPOINT_BYTES = 20;

/** A UDP socket failure; `errnoName` is e.g. 'EADDRINUSE'. */
export class UdpError extends TfwError {
  readonly errno?: number;
  readonly errnoName?: string;
  readonly syscall?: string;
  constructor(message: string, sys?: { errno?: number; errnoName?: string; syscall?: string }) {
    super('ERR_TFW_UDP', message);
    this.errno = sys?.errno;
    this.errnoName = sys?.errnoName;
    this.syscall = sys?.syscall;
  }
}

function rethrow(err: unknown): never {
  const e = err as { code?: string; message?: string; errno?: number; errnoName?: string; syscall?: string };
  if (e && (e.code === 'ERR_TFW_UDP' || e.code === 'ERR_TFW_IO')) throw new UdpError(`udp: ${e.message}`, e);
  throw err;
}

/**
 * A UDP endpoint (address + port) stored in a 20-byte record, usually a view
 * into an EndpointBatch. Mutable and reusable: keep one per peer and `set()` it.
 */
export class Endpoint {
  /** The 20-byte record (layout at the top of this file). */
  readonly raw: Uint8Array;
  /** View of the 16 address bytes (IPv4 uses the first 4). */
  readonly address: Uint8Array;

  /** @param raw a 20-byte record to view; default a fresh zeroed one (family 0 = unset) */
  constructor(raw: Uint8Array = new Uint8Array(ENDPOINT_BYTES)) {
    if (raw.length !== ENDPOINT_BYTES) throw new RangeError(`endpoint: expected ${ENDPOINT_BYTES} bytes, got ${raw.length}`);
    this.raw = raw;
    this.address = raw.subarray(0, 16);
  }

  /** 4, 6, or 0 when unset. */
  get family(): 0 | 4 | 6 {
    return this.raw[18] as 0 | 4 | 6;
  }

  get port(): number {
    return (this.raw[16] << 8) | this.raw[17];
  }

  set port(p: number) {
    this.raw[16] = p >>> 8;
    this.raw[17] = p & 0xff;
  }

  /** Copies another endpoint's record (20 bytes). */
  set(other: Endpoint): this {
    this.raw.set(other.raw);
    return this;
  }

  /** Sets family, address bytes (4 or 16) and port. */
  assign(family: 4 | 6, address: ArrayLike<number>, port: number): this {
    const len = family === 4 ? 4 : 16;
    if (address.length < len) throw new RangeError(`endpoint address: expected ${len} bytes for IPv${family}, got ${address.length}`);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`endpoint port: expected 0..65535, got ${port}`);
    this.raw.fill(0);
    for (let i = 0; i < len; i++) this.raw[i] = address[i];
    this.port = port;
    this.raw[18] = family;
    return this;
  }

  /** Byte-wise equality of address, port and family. */
  equals(other: Endpoint): boolean {
    const a = this.raw;
    const b = other.raw;
    for (let i = 0; i < 19; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  /** Marks the endpoint unset (family 0). */
  clear(): void {
    this.raw.fill(0);
  }

  /** 'a.b.c.d:port' or '[v6]:port' ('' when unset). Allocates: not for the hot path. */
  toString(): string {
    return formatEndpoint(this.raw, 0);
  }

  /** Parses 'a.b.c.d:port' or '[v6]:port' into this endpoint. @throws UdpError naming the value */
  parse(text: string): this {
    const m = /^(?:\[([^\]]+)\]|([^:\]]+)):(\d{1,5})$/.exec(text);
    const host = m ? (m[1] ?? m[2]) : '';
    const port = m ? Number(m[3]) : -1;
    const fam = isIP(host);
    if (!m || fam === 0 || port > 65535 || (fam === 6) !== (m[1] !== undefined)) {
      throw new UdpError(`endpoint: expected 'a.b.c.d:port' or '[ipv6]:port', got ${JSON.stringify(text)}`);
    }
    return this.assign(fam as 4 | 6, fam === 4 ? host.split('.').map(Number) : parseIPv6(host), port);
  }

  /** A new endpoint parsed from text (see `parse`). */
  static parse(text: string): Endpoint {
    return new Endpoint().parse(text);
  }
}

function parseIPv6(s: string): number[] {
  // isIP() already validated the syntax; expand '::' and an embedded dotted quad.
  let tail: number[] = [];
  const dot = s.lastIndexOf(':');
  if (s.includes('.')) {
    tail = s.slice(dot + 1).split('.').map(Number);
    s = s.slice(0, dot + 1) + '0:0';
  }
  const [head, rest] = s.split('::');
  const words = (x: string | undefined) => (x ? x.split(':').filter((w) => w !== '').map((w) => parseInt(w, 16)) : []);
  const h = words(head);
  const r = rest === undefined ? [] : words(rest);
  const all = [...h, ...new Array(8 - h.length - r.length).fill(0), ...r];
  const out: number[] = [];
  for (const w of all) out.push(w >> 8, w & 0xff);
  if (tail.length) out.splice(12, 4, ...tail);
  return out;
}

/** Formats the record at raw[offset..offset+20) as 'a.b.c.d:port' / '[v6]:port' ('' when unset). */
export function formatEndpoint(raw: Uint8Array, offset = 0): string {
  const fam = raw[offset + 18];
  const port = (raw[offset + 16] << 8) | raw[offset + 17];
  if (fam === 4) return `${raw[offset]}.${raw[offset + 1]}.${raw[offset + 2]}.${raw[offset + 3]}:${port}`;
  if (fam !== 6) return '';
  const w: number[] = [];
  for (let i = 0; i < 16; i += 2) w.push((raw[offset + i] << 8) | raw[offset + i + 1]);
  // RFC 5952 section 4.2: compress the longest run (>= 2) of zero words.
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) (best = i), (bestLen = j - i);
    i = j === i ? i + 1 : j;
  }
  const hexw = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  const text = best < 0 ? hexw(w) : `${hexw(w.slice(0, best))}::${hexw(w.slice(best + bestLen))}`;
  return `[${text}]:${port}`;
}

/** A fixed array of endpoint records with one reusable Endpoint view per slot. */
export class EndpointBatch {
  /** count * 20 bytes, passed to the addon as is. */
  readonly raw: Uint8Array;
  /** items[i] views raw[20i..20i+20). */
  readonly items: Endpoint[];

  constructor(count: number) {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`endpoints: expected a count >= 1, got ${count}`);
    this.raw = new Uint8Array(count * ENDPOINT_BYTES);
    this.items = [];
    for (let i = 0; i < count; i++) this.items.push(new Endpoint(this.raw.subarray(i * ENDPOINT_BYTES, (i + 1) * ENDPOINT_BYTES)));
  }

  get length(): number {
    return this.items.length;
  }
}

export interface UdpOptions {
  /** Port to bind, 0 = any free port (read the result from `UdpBind.port`). */
  port: number;
  /**
   * Local address; default '::' (dual stack: IPv4 peers appear as family 4).
   * An IPv4 address gives an IPv4-only socket, a specific IPv6 address an IPv6-only one.
   */
  host?: string;
  /** SO_REUSEADDR; default false. */
  reuseAddr?: boolean;
  /** SO_RCVBUF / SO_SNDBUF in bytes (forced past rmem_max with CAP_NET_ADMIN); default 4 MiB each. */
  rcvbuf?: number;
  sndbuf?: number;
  /**
   * UDP GSO (UDP_SEGMENT): consecutive datagrams to one endpoint with one size
   * leave as a single message, cut into the same datagrams by the kernel; the
   * wire is unchanged. Switched off by itself where the route refuses it.
   * Default true.
   */
  gso?: boolean;
}

/** A bound UDP socket with batched I/O. `close()` releases it (idempotent). */
export interface UdpBind {
  /** The bound port (the kernel's choice when 0 was asked for). */
  readonly port: number;
  /** Socket family: 6 (dual stack or IPv6) or 4. */
  readonly family: 4 | 6;
  /**
   * Receives up to min(bufs.length, sizes.length, endpoints.length) datagrams
   * without blocking; sizes[i] = bytes, endpoints.items[i] = sender. A datagram
   * longer than bufs[i] is truncated. Returns the count (0 = none pending).
   * @throws UdpError on a socket error
   */
  recvBatch(bufs: Uint8Array[], sizes: Int32Array, endpoints: EndpointBatch): number;
  /**
   * Sends bufs[i][0..sizes[i]) to endpoints.items[i] for i < count (sendmmsg,
   * up to 64 messages per syscall; runs to one endpoint use GSO, see UdpOptions.gso). Returns how many were consumed: fewer than count when
   * the socket buffer is full (EAGAIN; the rest were not sent, WireGuard drops
   * them). A datagram the kernel refuses (EMSGSIZE, ENETUNREACH, an IPv6
   * endpoint on an IPv4 socket: EAFNOSUPPORT...) is skipped with sizes[i] = -errno.
   * @throws UdpError on a socket error, ERR_OUT_OF_RANGE when count/sizes do not fit
   */
  sendBatch(bufs: Uint8Array[], sizes: Int32Array, endpoints: EndpointBatch, count: number): number;
  /** Calls `cb` from the event loop while datagrams are waiting (level triggered); `null` stops. */
  onReadable(cb: (() => void) | null): void;
  /** Whether a watching socket keeps the event loop alive (default true). */
  ref(on: boolean): void;
  close(): void;
}

class NativeUdp extends PolledFd implements UdpBind {
  constructor(
    n: NativeAddon,
    fd: number,
    readonly port: number,
    readonly family: 4 | 6,
  ) {
    super(n, fd);
  }

  protected label(): string {
    return `udp: port ${this.port}`;
  }

  protected check(): void {
    if (this.closed) throw new UdpError(`udp: port ${this.port}: socket is closed`);
  }

  recvBatch(bufs: Uint8Array[], sizes: Int32Array, endpoints: EndpointBatch): number {
    this.check();
    try {
      return this.n.udpRecvBatch(this.fd, bufs, sizes, endpoints.raw);
    } catch (err) {
      rethrow(err);
    }
  }

  sendBatch(bufs: Uint8Array[], sizes: Int32Array, endpoints: EndpointBatch, count: number): number {
    this.check();
    try {
      return this.n.udpSendBatch(this.fd, this.family, bufs, sizes, endpoints.raw, count);
    } catch (err) {
      rethrow(err);
    }
  }
}

/**
 * Binds a UDP socket for batched I/O.
 * @throws BackendUnavailableError when the native addon is not built (`make native`)
 * @throws UdpError (ERR_TFW_UDP) for a bad host/port ("host: expected an IPv4 or
 *         IPv6 address, got ...") or a failed bind ("bind [::]:51820: EADDRINUSE ...")
 */
export function bindUdp(opts: UdpOptions): UdpBind {
  const { port, host, reuseAddr = false, rcvbuf = 4 << 20, sndbuf = 4 << 20, gso = true } = opts;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UdpError(`port: expected an integer 0..65535, got ${port}`);
  if (host !== undefined && isIP(host) === 0) throw new UdpError(`host: expected an IPv4 or IPv6 address, got ${JSON.stringify(host)}`);
  const n = requireNative('udp');
  try {
    const [fd, bound, family] = n.udpOpen(host ?? null, port, reuseAddr, rcvbuf, sndbuf, gso);
    return new NativeUdp(n, fd, bound, family);
  } catch (err) {
    rethrow(err);
  }
}
