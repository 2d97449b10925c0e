/**
 * The TUN's kernel routes, programmed in batches: every change asked for is
 * collected, and one `ip -force -batch -` child process applies a change set
 * (10,000 routes take about 0.3 s) without blocking the event loop, where one
 * synchronous `ip route replace` per route took ~18 ms each and stalled the
 * data path and Babel's Hellos (issue 20). At most one batch runs at a time
 * and batches start at least `minIntervalMs` apart, so a neighbour that keeps
 * changing its routes costs at most one `ip` process per interval; a later
 * change to a prefix replaces a pending one (add then delete = delete).
 * Default routes (/0) are refused: wg-quick needs policy routing for those,
 * which tfw leaves to the image's network config. Where `ip` is busybox's
 * (images), which has no -batch, each route of a change set is one `ip route`
 * child in turn: slower, never blocking.
 */
import { spawn, spawnSync } from 'node:child_process';
import { formatCidr, maskCidr, parseCidr } from '../../config/ip.js';
import { RouteError } from '../../errors.js';

export interface KernelRoutesOptions {
  /** One line per event (failed routes). */
  log?: (msg: string) => void;
  /** Least time between the starts of two batches (ms, default 100). */
  minIntervalMs?: number;
  /** The iproute2 binary (default `ip`; tests point it elsewhere). */
  ipBinary?: string;
}

/** What one or more batches did: routes applied, and the `ip` errors of the ones that failed. */
export interface BatchResult {
  applied: number;
  failures: string[];
}

export class KernelRoutes {
  /** Canonical prefix -> route MTU (replace; 0: none) / false (delete), waiting for the next batch. */
  private readonly pending = new Map<string, number | false>();
  private running = false;
  private timer: NodeJS.Timeout | null = null;
  private lastStart = -Infinity;
  private waiters: ((r: BatchResult) => void)[] = [];
  private result: BatchResult = { applied: 0, failures: [] };
  private closed = false;
  /** Totals over the router's life: batches run, routes applied, routes that failed. */
  readonly stats = { batches: 0, applied: 0, failed: 0 };
  private readonly log: (msg: string) => void;
  private readonly minIntervalMs: number;
  private readonly ipBinary: string;
  /** Whether `ip` takes -batch (iproute2); undefined until asked. */
  private batch: boolean | undefined;

  constructor(private readonly dev: string, opts: KernelRoutesOptions = {}) {
    this.log = opts.log ?? (() => {});
    this.minIntervalMs = opts.minIntervalMs ?? 100;
    this.ipBinary = opts.ipBinary ?? 'ip';
  }

  /**
   * Asks for `cidr` to be routed to the device (`ip route replace`); false for
   * a /0, which is not routed. `mtu` > 0 gives the route that MTU (`ip route
   * replace ... mtu N`: the kernel's path MTU, hence TCP's MSS, for those
   * destinations). @throws RouteError for a malformed CIDR or an MTU that is
   * not an integer in 68..65535
   */
  add(cidr: string, mtu = 0): boolean {
    if (mtu !== 0 && (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535)) throw new RouteError(`route mtu: expected an integer in 68..65535, got ${mtu}`);
    const c = this.canonical(cidr);
    if (c === null) return false;
    this.set(c, mtu);
    return true;
  }

  /** Asks for the route to `cidr` on the device to go (a missing one is fine). @throws RouteError for a malformed CIDR */
  delete(cidr: string): void {
    const c = this.canonical(cidr);
    if (c !== null) this.set(c, false);
  }

  /** Changes asked for and not yet handed to `ip`. */
  get queued(): number {
    return this.pending.size;
  }

  /**
   * Resolves once every change asked for so far is applied, with what the
   * batches since the previous `settled()` did (failures included; never rejects).
   */
  settled(): Promise<BatchResult> {
    if (!this.running && !this.pending.size) return Promise.resolve(this.takeResult());
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Stops scheduling batches (a running one finishes); pending changes are dropped. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending.clear();
    if (!this.running) this.wake();
  }

  private canonical(cidr: string): string | null {
    const p = parseCidr(cidr);
    if (!p) throw new RouteError(`route: expected a CIDR such as 10.0.0.0/24 or fd00::/64, got ${JSON.stringify(cidr)}`);
    const c = maskCidr(p);
    return c.bits === 0 ? null : formatCidr(c);
  }

  private set(cidr: string, add: number | false): void {
    if (this.closed) return;
    this.pending.delete(cidr); // re-inserted last: the batch applies changes in the order asked
    this.pending.set(cidr, add);
    this.schedule();
  }

