/**
 * The gateway bench row's reader (bench/gateway.bench.ts): iperf3's JSON,
 * from a real iperf3 on loopback when Debian's iperf3 is installed, its
 * error document, and the row's Mbit/s and ratio. No timing is asserted.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gatewayRow, parseIperfTcp } from '../../bench/gateway.bench.js';
import { have } from '../integration/overlay-netns.js';

test('a real iperf3 TCP run on loopback reads as received bits per second', async () => {
  if (!have('iperf3')) return console.log('  skip: needs iperf3');
  const port = String(20000 + (process.pid % 20000));
  const server = spawn('iperf3', ['-s', '-1', '-p', port], { stdio: 'ignore' });
  try {
    let r = spawnSync('true', { encoding: 'utf8' });
    // The server needs a moment to listen; a refused connect is retried a few times.
    for (let i = 0; i < 20; i++) {
      r = spawnSync('iperf3', ['-c', '127.0.0.1', '-p', port, '-t', '1', '-J', '--connect-timeout', '1000'], { encoding: 'utf8', timeout: 20_000 });
      if (!String(r.stdout).includes('Connection refused')) break;
      spawnSync('sleep', ['0.2']);
    }
    const res = parseIperfTcp(String(r.stdout));
    const doc = JSON.parse(String(r.stdout));
    assert.is(res.bitsPerSec, doc.end.sum_received.bits_per_second);
    assert.ok(res.bitsPerSec > 0);
    assert.ok(res.seconds > 0.5 && res.seconds < 5, String(res.seconds));
  } finally {
    server.kill();
  }
});

test('iperf3\'s error document, truncated output and a missing sum each name the problem', () => {
  const refused = '{"start":{"connected":[],"version":"iperf 3.12"},"intervals":[],"end":{},"error":"unable to connect to server: Connection refused"}';
  assert.throws(() => parseIperfTcp(refused), /^iperf3: unable to connect to server: Connection refused$/);
  assert.throws(() => parseIperfTcp(''), /expected JSON output \(-J\)/);
  assert.throws(() => parseIperfTcp('{"end":{}}'), /expected end\.sum_received\.bits_per_second/);
  assert.equal(parseIperfTcp('{"end":{"sum_received":{"seconds":10,"bits_per_second":4.2e7},"sum_sent":{"retransmits":3}}}'), { bitsPerSec: 4.2e7, retransmits: 3, seconds: 10 });
});

test('the row: both paths in Mbit/s and tfw / plain; no ratio without both figures', () => {
  const t = { bitsPerSec: 60e6, seconds: 10 };
  const p = { bitsPerSec: 240e6, seconds: 10 };
  assert.equal(gatewayRow(t, p), { tfwMbps: 60, plainMbps: 240, ratio: 0.25 });
  assert.equal(gatewayRow(null, p), { tfwMbps: null, plainMbps: 240, ratio: null });
  assert.equal(gatewayRow(t, { bitsPerSec: 0, seconds: 10 }).ratio, null);
});

test('the plain router is an init branch on tfw.plainrouter=1 that never starts the runtime', () => {
  const init = readFileSync(new URL('../../runtime/init/init.sh', import.meta.url), 'utf8');
  const at = init.indexOf('if [ "$PLAINROUTER" = 1 ]');
  assert.ok(init.includes('tfw.plainrouter=1) PLAINROUTER=1'));
  assert.ok(at > init.indexOf('udhcpc -i') && at < init.indexOf('# --- runtime supervision'), 'after the WAN is up, before the runtime');
  const block = init.slice(at, init.indexOf('\nfi\n', at));
  assert.match(block, /ip_forward=1/);
  assert.match(block, /masquerade/);
  assert.match(block, /log "plainrouter: /, "the line the bench waits for: tfw: init: plainrouter: ...");
  // The ruleset the init writes, for WAN eth0, passes nft's own check.
  const printf = block.split('\n').find((l) => l.trim().startsWith("printf 'table ip tfwplain"))!.replace(/>\s*\/run\/tfw\/plain\.nft\s*$/, '');
  const ruleset = spawnSync('sh', ['-c', `NET_INTERFACE=eth0; ${printf}`], { encoding: 'utf8' }).stdout;
  assert.match(ruleset, /oifname "eth0" masquerade/);
  if (!have('nft')) return console.log('  skip: nft -c needs nftables');
  const c = spawnSync('nft', ['-c', '-f', '-'], { input: ruleset, encoding: 'utf8' });
  assert.is(c.status, 0, c.stderr);
});

test.run();
