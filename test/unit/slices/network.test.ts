/**
 * The slices on the AIBox's overlay (runtime/slices/network.ts): link
 * addresses per slot, the VM's overlay config (decoded with the runtime's own
 * schema), the VM's key read from its console, and admission over a UAPI
 * socket: the runtime's real one (api/uapi.ts) on a stand-in overlay.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'cbor-x';
import { validateImageOverlayConfig } from '../../../runtime/config/index.js';
import { overlaySubnet } from '../../../runtime/overlay/address.js';
import { generatePrivateKey, publicKeyFromPrivate, toBase64 } from '../../../runtime/overlay/wireguard/keys.js';
import { admitSlicePeer, sliceGuestConfig, sliceLinkAddress, slicePublicKey } from '../../../runtime/slices/network.js';
import { SliceManager } from '../../../runtime/slices/manager.js';
import { writeSysfs } from './sysfs-fixture.js';

const key = () => toBase64(publicKeyFromPrivate(generatePrivateKey()));

test('slot N gets host N+2 of the gateway\'s network; a non-IPv4 or too narrow gateway is refused naming the field', () => {
  assert.equal(sliceLinkAddress({ address: '10.254.0.1/24' }, 0), { address: '10.254.0.2/24', gateway: '10.254.0.1' });
  assert.equal(sliceLinkAddress({ address: '172.16.8.129/25' }, 7), { address: '172.16.8.137/25', gateway: '172.16.8.129' });
  assert.throws(() => sliceLinkAddress({ address: 'fd00::1/64' }, 0), /gateway\.address: .*"fd00::1\/64"/);
  assert.throws(() => sliceLinkAddress({ address: '10.0.0.1/30' }, 0), /gateway\.address/);
});

test('the VM\'s config has no key of its own and one peer, the AIBox node, carrying 400::/7; the runtime\'s schema takes it', () => {
  const pub = key();
  const cfg = decode(Buffer.from(sliceGuestConfig({ address: '10.254.0.1/24', publicKey: pub, listenPort: 51999 })));
  assert.is(cfg.privateKey, undefined);
  const v = validateImageOverlayConfig(cfg);
  assert.is(v.peers.length, 1);
  assert.is(v.peers[0].publicKey, pub);
  assert.is(v.peers[0].endpoint, '10.254.0.1:51999');
  assert.equal(v.peers[0].allowedIPs, ['400::/7']);
  assert.is(v.peers[0].persistentKeepalive, 5);
});

test('the VM\'s key is the last identity line of its console', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tfw-slice-net-'));
  try {
    const [a, b] = [key(), key()];
    const log = join(dir, 'console.log');
    assert.is(slicePublicKey(log), undefined);
    writeFileSync(log, `tfw: init: booting\ntfw: identity: created ${a}\ntfw: ready slice x86_64 0.1.0\n`);
    assert.is(slicePublicKey(log), a);
    writeFileSync(log, `tfw: identity: created ${a}\n...reboot...\ntfw: identity: loaded ${b}\n`);
    assert.is(slicePublicKey(log), b);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('admission sends one UAPI set with the VM\'s key in hex and its /64; a refusal is an error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tfw-slice-net-'));
  const seen: string[] = [];
  let answer = 'errno=0\n\n';
  const sock = join(dir, 'tfw0.sock');
  const srv = createServer((c) => {
    let buf = '';
    c.on('data', (d) => {
      buf += d;
      if (buf.endsWith('\n\n')) (seen.push(buf), c.write(answer));
    });
  });
  await new Promise<void>((r) => srv.listen(sock, r));
  try {
    const pub = key();
    const subnet = await admitSlicePeer(sock, pub);
    assert.is(subnet, overlaySubnet(new Uint8Array(Buffer.from(pub, 'base64'))));
    assert.is(seen[0], `set=1\npublic_key=${Buffer.from(pub, 'base64').toString('hex')}\nreplace_allowed_ips=true\nallowed_ip=${subnet}\n\n`);
    await admitSlicePeer(sock, pub, '10.254.0.2:51820');
    assert.is(seen[1], `set=1\npublic_key=${Buffer.from(pub, 'base64').toString('hex')}\nendpoint=10.254.0.2:51820\nreplace_allowed_ips=true\nallowed_ip=${subnet}\n\n`);
    answer = 'errno=-22\n\n';
    await admitSlicePeer(sock, pub).then(() => assert.unreachable('refused set accepted'), (e: Error) => assert.match(e.message, /refused: errno=-22/));
  } finally {
    srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('with a gateway, the manager\'s command carries the link words and the fw_cfg files; admit needs the UAPI socket', async () => {
  const fx = writeSysfs({ sockets: 1, coresPerSocket: 4, threadsPerCore: 1, memoryPerNodeMiB: 8192, pci: [{ address: '0000:00:03.0', vendor: 0x1af4, device: 0x1000, class: 0x020000, group: 1, driver: 'e1000e' }] });
  const state = mkdtempSync(join(tmpdir(), 'tfw-slices-'));
  try {
    const m = new SliceManager({ sysfs: fx.root, stateDir: state, accel: 'tcg', log: () => {}, gateway: { address: '10.254.0.1/24', publicKey: key() } });
    m.create({ name: 'a', gpus: 0, vcpus: 1, memoryMiB: 512 });
    const { slice } = m.create({ name: 'b', gpus: 0, vcpus: 1, memoryMiB: 512 });
    const argv = m.command(slice, '/tmp/x.tar');
    const append = argv[argv.indexOf('-append') + 1];
    assert.match(append, /(^| )tfw\.slice=b tfw\.ip=10\.254\.0\.3\/24 tfw\.gw=10\.254\.0\.1$/);
    const fw = argv.flatMap((a, i) => (a === '-fw_cfg' ? [argv[i + 1]] : []));
    assert.equal(fw, [`name=opt/tfw/config.cbor,file=${join(state, 'b/config.cbor')}`, 'name=opt/tfw/run.tar,file=/tmp/x.tar']);
    await m.admit('b').then(() => assert.unreachable('admitted without a socket'), (e: Error) => assert.match(e.message, /no gateway\.uapiSocket/));
    const plain = new SliceManager({ sysfs: fx.root, stateDir: state, accel: 'tcg', log: () => {} });
    assert.not.ok(plain.command(slice).includes('-fw_cfg'));
  } finally {
    fx.cleanup();
    rmSync(state, { recursive: true, force: true });
  }
});

test.run();
