/**
 * Peers and routes: the running peers (GET /v1/peers, joined with the live
 * counters of GET /v1/status), the routes table, and a form that adds
 * (POST /v1/peers), edits (PUT /v1/peers/<key>) or removes (DELETE) a peer.
 * A refusal names a config field (`peers.2.endpoint`); its message is shown
 * beside that field of the form.
 */
import { useState } from 'preact/hooks';
import { api, ApiError, formField, handshakeAge, shortKey, type PeerConfig, type Status } from '../api.js';
import { usePoll } from '../poll.js';

interface Draft {
  publicKey: string;
  endpoint: string;
  allowedIPs: string;
  persistentKeepalive: string;
  presharedKey: string;
}
const EMPTY: Draft = { publicKey: '', endpoint: '', allowedIPs: '', persistentKeepalive: '', presharedKey: '' };

const draftOf = (p: PeerConfig): Draft => ({
  publicKey: p.publicKey,
  endpoint: p.endpoint ?? '',
  allowedIPs: (p.allowedIPs ?? []).join(', '),
  persistentKeepalive: p.persistentKeepalive === undefined ? '' : String(p.persistentKeepalive),
  presharedKey: p.presharedKey ?? '',
});

/** The JSON peer of a draft; a keepalive that is not a number goes as typed so the API names it. */
function peerOf(d: Draft): Record<string, unknown> {
  const out: Record<string, unknown> = { publicKey: d.publicKey.trim() };
  if (d.endpoint.trim()) out.endpoint = d.endpoint.trim();
  out.allowedIPs = d.allowedIPs.split(/[\s,]+/).filter(Boolean);
  if (d.persistentKeepalive.trim()) out.persistentKeepalive = /^\d+$/.test(d.persistentKeepalive.trim()) ? Number(d.persistentKeepalive) : d.persistentKeepalive;
  if (d.presharedKey.trim()) out.presharedKey = d.presharedKey.trim();
  return out;
}

const FIELDS: Array<[keyof Draft, string, string]> = [
  ['publicKey', 'Public key', 'base64, 32 bytes (tfw keygen --public, wg pubkey)'],
  ['endpoint', 'Endpoint', 'HOST:PORT, empty for a roaming peer'],
  ['allowedIPs', 'Allowed IPs', 'CIDRs, comma separated'],
  ['persistentKeepalive', 'Persistent keepalive', 'seconds, empty for none'],
  ['presharedKey', 'Preshared key', 'base64, optional'],
];

export function Peers() {
  const [peers, setPeers] = useState<PeerConfig[] | null>(null);
  const [status, setStatus] = useState<Status | null>(null);
  const [error, setError] = useState('');
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [editing, setEditing] = useState<string | null>(null);
  const [fieldError, setFieldError] = useState<{ field?: string; message: string } | null>(null);
  const [notice, setNotice] = useState('');

  const load = async () => {
    try {
      const [p, s] = await Promise.all([api<PeerConfig[]>('GET', '/v1/peers'), api<Status>('GET', '/v1/status')]);
      setPeers(p);
      setStatus(s);
      setError('');
    } catch (err) {
      setError((err as Error).message);
    }
  };
  usePoll(load, 5000);

  const live = (key: string) => status?.overlay?.peers.find((p) => p.publicKey === key);

  const save = async (e: Event) => {
    e.preventDefault();
    setFieldError(null);
    setNotice('');
    try {
      const body = peerOf(draft);
      const r = editing
        ? await api('PUT', `/v1/peers/${encodeURIComponent(editing)}`, body)
        : await api('POST', '/v1/peers', body);
      setNotice(`${editing ? 'Saved' : 'Added'} ${shortKey(String(body.publicKey))}${r?.persisted === false ? ' (not kept across reboots: no data partition)' : ''}.`);
      setDraft(EMPTY);
      setEditing(null);
      await load();
    } catch (err) {
      if (err instanceof ApiError) setFieldError({ field: formField(err.field), message: err.message });
      else setFieldError({ message: String(err) });
    }
  };

  const remove = async (key: string) => {
    if (!confirm(`Remove peer ${key}?`)) return;
    try {
      await api('DELETE', `/v1/peers/${encodeURIComponent(key)}`);
      setNotice(`Removed ${shortKey(key)}.`);
      await load();
    } catch (err) {
      setError((err as Error).message);
    }
  };

  const known = FIELDS.some(([k]) => k === fieldError?.field);
  return (
    <section>
      <h2>Peers</h2>
      {error && <p class="error">{error}</p>}
      {notice && <p class="notice" data-testid="notice">{notice}</p>}
      <table data-testid="peers-table">
        <thead><tr><th>Public key</th><th>Endpoint</th><th>Allowed IPs</th><th>Keepalive</th><th>Handshake</th><th /></tr></thead>
        <tbody>
          {(peers ?? []).map((p) => (
            <tr data-key={p.publicKey}>
              <td class="mono" title={p.publicKey}>{shortKey(p.publicKey)}</td>
              <td class="mono">{p.endpoint ?? '(roaming)'}</td>
              <td class="mono">{(p.allowedIPs ?? []).join(', ')}</td>
              <td>{p.persistentKeepalive ? `${p.persistentKeepalive} s` : '–'}</td>
              <td>{live(p.publicKey) ? handshakeAge(live(p.publicKey)!.lastHandshake) : '–'}</td>
              <td class="actions">
                <button class="link" onClick={() => { setEditing(p.publicKey); setDraft(draftOf(p)); setFieldError(null); }}>Edit</button>
                <button class="link danger" onClick={() => void remove(p.publicKey)}>Remove</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <h3>{editing ? `Edit peer ${shortKey(editing)}` : 'Add a peer'}</h3>
      <form class="peer-form" onSubmit={save} data-testid="peer-form">
        {FIELDS.map(([k, label, hint]) => (
          <label class={fieldError?.field === k ? 'invalid' : ''}>
            {label}
            <input name={k} value={draft[k]} disabled={k === 'publicKey' && !!editing} placeholder={hint}
              onInput={(e) => setDraft({ ...draft, [k]: (e.target as HTMLInputElement).value })} />
            {fieldError?.field === k && <span class="field-error" role="alert" data-field={k}>{fieldError.message}</span>}
          </label>
        ))}
        {fieldError && !known && <p class="error" role="alert">{fieldError.message}</p>}
        <div class="buttons">
          <button type="submit">{editing ? 'Save' : 'Add peer'}</button>
          {editing && <button type="button" class="link" onClick={() => { setEditing(null); setDraft(EMPTY); setFieldError(null); }}>Cancel</button>}
        </div>
      </form>

      <h2>Routes</h2>
      <table data-testid="routes-table">
        <thead><tr><th>Prefix</th><th>Via</th><th>Metric</th></tr></thead>
        <tbody>
          {(status?.overlay?.routes ?? []).map((r) => (
            <tr><td class="mono">{r.prefix}</td><td class="mono" title={r.via ?? ''}>{r.via ? shortKey(r.via) : 'local'}</td><td>{r.metric}</td></tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
