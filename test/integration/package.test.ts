/**
 * The npm package as a new user gets it (issue 19, item 1): `npm pack` of the
 * checkout, installed offline into an empty project (consumer-lock.ts explains
 * why with a lockfile), then: `import('tfw/aead')` gives the same bytes as
 * node:crypto on both the wasm and the native backend (so build/wasm and the
 * prebuild are inside), `npx tfw keygen` runs with tsx removed from the
 * project (the compiled CLI) and agrees with node:crypto's X25519, `npx tfw
 * --help` lists the commands, caches and outputs resolve outside
 * node_modules, and a strict TypeScript consumer (noUncheckedIndexedAccess,
 * exactOptionalPropertyTypes, skipLibCheck false) of tfw/aead, tfw/erasure and
 * tfw/storage compiles with the repository's tsc against the emitted .d.ts.
 * Needs the build outputs (`make all`: dist, wasm, runtime, console, native).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createCipheriv, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { consumerProject } from './consumer-lock.js';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string>; files: string[] };
const tmp = mkdtempSync(join(tmpdir(), 'tfw-pack-'));
const project = join(tmp, 'consumer');
let packed: string[] = [];

/** Runs argv (bounded: 180 s), throws with its output when it exits non-zero. */
function run(argv: string[], cwd: string, env: Record<string, string> = {}, input?: string): string {
  const r: SpawnSyncReturns<string> = spawnSync(argv[0]!, argv.slice(1), { cwd, input, encoding: 'utf8', timeout: 180_000, env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status ?? r.signal}: ${r.stderr}${r.stdout}`.slice(0, 4000));
  return r.stdout;
}
const npx = (args: string[], env: Record<string, string> = {}, input?: string) => run(['npx', '--no-install', 'tfw', ...args], project, env, input);

test.before(() => {
  const missing = ['build/dist/.stamp', 'build/wasm/aead.wasm', 'build/runtime/tfw-runtime.mjs', 'build/console/index.html'].filter((f) => !existsSync(join(ROOT, f)));
  if (missing.length) throw new Error(`package: ${missing.join(', ')} missing; expected \`make all\` first`);
  const out = JSON.parse(run(['npm', 'pack', '--json', '--pack-destination', tmp], ROOT)) as Array<{ filename: string; files: Array<{ path: string }> }>;
  packed = out[0]!.files.map((f) => f.path);
  mkdirSync(project);
  const tarball = join(project, out[0]!.filename);
  writeFileSync(tarball, readFileSync(join(tmp, out[0]!.filename)));
  const p = consumerProject(join(ROOT, 'package-lock.json'), pkg, tarball, ['@types/node']);
  writeFileSync(join(project, 'package.json'), p.packageJson);
  writeFileSync(join(project, 'package-lock.json'), p.lockJson);
  run(['npm', 'ci', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], project);
  // The installed CLI must not need tsx: take it away (it stays a dependency for the checkout's bench runner).
  rmSync(join(project, 'node_modules/tsx'), { recursive: true, force: true });
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('the tarball holds the compiled code, declarations, wasm, both prebuilds and the image inputs, and no sources', () => {
  for (const f of [
    'package.json',
    'README.md',
    'host-tools/bin/tfw.mjs',
    'build/dist/host-tools/cli.js',
    'build/dist/runtime/kernels/aead.js',
    'build/dist/runtime/kernels/aead.d.ts',
    'build/dist/runtime/storage/index.d.ts',
    'build/wasm/aead.wasm',
    'build/wasm/erasure-simd.wasm',
    'build/runtime/tfw-runtime.mjs',
    'build/console/assets/console.js',
    'prebuilds/linux-x64/tfw.napi.node',
    'prebuilds/linux-arm64/tfw.napi.node',
    'board-configs/qemu-x86_64.yaml',
    'images/3router.yaml',
    'images/packages.lock.json',
    'runtime/init/init.sh',
  ]) {
    assert.ok(packed.includes(f), `${f} is not in the tarball`);
  }
  const sources = packed.filter((f) => /\.tsx?$/.test(f) && !f.endsWith('.d.ts'));
  assert.equal(sources, [], 'TypeScript sources in the tarball');
  assert.equal(packed.filter((f) => /^(test|node_modules|\.cache|wasm|native)\//.test(f)), []);
  const manifest = JSON.parse(readFileSync(join(project, 'node_modules/tfw/package.json'), 'utf8')) as { private?: boolean; engines: { node: string } };
  assert.is(manifest.private, undefined);
  assert.is(manifest.engines.node, '>=18');
});

test("import('tfw/aead') seals like node:crypto on the wasm and the native backend", () => {
  const key = randomBytes(32), nonce = randomBytes(12), aad = randomBytes(7), msg = randomBytes(1000);
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 }).setAAD(aad, { plaintextLength: msg.length });
  const expect = Buffer.concat([c.update(msg), c.final(), c.getAuthTag()]).toString('hex');
  const script = `
    const { chacha20poly1305Seal, chacha20poly1305Open } = await import('tfw/aead');
    const { ReedSolomon } = await import('tfw/erasure');
    const h = (s) => new Uint8Array(Buffer.from(s, 'hex'));
    const out = {};
    for (const backend of ['wasm', 'native']) {
      const sealed = chacha20poly1305Seal(h('${key.toString('hex')}'), h('${nonce.toString('hex')}'), h('${msg.toString('hex')}'), h('${aad.toString('hex')}'), { backend });
      const opened = chacha20poly1305Open(h('${key.toString('hex')}'), h('${nonce.toString('hex')}'), sealed, h('${aad.toString('hex')}'), { backend });
      out[backend] = [Buffer.from(sealed).toString('hex'), Buffer.from(opened).toString('hex')];
    }
    const rs = new ReedSolomon(4, 2);
    const shards = rs.split(h('${msg.toString('hex')}'));
    rs.encode(shards);
    shards[0] = null; shards[5] = null;
    rs.reconstruct(shards);
    out.erasure = Buffer.from(rs.join(shards, ${msg.length})).toString('hex');
    console.log(JSON.stringify(out));`;
  const out = JSON.parse(run([process.execPath, '--input-type=module', '-e', script], project)) as Record<string, string[] | string>;
  for (const backend of ['wasm', 'native']) {
    assert.is(out[backend]![0], expect, `${backend} seal`);
    assert.is(out[backend]![1], msg.toString('hex'), `${backend} open`);
  }
  assert.is(out.erasure, msg.toString('hex'), 'erasure split/encode/reconstruct/join');
});

test('npx tfw keygen runs compiled (no tsx installed) and agrees with X25519 of node:crypto', () => {
  assert.not.ok(existsSync(join(project, 'node_modules/tsx')));
  const priv = npx(['keygen']).trim();
  assert.match(priv, /^[A-Za-z0-9+/]{43}=$/);
  const pub = npx(['keygen', '--public'], {}, `${priv}\n`).trim();
  // PKCS#8 wrapping of a raw X25519 private key (RFC 8410 section 7).
  const der = Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), Buffer.from(priv, 'base64')]);
  const x = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({ format: 'jwk' }).x!;
  assert.is(pub, Buffer.from(x, 'base64url').toString('base64'));
});

