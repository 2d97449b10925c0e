/**
 * `tfw show [interface] [--json] [--device URL]`: what `wg show` prints, for
 * a tfw interface. Without --device it reads the local runtime through its
 * WireGuard UAPI socket (runtime/api/uapi.ts; default interface tfw0); with
 * `--device URL` it reads the device API's `GET /v1/status`. Plain output
 * follows wg(8)'s `show` layout (wireguard-tools src/show.c); `--json` gives
 * the fields of `wg show <if> dump` by name (`ShowInterface`).
 */
import type { Command } from 'commander';
import { TfwError } from '../../runtime/errors.js';
import { uapiGet, uapiSocketPath, type ShowInterface, type ShowPeer } from '../../runtime/api/uapi.js';

/** How long a --device request may take (ms). */
const DEVICE_TIMEOUT_MS = 10_000;

/** wg's pretty_time: "1 minute, 2 seconds" (show.c). */
export function prettyTime(seconds: number): string {
  const units: [number, string][] = [[365 * 24 * 3600, 'year'], [24 * 3600, 'day'], [3600, 'hour'], [60, 'minute'], [1, 'second']];
  const parts: string[] = [];
  let left = seconds;
  for (const [n, name] of units) {
    const v = Math.floor(left / n);
    left -= v * n;
    if (v) parts.push(`${v} ${name}${v === 1 ? '' : 's'}`);
  }
  return parts.join(', ');
}

/** wg's bytes: B, then KiB / MiB / GiB / TiB with two decimals (show.c). */
export function prettyBytes(b: number): string {
  if (b < 1024) return `${b} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0, v = b / 1024;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(2)} ${units[i]}`;
}

/** The interface as `wg show <if>` lays it out; `now` in Unix seconds. */
export function formatShow(s: ShowInterface, now = Math.floor(Date.now() / 1000)): string {
  const out = [`interface: ${s.interface}`, `  public key: ${s.publicKey}`, `  private key: ${s.privateKey ? '(hidden)' : '(none)'}`, `  listening port: ${s.listenPort}`];
  if (s.fwmark) out.push(`  fwmark: 0x${s.fwmark.toString(16)}`);
  // wg sorts peers by latest handshake, newest first.
  const peers = [...s.peers].sort((a, b) => b.latestHandshake - a.latestHandshake);
  for (const p of peers) {
    out.push('', `peer: ${p.publicKey}`);
    if (p.presharedKey) out.push('  preshared key: (hidden)');
    if (p.endpoint) out.push(`  endpoint: ${p.endpoint}`);
    out.push(`  allowed ips: ${p.allowedIPs.length ? p.allowedIPs.join(', ') : '(none)'}`);
    if (p.latestHandshake) out.push(`  latest handshake: ${now === p.latestHandshake ? 'Now' : `${prettyTime(now - p.latestHandshake)} ago`}`);
    if (p.transferRx || p.transferTx) out.push(`  transfer: ${prettyBytes(p.transferRx)} received, ${prettyBytes(p.transferTx)} sent`);
    if (p.persistentKeepalive) out.push(`  persistent keepalive: every ${prettyTime(p.persistentKeepalive)}`);
  }
  return `${out.join('\n')}\n`;
}

/**
 * Reads a device's `GET <url>/v1/status` and maps its overlay status to the
 * show fields (the private key never leaves the device: null; fields the
 * status lacks stay empty). Bounded by DEVICE_TIMEOUT_MS.
 * @throws TfwError (ERR_TFW_DEVICE) naming the URL and the cause
 */
export async function deviceShow(url: string, name: string): Promise<ShowInterface> {
  let target: URL;
  try {
    target = new URL('/v1/status', url);
  } catch {
    throw new TfwError('ERR_TFW_DEVICE', `--device: expected a URL like http://192.168.1.1, got ${JSON.stringify(url)}`);
  }
  let body: any;
  try {
    const res = await fetch(target, { signal: AbortSignal.timeout(DEVICE_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    body = await res.json();
  } catch (err) {
    throw new TfwError('ERR_TFW_DEVICE', `--device: cannot read ${target}: ${(err as Error).message}`);
  }
  const o = body?.overlay ?? body;
  if (!o || typeof o.publicKey !== 'string' || !Array.isArray(o.peers)) throw new TfwError('ERR_TFW_DEVICE', `--device: ${target} has no overlay status (is an overlay configured?)`);
  return {
    interface: typeof o.name === 'string' ? o.name : name,
    privateKey: null,
    publicKey: o.publicKey,
    listenPort: Number(o.listenPort) || 0,
    fwmark: 0,
    peers: o.peers.map((p: any): ShowPeer => ({
      publicKey: p.publicKey,
      presharedKey: null,
      endpoint: p.endpoint ?? null,
      allowedIPs: Array.isArray(p.allowedIPs) ? p.allowedIPs : [],
      latestHandshake: Number(p.lastHandshake) || 0,
      transferRx: Number(p.rxBytes) || 0,
      transferTx: Number(p.txBytes) || 0,
      persistentKeepalive: Number(p.persistentKeepalive) || 0,
    })),
  };
}

export function register(program: Command): void {
  program
    .command('show')
    .description("Show a tfw interface's peers, handshakes and transfer, like `wg show`")
    .argument('[interface]', 'the interface (the runtime config\'s name)', 'tfw0')
    .option('--json', 'print the fields of `wg show <if> dump` as JSON')
    .option('--device <url>', "read a device's GET /v1/status instead of the local UAPI socket")
    .addHelpText('after', `\nExamples:\n  tfw show                      # the local runtime's tfw0, via ${uapiSocketPath('tfw0')}\n  tfw show tfw1 --json\n  tfw show --device http://192.168.1.1`)
    .action(async (name: string, opts: { json?: boolean; device?: string }) => {
      const s = opts.device ? await deviceShow(opts.device, name) : await uapiGet(name);
      process.stdout.write(opts.json ? `${JSON.stringify(s, null, 2)}\n` : formatShow(s));
    });
}
