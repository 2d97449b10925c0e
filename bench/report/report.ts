/**
 * The report of a run: build/bench/report.html (one self-contained file: CSS
 * and every chart's SVG inline, no script, nothing fetched) and
 * build/bench/report.md (the same text and tables, charts as
 * build/bench/charts/<name>.svg beside it). Says plainly what TCG figures
 * measure, and names the machines, versions and commit.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ratioToPeer, type BenchResult, type BenchRun, type BenchTarget, type KernelName } from '../kernels/result.js';
import { chartsFor, renderSvg, type Chart } from './charts.js';
import { formatChanges, type Change } from './compare.js';

export interface ReportFiles {
  html: string;
  md: string;
  /** SVG file per chart, in report order. */
  charts: Array<{ name: string; file: string }>;
}

/** The caveat every report carries, in its first screen. */
export function emulationNote(run: BenchRun): string {
  const tcg = run.targets.some((t) => t.accel === 'tcg');
  const base = 'Every figure is the best of several timed rounds (all rounds are in run.json). ';
  return tcg
    ? `${base}Guests marked (tcg) ran under QEMU's TCG, which translates every guest instruction in software: their absolute figures measure the emulation on this host, not the board. Only ratios inside one guest (an implementation against the peer measured in the same guest and run) mean anything, and even those are shaped by how well TCG translates each instruction set (SIMD and NEON are emulated lane by lane).`
    : `${base}Compare implementations inside one target; absolute figures depend on the machine and its load.`;
}

const fmtNum = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toPrecision(3));
/** '123 MB/s' or '45.6 M/s' for a result figure. */
export function formatFigure(r: BenchResult, v = r.best): string {
  return r.unit === 'B/s' ? `${fmtNum(v / 1e6)} MB/s` : `${fmtNum(v / 1e6)} M/s`;
}

function machineRows(run: BenchRun): string[][] {
  const rows = [['target', 'arch', 'CPU', 'cores', 'memory', 'kernel', 'Node / V8', 'backends', 'native kernels', 'run time']];
  for (const t of run.targets) {
    const m = t.machine;
    const native = m ? (m.native.error ? `none (${m.native.error})` : `aead ${m.native.aead}, erasure ${m.native.erasure}`) : '-';
    rows.push([
      t.label,
      m?.arch ?? '-',
      m?.cpuModel ?? '-',
      String(m?.cpus ?? '-'),
      m ? `${m.memMiB} MiB` : '-',
      m?.kernel ?? '-',
      m ? `${m.node} / ${m.v8}` : '-',
      m?.backends.join(', ') ?? '-',
      native,
      `${t.seconds.toFixed(1)} s`,
    ]);
  }
  return rows;
}

