/**
 * The dashboard: identity, board, slot and version, uptime, and per peer
 * its handshake age and a live traffic chart. Polls GET /v1/status every
 * 2 s and differences each peer's rxBytes / txBytes into rates.
 */
import { useRef, useState } from 'preact/hooks';
import { api, bytes, duration, handshakeAge, shortKey, type Status } from '../api.js';
import { TrafficChart, type Series } from '../chart.js';
import { usePoll } from '../poll.js';

/** Samples kept per peer (2 min at one poll every 2 s). */
const POINTS = 60;

export function Dashboard() {
  const [status, setStatus] = useState<Status | null>(null);
  const [error, setError] = useState('');
  const [series, setSeries] = useState<Record<string, Series>>({});
  const last = useRef<Record<string, { t: number; rx: number; tx: number }>>({});

  usePoll(async () => {
    try {
      const s = await api<Status>('GET', '/v1/status');
      setStatus(s);
      setError('');
      const t = Date.now() / 1000;
      const next: Record<string, Series> = {};
      for (const p of s.overlay?.peers ?? []) {
        const prev = last.current[p.publicKey];
        const old = series[p.publicKey] ?? { t: [], rx: [], tx: [] };
        const cur = { t: [...old.t], rx: [...old.rx], tx: [...old.tx] };
        if (prev && t > prev.t) {
          cur.t.push(t);
          cur.rx.push(Math.max(0, (p.rxBytes - prev.rx) / (t - prev.t)));
          cur.tx.push(Math.max(0, (p.txBytes - prev.tx) / (t - prev.t)));
          if (cur.t.length > POINTS) for (const a of [cur.t, cur.rx, cur.tx]) a.shift();
        }
        last.current[p.publicKey] = { t, rx: p.rxBytes, tx: p.txBytes };
        next[p.publicKey] = cur;
      }
      setSeries(next);
    } catch (err) {
      setError((err as Error).message);
    }
  });

  if (!status) return <section>{error ? <p class="error">{error}</p> : <p>Loading…</p>}</section>;
  return (
    <section>
      <h2>Dashboard</h2>
      {error && <p class="error">{error}</p>}
      <dl class="facts" data-testid="facts">
        <dt>Node key</dt><dd class="mono" data-testid="identity">{status.identity?.publicKey ?? status.overlay?.publicKey ?? '–'}</dd>
        <dt>Board · role · arch</dt><dd>{status.board} · {status.role} · {status.arch}</dd>
        <dt>Version</dt><dd data-testid="version">{status.version}</dd>
        <dt>Slot</dt><dd data-testid="slot">{status.slot ?? 'none (not booted from a flashed disk)'}</dd>
        <dt>Uptime</dt><dd data-testid="uptime">{duration(status.uptime)}</dd>
        <dt>Data</dt><dd>{status.data}</dd>
        {status.overlay && (<><dt>Listen port</dt><dd>{status.overlay.listenPort}</dd></>)}
      </dl>
      <h3>Peers</h3>
      {!status.overlay && <p>This runtime runs no overlay.</p>}
      <div class="peers-grid">
        {(status.overlay?.peers ?? []).map((p) => (
          <article class="peer" data-testid="peer-card" data-key={p.publicKey}>
            <h4 class="mono" title={p.publicKey}>{shortKey(p.publicKey)}</h4>
            <p>
              endpoint <span class="mono">{p.endpoint ?? '(roaming)'}</span> · handshake <span data-testid="handshake">{handshakeAge(p.lastHandshake)}</span> · rx {bytes(p.rxBytes)} · tx {bytes(p.txBytes)}
            </p>
            <TrafficChart label={`traffic ${shortKey(p.publicKey)}`} series={series[p.publicKey] ?? { t: [], rx: [], tx: [] }} />
          </article>
        ))}
      </div>
    </section>
  );
}
