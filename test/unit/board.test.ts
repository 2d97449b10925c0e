/** Board and role schemas: every shipped file validates; errors name file, field, expectation and value. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { kernelCmdline } from '../../images/builder/image.js';
import { boardSchema, ImageConfigError, listBoards, listRoles, loadBoard, loadRole, sizeMiB, validate } from '../../images/builder/schema.js';

const tmp = mkdtempSync(join(tmpdir(), 'tfw-board-'));
const good = loadBoard('qemu-x86_64');
/** Writes a board YAML with `patch` applied to the default board and loads it. */
function loadPatched(name: string, patch: (b: Record<string, unknown>) => void): unknown {
  const b = structuredClone(good) as unknown as Record<string, unknown>;
  patch(b);
  const path = join(tmp, `${name}.yaml`);
  writeFileSync(path, JSON.stringify(b));
  return loadBoard(path);
}
const errorOf = (fn: () => unknown): ImageConfigError => {
  try {
    fn();
  } catch (err) {
    assert.instance(err, ImageConfigError);
    return err as ImageConfigError;
  }
  throw new Error('expected an ImageConfigError');
};

test('every shipped board validates', () => {
  assert.equal(listBoards(), ['generic-arm64', 'pc-x86_64', 'qemu-arm64', 'qemu-x86_64']);
  for (const b of listBoards()) assert.is(loadBoard(b).name, b);
  assert.is(loadBoard('qemu-arm64').qemu.cpu, 'cortex-a57');
  assert.is(loadBoard('qemu-arm64').qemu.machine, 'virt');
});

test('every shipped role validates; aibox extends 3node with vfio and IOMMU flags; slice carries Podman', () => {
  assert.equal(listRoles(), ['3node', '3router', 'aibox', 'slice']);
  for (const r of listRoles()) assert.is(loadRole(r).role, r);
  for (const p of ['podman', 'crun']) assert.ok(loadRole('slice').packages.includes(p), p);
  const ai = loadRole('aibox');
  for (const m of ['tun', 'ext4', 'vfio_pci']) assert.ok(ai.modules.includes(m), m);
  for (const w of ['iommu=pt', 'intel_iommu=on']) assert.ok(ai.cmdline.includes(w), w);
  assert.equal(loadRole('3router').modules.slice(0, 3), ['tun', 'bridge', 'nf_tables'], 'the overlay, the LAN bridge and the firewall');
  assert.equal(loadRole('3router').packages, ['dnsmasq-base', 'nftables']);
});

test('aibox takes chosen files of QEMU and embeds the slice image; bad files and embeds are refused in one line', () => {
  const ai = loadRole('aibox');
  assert.equal(ai.files['qemu-system-x86'], ['/usr/bin/qemu-system-x86_64']);
  assert.ok(ai.files.seabios.includes('/usr/share/seabios/bios-256k.bin'));
  assert.equal(ai.embeds, ['slice']);
  const dir = mkdtempSync(join(tmp, 'roles-'));
  const role = (name: string, text: string) => (writeFileSync(join(dir, `${name}.yaml`), `role: ${name}\n${text}`), () => loadRole(name, dir));
  writeFileSync(join(dir, 'base.yaml'), 'role: base\nfiles:\n  seabios: [/usr/share/seabios/bios.bin]\n');
  assert.equal(role('child', 'extends: base\nfiles:\n  seabios: [/usr/share/seabios/bios-256k.bin]\n')().files, { seabios: ['/usr/share/seabios/bios.bin', '/usr/share/seabios/bios-256k.bin'] }, 'extends merges files');
  assert.match(errorOf(role('rel', 'files:\n  seabios: [share/bios.bin]\n')).message, /rel\.yaml: files\.seabios\.0: expected an absolute path like \/usr\/bin\/qemu-system-x86_64 .*, got "share\/bios\.bin"$/);
  assert.match(errorOf(role('up', 'files:\n  seabios: [/usr/../etc/shadow]\n')).message, /up\.yaml: files\.seabios\.0: expected a path without \.\., got "\/usr\/\.\.\/etc\/shadow"$/);
  assert.match(errorOf(role('pkg', 'files:\n  Seabios: [/x]\n')).message, /pkg\.yaml: files\.Seabios: expected a Debian package name/);
  assert.match(errorOf(role('emb', 'embeds: [nope]\n')).message, /emb\.yaml: embeds: expected another role \(.*base.*\), got "nope"$/);
  assert.match(errorOf(role('self', 'embeds: [self]\n')).message, /self\.yaml: embeds: expected another role/);
});

test('a bad memory size names file, field, expectation and value', () => {
  const e = errorOf(() => loadPatched('x', (b) => (b.memory = 'lots')));
  assert.is(e.message, `${join(tmp, 'x.yaml')}: memory: expected a size like 512M, got "lots"`);
  assert.is(e.field, 'memory');
  assert.is(e.code, 'ERR_TFW_CONFIG');
});

test('an unknown arch lists the accepted ones', () => {
  const e = errorOf(() => loadPatched('arch', (b) => (b.arch = 'riscv64')));
  assert.match(e.message, /arch: expected one of x86_64, arm64, got "riscv64"/);
});

test('nested fields are named by their dotted path', () => {
  const e = errorOf(() => loadPatched('cpu', (b) => ((b.qemu as Record<string, unknown>).cpu = 'Cortex A57')));
  assert.match(e.message, /qemu\.cpu: expected a QEMU CPU like cortex-a57, got "Cortex A57"/);
  const m = errorOf(() => loadPatched('mod', (b) => ((b.nic as Record<string, unknown>).modules = ['virtio net'])));
  assert.match(m.message, /nic\.modules\.0: expected a kernel module name/);
});

test('missing and unknown fields are reported', () => {
  const e = errorOf(() => loadPatched('missing', (b) => delete b.console));
  assert.match(e.message, /console: required/);
  const u = errorOf(() => loadPatched('extra', (b) => (b.colour = 'blue')));
  assert.match(u.message, /colour: unknown field/);
});

test('a kernel flavour of the other arch is refused', () => {
  const e = errorOf(() => loadPatched('flav', (b) => ((b.kernel as Record<string, unknown>).flavour = 'arm64')));
  assert.match(e.message, /kernel\.flavour: expected a amd64 flavour for arch x86_64/);
});

test('unknown boards and roles list the shipped ones', () => {
  assert.match(errorOf(() => loadBoard('nope')).message, /unknown board "nope", expected one of generic-arm64, pc-x86_64/);
  assert.match(errorOf(() => loadRole('nope')).message, /unknown role "nope", expected one of 3node, 3router, aibox/);
});

test('invalid YAML is reported with the file', () => {
  const p = join(tmp, 'broken.yaml');
  writeFileSync(p, 'arch: [x86_64\n');
  assert.match(errorOf(() => loadBoard(p)).message, /broken\.yaml: not valid YAML/);
});

test('validate() works on parsed input directly', () => {
  const e = errorOf(() => validate(boardSchema, parse('name: a\n'), 'inline.yaml'));
  assert.match(e.message, /^inline\.yaml: /);
});

test('sizes convert to MiB and the kernel command line carries console and role', () => {
  assert.is(sizeMiB('512M'), 512);
  assert.is(sizeMiB('2G'), 2048);
  const c = kernelCmdline(loadBoard('qemu-arm64'), loadRole('aibox'));
  assert.ok(c.startsWith('console=ttyAMA0 '));
  assert.match(c, / iommu=pt .*tfw\.role=aibox tfw\.board=qemu-arm64$/);
});

test.run();
