/**
 * `SliceManager`: the AIBox's slices as one object (create, list, delete,
 * start, stop, reconcile) over a sysfs root, a state folder and a slice image.
 * `tfw slice` drives it; the device API and the aibox role's service will call
 * the same methods (`reconcile()` at boot restarts the slices that were
 * running and rebinds their GPUs to vfio-pci).
 *
 * Every change is planned first and written in one atomic state update under
 * the state lock; a refusal throws before anything is written or started.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SliceLaunchError, SliceNotFoundError, SliceRefusedError, SliceRunMissingError } from './errors.js';
import { readInventory, type Inventory } from './inventory.js';
import { pciDevicePath } from './pci.js';
import { DEFAULT_POLICY, planSlice, usage, type PlannerPolicy, type SliceRequest, type Usage } from './planner.js';
import { admitSlicePeer, removeSlicePeer, sliceGuestConfig, sliceLinkAddress, slicePublicKey, type SliceGateway } from './network.js';
import { kvmUsable, sliceCommand, type Accel } from './qemu.js';
import { formatMiB } from './size.js';
import { SliceStore, type Slice } from './state.js';
import { bindToVfio, sysfsWriter, type BindResult, type SysfsIo } from './vfio.js';
import { ipHostNet, makeSparseDisk, pinVcpus, powerOff, sliceProcessRunning, spawnVm, waitForQmp, writeIfupScript, type HostNet } from './vm.js';

export { ipHostNet, sliceProcessRunning, type HostNet };

export interface SliceManagerOptions {
  /** sysfs root (default /sys). */
  sysfs?: string;
  /** State folder (default /data/slices). */
  stateDir?: string;
  /**
   * Folder of the `slice` role image: vmlinuz, initramfs.cpio.zst, cmdline
   * (default: <stateDir>/image when it holds a vmlinuz, the owner's own image,
   * else `builtinImage`).
   */
  image?: string;
  /** The slice image the aibox image carries (default /usr/lib/tfw/slice, images/aibox.yaml `embeds`). */
  builtinImage?: string;
  /** auto (default): kvm when /dev/kvm opens read-write, else tcg. */
  accel?: 'auto' | Accel;
  /** Bridge the slices' taps join (default tfwbr0). */
  bridge?: string;
  /** QEMU binary (default qemu-system-x86_64). */
  qemu?: string;
  /** GPU vendor ids (default NVIDIA, AMD). */
  gpuVendors?: readonly number[];
  policy?: Partial<PlannerPolicy>;
  /** sysfs writes for vfio binding (default plain writes). */
  io?: SysfsIo;
  hostNet?: HostNet;
  /**
   * The AIBox's side of the slices' overlay (runtime/slices/network.ts): the
   * bridge gets `gateway.address`, each VM an address on that link and an
   * overlay config peering with the AIBox's node. Without it the VMs get the
   * image's own network setup (DHCP) and config.
   */
  gateway?: SliceGateway;
  /** Log sink (default: `tfw: slice: ...` lines on stderr). */
  log?: (message: string) => void;
}

/**
 * Where a slice stands on the AIBox's overlay (`admitLater`): `waiting` for the
 * VM's identity line, `admitted` as a peer of the AIBox's node with its /64,
 * or `failed` with the one-line cause.
 */
export interface SliceOverlay {
  state: 'waiting' | 'admitted' | 'failed';
  publicKey?: string;
  subnet?: string;
  error?: string;
}

/** A slice with its live state (`overlay` once this manager started admitting it). */
export interface SliceStatus extends Slice {
  running: boolean;
  overlay?: SliceOverlay;
}

export interface ReconcileEntry {
  name: string;
  action: 'started' | 'running' | 'stopped' | 'failed';
  cause?: string;
}

const DEFAULT_DISK_MIB = 20 * 1024;
/** Where the aibox image carries the slice image (images/aibox.yaml `embeds: [slice]`). */
export const BUILTIN_SLICE_IMAGE = '/usr/lib/tfw/slice';

