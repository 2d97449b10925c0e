/**
 * A flashed AIBox starts a slice with what its image carries (issue 17): the
 * stock aibox image (its own init and runtime), flashed with `tfw flash` and
 * booted through UEFI with its data partition, two vCPUs (the planner keeps
 * the first core for the host) and 3 GiB (the planner keeps 2 GiB), the
 * device API forwarded to the host. From outside, as its owner: set the
 * password, sign in, create a 0-GPU slice, start it, and read its serial
 * console through the API until the slice kernel (the carried image, booted
 * by the carried qemu-system-x86_64, TCG inside TCG) prints its first lines;
 * then stop and delete it, QEMU gone. The slice is not waited on to be ready:
 * a TCG-in-TCG boot takes far longer than its kernel's first lines.
 * Needs root (apt-get download, QEMU) and the flash tools (make sysdeps).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EMBEDDED_FILES } from '../../images/builder/image.js';
import { loadBoard } from '../../images/builder/schema.js';
import { freeTcpPort, isRoot, runTfw } from '../helpers.js';
import { diskToolsMissing, Guest } from './guest.js';
import { builtImage } from './images.js';

const missing = isRoot ? diskToolsMissing() : [];
const skip = !isRoot || missing.length > 0;
if (!isRoot) console.log('  tfw: test: slice-aibox needs root (apt-get download, QEMU): skipped');
else if (missing.length) console.log(`  tfw: test: slice-aibox skipped, missing (make sysdeps installs them): ${missing.join('; ')}`);

const tmp = mkdtempSync(join(tmpdir(), 'tfw-slice-aibox-'));

test('the aibox image carries the slice image of this run, recorded in its manifest', () => {
  if (skip) return;
  const slice = builtImage('qemu-x86_64', 'slice');
  const { manifest } = builtImage('qemu-x86_64', 'aibox');
  assert.is(builtImage('qemu-x86_64', 'slice'), slice, 'one slice build per run');
  const e = manifest.embedded.find((x) => x.role === 'slice');
  assert.ok(e, JSON.stringify(manifest.embedded));
  assert.is(e!.path, '/usr/lib/tfw/slice');
  for (const f of EMBEDDED_FILES) assert.is(e!.files.find((x) => x.path === f)?.sha256, slice.manifest.outputs.find((o) => o.path === f)?.sha256, f);
  assert.ok(manifest.inputs.packages.some((p) => p.name === 'qemu-system-x86'));
});

test('a flashed AIBox starts a slice through its API: the carried QEMU boots the carried slice kernel; stop and delete end it', async () => {
  if (skip) return;
  const { outDir } = builtImage('qemu-x86_64', 'aibox');
  const disk = join(tmp, 'aibox.img');
  const f = await runTfw(['flash', '--dir', outDir, '-o', disk]);
  assert.is(f.code, 0, f.stderr.slice(-2000));
  const port = await freeTcpPort();
  const url = `http://127.0.0.1:${port}`;
  let token = '';
  const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, any>; text: string }> => {
    const r = await fetch(`${url}${path}`, {
      method,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await r.text();
    let json: Record<string, any> = {};
    try {
      json = JSON.parse(text);
    } catch {
      /* text/plain */
    }
    return { status: r.status, json, text };
  };
  const g = new Guest('slice-aibox', { board: { ...loadBoard('qemu-x86_64'), memory: '3072M' }, smp: 2, dir: '', disk, forward: [`${port}:80`], timeout: 600 });
  const t0 = Date.now();
  try {
    await g.waitFor(/^tfw: ready aibox x86_64 /, 300);
    const bootS = (Date.now() - t0) / 1000;
    assert.ok(g.grep(/^tfw: init: data: .* mounted on \/data/).length === 1, 'the data partition holds the slices');

    assert.is((await api('POST', '/v1/password', { password: 'aibox password' })).status, 200);
    token = (await api('POST', '/v1/login', { password: 'aibox password' })).json.token;
    assert.ok(token, 'signed in');

    const c = await api('POST', '/v1/slices', { name: 'vm0', gpus: 0, vcpus: 1, memory: '512M', disk: '64M' });
    assert.is(c.status, 201, c.text);
    const t1 = Date.now();
    const s = await api('POST', '/v1/slices/vm0/start');
    assert.is(s.status, 200, s.text);
    assert.is(s.json.running, true);
    const listed = (await api('GET', '/v1/slices')).json.slices;
    assert.equal(listed.map((x: { name: string; running: boolean }) => [x.name, x.running]), [['vm0', true]]);
    assert.ok(g.grep(/^tfw: slice: started vm0: pid \d+, tcg, host cpus 1/).length === 1, g.lines.slice(-20).join('\n'));

    // The inner VM's serial console, through the API, until its kernel's first lines (bounded).
    let text = '';
    for (const end = Date.now() + 300_000; Date.now() < end; await new Promise((r) => setTimeout(r, 3000))) {
      text = (await api('GET', '/v1/slices/vm0/console')).text;
      if (/Kernel command line: .*tfw\.slice=vm0/.test(text)) break;
    }
    const kernelS = (Date.now() - t1) / 1000;
    assert.match(text, /Linux version 6\.1\.\d+-\d+-amd64/, `no kernel line on the slice console:\n${text.slice(-2000)}\n--- aibox ---\n${g.lines.slice(-20).join('\n')}`);
    // The carried image's own command line (tfw.role=slice), with the manager's words.
    assert.match(text, /Kernel command line: console=ttyS0 .*tfw\.role=slice tfw\.board=qemu-x86_64 .*tfw\.slice=vm0/);
    assert.is((await api('GET', '/v1/slices/nope/console')).status, 404);
    console.log(`  aibox boot to ready ${bootS.toFixed(0)} s; slice start to its kernel's command line ${kernelS.toFixed(0)} s (TCG in TCG)`);

    const from = g.mark();
    const st = await api('POST', '/v1/slices/vm0/stop', { timeout: 5 });
    assert.is(st.status, 200, st.text);
    await g.waitFor(/^tfw: slice: stopped vm0: /, 30, from);
    assert.equal((await api('GET', '/v1/slices')).json.slices.map((x: { running: boolean }) => x.running), [false], 'QEMU is gone');
    assert.is((await api('DELETE', '/v1/slices/vm0')).status, 200);
    assert.equal((await api('GET', '/v1/slices')).json.slices, []);
    await g.waitFor(/^tfw: slice: deleted vm0$/, 30, from);
  } finally {
    await g.kill();
    rmSync(tmp, { recursive: true, force: true });
  }
});

test.run();
