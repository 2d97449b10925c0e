/**
 * The 3router's gateway service: with a `lan:` section in the config it
 * bridges the board's lan port, gives the bridge its address (and the
 * overlay /64, for SLAAC), writes and starts dnsmasq, loads the nftables
 * ruleset and enables forwarding. In failsafe mode (kernel word
 * `tfw.failsafe=1`) the LAN gets OpenWrt's 192.168.1.1/24 and DHCP whatever
 * the config says, and neither the ruleset nor forwarding is touched.
 * `wan: { method: static }` gives the WAN port its address and default
 * route in place of what the init's DHCP client took (not in failsafe).
 * The ruleset can be replaced while running (`setFirewall`, the device API's
 * config PUT), atomically as `nft -f` replaces table `inet tfw`.
 *
 * Commands go through `run` (execFileSync by default) so tests can record
 * them; dnsmasq is a child process whose lines are logged as
 * `tfw: gateway: dnsmasq: ...`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { TfwError } from '../errors.js';
import { FAILSAFE_LAN, validateGatewayConfig, type FirewallConfig, type GatewayConfig, type LanConfig, type WanConfig } from './config.js';
import { dnsmasqConfig } from './dnsmasq.js';
import { nftRuleset } from './nftables.js';

/** Thrown when a gateway step fails (an `ip`, `nft` or dnsmasq command). */
export class GatewayError extends TfwError {
  constructor(message: string) {
    super('ERR_TFW_GATEWAY', message);
  }
}

export interface GatewayOptions {
  /** The checked gateway sections (config.ts); `lan` is required unless `failsafe`. */
  gateway: GatewayConfig;
  /** The board's port interfaces (the init exports TFW_PORT_WAN / TFW_PORT_LAN from the board's `ports:`). */
  ports: { wan: string; lan: string };
  /**
   * The running overlay: its TUN, UDP port and the node's address with its /64 (`<address>/64`, overlay/address.ts);
   * `myceliumPort` while a Mycelium node links over the WireGuard tunnels (nftables.ts opens it to the overlay zone).
   */
  overlay?: { iface: string; port: number; address: string; myceliumPort?: number };
  /** The device API's TCP port (opened to the overlay zone). */
  apiPort?: number;
  failsafe?: boolean;
  /** Where the generated files, the lease file and the PID file go (/run/tfw in images). */
  runDir: string;
  log: (msg: string) => void;
  /** Runs a command, throwing on failure (default: execFileSync). */
  run?: (cmd: string, args: string[]) => void;
  /** Starts dnsmasq (default: spawn); null when dnsmasq must not run (tests). */
  spawnDnsmasq?: ((args: string[]) => ChildProcess) | null;
}

export interface Gateway {
  /** The LAN as applied (the failsafe LAN in failsafe mode). */
  lan: LanConfig;
  /** Paths of the generated files. */
  files: { dnsmasq: string; nft?: string };
  /**
   * Regenerates the ruleset with `firewall` (e.g. a new allowOverlayToLan) and
   * loads it; the old table stays when `nft` refuses the new one.
   * @throws GatewayError in failsafe mode (no ruleset is managed) or when `nft -f` fails
   */
  setFirewall(firewall: FirewallConfig): void;
  stop(): Promise<void>;
}

/**
 * Applies `wan: { method: static }` on the WAN port: its IPv4 addresses (a
 * DHCP lease the init took) flushed, `address` added, the default route
 * replaced by one via `gateway`. Nothing happens for `method: dhcp`.
 * @returns the log line's words, or undefined for dhcp
 * @throws GatewayError naming the failed `ip` command
 */
export function applyStaticWan(wan: WanConfig, port: string, run: (cmd: string, args: string[]) => void): string | undefined {
  if (wan.method !== 'static') return undefined;
  run('ip', ['-4', 'addr', 'flush', 'dev', port]);
  run('ip', ['-4', 'addr', 'add', wan.address!, 'dev', port]);
  run('ip', ['-4', 'route', 'replace', 'default', 'via', wan.gateway!, 'dev', port]);
  return `wan ${port} ${wan.address} via ${wan.gateway} (static)`;
}

