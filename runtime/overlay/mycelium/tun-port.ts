/**
 * Joins a Mycelium-dialect node to a TUN device: the node's address/64 on the
 * interface, 400::/7 routed to it (as Mycelium's tun/linux.rs sets up), TUN
 * reads sent into the overlay in batches, opened packets written back.
 * Mycelium's TUN MTU is 1400 (crypto.rs PACKET_SIZE), so a sealed packet
 * (+ 4 header + 28 box + 36 data header) stays under common link MTUs.
 */
import { execFileSync } from 'node:child_process';
import { addAddress } from '../os/netlink.js';
import { openTun, type TunDevice } from '../os/tun.js';
import type { MyceliumNode } from './node.js';

export const MYCELIUM_TUN_MTU = 1400;
const BATCH = 32;

export interface TunPort {
  readonly tun: TunDevice;
  close(): void;
}

/**
 * Opens TUN `name`, configures it and wires it to `node` (sets its deliver
 * callback). Throws TunError when the TUN cannot be opened (needs
 * CAP_NET_ADMIN), Error naming the `ip` command when configuring fails.
 */
export function attachTun(node: MyceliumNode, name: string): TunPort {
  const tun = openTun(name, { mtu: MYCELIUM_TUN_MTU });
  try {
    addAddress(tun.name, `${node.addressText}/64`);
    execFileSync('ip', ['-6', 'route', 'replace', '400::/7', 'dev', tun.name], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    tun.close();
    throw err;
  }
  const bufs = Array.from({ length: BATCH }, () => new Uint8Array(MYCELIUM_TUN_MTU + 80));
  const sizes = new Int32Array(BATCH);
  const out: Uint8Array[] = [new Uint8Array(0)];
  const outSizes = new Int32Array(1);
  tun.onReadable(() => {
    const n = tun.readBatch(bufs, sizes);
    for (let i = 0; i < n; i++) if (sizes[i] > 0) node.send(bufs[i].subarray(0, sizes[i]));
  });
  node.setDeliver((p) => {
    out[0] = p;
    outSizes[0] = p.length;
    // A full queue drops the packet (the kernel would too); counted as queue-full.
    if (tun.writeBatch(out, outSizes, 1) === 0) node.counters.drop('queue-full');
  });
  return { tun, close: () => tun.close() };
}
