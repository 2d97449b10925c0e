/**
 * Runs the `mycelium:` config section: a MyceliumNode on the node's key,
 * its TUN (tun-port.ts) and local discovery. `tfw runtime` calls
 * `startMycelium` at start-up and `stop` on exit, which logs the counters.
 * When the WireGuard overlay runs too, the node joins its TUN instead of
 * opening one (`join`, overlay/index.ts `joinMycelium`): one TUN, one address;
 * with `overWireGuard` (the default) it also links to each WireGuard peer
 * through its tunnel.
 */
import type { MyceliumConfig } from '../../config/mycelium.js';
import { startDiscovery } from './discovery.js';
import { formatTcpEndpoint } from './endpoint.js';
import { MyceliumNode } from './node.js';
import { attachTun } from './tun-port.js';

export interface MyceliumService {
  node: MyceliumNode;
  stop(): void;
}

/** Another stack's TUN to share (overlay/index.ts `Overlay`): its name and the join that returns the undo. */
export interface SharedTun {
  readonly name: string;
  joinMycelium(node: MyceliumNode, opts?: { overWireGuard?: boolean }): () => void;
}

/**
 * Starts the node on its own TUN `cfg.tun`, or on `shared` when given (then
 * `cfg.tun` is not opened). Throws TunError when the TUN cannot be opened, and
 * the listen error (EADDRINUSE, ...) when a listener cannot bind.
 */
export async function startMycelium(cfg: MyceliumConfig, privateKey: Uint8Array, log: (m: string) => void, shared?: SharedTun): Promise<MyceliumService> {
  const node = new MyceliumNode({ privateKey, listen: cfg.listen, peers: cfg.peers, log: (l) => log(l.replace(/^tfw: mycelium: /, '')) });
  const port = shared ? { tun: { name: shared.name }, close: shared.joinMycelium(node, { overWireGuard: cfg.overWireGuard }) } : attachTun(node, cfg.tun);
  try {
    await node.start();
  } catch (err) {
    node.stop();
    port.close();
    throw err;
  }
  log(`tun ${port.tun.name} listen ${cfg.listen.map(formatTcpEndpoint).join(' ')} peers ${cfg.peers.length}`);
  const stopDiscovery = cfg.discovery
    ? startDiscovery({ tcpPort: cfg.listen[0]?.port ?? 9651, routerId: node.routerId, found: (host, p) => (log(`discovered tcp://[${host}]:${p}`), node.addPeer({ host, port: p }, true)), log })
    : () => {};
  return {
    node,
    stop: () => {
      stopDiscovery();
      node.stop();
      port.close();
      log(`counters ${JSON.stringify(node.counters)}`);
    },
  };
}

/**
 * A runtime's `mycelium:` section (runtime/main.ts in images, `tfw runtime`
 * on hosts): starts the node with the runtime's private key (base64), on
 * `shared` when the WireGuard overlay runs. A node that cannot start (TUN,
 * listener) is one line, `not started: <why>`, and the runtime goes on
 * without it. Never throws.
 * @returns the service, or undefined when it did not start
 */
export async function startMyceliumSection(cfg: MyceliumConfig, privateKeyB64: string, log: (m: string) => void, shared?: SharedTun): Promise<MyceliumService | undefined> {
  try {
    return await startMycelium(cfg, new Uint8Array(Buffer.from(privateKeyB64, 'base64')), log, shared);
  } catch (err) {
    log(`not started: ${(err as Error).message}`);
    return undefined;
  }
}
