/**
 * The slice state: one JSON file `<dir>/slices.json` (`--state`, default
 * `/data/slices`, so it survives reboots and upgrades: issue 9's `/data`).
 * Writes are atomic (temp file, fsync, rename, fsync of the folder), so a
 * power cut leaves the old or the new state, never a torn one; a
 * read-modify-write holds `<dir>/slices.lock` (O_EXCL, with the holder's pid,
 * taken over when that process is gone) so two `tfw slice` calls cannot both
 * plan against the same free GPUs.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { SliceStateError } from './errors.js';

/** Most slices an AIBox runs ("up to 8 Virtual Machines"). */
export const MAX_SLICES = 8;

const sliceSchema = z.object({
  name: z.string(),
  /** 0..7, fixed at create: names the tap (`tfwsl<slot>`) and the VM's QMP and disk folder stays by name. */
  slot: z.number().int().min(0).max(MAX_SLICES - 1),
  /** GPU addresses (BDF) given to the slice. */
  gpus: z.array(z.string()),
  /** Every PCI function passed through: the GPUs' IOMMU groups minus bridges, sorted. */
  functions: z.array(z.string()),
  iommuGroups: z.array(z.number().int()),
  vcpus: z.number().int().min(1),
  /** Host logical CPUs the VM is confined to, one per vCPU, held by no other slice. */
  hostCpus: z.array(z.number().int()),
  memoryMiB: z.number().int().min(1),
  diskMiB: z.number().int().min(1),
  /** Guest NIC MAC (locally administered, from the name). */
  mac: z.string(),
  /** What reconcile restores at boot. */
  desired: z.enum(['running', 'stopped']),
  /** QEMU's pid while started by this manager, else null. */
  pid: z.number().int().nullable(),
  /** The OCI archive the last start handed the VM (`start --run`), which reconcile hands it again. */
  run: z.string().nullable().optional(),
  createdAt: z.string(),
});

/** One slice as stored. */
export type Slice = z.infer<typeof sliceSchema>;

const stateSchema = z.object({ version: z.literal(1), slices: z.array(sliceSchema) });
export type SliceState = z.infer<typeof stateSchema>;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export class SliceStore {
  readonly dir: string;
  readonly file: string;
  private readonly lockFile: string;

  constructor(dir: string) {
    this.dir = dir;
    this.file = join(dir, 'slices.json');
    this.lockFile = join(dir, 'slices.lock');
  }

  /**
   * The stored state; an empty one when the file does not exist yet.
   * @throws SliceStateError when the file is not valid JSON of the state's shape (names the field)
   */
  read(): SliceState {
    if (!existsSync(this.file)) return { version: 1, slices: [] };
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(this.file, 'utf8'));
    } catch (err) {
      throw new SliceStateError(`${this.file}: not JSON (${(err as Error).message}); expected the slice state`);
    }
    const r = stateSchema.safeParse(raw);
    if (!r.success) {
      const i = r.error.issues[0];
      throw new SliceStateError(`${this.file}: ${i.path.join('.') || '(root)'}: ${i.message}`);
    }
    return r.data;
  }

  /** Replaces the state atomically (write temp + fsync + rename + fsync folder). */
  write(state: SliceState): void {
    mkdirSync(this.dir, { recursive: true });
    const tmp = `${this.file}.tmp-${process.pid}`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(state, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    const dfd = openSync(this.dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  }

  /**
   * Runs `fn` holding the state lock (synchronous sections only).
   * @throws SliceStateError when a live process holds the lock
   */
  withLock<T>(fn: () => T): T {
    mkdirSync(this.dir, { recursive: true });
    for (let attempt = 0; ; attempt++) {
      try {
        const fd = openSync(this.lockFile, 'wx', 0o600);
        writeSync(fd, String(process.pid));
        closeSync(fd);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw new SliceStateError(`${this.lockFile}: cannot take the state lock: ${(err as Error).message}`);
        const holder = Number(readFileSync(this.lockFile, 'utf8').trim());
        if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
          throw new SliceStateError(`${this.lockFile}: held by pid ${holder}; another tfw slice command is running`);
        }
        unlinkSync(this.lockFile); // left by a process that is gone
      }
    }
    try {
      return fn();
    } finally {
      unlinkSync(this.lockFile);
    }
  }
}

export { alive as processAlive };
