/**
 * The tfw web console: a single page served by the device API at `/`
 * (runtime/api/server.ts, `consoleDir`), bundled by esbuild (mk/console.mk)
 * into build/console/{index.html, assets/console.js, assets/console.css}.
 * Pages by URL hash: sign-in or first password (set-up mode), #/dashboard,
 * #/peers, #/network, #/upgrade, #/logs. docs/console.md describes them.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { api, ApiError, SIGNED_OUT, type Status } from './api.js';
import { SignIn } from './pages/signin.js';
import { Dashboard } from './pages/dashboard.js';
import { Peers } from './pages/peers.js';
import { Network } from './pages/network.js';
import { Upgrade } from './pages/upgrade.js';
import { Logs } from './pages/logs.js';

const PAGES = [
  ['dashboard', 'Dashboard'],
  ['peers', 'Peers & routes'],
  ['network', 'Network'],
  ['upgrade', 'Firmware'],
  ['logs', 'Logs'],
] as const;
type Page = (typeof PAGES)[number][0];

const pageOf = (hash: string): Page => {
  const p = hash.replace(/^#\/?/, '');
  return (PAGES.find(([k]) => k === p)?.[0] ?? 'dashboard') as Page;
};

/** 'unknown' while asking the device; 'out' shows the sign-in page. */
type Session = 'unknown' | 'in' | 'out';

function App() {
  const [status, setStatus] = useState<Status | null>(null);
  const [session, setSession] = useState<Session>('unknown');
  const [page, setPage] = useState<Page>(pageOf(location.hash));
  const [error, setError] = useState('');

  /** Asks the device whether this browser holds a session (GET /v1/peers: 401 without one). */
  const probe = async () => {
    try {
      const s = await api<Status>('GET', '/v1/status');
      setStatus(s);
      if (!s.passwordSet) return setSession('out');
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) return setError((err as Error).message);
    }
    try {
      await api('GET', '/v1/peers');
      setSession('in');
    } catch (err) {
      setSession(err instanceof ApiError && (err.status === 401 || err.status === 403) ? 'out' : 'in');
    }
  };

  useEffect(() => {
    void probe();
    const onHash = () => setPage(pageOf(location.hash));
    const onSignedOut = () => void probe();
    addEventListener('hashchange', onHash);
    addEventListener(SIGNED_OUT, onSignedOut);
    return () => {
      removeEventListener('hashchange', onHash);
      removeEventListener(SIGNED_OUT, onSignedOut);
    };
  }, []);

  const signOut = async () => {
    await api('POST', '/v1/logout').catch(() => {});
    setSession('unknown');
    await probe();
  };

  if (error) return <main class="card"><h1>tfw</h1><p class="error">{error}</p></main>;
  if (session === 'unknown') return <main class="card"><p>Asking the device…</p></main>;
  if (session === 'out') return <SignIn setup={status ? !status.passwordSet : false} onSignedIn={() => void probe()} />;
  return (
    <div class="shell">
      <header>
        <strong class="brand">tfw</strong>
        <span class="ident" data-testid="header-ident">{status ? `${status.board} · ${status.role}` : ''}</span>
        <nav>
          {PAGES.map(([k, label]) => (
            <a href={`#/${k}`} class={k === page ? 'active' : ''} data-page={k}>{label}</a>
          ))}
        </nav>
        <button class="link" onClick={() => void signOut()}>Sign out</button>
      </header>
      <main>
        {page === 'dashboard' && <Dashboard />}
        {page === 'peers' && <Peers />}
        {page === 'network' && <Network role={status?.role} />}
        {page === 'upgrade' && <Upgrade />}
        {page === 'logs' && <Logs />}
      </main>
    </div>
  );
}

const root = document.getElementById('app')!;
root.textContent = ''; // the "Loading" line of index.html
render(<App />, root);
