/**
 * The 3Router as a gateway (issue 13's bench row): TCP throughput from a LAN
 * client to a far overlay node through the router guest, beside the same
 * path through a plain Linux router guest, as a ratio (plain = 1).
 *
 * One x86_64 3router image, booted twice with the same QEMU command line
 * (TCG, two NICs on taps: WAN in an "isp" namespace, LAN in a "lan" one) and
 * the same config (`wan: { method: static }`, so no DHCP server is needed);
 * the second boot adds the kernel word `tfw.plainrouter=1`:
 * - tfw: the LAN client takes a SLAAC address in the router's overlay /64 and
 *   runs iperf3 to the far node's overlay address (`tfw runtime` in the isp
 *   namespace, peered with the router); the router's runtime carries the
 *   packets (TUN -> WireGuard-sealed UDP over the WAN).
 * - plain: the init skips the runtime, sets ip_forward=1 and an nftables
 *   masquerade (runtime/init/init.sh); the LAN client (192.168.1.50/24) runs
 *   iperf3 to the far host's WAN-side address in clear IP.
 * iperf3 TCP for TFW_BENCH_SECONDS (default 10) each, received throughput;
 * the plain boot runs a second iperf3 with the LAN client's TSO/GSO off
 * (ethtool), so the kernel forwards MTU-sized packets as the overlay does.
 * Needs root, qemu-system-x86_64, iperf3 and ping (BENCH_SYSDEPS in
 * mk/gateway.mk); prints why and returns when one is missing. Every wait is
 * bounded. Under TCG the guest's CPU is the bottleneck, so the figures measure
 * the router's per-packet work, not a link.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage } from '../images/builder/image.js';
import { encodeOverlayConfig, loadOverlayConfig } from '../images/builder/overlay-config.js';
import { makeProgress } from '../images/builder/progress.js';
import { loadBoard } from '../images/builder/schema.js';
import { keygen } from '../host-tools/commands/keygen.js';
import { isRoot } from '../test/helpers.js';
import { have, sh, spawnIn, tfwRuntime, waitFor, type Proc } from '../test/integration/overlay-netns.js';
import { Guest } from '../test/image/guest.js';
import { printTable, progress, writeResult, type Sample } from './lib.js';

const SECONDS = Number(process.env.TFW_BENCH_SECONDS ?? 10);
/** The row's two paths, as their sample names. */
export const ROW = {
  tfw: 'tfw 3router guest (overlay)',
  plain: 'plain Linux router guest (ip_forward + nft NAT)',
  plainMtu: 'plain, LAN client without TSO/GSO (MTU-sized packets)',
} as const;

/** One iperf3 TCP run as the row keeps it. */
export interface IperfTcp {
  /** Received payload, bits per second (iperf3's `end.sum_received.bits_per_second`). */
  bitsPerSec: number;
  /** Sender-side retransmits (`end.sum_sent.retransmits`), when iperf3 reports them. */
  retransmits?: number;
  seconds: number;
}

/**
 * Reads an iperf3 TCP client's JSON (`iperf3 -c ... -J`, iperf3 >= 3.1).
 * @throws Error naming what is missing: unparsable output, iperf3's own `error`, or no `end.sum_received`
 */
export function parseIperfTcp(json: string): IperfTcp {
  let doc: { error?: string; end?: { sum_received?: { bits_per_second?: number; seconds?: number }; sum_sent?: { retransmits?: number } } };
  try {
    doc = JSON.parse(json);
  } catch {
    throw new Error(`iperf3: expected JSON output (-J), got ${JSON.stringify(json.slice(0, 80))}`);
  }
  if (doc.error) throw new Error(`iperf3: ${doc.error}`);
  const rx = doc.end?.sum_received;
  if (typeof rx?.bits_per_second !== 'number' || !(rx.bits_per_second >= 0)) throw new Error('iperf3: expected end.sum_received.bits_per_second in the JSON');
  return { bitsPerSec: rx.bits_per_second, retransmits: doc.end?.sum_sent?.retransmits, seconds: rx.seconds ?? 0 };
}

/**
 * The row's figures: both throughputs in Mbit/s and tfw / plain (null when
 * either path gave no figure or plain's is 0).
 */
export function gatewayRow(tfw: IperfTcp | null, plain: IperfTcp | null): { tfwMbps: number | null; plainMbps: number | null; ratio: number | null } {
  const mbps = (r: IperfTcp | null) => (r ? r.bitsPerSec / 1e6 : null);
  return { tfwMbps: mbps(tfw), plainMbps: mbps(plain), ratio: tfw && plain && plain.bitsPerSec > 0 ? tfw.bitsPerSec / plain.bitsPerSec : null };
}

