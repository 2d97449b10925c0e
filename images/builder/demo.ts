/**
 * `tfw boot --demo`: two guests of one image on one loopback-backed virtual
 * link (QEMU socket/dgram netdev, no host interface), each with its own key
 * pair and an overlay config naming the other as its WireGuard peer (endpoint =
 * the other's link address, allowedIPs = the other's overlay /64). Once ready,
 * each guest pings the other's overlay address (its Mycelium /128; kernel flag
 * tfw.demo_ping=, handled by runtime/init/init.sh), which needs a completed
 * Noise handshake both ways; init then prints the peer's lastHandshake from the
 * status endpoint. When both reported, the host types `tfw-demo-poweroff` on
 * each console and the guests power off cleanly.
 */
import { randomInt } from 'node:crypto';
import { compileConfig } from '../../runtime/config/load.js';
import { TfwError } from '../../runtime/errors.js';
import { overlayAddress, overlaySubnet } from '../../runtime/overlay/address.js';
import { generatePrivateKey, publicKeyFromPrivate, toBase64 } from '../../runtime/overlay/wireguard/keys.js';
import { bootImage, netdevArgs, type BootResult } from './qemu.js';
import type { Board } from './schema.js';

export interface DemoOptions {
  board: Board;
  /** Image folder (as for bootImage). */
  dir: string;
  /** Seconds for the whole demo (boot, handshake, pings, power-off). */
  timeout: number;
  /** `mcast:PORT` (both guests) or `dgram:L:R` (guest b gets `dgram:R:L`); default mcast on a random port. */
  net?: string;
  /** Where the prefixed consoles go (`[a] `, `[b] `); null hides them. */
  out?: NodeJS.WritableStream | null;
  /** Fault injection for tests: guest a gets a wrong public key for its peer, so no handshake can complete. */
  wrongPeerKey?: boolean;
}

export interface DemoGuest {
  name: 'a' | 'b';
  /** Link address ADDR/PREFIX (tfw.ip=). */
  ip: string;
  publicKey: string;
  /** Node address in 400::/7: its whole Mycelium /128 (runtime/overlay/address.ts). */
  overlayAddress: string;
  readySeconds: number | null;
  /** The ping of the other guest's overlay address. */
  ping: { target: string; ok: boolean; ms: number | null } | null;
  /** Unix seconds of the last handshake with the other guest (status endpoint), 0 = none, null = unknown. */
  lastHandshake: number | null;
  /** The guest's boot result (cause, console tail). */
  boot?: BootResult;
}

export interface DemoResult {
  ok: boolean;
  board: string;
  net: string[];
  /** Seconds from start until both guests reported their ping. */
  seconds: number | null;
  handshake: boolean;
  guests: DemoGuest[];
  cause?: string;
}

const STATUS = '127.0.0.1:9595';
const PORT = 51820;

/** The two guests' --net specs for a demo --net value (validated like tfw boot --net). */
export function demoNets(net?: string): [string, string] {
  // Below Linux's ephemeral range (32768-60999), where sockets bound to port 0 could hold it.
  const spec = net ?? `mcast:${randomInt(20000, 32000)}`;
  netdevArgs(spec, 'virtio-net-pci', '52:54:00:00:00:01');
  const m = /^dgram:(\d+):(\d+)$/.exec(spec);
  if (m) return [spec, `dgram:${m[2]}:${m[1]}`];
  if (!spec.startsWith('mcast:')) throw new TfwError('ERR_TFW_CONFIG', `--net: the demo needs a shared link: mcast:PORT or dgram:L:R, got "${spec}"`);
  return [spec, spec];
}

/** Two key pairs and the two CBOR configs, each naming the other as its peer. */
export function demoConfigs(wrongPeerKey = false): Array<{ name: 'a' | 'b'; ip: string; publicKey: string; address: string; subnet: string; cbor: Uint8Array }> {
  const nodes = (['a', 'b'] as const).map((name, i) => {
    const priv = generatePrivateKey();
    const pub = publicKeyFromPrivate(priv);
    return { name, ip: `10.99.0.${i + 1}`, privateKey: toBase64(priv), publicKey: toBase64(pub), address: overlayAddress(pub), subnet: overlaySubnet(pub) };
  });
  return nodes.map((n, i) => {
    const o = nodes[1 - i];
    const peerKey = wrongPeerKey && i === 0 ? toBase64(publicKeyFromPrivate(generatePrivateKey())) : o.publicKey;
    const cbor = compileConfig({
      name: 'tfw0',
      privateKey: n.privateKey,
      listenPort: PORT,
      status: STATUS,
      peers: [{ publicKey: peerKey, endpoint: `${o.ip}:${PORT}`, allowedIPs: [o.subnet], persistentKeepalive: 5 }],
    });
    return { name: n.name, ip: `${n.ip}/24`, publicKey: n.publicKey, address: n.address, subnet: n.subnet, cbor };
  });
}

