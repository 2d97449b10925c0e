// The kernels as WASI preview 1 modules (built with @assemblyscript/wasi-shim):
// every import is from wasi_snapshot_preview1, each runs under node:wasi with no
// other import, and the runtime hosts them on Node 18 (Debian bookworm's node, run
// through qemu-aarch64-static from .cache/arm64-sysroot) without a warning.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chacha20poly1305Seal } from '../../runtime/kernels/aead.js';
import { instantiateKernel, wasmDir } from '../../runtime/kernels/backend.js';
import { field, loadVectors } from '../vectors/aead-fixtures.js';
import { hex } from '../helpers.js';

/** (module, name, kind) of every import, read from the binary's import section (id 2). */
function importSection(bytes: Uint8Array): Array<{ module: string; name: string; kind: number }> {
  let pos = 8;
  const leb = (): number => {
    let v = 0;
    let shift = 0;
    let b: number;
    do {
      b = bytes[pos++];
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return v;
  };
  const name = (): string => {
    const n = leb();
    const s = Buffer.from(bytes.subarray(pos, pos + n)).toString();
    pos += n;
    return s;
  };
  assert.equal(Array.from(bytes.subarray(0, 8)), [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0], 'wasm module header');
  while (pos < bytes.length) {
    const id = bytes[pos++];
    const size = leb();
    if (id !== 2) {
      pos += size;
      continue;
    }
    const out: Array<{ module: string; name: string; kind: number }> = [];
    for (let count = leb(); count > 0; count--) {
      const module = name();
      const field = name();
      const kind = bytes[pos++];
      if (kind !== 0) throw new Error(`import ${module}.${field}: kind ${kind}, expected a function`);
      leb(); // type index
      out.push({ module, name: field, kind });
    }
    return out;
  }
  return [];
}

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = wasmDir();

/** node:wasi's WASI class, loaded after the runtime has (which drops node's one-time ExperimentalWarning). */
function wasiClass(): new (o: object) => { wasiImport: WebAssembly.ModuleImports; initialize(i: WebAssembly.Instance): void } {
  instantiateKernel('erasure', 'wasm-scalar');
  return createRequire(import.meta.url)('node:wasi').WASI;
}
const modules = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.wasm')).sort() : [];

test('every kernel module is built (both variants)', () => {
  for (const k of ['aead', 'erasure', 'forward']) {
    assert.ok(modules.includes(`${k}.wasm`) && modules.includes(`${k}-simd.wasm`), `${k}: run \`make wasm\``);
  }
});

test('every import of every kernel module is from wasi_snapshot_preview1', () => {
  for (const f of modules) {
    const bytes = new Uint8Array(readFileSync(join(dir, f)));
    const imports = importSection(bytes);
    for (const i of imports) assert.is(i.module, 'wasi_snapshot_preview1', `${f} imports ${i.module}.${i.name}`);
    // The parser agrees with the engine's own view of the module.
    const engine = WebAssembly.Module.imports(new WebAssembly.Module(bytes));
    assert.equal(imports.map((i) => `${i.module}.${i.name}`), engine.map((i) => `${i.module}.${i.name}`), f);
  }
});

test('each kernel is a WASI reactor: instantiates under node:wasi with the WASI imports alone', () => {
  const WASI = wasiClass();
  for (const f of modules) {
    const mod = new WebAssembly.Module(readFileSync(join(dir, f)));
    const names = WebAssembly.Module.exports(mod).map((e) => e.name);
    assert.ok(names.includes('_initialize') && !names.includes('_start'), `${f}: reactor exports`);
    const wasi = new WASI({ version: 'preview1', args: [], env: {}, returnOnExit: true });
    const inst = new WebAssembly.Instance(mod, { wasi_snapshot_preview1: wasi.wasiImport });
    wasi.initialize(inst);
    assert.instance(inst.exports.memory, WebAssembly.Memory, f);
  }
});

test('the AEAD module under bare node:wasi seals RFC 8439 §2.8.2 like the runtime does', () => {
  const WASI = wasiClass();
  const v = loadVectors('aead-rfc8439.json').aead[0];
  const [key, nonce, aad, pt] = [field(v, 'key'), field(v, 'nonce'), field(v, 'aad'), field(v, 'plaintext')];
  for (const f of ['aead.wasm', 'aead-simd.wasm']) {
    const wasi = new WASI({ version: 'preview1', returnOnExit: true });
    const inst = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(join(dir, f))), { wasi_snapshot_preview1: wasi.wasiImport });
    wasi.initialize(inst);
    const x = inst.exports as Record<string, (...a: number[]) => number> & { memory: WebAssembly.Memory };
    const base = x.alloc(1024);
    const mem = new Uint8Array(x.memory.buffer);
    mem.set(key, base);
    mem.set(nonce, base + 32);
    mem.set(aad, base + 64);
    mem.set(pt, base + 128);
    x.aeadSeal(base, base + 32, base + 64, aad.length, base + 128, base + 512, pt.length, base + 512 + pt.length);
    const sealed = new Uint8Array(x.memory.buffer, base + 512, pt.length + 16);
    assert.is(hex(sealed), hex(field(v, 'ciphertext')) + hex(field(v, 'tag')), f);
    assert.is(hex(sealed), hex(chacha20poly1305Seal(key, nonce, pt, aad, { backend: f.includes('simd') ? 'wasm-simd' : 'wasm-scalar' })));
  }
});

