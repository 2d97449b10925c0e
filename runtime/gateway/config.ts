/**
 * The gateway sections of a 3router config (issue 13): `lan`, `wan` and
 * `firewall`, beside the overlay fields that config/schema.ts checks. Defaults
 * are OpenWrt's (package/base-files `config_generate` and `/etc/config/dhcp`):
 * LAN 192.168.1.1/24, DHCP hosts .100 to .250, lease 12h; WAN by DHCP.
 *
 * ```yaml
 * lan:
 *   address: 192.168.1.1/24        # the bridge's static address (IPv4 CIDR)
 *   bridge: br-lan
 *   dhcp: { start: 100, end: 250, leaseTime: 12h }   # host numbers or addresses in the LAN
 *   dns: { upstream: [9.9.9.9] }   # default: the servers the WAN's DHCP gave
 * wan: { method: dhcp }            # or { method: static, address: 203.0.113.2/24, gateway: 203.0.113.1 }
 * firewall:
 *   allowOverlayToLan: ["4ab:cd::/64", "4ab:cd::10 22"]   # "prefix" or "addr port"
 * ```
 */
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { formatIp, parseCidr, parseIp } from '../config/ip.js';
import { describeIssue } from '../config/issue.js';

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
/** dnsmasq's lease time syntax (dnsmasq(8), --dhcp-range): seconds, or a number with s/m/h/d/w, or "infinite". */
const LEASE = /^(?:\d+[smhdw]?|infinite)$/;

const ipv4Cidr = z.string().refine((s) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(s) && parseCidr(s) !== null && parseCidr(s)!.bits >= 8 && parseCidr(s)!.bits <= 30, {
  message: 'expected an IPv4 address with prefix length 8-30, like 192.168.1.1/24',
});
const ipv4 = z.string().refine((s) => parseIp(s)?.length === 4, { message: 'expected an IPv4 address like 192.168.1.1' });
const anyIp = z.string().refine((s) => parseIp(s) !== null, { message: 'expected an IPv4 or IPv6 address' });
/** A DHCP pool bound: a host number in the LAN subnet (OpenWrt's `start`) or a full address. */
const poolBound = z.custom<number | string>((v) => (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v < 2 ** 24) || (typeof v === 'string' && parseIp(v)?.length === 4), {
  message: 'expected a host number (like 100) or an IPv4 address in the LAN subnet',
});

const lanSchema = z
  .object({
    address: ipv4Cidr.default('192.168.1.1/24'),
    bridge: z.string().regex(IFNAME, 'expected an interface name of 1-15 characters [A-Za-z0-9_.-]').default('br-lan'),
    dhcp: z
      .object({
        enabled: z.boolean().default(true),
        start: poolBound.default(100),
        end: poolBound.default(250),
        leaseTime: z
          .custom<number | string>((v) => (typeof v === 'number' && Number.isInteger(v) && v >= 120) || (typeof v === 'string' && LEASE.test(v)), {
            message: 'expected seconds (at least 120), a number with s/m/h/d/w like 12h, or "infinite"',
          })
          .default('12h'),
      })
      .strict()
      .default({}),
    dns: z
      .object({ upstream: z.array(anyIp).default([]) })
      .strict()
      .default({}),
  })
  .strict();

const wanSchema = z
  .object({
    method: z.enum(['dhcp', 'static']).default('dhcp'),
    address: ipv4Cidr.optional(),
    gateway: ipv4.optional(),
  })
  .strict();

const firewallSchema = z
  .object({
    allowOverlayToLan: z
      .array(z.string().refine((s) => parseAllowRule(s) !== null, { message: 'expected "prefix" (like 4ab:cd::/64) or "addr port" (like 4ab:cd::10 22)' }))
      .default([]),
  })
  .strict();

/** One overlay -> LAN allow rule: a destination prefix, and a TCP/UDP port when given. */
export interface AllowRule {
  family: 4 | 6;
  /** Destination as nft writes it: an address or a prefix. */
  daddr: string;
  port?: number;
}

/** Parses `"prefix"` or `"addr port"`; null when malformed (never throws). */
export function parseAllowRule(text: string): AllowRule | null {
  const parts = text.trim().split(/\s+/);
  if (parts.length < 1 || parts.length > 2 || parts[0] === '') return null;
  const c = parseCidr(parts[0]);
  if (!c) return null;
  const rule: AllowRule = { family: c.bytes.length === 4 ? 4 : 6, daddr: parts[0].includes('/') ? `${formatIp(c.bytes)}/${c.bits}` : formatIp(c.bytes) };
  if (parts.length === 2) {
    if (!/^\d{1,5}$/.test(parts[1]) || Number(parts[1]) < 1 || Number(parts[1]) > 65535) return null;
    rule.port = Number(parts[1]);
  }
  return rule;
}

