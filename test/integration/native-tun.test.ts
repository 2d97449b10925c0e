/**
 * TUN device (runtime/overlay/os/tun.ts over native/src/tun.c, io.c, poll.c) in a
 * network namespace created for this test (`ip netns add tfwtest-<pid>`,
 * deleted afterwards). The checks run in a child process started with
 * `ip netns exec NS node --import tsx <this file>` (TFW_NATIVE_TUN_CHILD=1),
 * which prints one JSON line of results; the parent asserts on them.
 *
 * Kernel -> TUN: a UDP datagram sent to an address routed via the TUN is read
 * with readBatch (IPv4 header and payload checked). TUN -> kernel: a crafted
 * IPv4/UDP packet written with writeBatch arrives on a node:dgram socket; a
 * malformed packet in the same batch is refused with -EINVAL and skipped.
 * Batched UDP routed through the TUN: a GSO run comes out as separate
 * datagrams; a run above the MTU falls back to plain sends (fragmented).
 * Needs root; skips with a message otherwise or without the addon.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nativeAvailable, nativeLoadError } from '../../runtime/kernels/native.js';
import { bindUdp, EndpointBatch } from '../../runtime/overlay/links/conn.js';
import { openTun, TunError } from '../../runtime/overlay/os/tun.js';
import { isRoot } from '../helpers.js';

/** RFC 791 header checksum (RFC 1071 one's-complement sum). */
function ipChecksum(b: Uint8Array, off: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i += 2) s += (b[off + i] << 8) | b[off + i + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** An IPv4/UDP packet (UDP checksum 0 = none, allowed for IPv4 by RFC 768). */
function udp4(src: number[], dst: number[], sport: number, dport: number, payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(28 + payload.length);
  const dv = new DataView(p.buffer);
  p[0] = 0x45;
  dv.setUint16(2, p.length);
  dv.setUint16(4, 0x1234);
  p[8] = 64;
  p[9] = 17;
  p.set(src, 12);
  p.set(dst, 16);
  dv.setUint16(10, ipChecksum(p, 0, 20));
  dv.setUint16(20, sport);
  dv.setUint16(22, dport);
  dv.setUint16(24, 8 + payload.length);
  p.set(payload, 28);
  return p;
}

async function child(): Promise<void> {
  const out: Record<string, unknown> = {};
  const tun = openTun('tfwt0', { mtu: 1400 });
  try {
    out.name = tun.name;
    out.mtu = tun.mtu;
    execFileSync('ip', ['addr', 'add', '10.77.0.1/24', 'dev', tun.name]);
    const N = 16;
    const bufs = Array.from({ length: N }, () => new Uint8Array(2048));
    const sizes = new Int32Array(N);

    // Kernel -> TUN.
    const sender = createSocket('udp4');
    const payload = Buffer.from('tfw tun read test');
    const seen = await new Promise<number[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no packet from the TUN within 5 s')), 5000);
      tun.onReadable(() => {
        const n = tun.readBatch(bufs, sizes);
        for (let i = 0; i < n; i++) {
          const p = bufs[i];
          if (p[0] >> 4 === 4 && p[9] === 17 && ((p[22] << 8) | p[23]) === 9999) {
            clearTimeout(timer);
            tun.onReadable(null);
            resolve([n, sizes[i], ...p.subarray(16, 20), ipChecksum(p, 0, 20), ...p.subarray(28, sizes[i])]);
            return;
          }
        }
      });
      sender.send(payload, 9999, '10.77.0.2');
    });
    sender.close();
    out.read = { count: seen[0], size: seen[1], dst: seen.slice(2, 6), checksum: seen[6], payload: Buffer.from(seen.slice(7)).toString() };

    // TUN -> kernel, with a malformed packet first in the batch.
    const rx = createSocket('udp4');
    await new Promise<void>((res) => rx.bind(7777, '10.77.0.1', () => res()));
    const got = new Promise<[string, string, number]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('crafted packet not delivered within 5 s')), 5000);
      rx.once('message', (m, ri) => {
        clearTimeout(timer);
        resolve([m.toString(), ri.address, ri.port]);
      });
    });
    const good = udp4([10, 77, 0, 2], [10, 77, 0, 1], 5555, 7777, new TextEncoder().encode('tfw tun write test'));
    bufs[0].fill(0xff, 0, 40); // version nibble 15: not IPv4 or IPv6
    bufs[1].set(good);
    const wsizes = new Int32Array([40, good.length]);
    out.written = tun.writeBatch(bufs, wsizes, 2);
    out.refused = wsizes[0];
    out.write = await got;
    rx.close();

    // Batched UDP through the TUN: a GSO run within the MTU is cut into datagrams;
    // a run above the MTU (1400) makes the kernel refuse GSO (EINVAL), and the
    // datagrams go one by one, fragmented.
    const udp = bindUdp({ port: 0, host: '10.77.0.1' });
    const eps = new EndpointBatch(8);
    const sbufs: Uint8Array[] = [];
    const ssizes = new Int32Array(8);
    for (let i = 0; i < 8; i++) {
      const big = i >= 5;
      eps.items[i].parse(big ? '10.77.0.2:4445' : '10.77.0.2:4444');
      ssizes[i] = big ? 1450 : 1000;
      sbufs.push(new Uint8Array(ssizes[i]).fill(i + 1));
    }
    out.udpSent = udp.sendBatch(sbufs, ssizes, eps, 8);
    out.udpSizes = [...ssizes];
    const small: number[][] = [];
    const firstFrags = new Set<number>();
    let bigBytes = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`TUN saw ${small.length}/5 datagrams and ${bigBytes} fragment bytes`)), 5000);
      const drain = () => {
        const n = tun.readBatch(bufs, sizes);
        for (let i = 0; i < n; i++) {
          const p = bufs[i];
          if (p[0] >> 4 !== 4 || p[9] !== 17 || p[16] !== 10 || p[19] !== 2) continue;
          const frag = ((p[6] << 8) | p[7]) & 0x3fff;
          const first = (frag & 0x1fff) === 0;
          if (first && ((p[22] << 8) | p[23]) === 4444) small.push([sizes[i], ((p[24] << 8) | p[25]) - 8, p[28], p[sizes[i] - 1], ipChecksum(p, 0, 20)]);
          else if (frag !== 0 || ((p[22] << 8) | p[23]) === 4445) {
            if (first) firstFrags.add((p[4] << 8) | p[5]);
            bigBytes += sizes[i] - 20;
          }
        }
        if (small.length >= 5 && bigBytes >= 3 * 1458) {
          clearTimeout(timer);
          tun.onReadable(null);
          resolve();
        }
      };
      tun.onReadable(drain);
    });
    udp.close();
    out.gso = { small, firstFrags: firstFrags.size, bigBytes };

    // Multi-queue: two queues of one device; a single-queue open of it is refused.
    const q1 = openTun('tfwmq0', { multiQueue: true });
    const q2 = openTun('tfwmq0', { multiQueue: true });
    out.mq = [q1.name, q2.name, q1.fd !== q2.fd];
    try {
      openTun('tfwmq0');
      out.mqSingle = 'opened';
    } catch (e) {
      out.mqSingle = `${(e as TunError).code} ${(e as TunError).errnoName}`;
    }
    q1.close();
    q2.close();

    out.closedThrows = (() => {
      tun.close();
      try {
        tun.readBatch(bufs, sizes);
        return false;
      } catch (e) {
        return e instanceof TunError;
      }
    })();
  } finally {
    tun.close();
  }
  process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
}

