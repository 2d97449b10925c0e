/**
 * TUN device for the overlay router (Linux `/dev/net/tun`, IFF_TUN | IFF_NO_PI:
 * each read or write is one raw IPv4/IPv6 packet, no packet-info header), backed
 * by the native addon (native/src/tun.c, io.c, poll.c).
 *
 * Hot path, zero per-packet allocation (the wireguard-go `tun.Device` shape):
 * the caller owns a fixed set of packet buffers (`Uint8Array`s, also views into
 * wasm linear memory — refresh the views if that memory grows) and one
 * `Int32Array` of sizes, and moves whole batches:
 *
 * ```ts
 * const tun = openTun('tfw0', { mtu: 1420 });
 * tun.onReadable(() => {
 *   let n;
 *   while ((n = tun.readBatch(bufs, sizes)) > 0) route(bufs, sizes, n);
 * });
 * tun.writeBatch(bufs, sizes, count);
 * ```
 *
 * The fd is non-blocking and readiness comes from libuv (uv_poll, level
 * triggered), so nothing blocks the event loop. Addresses and routes are set by
 * the caller (`ip addr add ... dev tfw0`). Needs CAP_NET_ADMIN.
 */
import { TfwError } from '../../errors.js';
import { requireNative, type NativeAddon } from '../../kernels/native.js';
import { PolledFd } from '../links/polled-fd.js';

/** A TUN open/configure/read/write failure; `errnoName` is e.g. 'EPERM'. */
export class TunError extends TfwError {
  readonly errno?: number;
  readonly errnoName?: string;
  readonly syscall?: string;
  constructor(message: string, sys?: { errno?: number; errnoName?: string; syscall?: string }) {
    super('ERR_TFW_TUN', message);
    this.errno = sys?.errno;
    this.errnoName = sys?.errnoName;
    this.syscall = sys?.syscall;
  }
}

/** Re-raises a system error from the addon as TunError; argument errors pass unchanged. */
function rethrow(err: unknown, device?: string): never {
  const e = err as { code?: string; message?: string; errno?: number; errnoName?: string; syscall?: string };
  if (e && (e.code === 'ERR_TFW_TUN' || e.code === 'ERR_TFW_IO')) {
    throw new TunError(device ? `tun ${device}: ${e.message}` : String(e.message), e);
  }
  throw err;
}

export interface TunOptions {
  /** Interface MTU in bytes (SIOCSIFMTU), 68..65535; default: leave the kernel's (1500). */
  mtu?: number;
  /** IFF_MULTI_QUEUE: open one more queue of the same device per openTun call. */
  multiQueue?: boolean;
  /** Bring the link up (SIOCSIFFLAGS IFF_UP); default true. */
  up?: boolean;
}

/** An open TUN queue. One instance per fd; `close()` releases it (idempotent). */
export interface TunDevice {
  /** Interface name the kernel gave (the requested one, or e.g. 'tun0' for 'tun%d'). */
  readonly name: string;
  /** Interface MTU in bytes, as read back from the kernel after configuration. */
  readonly mtu: number;
  /** The non-blocking file descriptor (for diagnostics). */
  readonly fd: number;
  /**
   * Reads up to min(bufs.length, sizes.length) packets, stopping at the first
   * EAGAIN; sizes[i] = bytes of packet i (a packet longer than bufs[i] is
   * truncated by the kernel: size buffers to the MTU). Returns the packet count
   * (0 = nothing pending). Throws TunError on a device error.
   */
  readBatch(bufs: Uint8Array[], sizes: Int32Array): number;
  /**
   * Writes packets bufs[i][0..sizes[i]) for i < count (one write(2) each).
   * Returns how many were consumed: fewer than count when the queue is full
   * (EAGAIN; the rest were not written). A packet the kernel refuses (e.g.
   * EINVAL for a malformed IP header) is skipped with sizes[i] set to -errno.
   * Throws TunError on a device error, RangeError-like (ERR_OUT_OF_RANGE) when
   * count or a size does not fit the arrays.
   */
  writeBatch(bufs: Uint8Array[], sizes: Int32Array, count: number): number;
  /**
   * Calls `cb` from the event loop whenever packets are waiting (level
   * triggered: again while any remain). Replaces the previous callback; `null`
   * stops watching. While watching, the device keeps the process alive (see `ref`).
   */
  onReadable(cb: (() => void) | null): void;
  /** Whether a watching device keeps the event loop alive (default true). */
  ref(on: boolean): void;
  /** Stops watching and closes the fd; the interface goes away with its last queue. */
  close(): void;
}

class NativeTun extends PolledFd implements TunDevice {
  readonly name: string;
  readonly mtu: number;

  constructor(n: NativeAddon, fd: number, name: string, mtu: number) {
    super(n, fd);
    this.name = name;
    this.mtu = mtu;
  }

  protected label(): string {
    return `tun: ${this.name}`;
  }

  protected check(): void {
    if (this.closed) throw new TunError(`tun ${this.name}: device is closed`);
  }

  readBatch(bufs: Uint8Array[], sizes: Int32Array): number {
    this.check();
    try {
      return this.n.readBatch(this.fd, bufs, sizes);
    } catch (err) {
      rethrow(err, this.name);
    }
  }

  writeBatch(bufs: Uint8Array[], sizes: Int32Array, count: number): number {
    this.check();
    try {
      return this.n.writeBatch(this.fd, bufs, sizes, count);
    } catch (err) {
      rethrow(err, this.name);
    }
  }
}

/**
 * Opens (creating if needed) the TUN interface `name` and configures it.
 * @param name interface name, at most 15 bytes ('tun%d' lets the kernel pick)
 * @throws BackendUnavailableError when the native addon is not built (`make native`)
 * @throws TunError (ERR_TFW_TUN) e.g. "open /dev/net/tun: EPERM (Operation not
 *         permitted) (needs CAP_NET_ADMIN)"; nothing stays open on failure
 */
export function openTun(name: string, opts: TunOptions = {}): TunDevice {
  if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) > 15 || /[\s/]/.test(name)) {
    throw new TunError(`name: expected an interface name of 1..15 bytes without spaces or '/', got ${JSON.stringify(name)}`);
  }
  if (opts.mtu !== undefined && (!Number.isInteger(opts.mtu) || opts.mtu < 68 || opts.mtu > 65535)) {
    throw new TunError(`mtu: expected an integer 68..65535 (bytes), got ${opts.mtu}`);
  }
  const n = requireNative('tun');
  let fd = -1;
  try {
    const [f, actual] = n.tunOpen(name, !!opts.multiQueue);
    fd = f;
    if (opts.mtu !== undefined) n.tunSetMtu(actual, opts.mtu);
    if (opts.up !== false) n.tunUp(actual);
    return new NativeTun(n, fd, actual, n.tunGetMtu(actual));
  } catch (err) {
    if (fd >= 0) n.closeFd(fd);
    rethrow(err);
  }
}