test('an abort inside a kernel reports through WASI fd_write and throws to the caller; the process lives on', () => {
  // The runtime's own host, in a child so the abort message lands in a pipe.
  const script = [
    `import { instantiateKernel } from ${JSON.stringify(join(root, 'runtime/kernels/backend.ts'))};`,
    `const x = instantiateKernel('aead', 'wasm-scalar').exports;`,
    `try { x.alloc(0xfffffff0); console.log('returned'); } catch { console.log('threw'); }`,
    `console.log(x.alloc(64) > 0 ? 'alive' : 'broken');`,
  ].join('\n');
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, 'threw\nalive\n');
  // stub runtime: allocation too large -> abort -> fd_write(2, ...) then proc_exit(255)
  assert.match(r.stderr, /^abort: Allocation too large in ~lib\/rt\/stub\.ts\(\d+:\d+\)$/m);
  assert.not.match(r.stderr, /Warning/);
});

// Node 18 (images carry Debian bookworm's node 18): the bundled runtime's kernels
// load through node:wasi there, with `version: 'preview1'`, and print no warning.
const sysroot = join(root, '.cache/arm64-sysroot');
const qemu = spawnSync('sh', ['-c', 'command -v qemu-aarch64-static'], { encoding: 'utf8' }).stdout.trim();
const bundle = join(root, 'build/js/runtime/kernels/aead.js');
test('Node 18 (arm64 under qemu-user) hosts the WASI kernels without an ExperimentalWarning', () => {
  if (!qemu || !existsSync(join(sysroot, 'usr/bin/node')) || !existsSync(bundle)) {
    console.log('  skip: needs qemu-aarch64-static, .cache/arm64-sysroot (make native-arm64-sysroot) and build/js (make runtime)');
    return;
  }
  const script = [
    `const a = await import(${JSON.stringify('file://' + bundle)});`,
    `const k = new Uint8Array(32), n = new Uint8Array(12);`,
    `for (const backend of ['wasm-scalar', 'wasm-simd']) {`,
    `  const s = a.chacha20poly1305Seal(k, n, new Uint8Array(64), undefined, { backend });`,
    `  console.log(backend, Buffer.from(s.subarray(64)).toString('hex'));`,
    `}`,
    `console.log(process.version);`,
  ].join('\n');
  const r = spawnSync(qemu, ['-L', sysroot, join(sysroot, 'usr/bin/node'), '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, TFW_WASM_DIR: dir, TFW_BACKEND: '' },
    timeout: 120_000,
  });
  assert.is(r.status, 0, r.stderr);
  assert.not.match(r.stderr, /Warning/, r.stderr);
  const expected = hex(chacha20poly1305Seal(new Uint8Array(32), new Uint8Array(12), new Uint8Array(64)).subarray(64));
  assert.match(r.stdout, new RegExp(`wasm-scalar ${expected}\\nwasm-simd ${expected}\\nv18\\.`));
});

test.run();