if (process.env.TFW_NATIVE_TUN_CHILD === '1') {
  await child();
} else {
  const ns = `tfwtest-${process.pid}`;
  const skip = !isRoot ? 'not root' : !nativeAvailable() ? nativeLoadError() : '';
  if (skip) console.log(`tfw: test: native-tun skipped: ${skip}`);
  const maybe = skip ? test.skip : test;

  test.before(() => {
    if (skip) return;
    execFileSync('ip', ['netns', 'add', ns]);
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  });
  test.after(() => {
    if (!skip) spawnSync('ip', ['netns', 'del', ns]);
  });

  maybe('TUN in a namespace: kernel -> readBatch and writeBatch -> kernel', () => {
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url)], {
      env: { ...process.env, TFW_NATIVE_TUN_CHILD: '1' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    assert.ok(line, `child produced no result: status ${r.status}\n${r.stderr}`);
    const res = JSON.parse(line!.slice(7));
    assert.is(res.name, 'tfwt0');
    assert.is(res.mtu, 1400);
    assert.equal(res.read.dst, [10, 77, 0, 2]);
    assert.is(res.read.checksum, 0, 'IPv4 header checksum verifies');
    assert.is(res.read.payload, 'tfw tun read test');
    assert.is(res.read.size, 28 + 'tfw tun read test'.length);
    assert.is(res.written, 2);
    assert.is(res.refused, -22, 'malformed packet refused with -EINVAL');
    assert.equal(res.write, ['tfw tun write test', '10.77.0.2', 5555]);
    assert.ok(res.closedThrows);
    assert.equal(res.mq, ['tfwmq0', 'tfwmq0', true]);
    assert.is(res.mqSingle, 'ERR_TFW_TUN EINVAL');
    assert.is(res.udpSent, 8);
    assert.equal(res.udpSizes, [1000, 1000, 1000, 1000, 1000, 1450, 1450, 1450], 'no datagram refused');
    assert.equal(res.gso.small, [1, 2, 3, 4, 5].map((v) => [1028, 1000, v, v, 0]), 'GSO run cut into five 1000-byte datagrams');
    assert.is(res.gso.firstFrags, 3, 'three oversize datagrams, each fragmented');
    assert.is(res.gso.bigBytes, 3 * 1458, 'all fragment bytes arrived');
  });

  maybe('the TUN is gone from the namespace after close', () => {
    const links = execFileSync('ip', ['-n', ns, '-o', 'link'], { encoding: 'utf8' });
    assert.not.match(links, /tfwt0/);
  });

  maybe('without CAP_NET_ADMIN openTun fails with ERR_TFW_TUN naming the capability', () => {
    const script = `import('${fileURLToPath(new URL('../../runtime/overlay/os/tun.ts', import.meta.url))}').then((m) => {
      try { m.openTun('tfwnocap0'); console.log('RESULT opened'); }
      catch (e) { console.log('RESULT ' + JSON.stringify({ code: e.code, errnoName: e.errnoName, message: e.message })); }
    })`;
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', process.execPath, '--import', 'tsx', '-e', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (!line && /setpriv|ENOENT/.test(String(r.error ?? ''))) return console.log('tfw: test: native-tun: setpriv missing, capability check skipped');
    assert.ok(line, `no result: ${r.stderr}`);
    const res = JSON.parse(line!.slice(7));
    assert.is(res.code, 'ERR_TFW_TUN');
    assert.ok(['EPERM', 'EACCES'].includes(res.errnoName), res.errnoName);
    assert.match(res.message, /^(open \/dev\/net\/tun|TUNSETIFF tfwnocap0): E(PERM|ACCES) .*\(needs CAP_NET_ADMIN\)$/);
  });

  test('openTun refuses bad names and MTUs before touching the kernel', () => {
    assert.throws(() => openTun('a-very-long-interface-name'), (e: TunError) => e.code === 'ERR_TFW_TUN' && /name: expected an interface name of 1\.\.15 bytes/.test(e.message));
    assert.throws(() => openTun('tfw0', { mtu: 20 }), /mtu: expected an integer 68\.\.65535 \(bytes\), got 20/);
  });

  test.run();
}
