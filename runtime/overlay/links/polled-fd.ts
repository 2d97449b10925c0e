/**
 * A non-blocking file descriptor owned by the native addon and watched by
 * libuv (uv_poll): the lifecycle TUN devices (tun.ts) and UDP binds (conn.ts)
 * share. One poll handle per descriptor at most (libuv misbehaves with two).
 */
import type { NativeAddon } from '../../kernels/native.js';

export abstract class PolledFd {
  private poll: object | null = null;
  private refed = true;
  protected closed = false;

  constructor(
    protected readonly n: NativeAddon,
    readonly fd: number,
  ) {}

  /** Label for messages, e.g. `tun tfw0` or `udp: port 51820`. */
  protected abstract label(): string;
  /** Throws the subclass's error when the descriptor is closed. */
  protected abstract check(): void;

  /** Calls `cb` whenever the descriptor is readable; `null` stops watching. */
  onReadable(cb: (() => void) | null): void {
    this.check();
    if (this.poll) {
      this.n.pollStop(this.poll);
      this.poll = null;
    }
    if (!cb) return;
    this.poll = this.n.pollStart(this.fd, (err) => {
      if (err) process.emitWarning(`tfw: ${this.label()}: poll error: ${err.message}`);
      else cb();
    });
    if (!this.refed) this.n.pollRef(this.poll, false);
  }

  /** Whether a pending poll keeps the event loop alive (like socket.ref/unref). */
  ref(on: boolean): void {
    this.refed = on;
    if (this.poll) this.n.pollRef(this.poll, on);
  }

  /** Stops polling and closes the descriptor; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.poll) this.n.pollStop(this.poll);
    this.poll = null;
    this.n.closeFd(this.fd);
  }
}