/**
 * The init's view of `wan: { method: static }` (runtime/init/init.sh runs
 * `tfw-runtime.mjs --config FILE --wan-static` before its DHCP client):
 * `NET_ADDRESS=203.0.113.2/24 NET_GATEWAY=203.0.113.1` for a static WAN, ''
 * for DHCP, no wan section, a non-object or a section that does not check
 * (the runtime reports that one when it starts). Values are checked IPv4
 * forms, so the words are safe to split in a shell.
 */
export function wanStaticWords(raw: unknown): string {
  const sections = gatewaySections(raw);
  if (sections.wan === undefined) return '';
  let wan: WanConfig;
  try {
    wan = validateGatewayConfig({ wan: sections.wan }).wan;
  } catch {
    return '';
  }
  return wan.method === 'static' ? `NET_ADDRESS=${wan.address} NET_GATEWAY=${wan.gateway}` : '';
}

const defaultRun = (cmd: string, args: string[]): void => {
  try {
    execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const why = String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim().split('\n')[0];
    throw new GatewayError(`gateway: ${cmd} ${args.join(' ')}: ${why}`);
  }
};

/**
 * Sets up the LAN bridge, dnsmasq, the ruleset and forwarding (see the file
 * comment), in that order, and returns a handle that stops dnsmasq. The
 * bridge keeps its address and the ruleset stays loaded after `stop` (a
 * restarted runtime replaces both).
 * @throws GatewayError naming the failed command; ConfigError when there is no lan section and no failsafe
 */