/** MAC for a slice's NIC: QEMU's 52:54 prefix and 4 bytes of sha256 of its name (stable across restarts). */
export const sliceMac = (name: string): string =>
  ['52', '54', ...[...createHash('sha256').update(`tfw-slice:${name}`).digest().subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0'))].join(':');

export class SliceManager {
  readonly sysfs: string;
  readonly stateDir: string;
  readonly bridge: string;
  readonly policy: PlannerPolicy;
  private readonly store: SliceStore;
  private readonly o: SliceManagerOptions;
  private readonly log: (m: string) => void;
  /** Overlay admissions started by this manager, by slice name (not stored: a restart admits again). */
  private readonly admissions = new Map<string, SliceOverlay>();

  constructor(opts: SliceManagerOptions = {}) {
    this.o = opts;
    this.sysfs = opts.sysfs ?? '/sys';
    this.stateDir = opts.stateDir ?? '/data/slices';
    this.bridge = opts.bridge ?? 'tfwbr0';
    this.policy = { ...DEFAULT_POLICY, ...opts.policy };
    this.store = new SliceStore(this.stateDir);
    this.log = opts.log ?? ((m) => process.stderr.write(`tfw: slice: ${m}\n`));
  }

  /**
   * The slice image a start uses, looked up at each start: `image` when given;
   * else `<state>/image` when it holds a vmlinuz (an owner's own image); else
   * the image the aibox image carries (`builtinImage`) when present; else
   * `<state>/image` (and start says what is missing there).
   */
  get imageDir(): string {
    if (this.o.image) return this.o.image;
    const own = join(this.stateDir, 'image');
    if (existsSync(join(own, 'vmlinuz'))) return own;
    const builtin = this.o.builtinImage ?? BUILTIN_SLICE_IMAGE;
    return existsSync(join(builtin, 'vmlinuz')) ? builtin : own;
  }

  /** The AIBox's side of the slices' overlay, when the manager was given one. */
  get gateway(): SliceGateway | undefined {
    return this.o.gateway;
  }

  /** The host's GPUs, CPUs and memory (throws SysfsError naming a missing file). */
  inventory(): Inventory {
    return readInventory(this.sysfs, { gpuVendors: this.o.gpuVendors });
  }

  /** Stored slices with whether each VM runs, by slot. */
  list(): SliceStatus[] {
    return this.store
      .read()
      .slices.map((s) => {
        const overlay = this.admissions.get(s.name);
        return { ...s, running: sliceProcessRunning(s.pid, s.name), ...(overlay ? { overlay: { ...overlay } } : {}) };
      })
      .sort((a, b) => a.slot - b.slot);
  }

  /** Free and used resources. */
  usage(): Usage {
    return usage(this.inventory(), this.store.read().slices, this.policy);
  }

  /** The acceleration a start uses now. */
  accel(): Accel {
    const a = this.o.accel ?? 'auto';
    return a === 'auto' ? (kvmUsable() ? 'kvm' : 'tcg') : a;
  }

  /** The argv that starts `slice` (program first); `run` is an OCI archive for the VM to run once ready; `image` the slice image folder (default imageDir). */
  command(slice: Slice, run?: string, image = this.imageDir): string[] {
    const cmdlineFile = join(image, 'cmdline');
    const dir = join(this.stateDir, slice.name);
    const gw = this.gateway;
    const link = gw && sliceLinkAddress(gw, slice.slot);
    return sliceCommand(slice, {
      words: link ? [`tfw.ip=${link.address}`, `tfw.gw=${link.gateway}`] : [],
      fwCfg: [...(gw ? [{ name: 'config.cbor', file: join(dir, 'config.cbor') }] : []), ...(run ? [{ name: 'run.tar', file: run }] : [])],
      dir,
      image: {
        kernel: join(image, 'vmlinuz'),
        initrd: join(image, 'initramfs.cpio.zst'),
        cmdline: existsSync(cmdlineFile) ? readFileSync(cmdlineFile, 'utf8') : '',
      },
      accel: this.accel(),
      ifupScript: join(this.stateDir, `ifup-${this.bridge}`),
      qemu: this.o.qemu,
    });
  }

  /**
   * Plans and stores a new slice (stopped); with dryRun only plans it.
   * @param req name, gpus (0-2), optional gpuAddresses, vcpus, memoryMiB, diskMiB (default 20G)
   * @returns the slice and the QEMU argv it would start with
   * @throws SliceRefusedError naming what is short (nothing is written); TfwError ERR_TFW_CONFIG for bad values
   */
  create(req: Omit<SliceRequest, 'diskMiB'> & { diskMiB?: number }, opts: { dryRun?: boolean } = {}): { slice: Slice; command: string[] } {
    const full: SliceRequest = { ...req, diskMiB: req.diskMiB ?? DEFAULT_DISK_MIB };
    const plan = (slices: Slice[]) => {
      const p = planSlice(this.inventory(), slices, full, this.policy);
      this.checkDisk(slices, full.diskMiB);
      const slice: Slice = {
        name: full.name, slot: p.slot, gpus: p.gpus, functions: p.functions, iommuGroups: p.iommuGroups,
        vcpus: full.vcpus, hostCpus: p.hostCpus, memoryMiB: full.memoryMiB, diskMiB: full.diskMiB,
        mac: sliceMac(full.name), desired: 'stopped', pid: null, createdAt: new Date().toISOString(),
      };
      return slice;
    };
    if (opts.dryRun) {
      const slice = plan(this.store.read().slices);
      return { slice, command: this.command(slice) };
    }
    const slice = this.store.withLock(() => {
      const st = this.store.read();
      const s = plan(st.slices);
      this.store.write({ ...st, slices: [...st.slices, s] });
      return s;
    });
    this.log(`created ${slice.name}: ${slice.gpus.length ? `gpus ${slice.gpus.join(' ')}` : 'no gpus'}, vcpus ${slice.vcpus} on host cpus ${slice.hostCpus.join(',')}, memory ${formatMiB(slice.memoryMiB)}, disk ${formatMiB(slice.diskMiB)}`);
    return { slice, command: this.command(slice) };
  }

  /** Refuses a disk the state filesystem cannot hold beside the other slices' unwritten disk space. */
  private checkDisk(slices: Slice[], diskMiB: number): void {
    let dir = this.stateDir;
    while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
    const fs = statfsSync(dir);
    const freeMiB = Math.floor((fs.bavail * fs.bsize) / 1048576);
    const promised = slices.reduce((sum, s) => {
      const file = join(this.stateDir, s.name, 'disk.raw');
      const written = existsSync(file) ? Math.floor((statSync(file).blocks * 512) / 1048576) : 0;
      return sum + Math.max(0, s.diskMiB - written);
    }, 0);
    if (diskMiB > freeMiB - promised) {
      throw new SliceRefusedError('disk', `${formatMiB(diskMiB)} asked, ${formatMiB(Math.max(0, freeMiB - promised))} free on ${dir} (${formatMiB(freeMiB)} free, ${formatMiB(promised)} promised to other slices' disks)`);
    }
  }

  private find(slices: Slice[], name: string): Slice {
    const s = slices.find((x) => x.name === name);
    if (!s) throw new SliceNotFoundError(name, slices.map((x) => x.name));
    return s;
  }

  private update(name: string, patch: Partial<Slice>): void {
    this.store.withLock(() => {
      const st = this.store.read();
      this.find(st.slices, name);
      this.store.write({ ...st, slices: st.slices.map((s) => (s.name === name ? { ...s, ...patch } : s)) });
    });
  }

  /**
   * Starts slice `name`: binds its GPUs' functions to vfio-pci, makes its disk,
   * puts the bridge and tap script in place, and runs QEMU detached (console in
   * `<state>/<name>/console.log`, QEMU's own output in qemu.log). A running slice
   * is left alone. With a gateway socket the VM is then admitted to the
   * AIBox's node in the background (`admitLater`; a running slice is admitted
   * again). With dryRun only returns the argv.
   * @returns the argv and QEMU's pid (null for dryRun)
   * @throws SliceNotFoundError; SliceLaunchError when a GPU is gone, the image is missing or QEMU exits at once; VfioBindError
   */
  async start(name: string, opts: { dryRun?: boolean; readyTimeoutMs?: number; run?: string } = {}): Promise<{ slice: Slice; command: string[]; pid: number | null }> {
    const slice = this.find(this.store.read().slices, name);
    if (opts.run !== undefined && !existsSync(opts.run)) throw new SliceRunMissingError(opts.run);
    // One lookup of the image folder (imageDir checks the file system) for the command and the check below.
    const image = this.imageDir;
    const command = this.command(slice, opts.run, image);
    if (opts.dryRun) return { slice, command, pid: null };
    if (sliceProcessRunning(slice.pid, name)) {
      // Running already: admitted again (the node's peer entry is replaced, so this is idempotent).
      this.admitInBackground(name);
      return { slice, command, pid: slice.pid };
    }

    // By address, not through the GPU filter: a vendor list given at create need not be given again.
    const missing = slice.functions.filter((f) => !existsSync(pciDevicePath(this.sysfs, f)));
    if (missing.length) throw new SliceLaunchError(`${name}: PCI function(s) ${missing.join(', ')} not found under ${this.sysfs}; the GPU was removed or moved`);
    for (const f of ['vmlinuz', 'initramfs.cpio.zst']) {
      if (!existsSync(join(image, f))) throw new SliceLaunchError(`image: ${join(image, f)} missing; put a slice-role image there (tfw build --role slice) or pass --image DIR`);
    }
    this.bind(slice);
    const dir = join(this.stateDir, name);
    mkdirSync(dir, { recursive: true });
    makeSparseDisk(join(dir, 'disk.raw'), slice.diskMiB);
    if (this.gateway) writeFileSync(join(dir, 'config.cbor'), sliceGuestConfig(this.gateway), { mode: 0o600 });
    writeIfupScript(join(this.stateDir, `ifup-${this.bridge}`), this.bridge);
    (this.o.hostNet ?? ipHostNet).ensureBridge(this.bridge, this.gateway?.address);
    const sock = join(dir, 'qmp.sock');
    rmSync(sock, { force: true });
    const vm = await spawnVm(name, command, join(dir, 'qemu.log'));
    this.update(name, { pid: vm.pid, desired: 'running', run: opts.run ?? null });
    const pid = vm.pid;
    try {
      if (!(await waitForQmp(vm, name, sock, opts.readyTimeoutMs ?? 10_000))) this.log(`${name}: QMP not answering yet; leaving QEMU (pid ${pid}) to come up`);
    } catch (err) {
      this.update(name, { pid: null });
      throw err;
    }
    const pinned = await pinVcpus(sock, slice.hostCpus).catch((err: Error) => `vCPU threads not pinned one to one (${err.message.split('\n')[0]})`);
    this.log(`started ${name}: pid ${pid}, ${this.accel()}, host cpus ${slice.hostCpus.join(',')}${slice.functions.length ? `, vfio ${slice.functions.join(' ')}` : ''}; ${pinned}`);
    this.admitInBackground(name);
    return { slice: { ...slice, pid, desired: 'running' }, command, pid };
  }

  /**
   * Makes slice `name` reachable on the overlay through the AIBox's node: waits
   * for the VM's identity line on its console (the key it created on its first
   * boot, or loaded), then adds the VM as a peer of the AIBox's node over
   * `gateway.uapiSocket` with its overlay /64.
   * @returns the VM's public key and overlay /64
   * @throws SliceLaunchError without a gateway socket, or when no identity line shows within `timeoutMs` (default 120 s); TfwError ERR_TFW_UAPI
   */
  async admit(name: string, opts: { timeoutMs?: number } = {}): Promise<{ publicKey: string; subnet: string }> {
    const slice = this.find(this.store.read().slices, name);
    const sock = this.gateway?.uapiSocket;
    if (!sock) throw new SliceLaunchError(`${name}: no gateway.uapiSocket: the AIBox's node cannot be told about the VM`);
    const consoleLog = join(this.stateDir, name, 'console.log');
    const end = Date.now() + (opts.timeoutMs ?? 120_000);
    let key = slicePublicKey(consoleLog);
    while (!key && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 250));
      key = slicePublicKey(consoleLog);
    }
    if (!key) throw new SliceLaunchError(`${name}: no "tfw: identity:" line in ${consoleLog} within ${Math.round((opts.timeoutMs ?? 120_000) / 1000)} s`);
    const link = sliceLinkAddress(this.gateway!, slice.slot).address.split('/')[0];
    const subnet = await admitSlicePeer(sock, key, `${link}:51820`);
    this.log(`${name}: overlay peer ${key} (${subnet}) via ${sock}`);
    return { publicKey: key, subnet };
  }

  /**
   * `admit(name)` in the background, for the device API and the aibox service:
   * the slice's `overlay` (in `list()`) is `waiting` until the VM shows its
   * identity, then `admitted`, or `failed` with the cause, which is also
   * logged in one line (`<name>: not on the overlay: <cause>`).
   * @param opts.timeoutMs how long the VM gets to show its identity (default 300 s: a TCG boot on a loaded host)
   * @returns the final state; never rejects
   */
  admitLater(name: string, opts: { timeoutMs?: number } = {}): Promise<SliceOverlay> {
    const entry: SliceOverlay = { state: 'waiting' };
    this.admissions.set(name, entry);
    return this.admit(name, { timeoutMs: opts.timeoutMs ?? 300_000 }).then(
      (r) => Object.assign(entry, { state: 'admitted' as const }, r),
      (err: Error) => {
        const error = err.message.split('\n')[0];
        // A stop or delete meanwhile made this admission moot: nothing to report.
        if (this.admissions.get(name) === entry) this.log(`${name}: not on the overlay: ${error}`);
        return Object.assign(entry, { state: 'failed' as const, error });
      },
    );
  }

  /** The VM's identity shows only once it has booted: with a gateway socket, admit it in the background (`overlay` in list()). */
  private admitInBackground(name: string): void {
    if (this.gateway?.uapiSocket) void this.admitLater(name);
  }

  /**
   * The end of slice `name`'s serial console (`<state>/<name>/console.log`):
   * at most `maxBytes` bytes (default 64 KiB), starting at a line boundary when
   * cut; empty before its first start.
   * @throws SliceNotFoundError
   */
  console(name: string, maxBytes = 64 * 1024): string {
    this.find(this.store.read().slices, name);
    const file = join(this.stateDir, name, 'console.log');
    if (!existsSync(file)) return '';
    const size = statSync(file).size;
    const start = Math.max(0, size - maxBytes);
    const fd = openSync(file, 'r');
    try {
      const buf = Buffer.alloc(size - start);
      const n = readSync(fd, buf, 0, buf.length, start);
      let text = buf.subarray(0, n).toString('utf8');
      if (start > 0 && text.includes('\n')) text = text.slice(text.indexOf('\n') + 1);
      return text;
    } finally {
      closeSync(fd);
    }
  }

  /** Binds every function of `slice` to vfio-pci. */
  private bind(slice: Slice): BindResult[] {
    if (!slice.functions.length) return [];
    const r = bindToVfio(this.sysfs, slice.functions, this.o.io ?? sysfsWriter);
    const changed = r.filter((x) => x.changed);
    if (changed.length) this.log(`${slice.name}: bound ${changed.map((x) => `${x.address} (from ${x.from ?? 'none'})`).join(', ')} to vfio-pci`);
    return r;
  }

  /**
   * Stops slice `name`: QMP system_powerdown, then SIGTERM after `timeoutMs`
   * (default 30 s), SIGKILL 5 s later; marks it stopped so reconcile leaves it.
   * @throws SliceNotFoundError
   */
  async stop(name: string, opts: { timeoutMs?: number } = {}): Promise<void> {
    const slice = this.find(this.store.read().slices, name);
    const pid = slice.pid;
    if (pid !== null && sliceProcessRunning(pid, name)) {
      const how = await powerOff(name, pid, join(this.stateDir, name, 'qmp.sock'), opts.timeoutMs ?? 30_000);
      this.log(`stopped ${name}: ${how}`);
    }
    this.update(name, { pid: null, desired: 'stopped' });
    this.admissions.delete(name);
  }

  /**
   * Deletes slice `name`: stops it, removes it from the state and deletes its
   * folder (disk included). Its GPUs stay on vfio-pci for the next slice.
   * @throws SliceNotFoundError
   */
  async delete(name: string): Promise<void> {
    const key = slicePublicKey(join(this.stateDir, name, 'console.log'));
    await this.stop(name);
    // The VM's key goes with its disk: the AIBox's node forgets the peer (best effort, logged).
    const sock = this.gateway?.uapiSocket;
    if (key && sock) await removeSlicePeer(sock, key).catch((err: Error) => this.log(`${name}: peer ${key} not removed from the AIBox's node: ${err.message}`));
    this.store.withLock(() => {
      const st = this.store.read();
      this.find(st.slices, name);
      this.store.write({ ...st, slices: st.slices.filter((s) => s.name !== name) });
    });
    rmSync(join(this.stateDir, name), { recursive: true, force: true });
    this.log(`deleted ${name}`);
  }

  /**
   * Brings the host in line with the state, as at boot: every slice's GPU
   * functions are bound to vfio-pci again, slices meant to run and not running
   * are started, stale pids of stopped ones are cleared; with a gateway socket
   * every slice running afterwards is admitted in the background. A failing
   * slice is reported and the others still go ahead.
   */
  async reconcile(): Promise<ReconcileEntry[]> {
    const out: ReconcileEntry[] = [];
    for (const s of this.list()) {
      try {
        if (s.running) {
          // Left running by the last runtime: this manager admits it again.
          this.admitInBackground(s.name);
          out.push({ name: s.name, action: 'running' });
        } else if (s.desired === 'running') {
          // The archive the slice last ran, when it is still there (else the VM starts without one, and says so).
          const run = s.run && existsSync(s.run) ? s.run : undefined;
          if (s.run && !run) this.log(`${s.name}: run archive ${s.run} is gone; starting without it`);
          await this.start(s.name, { run });
          out.push({ name: s.name, action: 'started' });
        } else {
          if (s.pid !== null) this.update(s.name, { pid: null });
          this.bind(s);
          out.push({ name: s.name, action: 'stopped' });
        }
      } catch (err) {
        const cause = (err as Error).message.split('\n')[0];
        this.log(`${s.name}: not reconciled: ${cause}`);
        out.push({ name: s.name, action: 'failed', cause });
      }
    }
    return out;
  }
}
