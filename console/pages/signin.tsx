/**
 * Sign in (POST /v1/login), or, in set-up mode (GET /v1/status says
 * `passwordSet: false`), set the first admin password (POST /v1/password)
 * and sign in with it.
 */
import { useState } from 'preact/hooks';
import { api, ApiError } from '../api.js';

export function SignIn({ setup, onSignedIn }: { setup: boolean; onSignedIn: () => void }) {
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError('');
    if (setup && password !== repeat) return setError('The two passwords differ.');
    setBusy(true);
    try {
      if (setup) await api('POST', '/v1/password', { password });
      await api('POST', '/v1/login', { password });
      onSignedIn();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="card signin">
      <h1>tfw</h1>
      <form onSubmit={submit}>
        {setup && <p class="note" data-testid="setup-note">This device has no admin password yet. Choose one (at least 8 characters).</p>}
        <label>
          {setup ? 'New admin password' : 'Admin password'}
          <input type="password" name="password" autocomplete={setup ? 'new-password' : 'current-password'} value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
        </label>
        {setup && (
          <label>
            Repeat it
            <input type="password" name="repeat" autocomplete="new-password" value={repeat} onInput={(e) => setRepeat((e.target as HTMLInputElement).value)} />
          </label>
        )}
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit" disabled={busy}>{setup ? 'Set password and sign in' : 'Sign in'}</button>
      </form>
    </main>
  );
}