/** Runs the demo; never rejects for guest failures (the cause is in the result). */
export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const nets = demoNets(o.net);
  const cfgs = demoConfigs(o.wrongPeerKey);
  const out = o.out === undefined ? process.stdout : o.out;
  const abort = new AbortController();
  const started = Date.now();
  const guests: DemoGuest[] = cfgs.map((c) => ({ name: c.name, ip: c.ip, publicKey: c.publicKey, overlayAddress: c.address, readySeconds: null, ping: null, lastHandshake: null }));
  const reported = [false, false];
  const senders: Array<((t: string) => void) | undefined> = [undefined, undefined];
  let seconds: number | null = null;
  let cause: string | undefined;
  const fail = (why: string) => {
    cause ??= why;
    abort.abort(new Error(why));
  };
  const timer = setTimeout(() => fail(`timeout after ${o.timeout} s (pings: a ${guests[0].ping?.ok ?? 'pending'}, b ${guests[1].ping?.ok ?? 'pending'})`), o.timeout * 1000);

  const onLine = (i: number) => (line: string, send: (t: string) => void) => {
    senders[i] = send;
    const g = guests[i];
    out?.write(`[${g.name}] ${line}\n`);
    let m = /tfw: demo: ping (\S+) (ok|failed)(?: ([0-9.]+))?/.exec(line);
    if (m) g.ping = { target: m[1], ok: m[2] === 'ok', ms: m[3] ? Number(m[3]) : null };
    m = /tfw: demo: handshake (\d+|unknown)/.exec(line);
    if (m && g.ping) {
      g.lastHandshake = m[1] === 'unknown' ? null : Number(m[1]);
      reported[i] = true;
      if (!g.ping.ok) fail(`guest ${g.name} could not ping ${g.ping.target} (guest ${guests[1 - i].name}'s overlay address) over the overlay`);
      else if (reported[0] && reported[1]) {
        seconds = (Date.now() - started) / 1000;
        for (const s of senders) s?.('tfw-demo-poweroff\n');
      }
    }
  };

  const boots = cfgs.map((c, i) =>
    bootImage({
      board: o.board,
      dir: o.dir,
      timeout: o.timeout,
      net: nets[i],
      ip: c.ip,
      append: [`tfw.demo_ping=${cfgs[1 - i].address}`],
      config: c.cbor,
      consoleOut: null,
      onLine: onLine(i),
      signal: abort.signal,
    }).then((r) => {
      guests[i].boot = r;
      guests[i].readySeconds = r.readySeconds;
      if (!r.ok) fail(`guest ${guests[i].name}: ${r.cause ?? 'boot failed'}`);
      else if (!reported[i]) fail(`guest ${guests[i].name} powered off before reporting its ping`);
      return r;
    }),
  );
  await Promise.all(boots);
  clearTimeout(timer);
  const pingsOk = guests.every((g) => g.ping?.ok);
  const handshake = guests.every((g) => (g.lastHandshake ?? 0) > 0);
  const ok = cause === undefined && pingsOk;
  const result: DemoResult = { ok, board: o.board.name, net: nets, seconds, handshake, guests };
  if (!ok) result.cause = cause ?? 'a ping did not succeed';
  return result;
}

/** Human summary lines (`tfw: demo: ...`). */
export function demoSummary(r: DemoResult): string[] {
  const lines = r.guests.map((g) => {
    const p = g.ping ? `ping ${g.ping.target} ${g.ping.ok ? `ok${g.ping.ms !== null ? ` ${g.ping.ms} ms` : ''}` : 'failed'}` : 'no ping';
    const hs = g.lastHandshake === null ? 'handshake unknown' : g.lastHandshake > 0 ? 'handshake seen' : 'no handshake';
    return `tfw: demo: ${g.name} ${g.ip} ${g.overlayAddress}: ready ${g.readySeconds?.toFixed(1) ?? '-'} s, ${p}, ${hs}`;
  });
  lines.push(r.ok ? `tfw: demo: ok: both guests pinged each other over the overlay in ${r.seconds?.toFixed(1)} s${r.handshake ? ' (handshake seen)' : ''}` : `tfw: demo: failed: ${r.cause}`);
  return lines;
}
