/**
 * The `slices:` config section of an AIBox (runtime/slices, docs/aibox.md):
 * where the AIBox's node sits on the bridge its slice VMs join, and how the
 * VMs are accelerated.
 *
 *   slices:
 *     bridge: 10.254.0.1/24   # the AIBox's address on the slices' bridge (default)
 *     accel: auto             # auto (KVM when /dev/kvm opens, else TCG), kvm or tcg
 *
 * `accel: tcg` is for hosts whose /dev/kvm opens but cannot run the VM (nested
 * virtualisation whose KVM refuses `-cpu host`'s MSRs), as `tfw slice --accel`.
 *
 * Slot N's VM gets the link's address N+2 (.2 to .9), so the link must be a
 * /28 or wider and the AIBox's own address must not be one of those, the
 * network or the broadcast address. `validateSlicesConfig` throws ConfigError
 * naming `slices.<field>` (an unknown field gets "did you mean ...?").
 */
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { parseCidr } from './ip.js';
import { describeIssue } from './issue.js';

/** The AIBox's default address on the slices' bridge (runtime/slices/network.ts DEFAULT_SLICE_LINK). */
export const DEFAULT_SLICES_BRIDGE = '10.254.0.1/24';
/** Slots per AIBox (runtime/slices/state.ts MAX_SLICES): VM addresses .2 to .9 of the link. */
const SLOTS = 8;

/** Why `s` cannot be the AIBox's bridge address, or null when it can. */
function bridgeProblem(s: string): string | null {
  const c = parseCidr(s);
  if (!c || c.bytes.length !== 4) return 'expected an IPv4 address with prefix length, like 10.254.0.1/24';
  if (c.bits > 28 || c.bits < 8) return `expected a prefix from /8 to /28 (slots 0-${SLOTS - 1} take addresses 2-${SLOTS + 1} of the link)`;
  const n = Buffer.from(c.bytes).readUInt32BE(0);
  const host = n & (c.bits === 0 ? 0xffffffff : (2 ** (32 - c.bits) - 1));
  if (host === 0) return 'expected a host address, got the network address';
  if (host === 2 ** (32 - c.bits) - 1) return 'expected a host address, got the broadcast address';
  if (host >= 2 && host <= SLOTS + 1) return `expected an address outside .2-.${SLOTS + 1} of the link (the VMs' addresses), like ${DEFAULT_SLICES_BRIDGE}`;
  return null;
}

const schema = z
  .object({
    bridge: z.string().superRefine((s, ctx) => {
      const p = bridgeProblem(s);
      if (p) ctx.addIssue({ code: z.ZodIssueCode.custom, message: p });
    }),
    accel: z.enum(['auto', 'kvm', 'tcg']),
  })
  .partial()
  .strict();

export interface SlicesConfig {
  /** The AIBox's address on the slices' bridge with the link's prefix length. */
  bridge: string;
  /** QEMU's accelerator for the slices (default auto). */
  accel: 'auto' | 'kvm' | 'tcg';
}

/**
 * Checks the raw `slices` value of a parsed config and fills in the default.
 * @returns the section, `bridge` defaulting to 10.254.0.1/24 and `accel` to auto (also when the section is absent)
 * @throws ConfigError naming `slices.<field>`, the value and what was expected
 */
export function validateSlicesConfig(raw: unknown): SlicesConfig {
  if (raw === undefined || raw === null) return { bridge: DEFAULT_SLICES_BRIDGE, accel: 'auto' };
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError('slices', `expected a mapping like { bridge: ${DEFAULT_SLICES_BRIDGE} }, got ${JSON.stringify(raw)}`);
  const res = schema.safeParse(raw);
  if (!res.success) {
    const { path, message } = describeIssue(schema, res.error.issues[0], raw);
    throw new ConfigError(['slices', ...path].join('.'), message);
  }
  return { bridge: res.data.bridge ?? DEFAULT_SLICES_BRIDGE, accel: res.data.accel ?? 'auto' };
}
