/**
 * Boot slots `a` and `b` on the EFI System Partition, booted by systemd-boot
 * with its Automatic Boot Assessment (systemd docs/AUTOMATIC_BOOT_ASSESSMENT.md,
 * and the Boot Loader Specification's type #1 entries and sorting):
 *
 * - each slot is a folder `/a` or `/b` (vmlinuz, initramfs.cpio.zst,
 *   manifest.json) and a loader entry `loader/entries/tfw-<slot>.conf` whose
 *   options carry `tfw.slot=<slot>`;
 * - a freshly written slot's entry is `tfw-<slot>+3.conf`: systemd-boot renames
 *   it to `+2-1`, `+1-2`, `+0-3` on each boot it tries; an entry with 0 tries
 *   left sorts after every other, so after three failed boots the other slot
 *   boots again (rollback without any host action);
 * - entries share `sort-key tfw` and carry a `version` that grows with every
 *   install (the generation), so among good entries the newest boots first
 *   (systemd-boot 252 `config_entry_compare`: tries-left-0 last, then sort-key,
 *   then version descending);
 * - a slot is marked good by dropping the counter from its name, as
 *   systemd-bless-boot.service does (`tfw-b+2-1.conf` -> `tfw-b.conf`).
 *
 * The host writes slot `a` when it flashes a disk (images/builder/disk.ts);
 * the device writes the other slot when it upgrades (upgrade.ts).
 */
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';

export type Slot = 'a' | 'b';
export const SLOTS: readonly Slot[] = ['a', 'b'];
/** Tries a new slot gets (systemd-boot's `+3`). */
export const BOOT_TRIES = 3;
export const ENTRIES_DIR = 'loader/entries';
/** loader.conf: no menu, no editor; no `default`, so the first entry in systemd-boot's order boots. */
export const LOADER_CONF = 'timeout 0\neditor no\n';
/** The sort key all tfw entries share (Boot Loader Specification `sort-key`). */
export const SORT_KEY = 'tfw';

export const otherSlot = (s: Slot): Slot => (s === 'a' ? 'b' : 'a');

/** The entry file name of a slot: `tfw-a.conf`, or with a boot counter `tfw-b+3.conf` / `tfw-b+2-1.conf`. */
export function entryFileName(slot: Slot, triesLeft?: number, triesDone = 0): string {
  if (triesLeft === undefined) return `tfw-${slot}.conf`;
  return `tfw-${slot}+${triesLeft}${triesDone ? `-${triesDone}` : ''}.conf`;
}

/**
 * The text of a slot's loader entry (Boot Loader Specification type #1).
 * `generation` orders installs (higher boots first); `cmdline` is the image's.
 */
export function slotEntry(o: { slot: Slot; generation: number; title: string; cmdline: string }): string {
  return `title ${o.title} (slot ${o.slot})\nsort-key ${SORT_KEY}\nversion ${o.generation}\nlinux /${o.slot}/vmlinuz\ninitrd /${o.slot}/initramfs.cpio.zst\noptions ${o.cmdline} tfw.slot=${o.slot}\n`;
}

export interface EntryInfo {
  slot: Slot;
  /** File name in loader/entries. */
  file: string;
  /** The entry's `version` line (install generation), 0 when missing. */
  generation: number;
  /** undefined: no boot counter (a good slot). */
  triesLeft?: number;
  triesDone?: number;
  /** good (no counter), trial (tries left), bad (no tries left). */
  state: 'good' | 'trial' | 'bad';
}

const ENTRY_RE = /^tfw-([ab])(?:\+(\d+)(?:-(\d+))?)?\.conf$/;

/** Parses an entry file name, or undefined for files that are not tfw slot entries. */
export function parseEntryName(file: string): Omit<EntryInfo, 'generation'> | undefined {
  const m = ENTRY_RE.exec(file);
  if (!m) return undefined;
  const slot = m[1] as Slot;
  if (m[2] === undefined) return { slot, file, state: 'good' };
  const triesLeft = Number(m[2]);
  return { slot, file, triesLeft, triesDone: Number(m[3] ?? 0), state: triesLeft > 0 ? 'trial' : 'bad' };
}

/** The tfw slot entries on an ESP mounted at `esp`, one per slot at most (the first found wins). */
export function listEntries(esp: string): EntryInfo[] {
  const dir = join(esp, ENTRIES_DIR);
  if (!existsSync(dir)) return [];
  const out: EntryInfo[] = [];
  for (const f of readdirSync(dir).sort()) {
    const e = parseEntryName(f);
    if (!e || out.some((x) => x.slot === e.slot)) continue;
    const v = /^version\s+(\d+)\s*$/m.exec(readFileSync(join(dir, f), 'utf8'));
    out.push({ ...e, generation: v ? Number(v[1]) : 0 });
  }
  return out;
}

/** The slot named by `tfw.slot=` on a kernel command line, or undefined. */
export function bootedSlot(cmdline: string): Slot | undefined {
  const m = /(?:^|\s)tfw\.slot=([ab])(?:\s|$)/.exec(cmdline);
  return m ? (m[1] as Slot) : undefined;
}

/** fsync a file or folder by path (FAT and ext4 both take fsync on a folder fd; errors are ignored there). */
export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the data itself was synced.
  } finally {
    closeSync(fd);
  }
}

/**
 * Marks `slot` good: renames its counting entry to the plain name (what
 * systemd-bless-boot does) and syncs the folder. Returns the old file name, or
 * undefined when the slot had no counter (already good) or no entry.
 */
export function markGood(esp: string, slot: Slot): string | undefined {
  const e = listEntries(esp).find((x) => x.slot === slot);
  if (!e || e.state === 'good') return undefined;
  const dir = join(esp, ENTRIES_DIR);
  renameSync(join(dir, e.file), join(dir, entryFileName(slot)));
  fsyncPath(dir);
  return e.file;
}
