/**
 * Handshakes under a flood (issue 20), beside wireguard-go in the same run:
 * 1. in process: CPU per message for what a flood makes a node do (mac1 +
 *    consuming an initiation from an unknown key; a cookie reply under load)
 *    and for a full responder handshake with a known peer;
 * 2. end to end (root, wireguard-go): node B takes TFW_BENCH_FLOOD_RATE
 *    (default 5,000) initiations a second from unknown keys with valid mac1,
 *    sent from A's namespace, while A (a legitimate peer) pings B through the
 *    tunnel: idle ping RTT, ping RTT and loss during the flood, the time a
 *    restarted A takes to get a ping through (its new handshake), and B's CPU
 *    per flood message (from /proc/PID/stat), for two `tfw runtime` nodes and
 *    for two wireguard-go peers. TFW_BENCH_TFW_CLI points at another
 *    checkout's host-tools/bin/tfw.mjs to measure a "before".
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { keygen } from '../host-tools/commands/keygen.js';
import { CookieChecker, CookieGenerator } from '../runtime/overlay/wireguard/cookie.js';
import { generatePrivateKey } from '../runtime/overlay/wireguard/keys.js';
import { beginSymmetricSession, consumeInitiation, createInitiation, createResponse, Handshake, localStatic } from '../runtime/overlay/wireguard/noise.js';
import { isRoot } from '../test/helpers.js';
import { pingStats, startFlood, timeToPing, writeFlood, type PingStats } from '../test/integration/handshake-flood.js';
import { NetnsPair, ROOT, have, sh, spawnIn, waitFor, type Proc } from '../test/integration/overlay-netns.js';
import { perCpuSecond, writeResult } from './lib.js';

const RATE = Number(process.env.TFW_BENCH_FLOOD_RATE ?? 5000);
const PORT = 51820;
const TFW_CLI = process.env.TFW_BENCH_TFW_CLI ?? join(ROOT, 'host-tools/bin/tfw.mjs');

interface InProcessRow {
  case: string;
  usPerMessage: number;
}

function inProcess(): InProcessRow[] {
  const b = localStatic(generatePrivateKey());
  const a = localStatic(generatePrivateKey());
  const checker = new CookieChecker(b.publicKey);
  const unknown = Array.from({ length: 64 }, (_, i) => {
    const m = createInitiation(new Handshake(localStatic(generatePrivateKey()), b.publicKey), i + 1);
    new CookieGenerator(b.publicKey).addMacs(m);
    return m;
  });
  let i = 0;
  const rows: InProcessRow[] = [];
  const per = (name: string, fn: () => void) => {
    for (let w = 0; w < 300; w++) fn(); // JIT warm-up
    rows.push({ case: name, usPerMessage: 1e6 / perCpuSecond(fn, 300) });
  };
  per('unknown-key initiation (mac1 + consume)', () => {
    const m = unknown[i++ % unknown.length];
    checker.checkMac1(m);
    consumeInitiation(b, m, () => undefined);
  });
  const src = new Uint8Array(19);
  per('cookie reply (under load)', () => checker.createReply(unknown[i++ % unknown.length], 1, src));
  const hsOfB = new Handshake(b, a.publicKey);
  const hsOfA = new Handshake(a, b.publicKey);
  let ts = Date.now();
  per('initiation made + consumed + response made', () => {
    const m = createInitiation(hsOfA, 1, ts += 1000);
    const hs = consumeInitiation(b, m, () => hsOfB, ts);
    if (typeof hs === 'string') throw new Error(`handshake bench: initiation refused (${hs})`);
    hs.lastInitiationConsumption = 0;
    createResponse(hs, 2);
    beginSymmetricSession(hs);
  });
  return rows;
}

/** User + system CPU seconds of a process so far (/proc/PID/stat fields 14 and 15, clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

interface FloodRow {
  name: string;
  idle: PingStats;
  flood: PingStats;
  reconnectMs: number;
  cpuUsPerMessage: number;
}

/** One implementation's pair: start() brings A and B up and returns B's pid; restartA() restarts the legitimate peer. */
interface Tunnel {
  start(): Promise<number>;
  restartA(): Promise<void>;
}

async function floodRun(name: string, pair: NetnsPair, victimKey: string, tunnel: Tunnel): Promise<FloodRow | null> {
  const pid = await tunnel.start();
  if (!(await waitFor(() => pingStats(pair.a, '10.100.0.2', 1).received === 1, 15_000))) {
    console.log(`handshake bench: ${name}: no ping through the tunnel, skipped`);
    return null;
  }
  const idle = pingStats(pair.a, '10.100.0.2', 20, 0.1);
  const file = writeFlood(victimKey, 512, join(pair.dir, 'flood.bin'));
  const seconds = 14;
  const flood = pair.track(startFlood(pair.a, pair.ipB, PORT, RATE, seconds, file));
  await new Promise((r) => setTimeout(r, 1000));
  const cpu0 = cpuSeconds(pid), t0 = Date.now();
  const during = pingStats(pair.a, '10.100.0.2', 20, 0.1);
  await tunnel.restartA();
  const reconnectMs = timeToPing(pair.a, '10.100.0.2', 10);
  const cpu = cpuSeconds(pid) - cpu0, dt = (Date.now() - t0) / 1000;
  flood.child.kill();
  return { name, idle, flood: during, reconnectMs, cpuUsPerMessage: (cpu * 1e6) / (RATE * dt) };
}

