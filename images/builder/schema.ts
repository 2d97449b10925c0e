/**
 * Board and role descriptions: the whole input of `tfw build` besides the overlay
 * config. Boards live in `board-configs/<name>.yaml`, roles in `images/<role>.yaml`.
 * Both are validated with zod; an error names the file, the field (dotted path),
 * the expected form and the value found, e.g.
 * `board-configs/x.yaml: memory: expected a size like 512M, got "lots"`.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { TfwError } from '../../runtime/errors.js';
import { knownKeys, unknownField } from '../../runtime/config/issue.js';
import { repoRoot } from './paths.js';

/** A config file that does not match its schema; `field` is the dotted path. */
export class ImageConfigError extends TfwError {
  readonly file: string;
  readonly field: string;
  constructor(file: string, field: string, message: string) {
    super('ERR_TFW_CONFIG', `${file}: ${field ? `${field}: ` : ''}${message}`);
    this.file = file;
    this.field = field;
  }
}

const SIZE_RE = /^(\d+)([KMGT])$/;
/** Memory and disk sizes as QEMU writes them: a whole number and K, M, G or T. */
const size = z.string({ invalid_type_error: 'expected a size like 512M' }).regex(SIZE_RE, 'expected a size like 512M');
/** Kernel module names as modprobe takes them (dashes or underscores). */
const moduleName = z.string().regex(/^[A-Za-z0-9_-]+$/, 'expected a kernel module name like virtio_net');
/** One kernel command-line word without spaces. */
const cmdlineWord = z.string().regex(/^[^\s"']+$/, 'expected one kernel command-line word without spaces or quotes');
const name = z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'expected a lower-case name like qemu-x86_64');
/** A Debian package name (policy 5.6.1). */
const debPackage = z.string().regex(/^[a-z0-9][a-z0-9+.-]+$/, 'expected a Debian package name');

/** The board and role every command uses when none is given (build, boot, pxe, flash, release, bench). */
export const DEFAULT_BOARD = 'qemu-x86_64';
export const DEFAULT_ROLE = '3router';

export const ARCHES = ['x86_64', 'arm64'] as const;
export type Arch = (typeof ARCHES)[number];
/** Debian's architecture name for a tfw arch. */
export const debArch = (a: Arch): 'amd64' | 'arm64' => (a === 'x86_64' ? 'amd64' : 'arm64');

export const boardSchema = z
  .object({
    name,
    description: z.string().optional(),
    arch: z.enum(ARCHES),
    kernel: z
      .object({
        /** Debian kernel flavour: linux-image-<abi>-<flavour>. */
        flavour: z.enum(['amd64', 'arm64', 'cloud-amd64', 'cloud-arm64', 'rt-amd64', 'rt-arm64']),
        cmdline: z.array(cmdlineWord).default([]),
      })
      .strict(),
    /** Serial console device without /dev, e.g. ttyS0 or ttyAMA0. */
    console: z.string().regex(/^tty[A-Za-z]+\d+$/, 'expected a console device like ttyS0'),
    memory: size,
    nic: z
      .object({
        /** QEMU -device model, e.g. virtio-net-pci or e1000. */
        model: z.string().regex(/^[a-z0-9-]+$/, 'expected a QEMU NIC model like virtio-net-pci'),
        modules: z.array(moduleName).default([]),
      })
      .strict(),
    network: z
      .object({
        interface: z.string().regex(/^[a-z][a-z0-9]{0,14}$/, 'expected an interface name like eth0').default('eth0'),
        method: z.enum(['dhcp', 'static', 'none']).default('dhcp'),
        /** For method static: address/prefix, e.g. 10.0.2.15/24. */
        address: z.string().regex(/^\d+\.\d+\.\d+\.\d+\/\d+$/, 'expected an IPv4 address/prefix like 10.0.2.15/24').optional(),
        gateway: z.string().regex(/^\d+\.\d+\.\d+\.\d+$/, 'expected an IPv4 address like 10.0.2.2').optional(),
      })
      .strict()
      .default({}),
    /**
     * The board's Ethernet ports by name, in the order QEMU attaches them (so
     * the guest numbers them in that order): `wan` is the uplink, whose
     * interface `network` configures; `lan` is bridged by the 3router role.
     * `tfw boot --nic NAME=SPEC` wires each port. Default: `{ wan: network.interface }`.
     */
    ports: z
      .record(z.string().regex(/^[a-z][a-z0-9]{0,14}$/, 'expected a port name like wan or lan'), z.string().regex(/^[a-z][a-z0-9]{0,14}$/, 'expected an interface name like eth1'))
      .optional(),
    storage: z
      .object({
        type: z.enum(['none', 'disk', 'virtio']),
        device: z.string().regex(/^\/dev\/\S+$/, 'expected a device path like /dev/sda').optional(),
        size: size.optional(),
        /** Block and storage drivers the guest loads to find its disk (the tfw-data partition and the ESP). */
        modules: z.array(moduleName).default([]),
      })
      .strict(),
    boot: z.enum(['qemu', 'pxe', 'usb']),
    qemu: z
      .object({
        machine: z.string().regex(/^[a-z0-9.,=-]+$/, 'expected a QEMU machine like q35 or virt'),
        cpu: z.string().regex(/^[a-z0-9.,=-]+$/, 'expected a QEMU CPU like cortex-a57'),
        /** Modules the guest loads when it runs under QEMU (qemu_fw_cfg: `tfw boot --disk` passes kernel words and a config through fw_cfg). */
        modules: z.array(moduleName).default([]),
      })
      .strict(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (!b.kernel.flavour.endsWith(debArch(b.arch))) {
      ctx.addIssue({ code: 'custom', path: ['kernel', 'flavour'], message: `expected a ${debArch(b.arch)} flavour for arch ${b.arch}` });
    }
    if (b.ports) {
      const names = Object.keys(b.ports);
      if (names[0] !== 'wan') ctx.addIssue({ code: 'custom', path: ['ports'], message: `expected wan as the first port (got ${names.join(', ') || 'none'})` });
      else if (b.ports.wan !== b.network.interface) ctx.addIssue({ code: 'custom', path: ['ports', 'wan'], message: `expected network.interface ${b.network.interface} (the WAN runs the network settings), got ${b.ports.wan}` });
      const ifs = Object.values(b.ports);
      const dup = ifs.find((x, i) => ifs.indexOf(x) !== i);
      if (dup) ctx.addIssue({ code: 'custom', path: ['ports'], message: `interface ${dup} named by two ports` });
    }
    if (b.network.method === 'static' && !b.network.address) {
      ctx.addIssue({ code: 'custom', path: ['network', 'address'], message: 'expected an address/prefix when method is static' });
    }
  });
export type Board = z.infer<typeof boardSchema>;

/** The board's ports in attach order (name -> guest interface); a board without `ports` has one, wan. */
export const boardPorts = (b: Board): Array<[string, string]> => Object.entries(b.ports ?? { wan: b.network.interface });

export const roleSchema = z
  .object({
    role: name,
    description: z.string().optional(),
    /** Another role whose modules, packages and cmdline this one adds to. */
    extends: name.optional(),
    services: z.array(z.enum(['tfw-runtime'])).default(['tfw-runtime']),
    modules: z.array(moduleName).default([]),
    /** Extra Debian packages (must be pinned in images/packages.lock.json), copied whole. */
    packages: z.array(debPackage).default([]),
    /**
     * Chosen files of pinned packages, instead of whole packages: package ->
     * absolute paths inside it (`*` matches within one path component, e.g.
     * the multiarch folder). Each path must match a file of that package; an
     * ELF file brings its shared libraries (DT_NEEDED walk). The aibox takes
     * qemu-system-x86_64 and the firmware its slices' command line loads.
     */
    files: z.record(debPackage, z.array(z.string().regex(/^(\/[A-Za-z0-9_.*+@-]+)+$/, 'expected an absolute path like /usr/bin/qemu-system-x86_64 (no .., `*` within one component)').refine((p) => !p.split('/').includes('..'), 'expected a path without ..')).min(1, 'expected at least one path')).default({}),
    /**
     * Roles whose image (vmlinuz, initramfs.cpio.zst, cmdline) this image
     * carries in /usr/lib/tfw/<role>/, built first for the same board: the
     * aibox carries the `slice` image its slices boot.
     */
    embeds: z.array(name).default([]),
    cmdline: z.array(cmdlineWord).default([]),
  })
  .strict();
export type Role = z.infer<typeof roleSchema>;

/** Renders a zod issue as `field: expected ..., got <value>`. */
function describeIssue(schema: z.ZodTypeAny, issue: z.ZodIssue, input: unknown): { field: string; message: string } {
  const field = issue.path.join('.');
  let value: unknown = input;
  for (const k of issue.path) value = value == null ? undefined : (value as Record<string | number, unknown>)[k];
  let expected = issue.message;
  if (issue.code === 'invalid_enum_value') expected = `expected one of ${issue.options.join(', ')}`;
  else if (issue.code === 'invalid_type' && issue.received === 'undefined') return { field, message: `required (expected ${issue.expected})` };
  else if (issue.code === 'invalid_type') expected = expected.startsWith('expected') ? expected : `expected ${issue.expected}`;
  else if (issue.code === 'unrecognized_keys') return { field: [...issue.path, issue.keys[0]].join('.'), message: unknownField(issue.keys[0], knownKeys(schema, issue.path)) };
  else if (!expected.startsWith('expected')) expected = `expected ${expected}`;
  return { field, message: `${expected}, got ${JSON.stringify(value) ?? 'nothing'}` };
}

/** Validates parsed YAML against a schema; throws ImageConfigError naming the first bad field. */
export function validate<T extends z.ZodTypeAny>(schema: T, input: unknown, file: string): z.infer<T> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const { field, message } = describeIssue(schema, r.error.issues[0], input);
  throw new ImageConfigError(file, field, message);
}

function readYaml(path: string, shown: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new ImageConfigError(shown, '', 'cannot read the file');
  }
  try {
    return parseYaml(text);
  } catch (err) {
    throw new ImageConfigError(shown, '', `not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
}

const shownPath = (p: string) => (p.startsWith(repoRoot) ? relative(repoRoot, p) : p);

/** Lists the shipped boards (`board-configs/*.yaml`), sorted. */
export function listBoards(dir = join(repoRoot, 'board-configs')): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)).sort();
}