/** The checked LAN section, pool bounds resolved to addresses. */
export interface LanConfig {
  /** The bridge's address with prefix length ("192.168.1.1/24"). */
  address: string;
  bridge: string;
  dhcp: { enabled: boolean; start: string; end: string; leaseTime: string };
  dns: { upstream: string[] };
}
export type WanConfig = z.output<typeof wanSchema>;
export type FirewallConfig = z.output<typeof firewallSchema>;

/** The gateway sections; `lan` is undefined when the config has none (the router then forwards nothing). */
export interface GatewayConfig {
  lan?: LanConfig;
  wan: WanConfig;
  firewall: FirewallConfig;
}

const u32 = (b: Uint8Array): number => ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
const ip4 = (n: number): string => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;

/** Runs one zod schema on `value` and turns its first issue into a ConfigError naming `section.path`. */
function parseSection<T extends z.ZodTypeAny>(schema: T, value: unknown, section: string): z.output<T> {
  const res = schema.safeParse(value);
  if (res.success) return res.data;
  const { path, message } = describeIssue(schema, res.error.issues[0], value);
  throw new ConfigError([section, ...path].join('.'), message);
}

/**
 * Checks the `lan`, `wan` and `firewall` sections of a parsed config (other
 * keys are ignored: config/schema.ts checks them), fills in OpenWrt's
 * defaults and resolves the DHCP pool to addresses in the LAN subnet.
 * @throws ConfigError naming the dotted field (`lan.dhcp.start`), the value and what was expected
 */
export function validateGatewayConfig(input: Record<string, unknown>): GatewayConfig {
  const wan = parseSection(wanSchema, input.wan ?? {}, 'wan');
  if (wan.method === 'static') {
    if (wan.address === undefined) throw new ConfigError('wan.address', 'required when wan.method is static: expected an IPv4 address with prefix length, like 203.0.113.2/24 (got missing)');
    if (wan.gateway === undefined) throw new ConfigError('wan.gateway', 'required when wan.method is static: expected an IPv4 address like 203.0.113.1 (got missing)');
  } else if (wan.address !== undefined || wan.gateway !== undefined) {
    throw new ConfigError(wan.address !== undefined ? 'wan.address' : 'wan.gateway', `only used with wan.method static (got method ${wan.method})`);
  }
  const firewall = parseSection(firewallSchema, input.firewall ?? {}, 'firewall');
  if (input.lan === undefined || input.lan === null) return { wan, firewall };
  const l = parseSection(lanSchema, input.lan, 'lan');
  const cidr = parseCidr(l.address)!;
  const host = u32(cidr.bytes);
  const mask = (0xffffffff << (32 - cidr.bits)) >>> 0;
  const net = (host & mask) >>> 0;
  const broadcast = (net | ~mask) >>> 0;
  if (host === net || host === broadcast) throw new ConfigError('lan.address', `is the subnet's ${host === net ? 'network' : 'broadcast'} address; expected a host address (got "${l.address}")`);
  const bound = (v: number | string, field: string): number => {
    const n = typeof v === 'number' ? (net + v) >>> 0 : u32(parseIp(v)!);
    if (n <= net || n >= broadcast || (typeof v === 'number' && v >= broadcast - net)) {
      throw new ConfigError(`lan.dhcp.${field}`, `outside the LAN subnet ${ip4(net)}/${cidr.bits}: expected a host in it (got ${JSON.stringify(v)})`);
    }
    return n;
  };
  const start = bound(l.dhcp.start, 'start');
  const end = bound(l.dhcp.end, 'end');
  if (end < start) throw new ConfigError('lan.dhcp.end', `${ip4(end)} is below lan.dhcp.start ${ip4(start)}: expected end >= start`);
  const leaseTime = typeof l.dhcp.leaseTime === 'number' ? String(l.dhcp.leaseTime) : l.dhcp.leaseTime;
  const lan: LanConfig = { address: l.address, bridge: l.bridge, dhcp: { enabled: l.dhcp.enabled, start: ip4(start), end: ip4(end), leaseTime }, dns: { upstream: l.dns.upstream } };
  return { lan, wan, firewall };
}

/** The LAN in failsafe mode (kernel word `tfw.failsafe=1`): OpenWrt's defaults, whatever the config says. */
export const FAILSAFE_LAN: LanConfig = validateGatewayConfig({ lan: {} }).lan!;