test('npx tfw --help lists every command; a failure is one line', () => {
  const help = npx(['--help']);
  for (const c of ['build', 'boot', 'runtime', 'pxe', 'flash', 'release', 'upgrade', 'bench', 'keygen', 'slice', 'store', 'show']) assert.match(help, new RegExp(`^  ${c}\\b`, 'm'), c);
  const r = spawnSync('npx', ['--no-install', 'tfw', 'bench', 'aead'], { cwd: project, encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 1);
  assert.match(r.stderr, /^tfw: bench: name: host benchmarks run from a source checkout.*\n$/);
});

test('installed: tfw build reads the boards and roles inside the package', () => {
  for (const [flag, value, known] of [['--board', 'nosuch', /expected one of .*qemu-x86_64/], ['--role', 'nosuch', /expected one of .*3router/]] as const) {
    const args = ['--no-install', 'tfw', 'build', ...(flag === '--role' ? ['--board', 'qemu-x86_64'] : []), flag, value];
    const r = spawnSync('npx', args, { cwd: project, encoding: 'utf8', timeout: 60_000 });
    assert.is(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^tfw: build: ${flag}: unknown ${flag.slice(2)} "nosuch", ${known.source}.*\n$`));
  }
});

test('installed: caches go to XDG_CACHE_HOME/tfw and outputs to ./build, never into node_modules', () => {
  const work = join(tmp, 'work');
  mkdirSync(work);
  const script = `
    const p = await import('${join(project, 'node_modules/tfw/build/dist/images/builder/paths.js')}');
    const s = await import('${join(project, 'node_modules/tfw/build/dist/images/builder/schema.js')}');
    console.log(JSON.stringify({ root: p.repoRoot, checkout: p.isCheckout(), debs: p.debCacheDir(), extract: p.extractCacheDir(), image: p.imageDir('qemu-x86_64', '3router'), lock: p.lockPath(), boards: s.listBoards(), roles: s.listRoles() }));`;
  const childEnv: Record<string, string | undefined> = { ...process.env, XDG_CACHE_HOME: join(tmp, 'xdg') };
  for (const k of ['TFW_DEB_CACHE', 'TFW_EXTRACT_CACHE', 'TFW_CACHE_DIR', 'TFW_PACKAGES_LOCK']) delete childEnv[k];
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: work, encoding: 'utf8', env: childEnv as NodeJS.ProcessEnv, timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as Record<string, string | boolean | string[]>;
  assert.is(got.root, join(project, 'node_modules/tfw'));
  assert.is(got.checkout, false);
  assert.is(got.debs, join(tmp, 'xdg/tfw/debs'));
  assert.is(got.extract, join(tmp, 'xdg/tfw/extract'));
  assert.is(got.image, join(work, 'build/images/qemu-x86_64-3router'));
  assert.is(got.lock, join(project, 'node_modules/tfw/images/packages.lock.json'));
  assert.ok((got.boards as string[]).includes('qemu-x86_64'), String(got.boards));
  assert.ok((got.roles as string[]).includes('3router'), String(got.roles));
});

test('a strict TypeScript consumer of tfw/aead, tfw/erasure and tfw/storage compiles against the .d.ts', () => {
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, skipLibCheck: false, noEmit: true, types: ['node'] },
      include: ['consumer.ts'],
    }),
  );
  writeFileSync(
    join(project, 'consumer.ts'),
    [
      "import { chacha20poly1305Open, chacha20poly1305Seal, xchacha20poly1305Seal } from 'tfw/aead';",
      "import { ReedSolomon, type Shards } from 'tfw/erasure';",
      "import { ObjectStore, startShardServer, type StoreConfig } from 'tfw/storage';",
      'const key = new Uint8Array(32);',
      'const sealed: Uint8Array = chacha20poly1305Seal(key, new Uint8Array(12), new Uint8Array(4), { backend: "wasm" });',
      'chacha20poly1305Open(key, new Uint8Array(12), sealed);',
      'xchacha20poly1305Seal(key, new Uint8Array(24), new Uint8Array(4));',
      'const rs = new ReedSolomon(4, 2);',
      'const shards: Shards = rs.split(new Uint8Array(100));',
      'rs.encode(shards);',
      'export const used: [typeof ObjectStore, typeof startShardServer, StoreConfig | undefined] = [ObjectStore, startShardServer, undefined];',
      '// @ts-expect-error a key is bytes: fails to compile if the declarations were `any`',
      'chacha20poly1305Seal("key", new Uint8Array(12), new Uint8Array(4));',
      '',
    ].join('\n'),
  );
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', project], { cwd: project, encoding: 'utf8', timeout: 180_000 });
  assert.is(r.status, 0, `tsc: ${r.stdout}${r.stderr}`);
});

test.run();