const conf = (dev: string, k: { privateKey: string }, peer: { publicKey: string }, addr: string, peerAddr: string, ep: string) =>
  `name: ${dev}\nprivateKey: ${k.privateKey}\nlistenPort: ${PORT}\naddress: [${addr}/24]\npeers:\n  - publicKey: ${peer.publicKey}\n    endpoint: ${ep}:${PORT}\n    allowedIPs: [${peerAddr}/32]\n`;

const tfwRuntimeAt = (ns: string, config: string): Proc =>
  spawnIn(ns, [process.execPath, '--import', 'tsx', TFW_CLI, 'runtime', '--config', config]);

async function tfwFlood(): Promise<FloodRow | null> {
  const pair = new NetnsPair('hfb', 53);
  try {
    const a = keygen(), b = keygen();
    const dev = `hfb${process.pid % 10000}`;
    const aConf = pair.file('a.yaml', conf(dev, a, b, '10.100.0.1', '10.100.0.2', pair.ipB));
    let ta: Proc | null = null;
    const up = (p: Proc) => waitFor(() => p.out().includes('overlay: up') || p.child.exitCode !== null, 30_000);
    return await floodRun('tfw runtime', pair, b.publicKey, {
      async start() {
        ta = pair.track(tfwRuntimeAt(pair.a, aConf));
        const tb = pair.track(tfwRuntimeAt(pair.b, pair.file('b.yaml', conf(dev, b, a, '10.100.0.2', '10.100.0.1', pair.ipA))));
        await up(ta);
        await up(tb);
        return tb.child.pid!;
      },
      async restartA() {
        ta!.child.kill('SIGTERM');
        await ta!.exited;
        ta = pair.track(tfwRuntimeAt(pair.a, aConf));
        await up(ta);
      },
    });
  } finally {
    await pair.cleanup();
  }
}

async function wgFlood(): Promise<FloodRow | null> {
  const pair = new NetnsPair('hfw', 54);
  try {
    const a = keygen(), b = keygen();
    // Distinct interface names: wireguard-go's UAPI sockets (/var/run/wireguard/<dev>.sock) are not per namespace.
    const tag = `hf${process.pid % 10000}`;
    const startWg = async (ns: string, k: typeof a, peer: typeof a, addr: string, peerAddr: string, ep: string, dev: string): Promise<Proc> => {
      const p = pair.track(spawnIn(ns, ['wireguard-go', '-f', dev], { WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1' }));
      await waitFor(() => spawnSync('ip', ['-n', ns, 'link', 'show', dev], { stdio: 'ignore' }).status === 0, 10_000);
      const keyFile = pair.file(`${dev}.key`, `${k.privateKey}\n`);
      sh(['ip', 'netns', 'exec', ns, 'wg', 'set', dev, 'private-key', keyFile, 'listen-port', String(PORT), 'peer', peer.publicKey, 'endpoint', `${ep}:${PORT}`, 'allowed-ips', `${peerAddr}/32`]);
      sh(['ip', '-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev]);
      sh(['ip', '-n', ns, 'link', 'set', dev, 'mtu', '1420', 'up']);
      return p;
    };
    let wa: Proc | null = null;
    return await floodRun('wireguard-go', pair, b.publicKey, {
      async start() {
        wa = await startWg(pair.a, a, b, '10.100.0.1', '10.100.0.2', pair.ipB, `${tag}a`);
        const wb = await startWg(pair.b, b, a, '10.100.0.2', '10.100.0.1', pair.ipA, `${tag}b`);
        return wb.child.pid!;
      },
      async restartA() {
        wa!.child.kill('SIGTERM');
        await wa!.exited;
        await waitFor(() => spawnSync('ip', ['-n', pair.a, 'link', 'show', `${tag}a`], { stdio: 'ignore' }).status !== 0, 5000);
        wa = await startWg(pair.a, a, b, '10.100.0.1', '10.100.0.2', pair.ipB, `${tag}a`);
      },
    });
  } finally {
    await pair.cleanup();
  }
}

const ms = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)} ms` : 'none');

export default async function handshakeBench(): Promise<void> {
  const rows = inProcess();
  console.log('\nhandshake: CPU per message, in process (us)');
  for (const r of rows) console.log(`  ${r.case.padEnd(42)} ${r.usPerMessage.toFixed(1)} us`);
  const flood: FloodRow[] = [];
  const missing = [!isRoot && 'root', ...['wireguard-go', 'wg', 'ping'].filter((b) => !have(b))].filter(Boolean);
  if (missing.length) console.log(`handshake bench: flood part skipped (needs ${missing.join(', ')})`);
  else {
    for (const run of [tfwFlood, wgFlood]) {
      const r = await run();
      if (r) flood.push(r);
    }
    console.log(`\nhandshake: a legitimate peer under a ${RATE}/s flood of unknown-key initiations (network namespaces)`);
    const head = ['', 'ping idle', 'ping in flood (x idle)', 'lost in flood', 'reconnect in flood', 'victim CPU/initiation'];
    const lines = flood.map((r) => [r.name, ms(r.idle.avgMs), `${ms(r.flood.avgMs)} (${(r.flood.avgMs / r.idle.avgMs).toFixed(1)}x), max ${ms(r.flood.maxMs)}`,
      `${r.flood.sent - r.flood.received}/${r.flood.sent}`, ms(r.reconnectMs), `${r.cpuUsPerMessage.toFixed(1)} us`]);
    const all = [head, ...lines];
    const w = head.map((_, i) => Math.max(...all.map((l) => l[i].length)));
    for (const l of all) console.log(l.map((x, i) => (i ? x.padStart(w[i]) : x.padEnd(w[i]))).join('  '));
  }
  writeResult('handshake', { rate: RATE, inProcess: rows, flood });
}
