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
  stop(): void;
}

/** Reporter writing to stderr; `quiet` prints nothing (tests, --json). */
export function makeProgress(opts: { quiet?: boolean } = {}): Progress {
  const log = (m: string) => {
    if (!opts.quiet) process.stderr.write(`tfw: build: ${m}\n`);
  };
  const tty = !opts.quiet && process.stderr.isTTY;
  let bar: cliProgress.SingleBar | undefined;
  let label = '';
  let n = 0;
  let total = 0;
  return {
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
          { format: `tfw: build: ${l} [{bar}] {value}/{total} {detail}`, stream: process.stderr, hideCursor: true, clearOnComplete: true },
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
    stop() {
      if (bar) bar.stop(), (bar = undefined);
    },
  };
}
