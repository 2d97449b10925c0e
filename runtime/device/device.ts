/**
 * What the runtime knows about the device it runs on: the release (board,
 * role, arch, version from /etc/tfw/release, which the guest init exports),
 * the slot it booted (`tfw.slot=` on the kernel command line), the data
 * partition's and the EFI System Partition's mount points (given by the init
 * when it mounted them), and the trusted release keys (/etc/tfw/trusted). It
 * marks the booted slot good once the runtime is healthy and installs
 * upgrades into the other slot (upgrade.ts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { installBundle, readTrustedKeys, type InstallResult } from './upgrade.js';
import { bootedSlot, listEntries, markGood, type EntryInfo, type Slot } from './slots.js';

/** Where images keep the keys `tfw build --trust` adds. */
export const TRUSTED_DIR = '/etc/tfw/trusted';

export interface DeviceOptions {
  board: string;
  role: string;
  arch: string;
  version: string;
  /** Mount point of the `tfw-data` partition, when mounted. */
  dataDir?: string;
  /** Mount point of the EFI System Partition (mounted read-only; remounted read-write to write). */
  esp?: string;
  /** Kernel command line (default: /proc/cmdline). */
  cmdline?: string;
  trustedDir?: string;
  /** Remounts the ESP (`mount -o remount,rw|ro`); default: busybox mount. Tests pass a no-op. */
  remount?: (esp: string, rw: boolean) => void;
  log?: (component: string, message: string) => void;
}

const defaultRemount = (esp: string, rw: boolean) => {
  execFileSync('mount', ['-o', `remount,${rw ? 'rw' : 'ro'}`, esp], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (!rw) execFileSync('sync');
};

export class DeviceState {
  readonly board: string;
  readonly role: string;
  readonly arch: string;
  readonly version: string;
  readonly dataDir?: string;
  readonly esp?: string;
  readonly slot?: Slot;
  readonly trustedDir: string;
  private readonly remount: (esp: string, rw: boolean) => void;
  private readonly log: (component: string, message: string) => void;
  private upgrading = false;

  constructor(o: DeviceOptions) {
    this.board = o.board;
    this.role = o.role;
    this.arch = o.arch;
    this.version = o.version;
    this.dataDir = o.dataDir;
    this.esp = o.esp;
    const cmdline = o.cmdline ?? (existsSync('/proc/cmdline') ? readFileSync('/proc/cmdline', 'utf8') : '');
    this.slot = o.esp ? bootedSlot(cmdline) : undefined;
    this.trustedDir = o.trustedDir ?? TRUSTED_DIR;
    this.remount = o.remount ?? defaultRemount;
    this.log = o.log ?? (() => {});
  }

  /** The slot entries on the ESP (empty without one). */
  slots(): EntryInfo[] {
    return this.esp ? listEntries(this.esp) : [];
  }

  /**
   * Called once the runtime is healthy (ready, overlay up): marks the booted
   * slot good if it was on trial and logs `tfw: slot: <slot> marked good`.
   * Returns true when it changed the entry.
   */
  markHealthy(): boolean {
    if (!this.esp || !this.slot) return false;
    const e = this.slots().find((x) => x.slot === this.slot);
    if (!e || e.state === 'good') return false;
    this.remount(this.esp, true);
    try {
      markGood(this.esp, this.slot);
    } finally {
      this.remount(this.esp, false);
    }
    this.log('slot', `${this.slot} marked good`);
    return true;
  }

  /**
   * Installs a received bundle into the other slot (upgrade.ts); one at a time.
   * @throws UpgradeRefused with the reason
   */
  async upgrade(bundle: string, signature: string, allowDowngrade = false, onProgress?: (done: number, total: number) => void): Promise<InstallResult> {
    const { UpgradeRefused } = await import('./upgrade.js');
    if (this.upgrading) throw new UpgradeRefused('another upgrade is in progress');
    if (!this.esp) throw new UpgradeRefused('no EFI System Partition is mounted (PXE or kernel boot); flash a disk to upgrade');
    this.upgrading = true;
    try {
      return await installBundle({
        bundle,
        signature,
        allowDowngrade,
        onProgress,
        trusted: readTrustedKeys(this.trustedDir),
        device: { board: this.board, arch: this.arch, version: this.version, slot: this.slot },
        esp: this.esp,
        writable: (rw) => this.remount(this.esp!, rw),
      });
    } finally {
      this.upgrading = false;
    }
  }

  /** Where uploads are staged: the data partition when there is one (RAM is small), else /tmp. */
  stagingDir(): string {
    return this.dataDir ? join(this.dataDir, 'tfw/upgrade') : '/tmp';
  }
}
