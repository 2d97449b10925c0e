/** Board ports and `tfw boot --nic NAME=SPEC`: one NIC per port in the board's order, each with its own netdev id and MAC; --net is --nic wan=. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { boardPorts, boardSchema, loadBoard } from '../../images/builder/schema.js';
import { nicArgs, netdevArgs } from '../../images/builder/qemu.js';
import { parseNics } from '../../host-tools/commands/boot.js';
import { runTfw } from '../helpers.js';

const x86 = loadBoard('qemu-x86_64');
const arm = loadBoard('qemu-arm64');
/** The netdev and device values of a NIC argument list, in order. */
const pairs = (args: string[]) => args.flatMap((a, i) => (args[i - 1] === '-netdev' || args[i - 1] === '-device' ? [a] : []));

test('both QEMU boards name a wan and a lan port; boards without ports have a wan only', () => {
  for (const b of [x86, arm]) assert.equal(boardPorts(b), [['wan', 'eth0'], ['lan', 'eth1']]);
  const { ports: _p, ...plain } = x86;
  assert.equal(boardPorts(boardSchema.parse(plain)), [['wan', 'eth0']]);
  const bad = (ports: unknown) => boardSchema.safeParse({ ...plain, ports }).error?.issues[0];
  assert.match(bad({ lan: 'eth1', wan: 'eth0' })!.message, /wan as the first port/);
  assert.match(bad({ wan: 'eth2' })!.message, /expected network.interface eth0/);
  assert.match(bad({ wan: 'eth0', lan: 'eth0' })!.message, /eth0 named by two ports/);
  assert.match(bad({ wan: 'eth0', LAN: 'eth1' })!.message, /port name/);
});

test('one spec: the WAN alone, as before ports (n0, user net by default)', () => {
  const a = nicArgs(x86, {}, '10.0.0.1/24');
  assert.is(pairs(a).length, 2);
  assert.match(pairs(a)[0], /^user,id=n0$/);
  assert.match(pairs(a)[1], /^virtio-net-pci,netdev=n0,mac=52:54:[0-9a-f:]{11},romfile=$/);
  assert.equal(nicArgs(x86, { net: 'none' }), ['-nic', 'none']);
  assert.equal(nicArgs(x86, { net: 'mcast:47001' }).slice(0, 2), netdevArgs('mcast:47001', 'virtio-net-pci', 'x').slice(0, 2));
});

test('two ports on taps: own ids and MACs, in the board order whatever the option order', () => {
  const a = nicArgs(arm, { nics: { lan: 'tap:tfwlan0', wan: 'tap:tfwwan0' } }, 'seed');
  const p = pairs(a);
  assert.equal(p.slice(0, 1), ['tap,id=n0,ifname=tfwwan0,script=no,downscript=no']);
  assert.is(p[2], 'tap,id=n1,ifname=tfwlan0,script=no,downscript=no');
  const macs = [p[1], p[3]].map((d) => /mac=([0-9a-f:]+)/.exec(d)![1]);
  assert.is.not(macs[0], macs[1]);
  assert.equal(nicArgs(arm, { nics: { lan: 'tap:tfwlan0', wan: 'tap:tfwwan0' } }, 'seed'), a, 'stable MACs for a seed');
  // --net is --nic wan=; the WAN keeps its pre-ports MAC for the same seed.
  assert.equal(nicArgs(arm, { net: 'tap:tfwwan0', nics: { lan: 'tap:tfwlan0' } }, 'seed'), a);
  assert.equal(pairs(nicArgs(arm, { net: 'user' }, 'seed'))[1], pairs(nicArgs(arm, {}, 'seed'))[1]);
  // A WAN left unwired before a wired LAN keeps its place (no backend), so the LAN stays eth1.
  const w = pairs(nicArgs(x86, { net: 'none', nics: { lan: 'dgram:47001:47002' } }));
  assert.match(w[0], /^virtio-net-pci,mac=/);
  assert.match(w[1], /^dgram,id=n1,.*local\.port=47001,.*remote\.port=47002$/);
});

test('bad ports and specs are refused naming the option', () => {
  assert.throws(() => nicArgs(x86, { nics: { dmz: 'user' } }), /--nic: board qemu-x86_64 has no port "dmz" \(expected one of wan, lan\)/);
  assert.throws(() => nicArgs(x86, { net: 'user', nics: { wan: 'none' } }), /--net: is --nic wan=SPEC; give one of them/);
  assert.throws(() => nicArgs(x86, { nics: { lan: 'tap:a/b' } }), /--nic lan=: expected user, none, tap:IFNAME/);
  assert.throws(() => nicArgs(x86, { nics: { lan: 'tap:tfwlan0' }, net: 'mcast:1', forward: ['8080:80'] }), /--forward: needs --net user/);
  assert.equal(parseNics(['wan=user', 'lan=tap:x']), { wan: 'user', lan: 'tap:x' });
  assert.throws(() => parseNics(['lan']), /--nic: expected NAME=SPEC like lan=tap:tfwlan0, got "lan"/);
  assert.throws(() => parseNics(['lan=user', 'lan=none']), /--nic: port lan given twice/);
});

test('tfw boot --nic: a bad option is one line naming it', async () => {
  for (const [nic, cause] of [['dmz=user', /has no port "dmz"/], ['lan', /expected NAME=SPEC/], ['lan=vde:x', /--nic lan=: expected user, none, tap:IFNAME/]] as const) {
    const r = await runTfw(['boot', '--nic', nic, '--no-build', '--dir', '/nonexistent']);
    assert.is(r.code, 1);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^tfw: boot: --/);
    assert.match(r.stderr, cause);
  }
});

test.run();
