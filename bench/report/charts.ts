/**
 * The report's charts: Vega-Lite specs built from a run (bench/kernels/result.ts)
 * and rendered to SVG strings in Node by Vega's headless View (renderer 'none',
 * `toSVG()`: no canvas, no browser). One chart per question:
 *   throughput-<kernel>  figure per implementation and case, one panel per target
 *   ratio-<kernel>       the same as a ratio to the in-machine peer (log scale, 1 = peer)
 *   forward-fib-size     lookups/s against FIB size, IPv4 and IPv6
 *   erasure-shapes       encode throughput over shard size, one panel per (k,m) and target
 * Sources: Vega-Lite (Satyanarayan et al., IEEE TVCG 2017), vega View API
 * (`view.toSVG()`, vega.github.io/vega/docs/api/view/#view_toSVG).
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { ratioToPeer, type BenchResult, type BenchRun, type KernelName } from '../kernels/result.js';

export interface Chart {
  /** File-safe id: 'throughput-aead', 'ratio-erasure', ... */
  name: string;
  title: string;
  /** What the reader should take from it (one sentence under the chart). */
  caption: string;
  spec: vl.TopLevelSpec;
}

/** Row of the charts' data: one result of one target. */
interface Row {
  target: string;
  arch: string;
  impl: string;
  kind: 'tfw' | 'peer';
  case: string;
  order: number;
  value: number;
  ratio: number | null;
  [param: string]: string | number | null;
}

const UNIT: Record<KernelName, { scale: number; label: string }> = {
  aead: { scale: 1e-6, label: 'MB/s (plaintext)' },
  erasure: { scale: 1e-6, label: 'MB/s (data shards)' },
  forward: { scale: 1e-6, label: 'M lookups/s' },
};

/** Sort key of a case within its kernel (size, then shard count, then table size). */
function caseOrder(r: BenchResult): number {
  const p = r.params;
  if (r.kernel === 'aead') return Number(p.size);
  if (r.kernel === 'erasure') return Number(p.k) * 1e4 + Number(p.m) * 1e3 + Math.log2(Number(p.size));
  return (p.family === 'ipv6' ? 1e9 : 0) + Number(p.routes);
}

function rows(run: BenchRun, kernel: KernelName): Row[] {
  const out: Row[] = [];
  for (const t of run.targets) {
    for (const r of t.results.filter((x) => x.kernel === kernel)) {
      out.push({
        target: t.label,
        arch: t.machine?.arch ?? '?',
        impl: r.impl,
        kind: r.backend ? 'tfw' : 'peer',
        case: r.case,
        order: caseOrder(r),
        value: r.best * UNIT[kernel].scale,
        ratio: ratioToPeer(r, t.results),
        ...r.params,
      });
    }
  }
  return out;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/**
 * One colour per implementation, the same in every chart of every report:
 * blues for wasm, warm colours for the native kernels, greys/browns for peers.
 */
export function colorFor(impl: string): string {
  const fixed: Record<string, string> = {
    'tfw wasm-simd': '#4c78a8',
    'tfw wasm-scalar': '#72b7b2',
    'tfw native': '#f58518',
    'tfw native (avx512)': '#e45756',
    'tfw native (avx2)': '#f58518',
    'tfw native (neon)': '#54a24b',
    'tfw native (portable)': '#eeca3b',
    'node:crypto': '#b279a2',
  };
  return fixed[impl] ?? (impl.startsWith('tfw') ? '#ff9da6' : '#9d755d');
}

/** The colour scale for the implementations in `data`. */
function colors(data: Row[]): { domain: string[]; range: string[] } {
  const domain = [...new Set(data.map((d) => d.impl))];
  return { domain, range: domain.map(colorFor) };
}

/**
 * Dot plot: one row per implementation (tfw backends first), the figure on a
 * log x axis, one panel per case (rows) and target (columns). Dots rather than
 * bars: on a log scale a bar's length means nothing.
 */
function dots(kernel: KernelName, data: Row[], field: 'value' | 'ratio', xTitle: string, targets: string[]): vl.TopLevelSpec {
  const impls = [...new Set([...data].sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'tfw' ? -1 : 1)).map((d) => d.impl))];
  const cases = [...new Map([...data].sort((a, b) => a.order - b.order).map((d) => [d.case, d.case])).keys()];
  return {
    $schema: SCHEMA,
    data: { values: field === 'ratio' ? data.filter((d) => d.ratio !== null) : data },
    facet: {
      row: { field: 'case', type: 'nominal', title: null, sort: cases, header: { labelAngle: 0, labelAlign: 'left', labelFontWeight: 'bold' } },
      column: { field: 'target', type: 'nominal', title: null, sort: targets, header: { labelFontSize: 13, labelFontWeight: 'bold' } },
    },
    spec: {
      width: 200,
      height: { step: 16 },
      layer: [
        {
          mark: { type: 'point', filled: true, size: 90, tooltip: true },
          encoding: {
            y: { field: 'impl', type: 'nominal', title: null, sort: impls, axis: { labelLimit: 200 } },
            x: { field, type: 'quantitative', title: xTitle, scale: { type: 'log' }, axis: { grid: true } },
            color: { field: 'impl', type: 'nominal', legend: null, scale: colors(data) },
            shape: { field: 'kind', type: 'nominal', title: 'kind', scale: { domain: ['tfw', 'peer'], range: ['circle', 'square'] } },
          },
        },
        ...(field === 'ratio' ? [{ mark: { type: 'rule' as const, color: '#666', strokeDash: [4, 3] }, encoding: { x: { datum: 1 } } }] : []),
      ],
    },
    resolve: { scale: { y: 'independent' } },
    config: { view: { stroke: '#ddd' } },
  } as vl.TopLevelSpec;
}

