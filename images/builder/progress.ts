/**
 * Build progress: a cli-progress bar when stderr is a TTY, plain
 * `tfw: build: <step>` lines otherwise (CI logs, tests, --json).
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** One step finished or started (always printed as a line when not a TTY). */
  step(msg: string): void;
  /** Starts a counted phase (downloads, files); `tick` advances it. */
  start(label: string, total: number): void;
  tick(detail?: string): void;
  /**
   * A byte-counted phase (a write, a download, a compression): `done` of
   * `total` bytes so far. A bar in MiB on a TTY; otherwise a line at the
   * start, at every quarter and at the end.
   */
  bytes(label: string, done: number, total: number): void;
  stop(): void;
  /**
   * True when a person watches (stderr a TTY, not quiet): a step run by a
   * tool with its own byte progress (zstd's) may then show it on stderr.
   */
  readonly interactive?: boolean;
}

const mib = (n: number) => (n / 1048576).toFixed(1);

/**
 * Reporter writing to stderr as `tfw: <component>: ...` (component default
 * build); `quiet` prints nothing (tests, --json).
 */
export function makeProgress(opts: { quiet?: boolean; component?: string } = {}): Progress {
  const component = opts.component ?? 'build';
  const log = (m: string) => {
    if (!opts.quiet) process.stderr.write(`tfw: ${component}: ${m}\n`);
  };
  let byteBar: cliProgress.SingleBar | undefined;
  let byteLabel = '';
  let quarter = -1;
  const tty = !opts.quiet && process.stderr.isTTY;
  let bar: cliProgress.SingleBar | undefined;
  let label = '';
  let n = 0;
  let total = 0;
  return {
    interactive: tty,
    step: (m) => {
      if (bar) bar.stop(), (bar = undefined);
      log(m);
    },
    start(l, t) {
      label = l;
      n = 0;
      total = t;
      if (tty) {
        bar = new cliProgress.SingleBar(
          { format: `tfw: ${component}: ${l} [{bar}] {value}/{total} {detail}`, stream: process.stderr, hideCursor: true, clearOnComplete: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(t, 0, { detail: '' });
      }
    },
    tick(detail = '') {
      n++;
      if (bar) bar.update(n, { detail });
      else if (detail) log(`${label} ${n}/${total} ${detail}`);
    },
    bytes(l, done, t) {
      if (l !== byteLabel) {
        if (byteBar) byteBar.stop(), (byteBar = undefined);
        byteLabel = l;
        quarter = -1;
        if (tty) {
          byteBar = new cliProgress.SingleBar(
            { format: `tfw: ${component}: ${l} [{bar}] {done} / {all} MiB`, stream: process.stderr, hideCursor: true, clearOnComplete: true },
            cliProgress.Presets.shades_classic,
          );
          byteBar.start(t, 0, { done: mib(0), all: mib(t) });
        }
      }
      if (byteBar) {
        byteBar.update(done, { done: mib(done), all: mib(t) });
        if (done >= t) byteBar.stop(), (byteBar = undefined);
        return;
      }
      const q = t > 0 ? Math.floor((4 * done) / t) : 4;
      if (q > quarter) {
        quarter = q;
        log(`${l} ${done} of ${t} bytes (${mib(done)} of ${mib(t)} MiB)`);
      }
    },
    stop() {
      if (bar) bar.stop(), (bar = undefined);
      if (byteBar) byteBar.stop(), (byteBar = undefined);
    },
  };
}
