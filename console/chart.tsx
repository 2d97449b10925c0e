/**
 * A live traffic chart for one peer (uPlot): receive and send rates in
 * bytes/s over the last `points` samples. The parent hands in the whole
 * series each time; the plot is made once and fed with setData.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { bytes } from './api.js';

/** Samples: Unix seconds, rx and tx rates in bytes/s. */
export interface Series {
  t: number[];
  rx: number[];
  tx: number[];
}

export function TrafficChart({ series, label }: { series: Series; label: string }) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const opts: uPlot.Options = {
      title: label,
      width: 420,
      legend: { live: false },
      height: 180,
      scales: { y: { range: (_u, _min, max) => [0, Math.max(1024, max * 1.1)] } },
      axes: [{}, { size: 70, values: (_u, vals) => vals.map((v) => `${bytes(v)}/s`) }],
      series: [
        {},
        { label: 'rx', stroke: '#1769aa', fill: 'rgba(23,105,170,0.12)', value: (_u, v) => (v == null ? '–' : `${bytes(v)}/s`) },
        { label: 'tx', stroke: '#c2571a', value: (_u, v) => (v == null ? '–' : `${bytes(v)}/s`) },
      ],
    };
    plot.current = new uPlot(opts, [series.t, series.rx, series.tx], el.current!);
    return () => plot.current?.destroy();
  }, [label]);

  useEffect(() => {
    plot.current?.setData([series.t, series.rx, series.tx]);
  }, [series]);

  return <div class="chart" ref={el} data-testid="traffic-chart" data-points={series.t.length} data-max-rx={Math.round(Math.max(0, ...series.rx))} />;
}
