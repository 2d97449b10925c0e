// Builds the tfw:kernels WebAssembly component (wit/kernels.wit) from the core
// module of wasm/component/kernels.ts, then transpiles it to ESM with jco.
//
//   node scripts/component.mjs CORE.wasm OUT.wasm JS_DIR
//
// Steps: rename the core module's plain exports to their canonical-ABI names
// (Component Model CanonicalABI.md: `<interface>#<func>`, `cabi_post_...`,
// `cabi_realloc`); `componentEmbed` (wit-component metadata for world `kernels`);
// `componentNew` (with jco's WASI preview1 reactor adapter when the module
// imports wasi_snapshot_preview1); `transpile` to JS_DIR (imports, if any, map to
// @bytecodealliance/preview2-shim).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { componentEmbed, componentNew, componentWit, preview1AdapterReactorPath, transpile } from '@bytecodealliance/jco';

const [core, out, jsDir] = process.argv.slice(2);
if (!core || !out || !jsDir) {
  console.error('usage: node scripts/component.mjs CORE.wasm OUT.wasm JS_DIR');
  process.exit(2);
}

const AEAD = 'tfw:kernels/aead@0.1.0';
const ERASURE = 'tfw:kernels/erasure@0.1.0';
const FORWARD = 'tfw:kernels/forward@0.1.0';
/** Core export -> canonical name; every function returning a return area also gets `cabi_post_<name>` -> postReturn. */
const EXPORTS = {
  cabiRealloc: 'cabi_realloc',
  seal: `${AEAD}#seal`,
  open: `${AEAD}#open`,
  xseal: `${AEAD}#xchacha-seal`,
  xopen: `${AEAD}#xchacha-open`,
  sealBatch: `${AEAD}#seal-batch`,
  openBatch: `${AEAD}#open-batch`,
  sealPacked: `${AEAD}#seal-packed`,
  openPacked: `${AEAD}#open-packed`,
  encode: `${ERASURE}#encode`,
  reconstruct: `${ERASURE}#reconstruct`,
  verify: `${ERASURE}#verify`,
  fibCreate: `${FORWARD}#[static]fib.create`,
  fibInsert: `${FORWARD}#[method]fib.insert`,
  fibDelete: `${FORWARD}#[method]fib.delete`,
  fibLookup: `${FORWARD}#[method]fib.lookup`,
  fibLookupBatch: `${FORWARD}#[method]fib.lookup-batch`,
  fibDrop: `${FORWARD}#[dtor]fib`,
};
const NO_POST = new Set(['cabiRealloc', 'fibDrop']);

// ---- minimal wasm binary reading/writing (export and import sections) ----
function leb(bytes, pos) {
  let value = 0, shift = 0, b;
  do {
    b = bytes[pos++];
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
  } while (b & 0x80);
  return [value, pos];
}
function encLeb(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}
const utf8 = (s) => [...encLeb(Buffer.byteLength(s)), ...Buffer.from(s)];
function readName(bytes, pos) {
  const [len, p] = leb(bytes, pos);
  return [Buffer.from(bytes.subarray(p, p + len)).toString(), p + len];
}

/** [{ id, start, end, body }] for each section. */
function sections(bytes) {
  const out = [];
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos];
    const [size, p] = leb(bytes, pos + 1);
    out.push({ id, start: pos, end: p + size, body: bytes.subarray(p, p + size) });
    pos = p + size;
  }
  return out;
}

/** The export section rewritten with canonical names (plus post-return aliases). */
function renameExports(bytes) {
  const secs = sections(bytes);
  const exp = secs.find((s) => s.id === 7);
  const entries = [];
  let [count, pos] = leb(exp.body, 0);
  for (let i = 0; i < count; i++) {
    let name;
    [name, pos] = readName(exp.body, pos);
    const kind = exp.body[pos++];
    let index;
    [index, pos] = leb(exp.body, pos);
    entries.push({ name, kind, index });
  }
  const post = entries.find((e) => e.name === 'postReturn');
  const renamed = [];
  for (const e of entries) {
    if (e.name === 'postReturn') continue;
    if (e.kind === 0 && e.name in EXPORTS) {
      renamed.push({ ...e, name: EXPORTS[e.name] });
      if (!NO_POST.has(e.name)) renamed.push({ name: `cabi_post_${EXPORTS[e.name]}`, kind: 0, index: post.index });
    } else {
      renamed.push(e);
    }
  }
  const missing = Object.keys(EXPORTS).filter((n) => !entries.some((e) => e.name === n));
  if (missing.length) throw new Error(`tfw: component: core module lacks exports ${missing.join(', ')}`);
  const body = [...encLeb(renamed.length)];
  for (const e of renamed) body.push(...utf8(e.name), e.kind, ...encLeb(e.index));
  const section = [7, ...encLeb(body.length), ...body];
  return new Uint8Array([...bytes.subarray(0, exp.start), ...section, ...bytes.subarray(exp.end)]);
}

function importModules(bytes) {
  const imp = sections(bytes).find((s) => s.id === 2);
  if (!imp) return [];
  const mods = [];
  let [count, pos] = leb(imp.body, 0);
  for (let i = 0; i < count; i++) {
    let mod;
    [mod, pos] = readName(imp.body, pos);
    [, pos] = readName(imp.body, pos);
    const kind = imp.body[pos++];
    if (kind === 0) [, pos] = leb(imp.body, pos);
    else throw new Error(`tfw: component: unexpected import kind ${kind}`);
    mods.push(mod);
  }
  return mods;
}

const root = join(dirname(new URL(import.meta.url).pathname), '..');
const witSource = readFileSync(join(root, 'wit/kernels.wit'), 'utf8');
const binary = renameExports(new Uint8Array(readFileSync(core)));
const embedded = await componentEmbed({ binary, witSource, world: 'kernels' });
const adapters = importModules(binary).includes('wasi_snapshot_preview1')
  ? [['wasi_snapshot_preview1', new Uint8Array(readFileSync(preview1AdapterReactorPath()))]]
  : [];
const component = await componentNew(embedded, adapters);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, component);
await componentWit(component); // fails loudly if the component does not decode

const { files } = await transpile(component, { name: 'tfw-kernels', instantiation: undefined, quiet: true });
rmSync(jsDir, { recursive: true, force: true });
for (const [name, data] of Object.entries(files)) {
  const file = join(jsDir, name);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, data);
}
console.log(`tfw: component: ${out} (${component.length} bytes), ${Object.keys(files).length} files in ${jsDir}`);