export async function startGateway(o: GatewayOptions): Promise<Gateway> {
  const run = o.run ?? defaultRun;
  const lan = o.failsafe ? FAILSAFE_LAN : o.gateway.lan;
  if (!lan) throw new GatewayError('gateway: the config has no lan section (and no tfw.failsafe=1): nothing to bridge');
  const br = lan.bridge;
  mkdirSync(o.runDir, { recursive: true });

  // 0. A static WAN replaces the init's DHCP lease (the config, not the board, decides the method).
  if (!o.failsafe) {
    const wanLine = applyStaticWan(o.gateway.wan, o.ports.wan, run);
    if (wanLine) o.log(wanLine);
  }

  // 1. The bridge on the lan port (brctl where `ip link add type bridge` is missing). Only
  //    options busybox ip (the image's) knows are used: no `nodad`.
  try {
    run('ip', ['link', 'add', br, 'type', 'bridge']);
  } catch {
    try {
      run('brctl', ['addbr', br]);
    } catch {
      /* it exists already (a restarted runtime) */
    }
  }
  run('ip', ['link', 'set', o.ports.lan, 'master', br]);
  run('ip', ['link', 'set', o.ports.lan, 'up']);
  run('ip', ['link', 'set', br, 'up']);
  run('ip', ['-4', 'addr', 'replace', lan.address, 'dev', br]);

  // 2. The overlay /64 moves to the bridge (the TUN keeps the node address as a /128),
  //    so LAN hosts take SLAAC addresses in it and the overlay reaches them through the router.
  const slaac = !o.failsafe && o.overlay !== undefined;
  if (slaac) {
    const [addr] = o.overlay!.address.split('/');
    run('ip', ['-6', 'addr', 'del', `${addr}/64`, 'dev', o.overlay!.iface]);
    run('ip', ['-6', 'addr', 'replace', `${addr}/128`, 'dev', o.overlay!.iface]);
    run('ip', ['-6', 'addr', 'replace', `${addr}/64`, 'dev', br]);
  }

  // 3. dnsmasq on the bridge.
  const files: Gateway['files'] = { dnsmasq: join(o.runDir, 'dnsmasq.conf') };
  writeFileSync(files.dnsmasq, dnsmasqConfig(lan, { runDir: o.runDir, slaac }));
  let child: ChildProcess | undefined;
  const spawner = o.spawnDnsmasq === undefined ? (args: string[]) => spawn('dnsmasq', args, { stdio: ['ignore', 'pipe', 'pipe'] }) : o.spawnDnsmasq;
  if (spawner) {
    child = spawner(['--keep-in-foreground', '--log-facility=-', `--conf-file=${files.dnsmasq}`]);
    for (const s of [child.stdout, child.stderr]) if (s) createInterface({ input: s }).on('line', (l) => o.log(`dnsmasq: ${l}`));
    child.on('exit', (code, sig) => o.log(`dnsmasq exited (${sig ?? `code ${code}`})`));
    child.on('error', (err) => o.log(`dnsmasq: ${err.message}`));
  }

  // 4. The ruleset and forwarding (not in failsafe: the config may be what went wrong).
  const loadRuleset = (firewall: FirewallConfig): void => {
    files.nft = join(o.runDir, 'gateway.nft');
    writeFileSync(
      files.nft,
      nftRuleset({ lan: br, wan: o.ports.wan, overlay: { iface: o.overlay?.iface ?? 'tfw0', port: o.overlay?.port ?? 51820, myceliumPort: o.overlay?.myceliumPort }, apiPort: o.apiPort, firewall }),
    );
    run('nft', ['-f', files.nft]);
  };
  if (!o.failsafe) {
    loadRuleset(o.gateway.firewall);
    // Forwarding turns RA processing off; the WAN keeps its SLAAC (accept_ra=2, ip-sysctl.rst).
    run('sysctl', ['-qw', `net.ipv6.conf.${o.ports.wan}.accept_ra=2`]);
    run('sysctl', ['-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
  }
  o.log(`lan ${br} ${lan.address} on ${o.ports.lan}${lan.dhcp.enabled ? ` dhcp ${lan.dhcp.start}-${lan.dhcp.end}` : ''}${slaac ? ` slaac ${o.overlay!.address}` : ''}${o.failsafe ? ' (failsafe: firewall untouched)' : ` nat on ${o.ports.wan}`}`);

  return {
    lan,
    files,
    setFirewall: (firewall) => {
      if (o.failsafe) throw new GatewayError('gateway: failsafe mode (tfw.failsafe=1) loads no ruleset: firewall changes apply after a normal boot');
      loadRuleset(firewall);
      o.log(`firewall reloaded: ${firewall.allowOverlayToLan.length} overlay -> lan allow rule(s)`);
    },
    stop: async () => {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child!.once('exit', () => r()));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    },
  };
}

/** The gateway sections (lan, wan, firewall) of a parsed config, as written; {} for a non-object. */
export function gatewaySections(raw: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (typeof raw !== 'object' || raw === null) return out;
  for (const k of ['lan', 'wan', 'firewall']) if ((raw as Record<string, unknown>)[k] !== undefined) out[k] = (raw as Record<string, unknown>)[k];
  return out;
}

/**
 * The runtime's entry (runtime/main.ts): starts the gateway when the role is
 * 3router and the config has a `lan:` section, or in failsafe mode
 * (`TFW_FAILSAFE=1`, from the kernel word `tfw.failsafe=1`); otherwise
 * returns undefined. Ports come from `TFW_PORT_WAN` / `TFW_PORT_LAN` (the
 * init reads them from the board's `ports:`; default eth0 / eth1).
 * @throws ConfigError for a bad gateway section; GatewayError when a step fails
 */
export async function startGatewayForRole(o: {
  role: string;
  raw: Record<string, unknown> | undefined;
  overlay?: GatewayOptions['overlay'];
  apiPort?: number;
  env?: NodeJS.ProcessEnv;
  log: (msg: string) => void;
}): Promise<Gateway | undefined> {
  const env = o.env ?? process.env;
  const failsafe = env.TFW_FAILSAFE === '1';
  if (o.role !== '3router') return undefined;
  const gateway = validateGatewayConfig(o.raw ?? {});
  if (!gateway.lan && !failsafe) return undefined;
  return startGateway({
    gateway,
    ports: { wan: env.TFW_PORT_WAN || 'eth0', lan: env.TFW_PORT_LAN || 'eth1' },
    overlay: o.overlay,
    apiPort: o.apiPort,
    failsafe,
    runDir: env.TFW_RUN_DIR || '/run/tfw',
    log: o.log,
  });
}
