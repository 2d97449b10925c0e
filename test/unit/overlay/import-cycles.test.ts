/**
 * runtime/overlay/ has no import cycle, type-only imports included: each layer
 * (wireguard/, links/, babel/, os/, the device on top) imports only downwards,
 * as wireguard-go's packages must (Go refuses cycles; TypeScript does not, so
 * this test does). Imports are read as text: `import`/`export ... from` and
 * `import('...')` of a relative path, resolved to a .ts file or a folder's
 * index.ts. Run by hand to list the cycles:
 * `TFW_TEST_FILTER=import-cycles node --import tsx test/run.mjs unit`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const OVERLAY = fileURLToPath(new URL('../../../runtime/overlay/', import.meta.url));

/** Every .ts file under `dir` (relative posix path -> source text). */
function readTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.set(relative(dir, p).split('\\').join('/'), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

const IMPORT = /\b(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"](\.{1,2}\/[^'"]+)['"]|\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/** The import graph of the files in `sources`: file -> files of the same tree it imports. */
export function importGraph(sources: Map<string, string>): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const [file, text] of sources) {
    const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
    const deps = new Set<string>();
    for (const m of code.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2]!;
      const base = posix.normalize(posix.join(dirname(file), spec)).replace(/\.js$/, '');
      for (const cand of [`${base}.ts`, `${base}/index.ts`]) if (sources.has(cand)) deps.add(cand);
    }
    graph.set(file, [...deps].sort());
  }
  return graph;
}

/** The import cycles of `graph`: its strongly connected components of two or more files, or a file importing itself (Tarjan). */
export function importCycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return cycles;
}

test('the detector finds a type-only cycle across folders and a multi-line import', () => {
  const src = new Map([
    ['device.ts', "import { Peer } from './wireguard/peer.js';\nexport interface Drops { n: number }\n"],
    ['wireguard/peer.ts', "import {\n  a,\n  b,\n} from './timers.js';\n"],
    ['wireguard/timers.ts', "import type { Drops } from '../device.js';\n"],
    ['leaf.ts', "// import { x } from './device.js';\nimport { ip } from '../config/ip.js';\n"],
  ]);
  const graph = importGraph(src);
  assert.equal(graph.get('wireguard/peer.ts'), ['wireguard/timers.ts']);
  assert.equal(graph.get('leaf.ts'), [], 'comments and paths outside the tree are not edges');
  assert.equal(importCycles(graph), [['device.ts', 'wireguard/peer.ts', 'wireguard/timers.ts']]);
  src.set('wireguard/timers.ts', "import type { Drops } from '../drops.js';\n");
  assert.equal(importCycles(importGraph(src)), []);
});

test('runtime/overlay/ has no import cycle', () => {
  const sources = readTree(OVERLAY);
  assert.ok(sources.size > 20, `expected the overlay sources under ${OVERLAY}, found ${sources.size} files`);
  const cycles = importCycles(importGraph(sources));
  assert.equal(cycles.map((c) => c.join(' <-> ')), [], 'import cycles in runtime/overlay/');
});

test.run();
