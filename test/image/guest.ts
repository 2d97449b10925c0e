/**
 * A QEMU guest driven from a test as a user would drive a device: booted with
 * bootImage, its console kept (all lines, and a log file under build/test/),
 * waited on line by line across reboots, and stopped (or its power cut) at
 * will. Shared by the scenario tests that follow one guest through several
 * checks.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { bootImage, uefiFirmware, type BootOptions, type BootResult } from '../../images/builder/qemu.js';
import { repoRoot } from '../../images/builder/paths.js';

export class Guest {
  readonly lines: string[] = [];
  readonly done: Promise<BootResult>;
  private readonly abort = new AbortController();
  private waiters: Array<{ re: RegExp; from: number; resolve: (l: string) => void }> = [];

  /** Boots `o` with the console going to build/test/<name>.log. */
  constructor(readonly name: string, o: Omit<BootOptions, 'onLine' | 'signal' | 'consoleOut'>) {
    mkdirSync(join(repoRoot, 'build/test'), { recursive: true });
    const log = createWriteStream(join(repoRoot, 'build/test', `${name}.log`));
    this.done = bootImage({
      ...o,
      consoleOut: log,
      signal: this.abort.signal,
      onLine: (line) => {
        this.lines.push(line);
        this.waiters = this.waiters.filter((w) => {
          if (!w.re.test(line)) return true;
          w.resolve(line);
          return false;
        });
      },
    });
    void this.done.then(() => log.end());
  }

  /** Index of the next console line (a mark to wait from). */
  mark(): number {
    return this.lines.length;
  }

  /**
   * Resolves with the first console line from `from` on that matches `re`;
   * rejects after `seconds`, or when QEMU exits first, with the console's tail.
   */
  waitFor(re: RegExp, seconds: number, from = 0): Promise<string> {
    const seen = this.lines.slice(from).find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const tail = () => this.lines.slice(-15).join('\n');
      const timer = setTimeout(() => reject(new Error(`${this.name}: no console line matching ${re} within ${seconds} s; last lines:\n${tail()}`)), seconds * 1000);
      const w = { re, from, resolve: (l: string) => (clearTimeout(timer), resolve(l)) };
      this.waiters.push(w);
      void this.done.then((r) => {
        if (!this.waiters.includes(w)) return;
        clearTimeout(timer);
        reject(new Error(`${this.name}: QEMU ended (${r.cause ?? 'exit'}) before a line matching ${re}; last lines:\n${tail()}`));
      });
    });
  }

  /**
   * Resolves with the index (into `lines`) of the `n`th line from `from` on
   * that matches `re`; rejects like waitFor.
   */
  async waitForCount(re: RegExp, n: number, seconds: number, from = 0): Promise<number> {
    const deadline = Date.now() + seconds * 1000;
    for (let seen = 0, at = from; ; ) {
      const left = (deadline - Date.now()) / 1000;
      if (left <= 0) throw new Error(`${this.name}: ${seen} of ${n} console lines matching ${re} within ${seconds} s`);
      await this.waitFor(re, left, at);
      at += this.lines.slice(at).findIndex((l) => re.test(l));
      if (++seen === n) return at;
      at++;
    }
  }

  /** Lines from `from` on that match `re`. */
  grep(re: RegExp, from = 0): string[] {
    return this.lines.slice(from).filter((l) => re.test(l));
  }

  /** Stops QEMU at once (SIGTERM, then SIGKILL: a power cut for the guest) and waits for it to exit. */
  async kill(): Promise<void> {
    this.abort.abort(new Error('stopped by the test'));
    await this.done;
  }
}

/** mtools' environment for reading a disk's ESP in tests (no user config, no checks). */
export const mtoolsEnv = { ...process.env, MTOOLS_SKIP_CHECK: '1', MTOOLSRC: '/dev/null' };

/**
 * What flashing and booting disks needs on the host and is missing (tool and
 * its Debian package, UEFI firmware), for a test to report before skipping.
 */
export function diskToolsMissing(): string[] {
  const miss: string[] = [];
  const tools = [['sfdisk', 'fdisk'], ['mkfs.fat', 'dosfstools'], ['fsck.fat', 'dosfstools'], ['mcopy', 'mtools'], ['mdir', 'mtools'], ['mke2fs', 'e2fsprogs'], ['e2fsck', 'e2fsprogs'], ['minisign', 'minisign']];
  for (const [t, pkg] of tools) {
    if (spawnSync('sh', ['-c', `PATH="$PATH:/usr/sbin:/sbin" command -v ${t}`]).status !== 0) miss.push(`${t} (${pkg})`);
  }
  for (const a of ['x86_64', 'arm64'] as const) {
    try {
      uefiFirmware(a);
    } catch (e) {
      miss.push((e as Error).message);
    }
  }
  return miss;
}
