/**
 * A slice VM's place on the AIBox's network and overlay. The bridge the
 * slices' taps join carries a small IPv4 link (default 10.254.0.0/24: the
 * AIBox at .1, slot N at .N+2); over it each VM's overlay peers with the
 * AIBox's own node, which is the VM's overlay gateway: the VM sends all of
 * 400::/7 to it, and the AIBox's node routes the VM's /64 to the VM.
 *
 * The VM keeps its own identity (created on its first boot on its disk,
 * runtime/device/identity.ts), so the AIBox learns its public key from the
 * VM's console line `tfw: identity: created|loaded <publicKey>` and adds the
 * VM as a peer over its WireGuard UAPI socket (runtime/api/uapi.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { encode } from 'cbor-x';
import { formatIp, parseCidr } from '../config/ip.js';
import { TfwError } from '../errors.js';
import { overlaySubnet } from '../overlay/address.js';

/** The AIBox's side of the slices' overlay: its bridge address and its node. */
export interface SliceGateway {
  /** The AIBox's address on the bridge with the link's prefix length, e.g. 10.254.0.1/24. */
  address: string;
  /** The AIBox node's public key (base64). */
  publicKey: string;
  /** The AIBox node's UDP port (default 51820). */
  listenPort?: number;
  /** The AIBox node's UAPI socket; when given, `admit` adds each VM as a peer there. */
  uapiSocket?: string;
}

/** Default link on the slices' bridge. */
export const DEFAULT_SLICE_LINK = '10.254.0.1/24';

/**
 * The VM's IPv4 address on the bridge link: the gateway's network, host part
 * slot + 2 (the AIBox keeps .1).
 * @param gateway `address` as a.b.c.d/len (IPv4)
 * @param slot 0-7
 * @returns { address: 'a.b.c.d/len', gateway: 'a.b.c.1' }
 * @throws TfwError ERR_TFW_CONFIG when gateway.address is not IPv4 CIDR
 */
export function sliceLinkAddress(gateway: Pick<SliceGateway, 'address'>, slot: number): { address: string; gateway: string } {
  const c = parseCidr(gateway.address);
  if (!c || c.bytes.length !== 4 || c.bits > 29) {
    throw new TfwError('ERR_TFW_CONFIG', `gateway.address: expected the AIBox's IPv4 address on the slices' bridge with a prefix of /29 or wider, like ${DEFAULT_SLICE_LINK}, got ${JSON.stringify(gateway.address)}`);
  }
  const gw = formatIp(c.bytes);
  const mask = c.bits === 0 ? 0 : (~0 << (32 - c.bits)) >>> 0;
  const base = (Buffer.from(c.bytes).readUInt32BE(0) & mask) >>> 0;
  const vm = Buffer.alloc(4);
  vm.writeUInt32BE((base + slot + 2) >>> 0);
  return { address: `${formatIp(new Uint8Array(vm))}/${c.bits}`, gateway: gw };
}

/**
 * The VM's overlay config (no privateKey: the VM's identity is its own): one
 * peer, the AIBox's node on the bridge, carrying all of 400::/7, with a
 * keepalive so the VM speaks first and the AIBox learns its endpoint.
 * @returns CBOR bytes, handed to the VM as fw_cfg `opt/tfw/config.cbor` (runtime/init/init.sh reads it)
 */
export function sliceGuestConfig(gateway: SliceGateway): Uint8Array {
  const gw = formatIp(parseCidr(gateway.address)!.bytes);
  const cfg = {
    name: 'tfw0',
    listenPort: 51820,
    peers: [{ publicKey: gateway.publicKey, endpoint: `${gw}:${gateway.listenPort ?? 51820}`, allowedIPs: ['400::/7'], persistentKeepalive: 5 }],
  };
  return new Uint8Array(encode(cfg));
}

/** The VM's public key from its console (the last `tfw: identity: created|loaded KEY` line), or undefined. */
export function slicePublicKey(consoleLog: string): string | undefined {
  if (!existsSync(consoleLog)) return undefined;
  const m = [...readFileSync(consoleLog, 'latin1').matchAll(/tfw: identity: (?:created|loaded) ([A-Za-z0-9+/]{43}=)/g)];
  return m.length ? m[m.length - 1][1] : undefined;
}

/**
 * Adds (or updates) the VM as a peer of the AIBox's node over its UAPI socket:
 * its overlay /64 as allowed IPs and, when given, its endpoint on the bridge
 * (so the AIBox can start the handshake too, not only answer the VM's).
 * @param endpoint the VM's `address:port` on the bridge link, e.g. 10.254.0.2:51820
 * @returns the VM's overlay /64
 * @throws TfwError ERR_TFW_UAPI when the socket does not answer errno=0
 */
export async function admitSlicePeer(uapiSocket: string, publicKey: string, endpoint?: string): Promise<string> {
  const pub = Buffer.from(publicKey, 'base64');
  const subnet = overlaySubnet(new Uint8Array(pub));
  await uapiSet(uapiSocket, `public_key=${pub.toString('hex')}\n${endpoint ? `endpoint=${endpoint}\n` : ''}replace_allowed_ips=true\nallowed_ip=${subnet}\n`, `adding peer ${publicKey}`);
  return subnet;
}

/**
 * Removes the VM's peer from the AIBox's node over its UAPI socket (`remove=true`).
 * @throws TfwError ERR_TFW_UAPI when the socket does not answer errno=0
 */
export async function removeSlicePeer(uapiSocket: string, publicKey: string): Promise<void> {
  await uapiSet(uapiSocket, `public_key=${Buffer.from(publicKey, 'base64').toString('hex')}\nremove=true\n`, `removing peer ${publicKey}`);
}

/** One UAPI `set=1` operation with `lines` (each ending in a newline); `what` names it in errors. */
async function uapiSet(uapiSocket: string, lines: string, what: string): Promise<void> {
  const req = `set=1\n${lines}\n`;
  const answer = await new Promise<string>((resolve, reject) => {
    const s = createConnection(uapiSocket);
    let buf = '';
    const timer = setTimeout(() => (s.destroy(), reject(new TfwError('ERR_TFW_UAPI', `${uapiSocket}: no answer within 5 s`))), 5000);
    s.on('connect', () => s.write(req));
    s.on('data', (d) => {
      buf += d.toString();
      if (buf.endsWith('\n\n')) (clearTimeout(timer), s.end(), resolve(buf));
    });
    s.on('error', (err) => (clearTimeout(timer), reject(new TfwError('ERR_TFW_UAPI', `${uapiSocket}: ${err.message}`))));
  });
  if (!/^errno=0$/m.test(answer)) throw new TfwError('ERR_TFW_UAPI', `${uapiSocket}: ${what} refused: ${answer.trim()}`);
}
