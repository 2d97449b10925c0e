/**
 * The slice planner: decides whether a new slice fits beside the existing ones
 * and what it gets, without touching anything (a refusal changes nothing).
 *
 * Rules (issue 17, docs/aibox.md "Planner rules"):
 * - at most 8 slices (MAX_SLICES), names unique;
 * - 0, 1 or 2 GPUs; a GPU goes to one slice only, together with its whole
 *   IOMMU group (zos `IoMMUGroup(gpu, Not(PCIBridge))`): GPUs that share a
 *   group are one unit, so a 1-GPU slice never gets a 2-GPU group and a group
 *   with more than 2 GPUs cannot be sliced; GPUs without an IOMMU group (IOMMU
 *   off) cannot be passed through;
 * - every vCPU is pinned to its own host logical CPU, held by no other slice
 *   and not among the host's reserved CPUs (the first physical core by
 *   default); CPUs on the GPUs' NUMA node are taken first, whole cores first,
 *   and a core another slice has a thread of only when no clean core is left;
 * - memory is reserved, never overcommitted (VFIO pins all guest RAM anyway):
 *   the slices' sum stays within total RAM minus hugepage pools minus the
 *   host reserve (2 GiB by default).
 * Anything short is refused with one line naming each short resource.
 */
import { TfwError } from '../errors.js';
import { SliceRefusedError } from './errors.js';
import type { Gpu, Inventory } from './inventory.js';
import { formatMiB } from './size.js';
import { MAX_SLICES, type Slice } from './state.js';

/** What `tfw slice create` asks for. */
export interface SliceRequest {
  name: string;
  /** 0, 1 or 2. */
  gpus: number;
  /** Particular GPUs (BDF); their count must equal `gpus`. */
  gpuAddresses?: string[];
  vcpus: number;
  memoryMiB: number;
  diskMiB: number;
}

export interface PlannerPolicy {
  /** Most slices (default 8). */
  maxSlices: number;
  /** RAM kept for the host: the runtime, QEMU processes, page cache (MiB, default 2048). */
  hostMemoryMiB: number;
  /** Physical cores kept for the host, taken from the first ones of package 0 (default 1). */
  hostCores: number;
}

export const DEFAULT_POLICY: PlannerPolicy = { maxSlices: MAX_SLICES, hostMemoryMiB: 2048, hostCores: 1 };

/** What a new slice gets. */
export interface Plan {
  slot: number;
  gpus: string[];
  functions: string[];
  iommuGroups: number[];
  hostCpus: number[];
}

/** Free and used resources, for refusals and `tfw slice list --json`. */
export interface Usage {
  slices: number;
  gpus: { total: number; used: number; free: number };
  cpus: { online: number; host: number[]; used: number; free: number[] };
  memory: { totalMiB: number; hostMiB: number; hugepagesMiB: number; usedMiB: number; freeMiB: number };
}

const NAME = /^[a-z][a-z0-9-]{0,31}$/;

/** Logical CPUs kept for the host: every thread of the first `cores` physical cores (by package, core). */
export function hostReservedCpus(inv: Inventory, cores: number): number[] {
  const keys = [...new Set(inv.cpus.map((c) => `${c.package}:${c.core}`))]
    .map((k) => k.split(':').map(Number))
    .sort((a, b) => a[0] - b[0] || a[1] - b[1])
    .slice(0, cores)
    .map(([p, c]) => `${p}:${c}`);
  return inv.cpus.filter((c) => keys.includes(`${c.package}:${c.core}`)).map((c) => c.id);
}

/** Current usage of `inv` by `slices` under `policy`. */
export function usage(inv: Inventory, slices: Slice[], policy: PlannerPolicy = DEFAULT_POLICY): Usage {
  const host = hostReservedCpus(inv, policy.hostCores);
  const pinned = new Set(slices.flatMap((s) => s.hostCpus));
  const usedGpus = new Set(slices.flatMap((s) => s.gpus));
  const usedMiB = slices.reduce((a, s) => a + s.memoryMiB, 0);
  const hugepagesMiB = inv.memory.hugepagesMiB;
  return {
    slices: slices.length,
    gpus: { total: inv.gpus.length, used: usedGpus.size, free: inv.gpus.filter((g) => !usedGpus.has(g.address)).length },
    cpus: { online: inv.cpus.length, host, used: pinned.size, free: inv.cpus.map((c) => c.id).filter((id) => !host.includes(id) && !pinned.has(id)) },
    memory: { totalMiB: inv.memory.totalMiB, hostMiB: policy.hostMemoryMiB, hugepagesMiB, usedMiB, freeMiB: Math.max(0, inv.memory.totalMiB - hugepagesMiB - policy.hostMemoryMiB - usedMiB) },
  };
}

