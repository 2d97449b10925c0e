/**
 * The device's admin actions, on the firmware page: change the admin
 * password (POST /v1/password with `current`; the device ends every session, so the
 * sign-in page follows) and reboot
 * (POST /v1/reboot, after a confirmation).
 */
import { useState } from 'preact/hooks';
import { api, ApiError, SIGNED_OUT } from '../api.js';

export function Admin() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);

  const change = async (e: Event) => {
    e.preventDefault();
    try {
      await api('POST', '/v1/password', { current, password: next });
      // The device ends every session with the change: sign in again with the new password.
      dispatchEvent(new Event(SIGNED_OUT));
    } catch (err) {
      setMessage({ ok: false, text: err instanceof ApiError ? err.message : String(err) });
    }
  };

  const reboot = async () => {
    if (!confirm('Reboot the device now?')) return;
    try {
      await api('POST', '/v1/reboot');
      setMessage({ ok: true, text: 'The device reboots.' });
    } catch (err) {
      setMessage({ ok: false, text: (err as Error).message });
    }
  };

  return (
    <section class="admin">
      <h2>Device</h2>
      <form class="password-form" onSubmit={change} data-testid="password-form">
        <label>Current admin password<input type="password" name="current" autocomplete="current-password" value={current} onInput={(e) => setCurrent((e.target as HTMLInputElement).value)} /></label>
        <label>New admin password<input type="password" name="new" autocomplete="new-password" value={next} onInput={(e) => setNext((e.target as HTMLInputElement).value)} /></label>
        <div class="buttons">
          <button type="submit">Change password</button>
          <button type="button" class="danger" onClick={() => void reboot()}>Reboot</button>
        </div>
      </form>
      {message && <p class={message.ok ? 'notice' : 'error'} data-testid="admin-result">{message.text}</p>}
    </section>
  );
}