/** Lists the shipped roles (`images/*.yaml`), sorted. */
export function listRoles(dir = join(repoRoot, 'images')): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)).sort();
}

/**
 * Loads a board by name (from board-configs/) or by path (anything with a slash
 * or ending in .yaml). Throws ImageConfigError for unknown boards and bad fields.
 */
export function loadBoard(nameOrPath: string, dir = join(repoRoot, 'board-configs')): Board {
  const isPath = nameOrPath.includes('/') || nameOrPath.endsWith('.yaml');
  if (!isPath && !listBoards(dir).includes(nameOrPath)) {
    throw new ImageConfigError('--board', '', `unknown board "${nameOrPath}", expected one of ${listBoards(dir).join(', ')}`);
  }
  const path = isPath ? nameOrPath : join(dir, `${nameOrPath}.yaml`);
  return validate(boardSchema, readYaml(path, shownPath(path)), shownPath(path));
}

/** Loads a role by name, merging the role it `extends` (modules, packages, files, embeds, cmdline appended). */
export function loadRole(roleName: string, dir = join(repoRoot, 'images'), seen: string[] = []): Role {
  if (!listRoles(dir).includes(roleName)) {
    throw new ImageConfigError('--role', '', `unknown role "${roleName}", expected one of ${listRoles(dir).join(', ')}`);
  }
  if (seen.includes(roleName)) throw new ImageConfigError(`images/${roleName}.yaml`, 'extends', `cycle through ${seen.join(' -> ')}`);
  const path = join(dir, `${roleName}.yaml`);
  const role = validate(roleSchema, readYaml(path, shownPath(path)), shownPath(path));
  if (role.role !== roleName) throw new ImageConfigError(shownPath(path), 'role', `expected "${roleName}" (the file name), got "${role.role}"`);
  for (const e of role.embeds) {
    if (e === roleName || !listRoles(dir).includes(e)) throw new ImageConfigError(shownPath(path), 'embeds', `expected another role (${listRoles(dir).filter((r) => r !== roleName).join(', ')}), got "${e}"`);
  }
  if (!role.extends) return role;
  const base = loadRole(role.extends, dir, [...seen, roleName]);
  const uniq = (a: string[]) => [...new Set(a)];
  const files: Record<string, string[]> = { ...base.files };
  for (const [pkg, paths] of Object.entries(role.files)) files[pkg] = uniq([...(files[pkg] ?? []), ...paths]);
  return {
    ...role,
    files,
    embeds: uniq([...base.embeds, ...role.embeds]),
    services: uniq([...base.services, ...role.services]) as Role["services"],
    modules: uniq([...base.modules, ...role.modules]),
    packages: uniq([...base.packages, ...role.packages]),
    cmdline: uniq([...base.cmdline, ...role.cmdline]),
  };
}

/** Size string (512M, 2G) in MiB, as QEMU's -m takes it. */
export function sizeMiB(s: string): number {
  const m = SIZE_RE.exec(s);
  if (!m) throw new ImageConfigError('size', '', `expected a size like 512M, got ${JSON.stringify(s)}`);
  const n = Number(m[1]);
  return { K: n / 1024, M: n, G: n * 1024, T: n * 1024 * 1024 }[m[2] as 'K' | 'M' | 'G' | 'T'];
}