/** Runs `argv` in namespace `ns` without blocking the event loop (the guest's console keeps draining); killed after `ms`. */
function run(ns: string, argv: string[], ms: number): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  const r = { status: null as number | null, stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (r.stdout += d));
  child.stderr.on('data', (d) => (r.stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  return new Promise((resolve) => child.on('close', (code) => (clearTimeout(timer), (r.status = code), resolve(r))));
}

/** Names of this run's namespaces and taps (prefix gb, this process's id). */
const id = `${process.pid % 10000}`;
const ns = { isp: `gb-isp${id}`, lan: `gb-lan${id}` };
const tap = { wan: `gbw${id}`, lan: `gbl${id}` };
const inNs = (n: string, cmd: string) => sh(['ip', 'netns', 'exec', n, 'sh', '-c', cmd]);

/**
 * Boots the router image with both taps, moves them into the namespaces once
 * QEMU holds them, waits for `ready`, runs `measure`, then stops the guest and
 * deletes the taps (the namespaces stay for the next boot).
 */
async function withRouter<T>(label: string, o: { dir: string; config: Uint8Array; append: string[]; ready: RegExp; lanSetup: string }, measure: (g: Guest) => Promise<T | null>): Promise<T | null> {
  for (const t of Object.values(tap)) sh(['ip', 'tuntap', 'add', t, 'mode', 'tap']);
  const g = new Guest(`bench-gateway-${label}`, { board: loadBoard('qemu-x86_64'), dir: o.dir, timeout: 600, accel: 'tcg', nics: { wan: `tap:${tap.wan}`, lan: `tap:${tap.lan}` }, append: o.append, config: o.config });
  try {
    await g.waitFor(/tfw: init: booting 3router/, 180);
    sh(['ip', 'link', 'set', tap.wan, 'netns', ns.isp]);
    sh(['ip', 'link', 'set', tap.lan, 'netns', ns.lan]);
    inNs(ns.isp, `ip link set ${tap.wan} up && ip addr add 10.77.0.2/24 dev ${tap.wan}`);
    inNs(ns.lan, `ip link set ${tap.lan} up${o.lanSetup ? ` && ${o.lanSetup}` : ''}`);
    progress(`gateway: ${label}: waiting for the router`);
    await g.waitFor(o.ready, 400);
    const net = g.lines.find((l) => l.includes('tfw: init: network:'));
    if (net) progress(`gateway: ${label}: ${net.slice(net.indexOf('tfw: init: '))}`);
    return await measure(g);
  } catch (err) {
    // A guest that never gets ready is this path's missing figure, not the end of `make bench`.
    console.log(`gateway bench: ${label}: ${(err as Error).message.split('\n')[0]} (console: build/test/bench-gateway-${label}.log)`);
    return null;
  } finally {
    await g.kill();
    spawnSync('ip', ['netns', 'exec', ns.isp, 'ip', 'link', 'del', tap.wan]);
    spawnSync('ip', ['netns', 'exec', ns.lan, 'ip', 'link', 'del', tap.lan]);
    for (const t of Object.values(tap)) spawnSync('ip', ['link', 'del', t], { stdio: 'ignore' });
  }
}

/** iperf3 TCP from the LAN namespace to `server` for SECONDS, once `ping` gets through (bounded); null with a reason printed otherwise. */
async function iperfFromLan(label: string, server: string): Promise<IperfTcp | null> {
  if (!(await waitFor(async () => (await run(ns.lan, ['ping', '-c', '1', '-W', '3', server], 5_000)).status === 0, 120_000))) {
    console.log(`gateway bench: ${label}: no ping from the LAN client to ${server} in 120 s; row skipped`);
    return null;
  }
  progress(`gateway: ${label}: iperf3 TCP ${SECONDS} s to ${server}`);
  const r = await run(ns.lan, ['iperf3', '-c', server, '-t', String(SECONDS), '-J', '--connect-timeout', '10000'], (SECONDS + 60) * 1000);
  try {
    return parseIperfTcp(r.stdout);
  } catch (err) {
    console.log(`gateway bench: ${label}: ${(err as Error).message}${r.stderr ? ` (${r.stderr.trim().split('\n').pop()})` : ''}`);
    return null;
  }
}

export default async function gatewayBench(): Promise<void> {
  const missing = [!isRoot && 'root', ...['qemu-system-x86_64', 'iperf3', 'ping'].filter((b) => !have(b))].filter(Boolean);
  if (missing.length) {
    console.log(`gateway bench: skipped (needs ${missing.join(', ')})`);
    return;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'tfw-gw-bench-'));
  progress('gateway: building the qemu-x86_64 3router image (the packages come from the cache; the initramfs is rewritten)');
  const { outDir } = buildImage({ board: 'qemu-x86_64', role: '3router', progress: makeProgress({ quiet: true }) });
  const routerKey = keygen();
  const farKey = keygen();
  const farAddr = farKey.address.replace('::/64', '::1');
  const cfgFile = join(tmp, 'router.yaml');
  writeFileSync(
    cfgFile,
    `privateKey: ${routerKey.privateKey}\nmesh: true\nmycelium: false\npeers:\n  - publicKey: ${farKey.publicKey}\n    endpoint: 10.77.0.2:51820\nlan: {}\nwan: { method: static, address: 10.77.0.10/24, gateway: 10.77.0.2 }\n`,
    { mode: 0o600 },
  );
  const config = encodeOverlayConfig(loadOverlayConfig(cfgFile));
  const procs: Proc[] = [];
  const results: Record<keyof typeof ROW, IperfTcp | null> = { tfw: null, plain: null, plainMtu: null };
  try {
    for (const n of Object.values(ns)) {
      sh(['ip', 'netns', 'add', n]);
      sh(['ip', 'netns', 'exec', n, 'sysctl', '-qw', 'net.ipv6.conf.default.accept_dad=0']);
      inNs(n, 'ip link set lo up');
    }
    // The far side: iperf3's server (both paths) and a tfw node on the ISP namespace.
    const farFile = join(tmp, 'far.yaml');
    writeFileSync(farFile, `name: gbf${id}\nprivateKey: ${farKey.privateKey}\nlistenPort: 51820\nmesh: true\nmycelium: false\npeers:\n  - publicKey: ${routerKey.publicKey}\n`, { mode: 0o600 });
    const far = tfwRuntime(ns.isp, farFile);
    procs.push(spawnIn(ns.isp, ['iperf3', '-s']), far);

    // Plain Linux router: clear IP to the far host's WAN-side address.
    // Then, in the same boot, with the client's segmentation offloads off (ethtool): the kernel path forwards
    // the client's 64 KB TSO segments whole (virtio-net), the overlay handles each MTU-sized packet.
    const plain = await withRouter('plain', { dir: outDir, config, append: ['tfw.plainrouter=1'], ready: /tfw: init: plainrouter: /, lanSetup: 'ip addr add 192.168.1.50/24 dev ' + tap.lan + ' && ip route add default via 192.168.1.1' }, async () => {
      const gso = await iperfFromLan('plain', '10.77.0.2');
      let mtu: IperfTcp | null = null;
      if (!have('ethtool')) console.log('gateway bench: plain without TSO/GSO skipped (needs ethtool)');
      else {
        const r = await run(ns.lan, ['ethtool', '-K', tap.lan, 'tx', 'off', 'tso', 'off', 'gso', 'off'], 10_000);
        if (r.status === 0) mtu = await iperfFromLan('plain without TSO/GSO', '10.77.0.2');
        else console.log(`gateway bench: ethtool -K ${tap.lan}: ${r.stderr.trim()}`);
      }
      return { gso, mtu };
    });
    results.plain = plain?.gso ?? null;
    results.plainMtu = plain?.mtu ?? null;
    // tfw: the LAN client's SLAAC address in the router's /64, then the overlay to the far node.
    if (!(await waitFor(() => far.out().includes('overlay: up'), 60_000))) {
      console.log(`gateway bench: tfw: the far node did not come up; row skipped\n${far.out().trim().split('\n').slice(-3).join('\n')}`);
    } else results.tfw = await withRouter('tfw', { dir: outDir, config, append: [], ready: /tfw: ready 3router x86_64/, lanSetup: '' }, async () => {
      const prefix = routerKey.address.replace('::/64', '');
      const slaac = await waitFor(() => new RegExp(`inet6 ${prefix}:[0-9a-f:]+/64`).test(inNs(ns.lan, `ip -o -6 addr show dev ${tap.lan}`)), 60_000);
      if (!slaac) {
        console.log(`gateway bench: tfw: no SLAAC address in ${routerKey.address} on the LAN client in 60 s; row skipped`);
        return null;
      }
      return iperfFromLan('tfw', farAddr);
    });
  } finally {
    for (const p of procs) p.child.kill();
    await Promise.all(procs.map((p) => Promise.race([p.exited, new Promise((r) => setTimeout(r, 3000))])));
    for (const n of Object.values(ns)) spawnSync('ip', ['netns', 'del', n]);
  }

  const samples: Sample[] = [];
  const kase = `iperf3 TCP ${SECONDS} s, LAN -> far node`;
  for (const k of ['tfw', 'plain', 'plainMtu'] as const) {
    const r = results[k];
    if (r) samples.push({ name: ROW[k], case: kase, opsPerSec: 0, bytesPerSec: r.bitsPerSec / 8, extra: { retransmits: r.retransmits, seconds: r.seconds } });
  }
  if (samples.length) printTable('gateway: TCP through the router guest (qemu-x86_64, TCG, received)', samples, { baseline: ROW.plain, unit: 'Mbit/s', scale: 8e-6 });
  const row = gatewayRow(results.tfw, results.plain);
  const mtuRow = gatewayRow(results.tfw, results.plainMtu);
  if (row.ratio !== null) console.log(`gateway: tfw ${row.tfwMbps!.toFixed(1)} Mbit/s, plain ${row.plainMbps!.toFixed(1)} Mbit/s, ratio ${row.ratio.toFixed(3)}x`);
  if (mtuRow.ratio !== null) console.log(`gateway: tfw / plain without TSO/GSO (${mtuRow.plainMbps!.toFixed(1)} Mbit/s): ${mtuRow.ratio.toFixed(3)}x`);
  writeResult('gateway', { seconds: SECONDS, board: 'qemu-x86_64', accel: 'tcg', ...row, plainMtuMbps: mtuRow.plainMbps, ratioMtu: mtuRow.ratio, samples });
}
