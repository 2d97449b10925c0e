/**
 * Strict configs everywhere and secrets hidden in every output: an unknown key
 * in any section (top level, peers, lan/wan/firewall, board YAML, role YAML) is
 * refused naming the key with the closest known key of that section; secret
 * values (privateKey, presharedKey, passwords) never appear in error messages,
 * in `tfw runtime --check` or in redact()'s output.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';
import { keygen } from '../../host-tools/commands/keygen.js';
import { loadBoard, loadRole } from '../../images/builder/schema.js';
import { validateOverlayConfig, validateSlicesConfig } from '../../runtime/config/index.js';
import { HIDDEN, redact } from '../../runtime/config/redact.js';
import { validateGatewayConfig } from '../../runtime/gateway/config.js';
import { repoRoot } from '../../images/builder/paths.js';
import { runMain, throwsField } from '../helpers.js';

const A = keygen(), B = keygen(), PSK = keygen().privateKey;
const base = { privateKey: A.privateKey };
const work = mkdtempSync(join(tmpdir(), 'tfw-strict-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

/** The message of the error `fn` throws. */
function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
}

test('peers: an unknown field is named with the closest peer field, and the peer\'s secrets are not echoed', () => {
  const peer = { publicKey: B.publicKey, presharedKey: PSK, allowed_ips: ['10.0.0.2/32'] };
  throwsField(() => validateOverlayConfig({ ...base, peers: [peer] }), 'peers.0.allowed_ips', /^peers\.0\.allowed_ips: unknown field; did you mean allowedIPs\? \(expected one of publicKey, endpoint, allowedIPs, persistentKeepalive, presharedKey\)$/);
  throwsField(() => validateOverlayConfig({ ...base, peers: [{ publicKey: B.publicKey, presharedkey: PSK }] }), 'peers.0.presharedkey', /did you mean presharedKey\?/);
  throwsField(() => validateOverlayConfig({ ...base, peers: [{ publicKey: B.publicKey, keepalive: 25 }] }), 'peers.0.keepalive', /unknown field \(expected one of/);
  for (const bad of [{ ...base, peers: [peer] }, { ...base, peers: [{ publicKey: B.publicKey, presharedKey: PSK, endpoint: 'nope' }] }]) {
    const m = messageOf(() => validateOverlayConfig(bad));
    assert.not.ok(m.includes(PSK) || m.includes(A.privateKey), m);
  }
});

test('a malformed secret is shown as (hidden), other values as they are', () => {
  const almost = `${A.privateKey.slice(0, 40)}xx=`;
  throwsField(() => validateOverlayConfig({ privateKey: almost }), 'privateKey', /^privateKey: expected base64 of 32 bytes .* \(got \(hidden\)\)$/);
  throwsField(() => validateOverlayConfig({ ...base, peers: [{ publicKey: B.publicKey, presharedKey: almost }] }), 'peers.0.presharedKey', /\(got \(hidden\)\)$/);
  throwsField(() => validateOverlayConfig({ ...base, peers: [{ publicKey: 'not-a-key' }] }), 'peers.0.publicKey', /\(got "not-a-key"\)$/);
});

test('lan, wan and firewall: unknown fields get their own section\'s suggestion', () => {
  throwsField(() => validateGatewayConfig({ lan: { adress: '10.0.0.1/24' } }), 'lan.adress', /did you mean address\?/);
  throwsField(() => validateGatewayConfig({ wan: { methd: 'dhcp' } }), 'wan.methd', /did you mean method\?/);
  throwsField(() => validateGatewayConfig({ lan: { address: '10.0.0.1/24', dhcp: { strat: '10.0.0.10' } } }), 'lan.dhcp.strat', /did you mean start\?/);
  const fw = messageOf(() => validateGatewayConfig({ firewall: { zzz: 1 } }));
  assert.match(fw, /^firewall\.zzz: unknown field \(expected one of /);
});

test('slices: the AIBox\'s bridge address is checked (IPv4, /8 to /28, clear of the VMs\' .2-.9), unknown fields get a suggestion', () => {
  assert.equal(validateSlicesConfig(undefined), { bridge: '10.254.0.1/24', accel: 'auto' });
  assert.equal(validateSlicesConfig({ bridge: '172.16.9.17/28', accel: 'tcg' }), { bridge: '172.16.9.17/28', accel: 'tcg' });
  assert.is(validateOverlayConfig({ ...base, slices: { bridge: '10.254.0.1/24' } }).privateKey, A.privateKey);
  throwsField(() => validateOverlayConfig({ ...base, slices: { brigde: '10.254.0.1/24' } }), 'slices.brigde', /^slices\.brigde: unknown field; did you mean bridge\? \(expected one of bridge, accel\)$/);
  throwsField(() => validateOverlayConfig({ ...base, slice: { bridge: '10.254.0.1/24' } }), 'slice', /did you mean slices\?/);
  throwsField(() => validateSlicesConfig({ bridge: 'fd00::1/64' }), 'slices.bridge', /expected an IPv4 address with prefix length.*\(got "fd00::1\/64"\)$/);
  throwsField(() => validateSlicesConfig({ bridge: '10.254.0.1/29' }), 'slices.bridge', /prefix from \/8 to \/28/);
  throwsField(() => validateSlicesConfig({ bridge: '10.254.0.5/24' }), 'slices.bridge', /outside \.2-\.9 of the link/);
  throwsField(() => validateSlicesConfig({ bridge: '10.254.0.0/24' }), 'slices.bridge', /network address/);
  throwsField(() => validateSlicesConfig({ bridge: '10.254.0.255/24' }), 'slices.bridge', /broadcast address/);
  throwsField(() => validateSlicesConfig('10.254.0.1/24'), 'slices', /expected a mapping/);
  throwsField(() => validateSlicesConfig({ accel: 'hvf' }), 'slices.accel', /auto.*kvm.*tcg.*\(got "hvf"\)$/);
});

test('board and role YAML: an unknown key is refused with a suggestion from the same section', () => {
  const board = parse(readFileSync(join(repoRoot, 'board-configs/qemu-x86_64.yaml'), 'utf8'));
  board.consol = board.console;
  delete board.console;
  const bf = join(work, 'typo.yaml');
  writeFileSync(bf, stringify(board));
  // A missing console is reported first or the typo is; either names the typo's fix.
  const m = messageOf(() => loadBoard(bf));
  assert.match(m, /consol(e)?: (unknown field; did you mean console\?|required)/);
  delete board.consol;
  board.console = parse(readFileSync(join(repoRoot, 'board-configs/qemu-x86_64.yaml'), 'utf8')).console;
  board.nic.modles = [];
  writeFileSync(bf, stringify(board));
  assert.match(messageOf(() => loadBoard(bf)), /nic\.modles: unknown field; did you mean modules\?/);
  const roles = join(work, 'roles');
  cpSync(join(repoRoot, 'images'), roles, { recursive: true, filter: (s) => !s.includes('/builder') });
  const role = parse(readFileSync(join(roles, '3node.yaml'), 'utf8'));
  role.packges = [];
  writeFileSync(join(roles, '3node.yaml'), stringify(role));
  assert.match(messageOf(() => loadRole('3node', roles)), /3node\.yaml: packges: unknown field; did you mean packages\?/);
});

test('redact hides every secret field at any depth and keeps the rest', () => {
  const cfg = { privateKey: 'a', peers: [{ publicKey: 'p', presharedKey: 's' }], backends: [{ address: 'x', password: 'pw' }], status: null };
  assert.equal(redact(cfg), { privateKey: HIDDEN, peers: [{ publicKey: 'p', presharedKey: HIDDEN }], backends: [{ address: 'x', password: HIDDEN }], status: null });
  assert.is(cfg.peers[0].presharedKey, 's', 'the input is not changed');
});

test('tfw runtime --check prints the config with privateKey and presharedKey hidden', async () => {
  const f = join(work, 'node.yaml');
  writeFileSync(f, stringify({ privateKey: A.privateKey, peers: [{ publicKey: B.publicKey, presharedKey: PSK, allowedIPs: ['10.0.0.2/32'] }] }));
  const r = await runMain(['runtime', '--config', f, '--check']);
  assert.is(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.is(out.privateKey, HIDDEN);
  assert.is(out.peers[0].presharedKey, HIDDEN);
  assert.is(out.peers[0].publicKey, B.publicKey);
  assert.not.ok(r.stdout.includes(PSK) || r.stdout.includes(A.privateKey));
  // A failing check names the typo, one line, no secret.
  writeFileSync(f, stringify({ privateKey: A.privateKey, listen_port: 1, peers: [{ publicKey: B.publicKey, presharedKey: PSK }] }));
  const bad = await runMain(['runtime', '--config', f, '--check']);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /^tfw: runtime: listen_port: unknown top-level field; did you mean listenPort\?[^\n]*\n$/);
});

test.run();
