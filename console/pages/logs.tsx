/** Logs: the device's recent lines (GET /v1/logs?since=SEQ), polled every 2 s, newest last, at most 1,000 kept. */
import { useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { usePoll } from '../poll.js';

interface Entry {
  seq: number;
  time: number;
  level: 'error' | 'warn' | 'info';
  component: string;
  message: string;
}
const KEEP = 1000;

export function Logs() {
  const [lines, setLines] = useState<Entry[]>([]);
  const [error, setError] = useState('');
  const [level, setLevel] = useState<'info' | 'warn' | 'error'>('info');
  const since = useRef(0);

  usePoll(async () => {
    try {
      const got = await api<Entry[]>('GET', `/v1/logs?since=${since.current}`);
      setError('');
      if (!got.length) return;
      since.current = got[got.length - 1].seq;
      setLines((old) => [...old, ...got].slice(-KEEP));
    } catch (err) {
      setError((err as Error).message);
    }
  });

  const rank = { info: 0, warn: 1, error: 2 };
  const shown = lines.filter((l) => rank[l.level] >= rank[level]);
  return (
    <section>
      <h2>Logs</h2>
      <label class="inline">Level at least{' '}
        <select value={level} onChange={(e) => setLevel((e.target as HTMLSelectElement).value as typeof level)}>
          <option value="info">info</option><option value="warn">warn</option><option value="error">error</option>
        </select>
      </label>
      {error && <p class="error">{error}</p>}
      <pre class="logs" data-testid="logs">
        {shown.map((l) => (
          <div class={`log ${l.level}`}>{new Date(l.time).toISOString().slice(0, 19).replace('T', ' ')} {l.level.padEnd(5)} {l.component}: {l.message}</div>
        ))}
      </pre>
    </section>
  );
}
