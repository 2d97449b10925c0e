/**
 * A handshake flood for the flood regression test and `make bench`
 * (bench/handshake.bench.ts): initiations from fresh keys the target does not
 * know, each with a valid mac1 for the target's public key (so each one costs
 * the target its DH unless it is under load), sent by flood-sender.mjs from a
 * network namespace; plus the legitimate peer's view: ping RTT and loss
 * through the tunnel, and how long a reconnecting peer takes.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CookieGenerator } from '../../runtime/overlay/wireguard/cookie.js';
import { fromBase64, generatePrivateKey } from '../../runtime/overlay/wireguard/keys.js';
import { createInitiation, Handshake, localStatic } from '../../runtime/overlay/wireguard/noise.js';
import { ROOT, spawnIn, type Proc } from './overlay-netns.js';

/** Writes `n` initiations (148 bytes each, back to back) to `target` (base64 public key) into `file`. */
export function writeFlood(targetPublicKey: string, n: number, file: string): string {
  const pub = fromBase64(targetPublicKey);
  const out = Buffer.alloc(148 * n);
  for (let i = 0; i < n; i++) {
    const m = createInitiation(new Handshake(localStatic(generatePrivateKey()), pub), i + 1);
    new CookieGenerator(pub).addMacs(m);
    out.set(m, i * 148);
  }
  writeFileSync(file, out);
  return file;
}

/** Starts flood-sender.mjs in `ns`: `rate` initiations a second to host:port for `seconds`. */
export const startFlood = (ns: string, host: string, port: number, rate: number, seconds: number, file: string): Proc =>
  spawnIn(ns, [process.execPath, join(ROOT, 'test/integration/flood-sender.mjs'), host, String(port), String(rate), String(seconds), file]);

export interface PingStats {
  sent: number;
  received: number;
  /** Average round trip (ms) of the replies; NaN with none. */
  avgMs: number;
  maxMs: number;
}

/** `count` pings from `ns` to `addr`, `interval` s apart, each waiting up to 5 s; parsed from ping's summary. */
export function pingStats(ns: string, addr: string, count: number, interval = 0.2): PingStats {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'ping', '-n', '-q', '-c', String(count), '-i', String(interval), '-W', '5', addr], {
    encoding: 'utf8', timeout: (count * interval + 15) * 1000,
  });
  const out = r.stdout ?? '';
  const pkts = /(\d+) packets transmitted, (\d+) received/.exec(out);
  const rtt = /= [\d.]+\/([\d.]+)\/([\d.]+)\//.exec(out);
  return { sent: Number(pkts?.[1] ?? count), received: Number(pkts?.[2] ?? 0), avgMs: rtt ? Number(rtt[1]) : NaN, maxMs: rtt ? Number(rtt[2]) : NaN };
}

/**
 * Time (ms) from now until a ping from `ns` to `addr` is answered, pinging
 * every 50 ms (the first ping starts the handshake); Infinity after `limitS` s.
 */
export function timeToPing(ns: string, addr: string, limitS = 20): number {
  const start = Date.now();
  const r = spawnSync('ip', ['netns', 'exec', ns, 'ping', '-n', '-q', '-c', '1', '-i', '0.05', '-w', String(limitS), addr], { timeout: (limitS + 5) * 1000 });
  return r.status === 0 ? Date.now() - start : Infinity;
}
