/** `tfw slice` on fixture trees: the CLI contract of issue 17 item 5 (--sysfs, --state, --dry-run, one-line refusals, inventory --json). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { main } from '../../../host-tools/cli.js';
import { runTfw } from '../../helpers.js';
import { audioGpuServer, eightGpuServer, writeSysfs } from './sysfs-fixture.js';

const fx = writeSysfs(audioGpuServer());
const big = writeSysfs(eightGpuServer());
const state = mkdtempSync(join(tmpdir(), 'tfw-slices-cli-'));
const at = (root: string) => ['--sysfs', root, '--state', state, '--accel', 'tcg'];

/**
 * Runs the CLI in this process (a child Node with tsx costs seconds per call
 * on a loaded host), capturing stdout and stderr; the last test runs one real
 * child to check the exit status end to end.
 */
async function tfw(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((c: string | Uint8Array) => ((stdout += c.toString()), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string | Uint8Array) => ((stderr += c.toString()), true)) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

test.after(() => {
  fx.cleanup();
  big.cleanup();
  rmSync(state, { recursive: true, force: true });
});

test('inventory --json lists gpus (address, vendor, device, iommuGroup, functions), cpus and memory', async () => {
  const r = await tfw(['slice', 'inventory', '--json', ...at(fx.root)]);
  assert.is(r.code, 0, r.stderr);
  const inv = JSON.parse(r.stdout);
  assert.equal(Object.keys(inv).sort(), ['cpus', 'gpus', 'memory', 'numaNodes']);
  const g = inv.gpus[0];
  assert.equal({ address: g.address, vendor: g.vendor, device: g.device, iommuGroup: g.iommuGroup, functions: g.functions }, {
    address: '0000:65:00.0', vendor: '0x10de', device: '0x2684', iommuGroup: 12, functions: ['0000:65:00.0', '0000:65:00.1'],
  });
  assert.is(inv.cpus.length, 16);
  assert.is(inv.memory.totalMiB, 65536);
  const text = await tfw(['slice', 'inventory', ...at(fx.root)]);
  assert.match(text.stdout, /^gpu 0000:65:00\.0 10de:2684 class 0x030000 iommu group 12 node 0 driver nvidia functions 0000:65:00\.0,0000:65:00\.1$/m);
});

test('create --dry-run prints the QEMU command line and stores nothing; create stores; a second GPU slice is refused in one line', async () => {
  const dry = await tfw(['slice', 'create', 'desk', '--gpus', '1', '--vcpus', '2', '--memory', '4G', '--disk', '1G', '--dry-run', ...at(fx.root)]);
  assert.is(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /^taskset -c 1,9 qemu-system-x86_64 .* -device vfio-pci,host=0000:65:00\.0,bus=gpu0,addr=0x0\.0,multifunction=on -device vfio-pci,host=0000:65:00\.1,bus=gpu0,addr=0x0\.1\n$/);
  assert.not.ok(existsSync(join(state, 'slices.json')));

  const made = await tfw(['slice', 'create', 'desk', '--gpus', '1', '--vcpus', '2', '--memory', '4G', '--disk', '1G', ...at(fx.root)]);
  assert.is(made.code, 0, made.stderr);
  assert.match(made.stderr, /^tfw: slice: created desk: gpus 0000:65:00\.0, vcpus 2 on host cpus 1,9, memory 4G, disk 1G\n$/);

  const no = await tfw(['slice', 'create', 'other', '--gpus', '1', '--vcpus', '2', '--memory', '4G', ...at(fx.root)]);
  assert.is(no.code, 1);
  assert.is(no.stdout, '');
  assert.is(no.stderr, 'tfw: slice: gpus: 1 asked, 0 free (1 GPUs, in use by "desk")\n');

  const bad = await tfw(['slice', 'create', 'x', '--gpus', 'two', '--vcpus', '2', '--memory', '4G', ...at(fx.root)]);
  assert.is(bad.stderr, 'tfw: slice: --gpus: expected a whole number, got "two"\n');
  const badSize = await tfw(['slice', 'create', 'x', '--gpus', '0', '--vcpus', '2', '--memory', 'lots', ...at(fx.root)]);
  assert.is(badSize.stderr, 'tfw: slice: --memory: expected a size like 512M or 16G, got "lots"\n');
});

test('list --json shows the slice and usage; start --dry-run prints its line; delete forgets it; unknown names are one line', async () => {
  const l = await tfw(['slice', 'list', '--json', ...at(fx.root)]);
  assert.is(l.code, 0, l.stderr);
  const j = JSON.parse(l.stdout);
  assert.equal(j.slices.map((s: { name: string; running: boolean; gpus: string[] }) => [s.name, s.running, s.gpus]), [['desk', false, ['0000:65:00.0']]]);
  assert.equal(j.usage.gpus, { total: 1, used: 1, free: 0 });
  assert.is(j.usage.memory.usedMiB, 4096);

  const s = await tfw(['slice', 'start', 'desk', '--dry-run', ...at(fx.root)]);
  assert.is(s.code, 0, s.stderr);
  assert.match(s.stdout, /^taskset -c 1,9 qemu-system-x86_64 -name slice-desk,debug-threads=on /);
  // --run: the archive goes to the VM as fw_cfg opt/tfw/run.tar, by absolute path; a missing one is one line.
  const tar = join(state, 'app.tar');
  writeFileSync(tar, 'oci');
  const withRun = await tfw(['slice', 'start', 'desk', '--dry-run', '--run', relative(process.cwd(), tar), ...at(fx.root)]);
  assert.is(withRun.code, 0, withRun.stderr);
  assert.ok(withRun.stdout.includes(` -fw_cfg name=opt/tfw/run.tar,file=${tar}`), withRun.stdout);
  const noTar = await tfw(['slice', 'start', 'desk', '--dry-run', '--run', join(state, 'none.tar'), ...at(fx.root)]);
  assert.equal([noTar.code, noTar.stderr], [1, `tfw: slice: run: ${join(state, 'none.tar')} does not exist; expected an OCI image archive (podman save / docker save format)\n`]);

  const missing = await tfw(['slice', 'start', 'nope', ...at(fx.root)]);
  assert.is(missing.stderr, 'tfw: slice: slice "nope" does not exist (slices: desk)\n');
  assert.is(missing.code, 1);

  const d = await tfw(['slice', 'delete', 'desk', ...at(fx.root)]);
  assert.is(d.code, 0, d.stderr);
  assert.is((await tfw(['slice', 'list', ...at(fx.root)])).stdout, 'no slices\n');
});

test('a 9th slice on the 8-GPU server is refused; --gpu-vendors narrows discovery; a non-sysfs root is one line', async () => {
  const st = mkdtempSync(join(tmpdir(), 'tfw-slices-cli-'));
  try {
    const args = ['--sysfs', big.root, '--state', st, '--accel', 'tcg'];
    for (let i = 0; i < 8; i++) {
      const r = await tfw(['slice', 'create', `s${i}`, '--gpus', '1', '--vcpus', '2', '--memory', '8G', '--disk', '64M', ...args]);
      assert.is(r.code, 0, r.stderr);
    }
    const ninth = await runTfw(['slice', 'create', 's8', '--gpus', '0', '--vcpus', '1', '--memory', '1G', '--disk', '64M', ...args]);
    assert.is(ninth.code, 1);
    assert.is(ninth.stderr, 'tfw: slice: slices: 8 of 8 exist (s0, s1, s2, s3, s4, s5, s6, s7); delete one first\n');
    const amdOnly = JSON.parse((await tfw(['slice', 'inventory', '--json', '--gpu-vendors', '0x1002', ...args])).stdout);
    assert.equal(amdOnly.gpus, []);
    const notSys = await tfw(['slice', 'inventory', '--sysfs', st, '--state', st]);
    assert.is(notSys.code, 1);
    assert.match(notSys.stderr, /^tfw: slice: .*: missing; expected [^\n]*\n$/);
  } finally {
    rmSync(st, { recursive: true, force: true });
  }
});

test.run();
