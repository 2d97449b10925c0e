/**
 * Routes at scale (issue 20): kernel routes go to `ip -batch` in change sets
 * (runtime/overlay/os/kernel-routes.ts), so a node starts with 10,000 allowed IPs
 * in seconds (one `ip` per route took ~18 ms each, 3 minutes), and a mesh
 * neighbour announcing 5,000 prefixes outside 400::/7 is installed while
 * Hellos keep flowing (before: 200 prefixes stalled the node for seconds and
 * the neighbour flapped). Bounds are generous. Needs root, the native addon
 * and ping; skips otherwise.
 */
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { keygen } from '../../host-tools/commands/keygen.js';
import { nativeAvailable } from '../../runtime/kernels/native.js';
import { isRoot } from '../helpers.js';
import { NetnsPair, getStatus, have, ping, tfwRuntime, waitFor, type Proc } from './overlay-netns.js';

const missing = [!isRoot && 'root', !nativeAvailable() && 'native addon (make native)', !have('ping') && 'ping'].filter(Boolean);
if (missing.length) console.log(`  skip routes-scale: needs ${missing.join(', ')}`);

const PORT = 51820;
const waitUp = (p: Proc, ms = 60_000) => waitFor(() => p.out().includes('tfw: overlay: up ') || p.child.exitCode !== null, ms);
/** n distinct IPv4 /24s in 10.128.0.0/9 as a YAML flow list. */
const prefixes = (n: number) => `[${Array.from({ length: n }, (_, i) => `10.${128 + (i >> 8)}.${i & 255}.0/24`).join(', ')}]`;
const kernelRoutes = (ns: string, dev: string) =>
  spawnSync('ip', ['-n', ns, '-4', 'route', 'show', 'dev', dev], { encoding: 'utf8', maxBuffer: 1 << 24 }).stdout.split('\n').filter((l) => /^10\.1[2-6]\d\./.test(l)).length;

test('start-up with 10,000 allowed IPs: up within 60 s with every kernel route in place', async () => {
  if (missing.length) return;
  const pair = new NetnsPair('tfr', 45);
  try {
    const a = keygen(), b = keygen();
    const dev = `tfr${process.pid % 10000}`;
    const t0 = Date.now();
    const p = pair.track(tfwRuntime(pair.a, pair.file('a.yaml',
      `name: ${dev}\nprivateKey: ${a.privateKey}\nlistenPort: ${PORT}\naddress: [10.100.0.1/24]\npeers:\n  - publicKey: ${b.publicKey}\n    allowedIPs: ${prefixes(10_000)}\n`)));
    assert.ok(await waitUp(p), p.out());
    const ms = Date.now() - t0;
    assert.is(kernelRoutes(pair.a, dev), 10_000, p.out());
    console.log(`  10,000 allowed IPs: up in ${ms} ms (process start included)`);
  } finally {
    await pair.cleanup();
  }
});

test('a mesh neighbour announcing 5,000 prefixes: all installed, Hellos keep flowing, no flap, status answers', async () => {
  if (missing.length) return;
  const pair = new NetnsPair('tfs', 46);
  try {
    const a = keygen(), b = keygen(), plain = keygen();
    const dev = `tfs${process.pid % 10000}`;
    const N = 5000;
    const t0 = Date.now();
    // B's plain (non-Babel) peer has N allowed IPs: B announces them to A as its leaves.
    const ta = pair.track(tfwRuntime(pair.a, pair.file('a.yaml',
      `name: ${dev}\nprivateKey: ${a.privateKey}\nlistenPort: ${PORT}\nmesh: true\nmycelium: false\nstatus: ${pair.dir}/a.sock\npeers:\n  - publicKey: ${b.publicKey}\n    endpoint: ${pair.ipB}:${PORT}\n    allowedIPs: []\n`)));
    const tb = pair.track(tfwRuntime(pair.b, pair.file('b.yaml',
      `name: ${dev}\nprivateKey: ${b.privateKey}\nlistenPort: ${PORT}\nmesh: true\nmycelium: false\npeers:\n  - publicKey: ${a.publicKey}\n    endpoint: ${pair.ipA}:${PORT}\n    allowedIPs: []\n  - publicKey: ${plain.publicKey}\n    allowedIPs: ${prefixes(N)}\n`)));
    assert.ok((await waitUp(ta)) && (await waitUp(tb)), ta.out() + tb.out());
    const learned = await waitFor(() => kernelRoutes(pair.a, dev) >= N, 60_000);
    console.log(`  ${N} learned prefixes installed ${Date.now() - t0} ms after start`);
    assert.ok(learned, `A installed ${kernelRoutes(pair.a, dev)} of ${N} routes\n${ta.out().slice(-2000)}`);
    const st = await getStatus(`${pair.dir}/a.sock`);
    assert.ok(st.routes.filter((r: { via: string | null }) => r.via === b.publicKey).length >= N, `status routes: ${st.routes.length}`);
    assert.ok(ping(pair.a, b.myceliumAddress), 'ping B over the overlay');
    // Three more Hello intervals: the neighbour stays up.
    await new Promise((r) => setTimeout(r, 3000));
    assert.not.match(ta.out(), /neighbour \S+ down|unreachable/, ta.out().slice(-2000));
    assert.not.match(tb.out(), /neighbour \S+ down|unreachable/, tb.out().slice(-2000));
  } finally {
    await pair.cleanup();
  }
});

test.run();