  private schedule(): void {
    if (this.running || this.timer || !this.pending.size || this.closed) return;
    const wait = Math.max(0, this.lastStart + this.minIntervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.run();
    }, wait);
  }

  private run(): void {
    const lines: string[] = [];
    const order: string[] = [];
    for (const [cidr, mtu] of this.pending) {
      const add = mtu !== false;
      lines.push(`route ${add ? 'replace' : 'del'} ${cidr} dev ${this.dev}${mtu ? ` mtu ${mtu}` : ''}`);
      order.push(`${add ? 'replace' : 'del'} ${cidr}`);
    }
    this.pending.clear();
    this.running = true;
    this.lastStart = Date.now();
    this.stats.batches++;
    if (!this.batchSupported()) return this.runEach(lines, order);
    let stderr = '';
    const child = spawn(this.ipBinary, ['-force', '-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < 1 << 20) stderr += d;
    });
    child.stdin!.on('error', () => {}); // ip gone early: its exit reports it
    let done = false;
    const finish = (spawnError: string | null) => {
      if (done) return;
      done = true;
      this.running = false;
      // `ip -force -batch`: "Command failed -:N" after the error text of line N.
      const failed = new Map<number, string>();
      let lastText = '';
      for (const l of stderr.split('\n')) {
        const m = /^Command failed -:(\d+)$/.exec(l.trim());
        if (m) failed.set(Number(m[1]) - 1, lastText);
        else if (l.trim()) lastText = l.trim();
      }
      const failures: string[] = [];
      // ip failed without naming a line (not iproute2, or it died): every route of the set failed.
      const whole = spawnError ?? (exitCode !== 0 && exitCode !== null && failed.size === 0 ? stderr.trim().split('\n').pop() || `ip exited with ${exitCode}` : null);
      order.forEach((what, i) => {
        const deleteOfMissing = what.startsWith('del ') && /No such process|No such file|Cannot find device/.test(failed.get(i) ?? '');
        if (whole) failures.push(`ip route ${what} dev ${this.dev}: ${whole}`);
        else if (failed.has(i) && !deleteOfMissing) failures.push(`ip route ${what} dev ${this.dev}: ${failed.get(i)}`);
      });
      this.settle(order.length, failures);
    };
    child.on('error', (err) => finish((err as NodeJS.ErrnoException).code ?? err.message));
    let exitCode: number | null = null;
    child.on('close', (code) => {
      exitCode = code;
      if (code !== null && code !== 0 && code !== 1 && !stderr) stderr = `ip exited with ${code}`;
      finish(null);
    });
    child.stdin!.end(lines.join('\n') + '\n');
  }

  /**
   * True when `ip` is iproute2 (which takes `-batch`); busybox's `ip`, which
   * images carry, does not, and answers `-force -batch` with its usage. Asked
   * once (`ip -V`), the first time a batch runs.
   */
  private batchSupported(): boolean {
    if (this.batch === undefined) {
      const r = spawnSync(this.ipBinary, ['-V'], { encoding: 'utf8', timeout: 5000 });
      this.batch = /iproute2/.test(`${r.stdout ?? ''}${r.stderr ?? ''}`);
    }
    return this.batch;
  }

  /**
   * The change set one `ip route` child at a time (busybox ip): slower than a
   * batch, still never blocking the event loop.
   */
  private runEach(lines: string[], order: string[]): void {
    const failures: string[] = [];
    const step = (i: number) => {
      if (i === lines.length) return this.settle(order.length, failures);
      const child = spawn(this.ipBinary, lines[i].split(' '), { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr!.on('data', (d: Buffer) => {
        if (err.length < 4096) err += d;
      });
      child.on('error', (e) => {
        failures.push(`ip ${lines[i]}: ${(e as NodeJS.ErrnoException).code ?? e.message}`);
        step(i + 1);
      });
      child.on('close', (code) => {
        const missingDelete = order[i].startsWith('del ') && /No such process|No such file|Cannot find device|RTNETLINK answers: No such/.test(err);
        if (code !== 0 && code !== null && !missingDelete) failures.push(`ip ${lines[i]}: ${err.trim().split('\n').pop() || `exit ${code}`}`);
        step(i + 1);
      });
    };
    step(0);
  }

  /** Books a finished change set of `count` routes with its failures and schedules the next one. */
  private settle(count: number, failures: string[]): void {
    this.running = false;
    this.stats.applied += count - failures.length;
    this.stats.failed += failures.length;
    this.result.applied += count - failures.length;
    this.result.failures.push(...failures);
    for (const f of failures.slice(0, 3)) this.log(f);
    if (failures.length > 3) this.log(`${failures.length - 3} more routes failed in the same batch`);
    this.schedule();
    if (!this.pending.size || this.closed) this.wake();
  }

  private takeResult(): BatchResult {
    const r = this.result;
    this.result = { applied: 0, failures: [] };
    return r;
  }

  private wake(): void {
    if (!this.waiters.length) return;
    const r = this.takeResult();
    for (const w of this.waiters.splice(0)) w(r);
  }
}