/** Checks the request's own values (not the host): throws TfwError ERR_TFW_CONFIG naming the option. */
export function validateRequest(req: SliceRequest): void {
  const bad = (opt: string, expect: string, got: unknown) => new TfwError('ERR_TFW_CONFIG', `${opt}: expected ${expect}, got ${JSON.stringify(got)}`);
  if (!NAME.test(req.name)) throw bad('name', 'a lower-case name of 1-32 letters, digits and dashes starting with a letter', req.name);
  if (![0, 1, 2].includes(req.gpus)) throw bad('--gpus', '0, 1 or 2', req.gpus);
  if (req.gpuAddresses && req.gpuAddresses.length !== req.gpus) throw bad('--gpu', `${req.gpus} GPU address(es) to match --gpus ${req.gpus}`, req.gpuAddresses);
  if (!Number.isInteger(req.vcpus) || req.vcpus < 1) throw bad('--vcpus', 'a whole number >= 1', req.vcpus);
  if (!Number.isInteger(req.memoryMiB) || req.memoryMiB < 128) throw bad('--memory', 'at least 128M', formatMiB(req.memoryMiB));
  if (!Number.isInteger(req.diskMiB) || req.diskMiB < 64) throw bad('--disk', 'at least 64M', formatMiB(req.diskMiB));
}

/** GPUs grouped by IOMMU group (the unit that goes to one slice), in address order. */
function gpuUnits(inv: Inventory): Gpu[][] {
  const units = new Map<string, Gpu[]>();
  for (const g of inv.gpus) {
    const key = g.iommuGroup === null ? `none:${g.address}` : `g${g.iommuGroup}`;
    units.set(key, [...(units.get(key) ?? []), g]);
  }
  return [...units.values()];
}

const owner = (slices: Slice[], address: string) => slices.find((s) => s.functions.includes(address) || s.gpus.includes(address));

/** Picks GPU units for `req`; returns them or a one-line shortage. */
function pickGpus(inv: Inventory, slices: Slice[], req: SliceRequest): { units: Gpu[][] } | { field: string; short: string } {
  if (req.gpus === 0) return { units: [] };
  const units = gpuUnits(inv);
  const taken = (u: Gpu[]) => u.some((g) => g.functions.some((f) => owner(slices, f)));
  if (req.gpuAddresses) {
    const chosen: Gpu[][] = [];
    for (const a of req.gpuAddresses) {
      const u = units.find((x) => x.some((g) => g.address === a));
      if (!u) return { field: `gpu ${a}`, short: `not a GPU of this host (GPUs: ${inv.gpus.map((g) => g.address).join(', ') || 'none'})` };
      const o = u.flatMap((g) => g.functions).map((f) => owner(slices, f)).find(Boolean);
      if (o) return { field: `gpu ${a}`, short: `taken by slice "${o.name}"` };
      if (u[0].iommuGroup === null) return { field: `gpu ${a}`, short: 'has no IOMMU group (IOMMU off: boot with intel_iommu=on or amd_iommu=on)' };
      const others = u.map((g) => g.address).filter((x) => !req.gpuAddresses!.includes(x));
      if (others.length) return { field: `gpu ${a}`, short: `shares IOMMU group ${u[0].iommuGroup} with ${others.join(', ')}, which must go to the same slice; name them too` };
      if (!chosen.includes(u)) chosen.push(u);
    }
    return { units: chosen };
  }
  const free = units.filter((u) => !taken(u) && u[0].iommuGroup !== null);
  const singles = free.filter((u) => u.length === 1);
  const pairs = free.filter((u) => u.length === 2);
  if (req.gpus === 1 && singles.length) return { units: [singles[0]] };
  if (req.gpus === 2) {
    if (pairs.length) return { units: [pairs[0]] };
    for (let i = 0; i < singles.length; i++) {
      const j = singles.findIndex((u, k) => k > i && u[0].numaNode === singles[i][0].numaNode);
      if (j >= 0) return { units: [singles[i], singles[j]] };
    }
    if (singles.length >= 2) return { units: [singles[0], singles[1]] };
  }
  const freeGpus = free.flatMap((u) => u).length;
  const users = [...new Set(slices.filter((s) => s.gpus.length).map((s) => s.name))];
  let why = `${freeGpus} free (${inv.gpus.length} GPUs${users.length ? `, in use by ${users.map((n) => `"${n}"`).join(', ')}` : ''})`;
  if (req.gpus === 1 && pairs.length) why = `no free GPU alone in its IOMMU group: ${pairs[0].map((g) => g.address).join(' and ')} share group ${pairs[0][0].iommuGroup} and go together; ask for --gpus 2`;
  const big = free.filter((u) => u.length > 2);
  if (big.length && freeGpus === big.flat().length) why += `; group ${big[0][0].iommuGroup} holds ${big[0].length} GPUs, more than one slice may take`;
  const noGroup = units.filter((u) => u[0].iommuGroup === null).length;
  if (noGroup) why += `; ${noGroup} GPU(s) without an IOMMU group (IOMMU off)`;
  return { field: 'gpus', short: `${req.gpus} asked, ${why}` };
}