/** The charts a run supports (kernels without results are left out). */
export function chartsFor(run: BenchRun): Chart[] {
  const charts: Chart[] = [];
  const targets = run.targets.map((t) => t.label);
  const peerName: Record<KernelName, string> = { aead: 'node:crypto', erasure: 'the JS product-table baseline', forward: 'the JS binary trie' };
  for (const kernel of ['aead', 'erasure', 'forward'] as KernelName[]) {
    const data = rows(run, kernel);
    if (data.length === 0) continue;
    const unit = UNIT[kernel].label;
    charts.push({
      name: `throughput-${kernel}`,
      title: `${kernel}: throughput per implementation and case`,
      caption: `Best of the timed rounds, ${unit}, log scale. Compare dots inside one panel only: under TCG a panel measures QEMU's emulation of that CPU.`,
      spec: dots(kernel, data, 'value', unit, targets),
    });
    charts.push({
      name: `ratio-${kernel}`,
      title: `${kernel}: ratio to ${peerName[kernel]}, per arch and backend`,
      caption: `Each implementation's figure divided by ${peerName[kernel]} measured in the same machine and run (dashed line = 1): the figure to compare across targets, with the TCG caveat above.`,
      spec: dots(kernel, data, 'ratio', `x ${peerName[kernel]} (log)`, targets),
    });
  }
  const fwd = rows(run, 'forward');
  if (fwd.length) {
    charts.push({
      name: 'forward-fib-size',
      title: 'forward: lookup rate against FIB size',
      caption: 'Random destinations inside the table, batch lookups; IPv4 DIR-24-8 and IPv6 Poptrie against the JS binary trie.',
      spec: {
        $schema: SCHEMA,
        data: { values: fwd },
        facet: { column: { field: 'target', type: 'nominal', title: null, sort: targets, header: { labelFontSize: 13, labelFontWeight: 'bold' } } },
        spec: {
          width: 260,
          height: 220,
          mark: { type: 'line', point: true, tooltip: true },
          encoding: {
            x: { field: 'routes', type: 'quantitative', title: 'routes in the FIB', scale: { type: 'log' } },
            y: { field: 'value', type: 'quantitative', title: 'M lookups/s', scale: { type: 'log' } },
            color: { field: 'impl', type: 'nominal', title: 'implementation', scale: colors(fwd), legend: { orient: 'bottom', columns: 4 } },
            strokeDash: { field: 'family', type: 'nominal', title: 'family', legend: { symbolType: 'stroke', symbolStrokeColor: '#444', symbolStrokeWidth: 2 } },
            detail: { field: 'family' },
          },
        },
      } as vl.TopLevelSpec,
    });
  }
  const rs = rows(run, 'erasure');
  if (rs.length) {
    charts.push({
      name: 'erasure-shapes',
      title: 'erasure: encode throughput over (k,m) and shard size',
      caption: 'Input bytes (k x shard size) per second; one panel per target (rows) and (k,m) (columns).',
      spec: {
        $schema: SCHEMA,
        data: { values: rs.map((r) => ({ ...r, km: `(${r.k},${r.m})` })) },
        facet: {
          row: { field: 'target', type: 'nominal', title: null, sort: targets, header: { labelFontWeight: 'bold' } },
          column: { field: 'km', type: 'nominal', title: null, sort: { field: 'order' } },
        },
        spec: {
          width: 170,
          height: 150,
          mark: { type: 'line', point: true, tooltip: true },
          encoding: {
            x: { field: 'size', type: 'quantitative', title: 'shard bytes', scale: { type: 'log' } },
            y: { field: 'value', type: 'quantitative', title: 'MB/s', scale: { type: 'log' } },
            color: { field: 'impl', type: 'nominal', title: 'implementation', scale: colors(rs), legend: { orient: 'bottom', columns: 4 } },
          },
        },
      } as vl.TopLevelSpec,
    });
  }
  return charts;
}

/**
 * Renders a Vega-Lite spec to a standalone SVG string (headless Vega view).
 * @throws Error from vega-lite's compiler for an invalid spec
 */
export async function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