/** Per kernel: rows = implementation, columns = target, cell = 'figure (ratio)'. */
function resultTables(run: BenchRun): Array<{ kernel: KernelName; case: string; rows: string[][] }> {
  const out: Array<{ kernel: KernelName; case: string; rows: string[][] }> = [];
  const all = run.targets.flatMap((t) => t.results.map((r) => ({ t, r })));
  const cases = [...new Map(all.map(({ r }) => [`${r.kernel}\0${r.case}`, r])).values()];
  for (const c of cases) {
    const targets = run.targets.filter((t) => t.results.some((r) => r.kernel === c.kernel && r.case === c.case));
    // tfw rows first (in the order measured), then the peers.
    const inCase = all.filter(({ r }) => r.kernel === c.kernel && r.case === c.case).map(({ r }) => r);
    const impls = [...new Set([...inCase.filter((r) => r.backend), ...inCase.filter((r) => !r.backend)].map((r) => r.impl))];
    const rows = [['implementation', ...targets.map((t) => t.label)]];
    for (const impl of impls) {
      rows.push([
        impl,
        ...targets.map((t: BenchTarget) => {
          const r = t.results.find((x) => x.kernel === c.kernel && x.case === c.case && x.impl === impl);
          if (!r) return '-';
          const ratio = ratioToPeer(r, t.results);
          return `${formatFigure(r)}${ratio !== null && r.impl !== r.peer ? ` (${ratio.toFixed(2)}x)` : r.impl === r.peer ? ' (peer)' : ''}`;
        }),
      ]);
    }
    out.push({ kernel: c.kernel, case: c.case, rows });
  }
  return out;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const htmlTable = (rows: string[][]) =>
  `<table><thead><tr>${rows[0].map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .slice(1)
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
const mdTable = (rows: string[][]) => [rows[0], rows[0].map(() => '---'), ...rows.slice(1)].map((r) => `| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`).join('\n');

function runLines(run: BenchRun): string[] {
  const h = run.host;
  return [
    `tfw ${run.version}, commit ${run.commit}, started ${run.startedAt}${run.quick ? ', quick run (one small size per kernel)' : ''}`,
    `host: ${h.cpuModel} (${h.cpus} cores, ${h.arch}), Node ${h.node}${h.qemu ? `, ${h.qemu}` : ''}`,
    `kernels: ${run.kernels.join(', ')}`,
  ];
}

const CSS = `body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1560px;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ddd}.note{background:#fff6d6;border-left:4px solid #e0b000;padding:.6em 1em}
table{border-collapse:collapse;margin:.6em 0}th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4}figure{margin:1.2em 0;overflow-x:auto;width:fit-content;max-width:100%}figcaption{color:#555;margin-top:.3em}.errors{color:#a00}`;

/**
 * Renders every chart and writes report.html, report.md and charts/*.svg into
 * `dir` (created). `changes` (from --compare) adds a "Change" section.
 * @throws Error when a chart fails to render (a bug: the specs are fixed)
 */
export async function writeReport(run: BenchRun, dir: string, compare?: { old: BenchRun; changes: Change[] }): Promise<ReportFiles> {
  mkdirSync(join(dir, 'charts'), { recursive: true });
  const charts: Array<Chart & { svg: string; file: string }> = [];
  for (const c of chartsFor(run)) {
    const svg = await renderSvg(c.spec);
    const file = join(dir, 'charts', `${c.name}.svg`);
    writeFileSync(file, svg);
    charts.push({ ...c, svg, file });
  }
  const tables = resultTables(run);
  const errors = run.targets.flatMap((t) => t.errors.map((e) => `${t.label}: ${e}`));
  const changeText = compare ? formatChanges(compare.changes, compare.old, run) : null;

  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tfw kernel benchmarks ${esc(run.commit)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${CSS}</style></head>
<body>
<h1>tfw kernel benchmarks</h1>
${runLines(run).map((l) => `<p>${esc(l)}</p>`).join('\n')}
<p class="note">${esc(emulationNote(run))}</p>
${errors.length ? `<h2>Problems</h2><ul class="errors">${errors.map((e) => `<li>${esc(e)}</li>`).join('')}</ul>` : ''}
<h2>Machines</h2>
${htmlTable(machineRows(run))}
<h2>Charts</h2>
${charts.map((c) => `<figure class="chart" id="chart-${c.name}"><h3>${esc(c.title)}</h3>\n${c.svg}\n<figcaption>${esc(c.caption)}</figcaption></figure>`).join('\n')}
<h2>Figures</h2>
<p>Best round; in brackets the ratio to the peer measured in the same target and run.</p>
${tables.map((t) => `<h3>${esc(`${t.kernel}: ${t.case}`)}</h3>${htmlTable(t.rows)}`).join('\n')}
${changeText ? `<h2>Change</h2><pre>${esc(changeText)}</pre>` : ''}
</body></html>
`;
  const md = [
    '# tfw kernel benchmarks',
    '',
    ...runLines(run).map((l) => `${l}  `),
    '',
    `> ${emulationNote(run)}`,
    '',
    ...(errors.length ? ['## Problems', '', ...errors.map((e) => `- ${e}`), ''] : []),
    '## Machines',
    '',
    mdTable(machineRows(run)),
    '',
    '## Charts',
    '',
    ...charts.flatMap((c) => [`### ${c.title}`, '', `![${c.title}](charts/${c.name}.svg)`, '', c.caption, '']),
    '## Figures',
    '',
    'Best round; in brackets the ratio to the peer measured in the same target and run.',
    '',
    ...tables.flatMap((t) => [`### ${t.kernel}: ${t.case}`, '', mdTable(t.rows), '']),
    ...(changeText ? ['## Change', '', '```', changeText, '```', ''] : []),
  ].join('\n');
  const htmlFile = join(dir, 'report.html');
  const mdFile = join(dir, 'report.md');
  writeFileSync(htmlFile, html);
  writeFileSync(mdFile, md);
  return { html: htmlFile, md: mdFile, charts: charts.map((c) => ({ name: c.name, file: c.file })) };
}