/**
 * Plans slice `req` beside `slices` on `inv`.
 * @returns the slot, GPUs, passed-through functions, IOMMU groups and pinned host CPUs
 * @throws TfwError ERR_TFW_CONFIG for a malformed request (validateRequest)
 * @throws SliceRefusedError naming every short resource, when the slice does not fit
 */
export function planSlice(inv: Inventory, slices: Slice[], req: SliceRequest, policy: PlannerPolicy = DEFAULT_POLICY): Plan {
  validateRequest(req);
  if (slices.some((s) => s.name === req.name)) throw new SliceRefusedError('name', `slice "${req.name}" exists`);
  if (slices.length >= policy.maxSlices) {
    throw new SliceRefusedError('slices', `${slices.length} of ${policy.maxSlices} exist (${slices.map((s) => s.name).join(', ')}); delete one first`);
  }
  const u = usage(inv, slices, policy);
  const short: { field: string; short: string }[] = [];
  const g = pickGpus(inv, slices, req);
  if ('short' in g) short.push(g);
  const units = 'units' in g ? g.units : [];
  if (req.vcpus > u.cpus.free.length) {
    short.push({ field: 'vcpus', short: `${req.vcpus} asked, ${u.cpus.free.length} host CPUs free (${u.cpus.online} online, ${u.cpus.host.length} kept for the host, ${u.cpus.used} pinned to slices)` });
  }
  if (req.memoryMiB > u.memory.freeMiB) {
    const m = u.memory;
    short.push({
      field: 'memory',
      short: `${formatMiB(req.memoryMiB)} asked, ${formatMiB(m.freeMiB)} free (${formatMiB(m.totalMiB)} total, ${formatMiB(m.hostMiB)} kept for the host, ${formatMiB(m.hugepagesMiB)} in hugepages, ${formatMiB(m.usedMiB)} in slices)`,
    });
  }
  if (short.length) throw new SliceRefusedError(short[0].field, [short[0].short, ...short.slice(1).map((s) => `${s.field}: ${s.short}`)].join('; '));

  const gpus = units.flat();
  const node = gpus[0]?.numaNode ?? null;
  const byId = new Map(inv.cpus.map((c) => [c.id, c]));
  // Physical cores another slice (or the host) already has a thread of: their free siblings come last,
  // so slices share a core only when no clean one is left.
  const coreKey = (c: { package: number; core: number }) => `${c.package}:${c.core}`;
  const pinned = new Set([...u.cpus.host, ...slices.flatMap((s) => s.hostCpus)]);
  const sharedCores = new Set(inv.cpus.filter((c) => pinned.has(c.id)).map(coreKey));
  const rank = (c: (typeof inv.cpus)[number]) => [Number(node !== null && c.node !== node), Number(sharedCores.has(coreKey(c))), c.node, c.package, c.core, c.id];
  const hostCpus = u.cpus.free
    .map((id) => byId.get(id)!)
    .sort((a, b) => {
      const ra = rank(a);
      const rb = rank(b);
      for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i] - rb[i];
      return 0;
    })
    .slice(0, req.vcpus)
    .map((c) => c.id)
    .sort((a, b) => a - b);
  const usedSlots = new Set(slices.map((s) => s.slot));
  const slot = [...Array(policy.maxSlices).keys()].find((i) => !usedSlots.has(i))!;
  return {
    slot,
    gpus: gpus.map((x) => x.address).sort(),
    functions: [...new Set(gpus.flatMap((x) => x.functions))].sort(),
    iommuGroups: [...new Set(gpus.map((x) => x.iommuGroup!))].sort((a, b) => a - b),
    hostCpus,
  };
}
