/**
 * Network: the 3router's gateway sections of the config (runtime/gateway/
 * config.ts, docs/gateway.md) as one form: the LAN (bridge address, DHCP
 * pool and lease time, DNS upstreams), the WAN (DHCP or a static address)
 * and the firewall's overlay -> LAN allow rules. Saving reads the running
 * config (GET /v1/config), replaces these three sections and sends it back
 * (PUT /v1/config); a refusal names a field (`lan.dhcp.start`,
 * `firewall.allowOverlayToLan.1`), whose message is shown beside it. Empty
 * inputs are left out, so OpenWrt's defaults (the placeholders) apply.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, type Status } from '../api.js';

interface Draft {
  lanEnabled: boolean;
  'lan.address': string;
  'lan.bridge': string;
  'lan.dhcp.enabled': boolean;
  'lan.dhcp.start': string;
  'lan.dhcp.end': string;
  'lan.dhcp.leaseTime': string;
  'lan.dns.upstream': string;
  'wan.method': string;
  'wan.address': string;
  'wan.gateway': string;
  'firewall.allowOverlayToLan': string;
}
type TextField = Exclude<keyof Draft, 'lanEnabled' | 'lan.dhcp.enabled' | 'wan.method'>;

type Obj = Record<string, any>;
const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

function draftOf(c: Obj): Draft {
  const lan: Obj = c.lan ?? {}, wan: Obj = c.wan ?? {}, fw: Obj = c.firewall ?? {};
  return {
    lanEnabled: c.lan !== undefined && c.lan !== null,
    'lan.address': str(lan.address),
    'lan.bridge': str(lan.bridge),
    'lan.dhcp.enabled': lan.dhcp?.enabled !== false,
    'lan.dhcp.start': str(lan.dhcp?.start),
    'lan.dhcp.end': str(lan.dhcp?.end),
    'lan.dhcp.leaseTime': str(lan.dhcp?.leaseTime),
    'lan.dns.upstream': (lan.dns?.upstream ?? []).join(', '),
    'wan.method': wan.method ?? 'dhcp',
    'wan.address': str(wan.address),
    'wan.gateway': str(wan.gateway),
    'firewall.allowOverlayToLan': (fw.allowOverlayToLan ?? []).join('\n'),
  };
}

/** A number where the input is all digits (host numbers, seconds), else the text, so the API names it. */
const numOrText = (s: string): number | string => (/^\d+$/.test(s) ? Number(s) : s);

/** The three sections of a draft, as the config schema takes them; empty inputs left out. */
function sectionsOf(d: Draft): Obj {
  const out: Obj = {};
  if (d.lanEnabled) {
    const lan: Obj = {};
    if (d['lan.address'].trim()) lan.address = d['lan.address'].trim();
    if (d['lan.bridge'].trim()) lan.bridge = d['lan.bridge'].trim();
    const dhcp: Obj = { enabled: d['lan.dhcp.enabled'] };
    if (d['lan.dhcp.start'].trim()) dhcp.start = numOrText(d['lan.dhcp.start'].trim());
    if (d['lan.dhcp.end'].trim()) dhcp.end = numOrText(d['lan.dhcp.end'].trim());
    if (d['lan.dhcp.leaseTime'].trim()) dhcp.leaseTime = numOrText(d['lan.dhcp.leaseTime'].trim());
    lan.dhcp = dhcp;
    const upstream = d['lan.dns.upstream'].split(/[\s,]+/).filter(Boolean);
    if (upstream.length) lan.dns = { upstream };
    out.lan = lan;
  }
  const wan: Obj = { method: d['wan.method'] };
  if (d['wan.address'].trim()) wan.address = d['wan.address'].trim();
  if (d['wan.gateway'].trim()) wan.gateway = d['wan.gateway'].trim();
  out.wan = wan;
  out.firewall = { allowOverlayToLan: d['firewall.allowOverlayToLan'].split('\n').map((l) => l.trim()).filter(Boolean) };
  return out;
}

/** The form's inputs, named by their config field. */
const INPUTS: Record<string, true> = Object.fromEntries(
  ['lan.address', 'lan.bridge', 'lan.dhcp.enabled', 'lan.dhcp.start', 'lan.dhcp.end', 'lan.dhcp.leaseTime', 'lan.dns.upstream', 'wan.method', 'wan.address', 'wan.gateway', 'firewall.allowOverlayToLan'].map((k) => [k, true]),
);

/**
 * The input an API field names: `lan.dns.upstream.1` -> `lan.dns.upstream`,
 * `firewall.allowOverlayToLan.0` -> `firewall.allowOverlayToLan`; undefined
 * for a field with no input of its own (the message then shows under the form).
 */
function networkField(field: string | undefined): string | undefined {
  if (!field) return undefined;
  const name = field.replace(/(\.\d+)+$/, '');
  return INPUTS[name] ? name : undefined;
}

export function Network({ role }: { role?: string }) {
  const [draft, setDraft] = useState<Draft | null>(null);
  const [error, setError] = useState('');
  const [fieldError, setFieldError] = useState<{ field?: string; message: string } | null>(null);
  const [notice, setNotice] = useState('');
  const [saving, setSaving] = useState(false);

  const load = async () => {
    try {
      setDraft(draftOf(await api<Obj>('GET', '/v1/config')));
      setError('');
    } catch (err) {
      setError((err as Error).message);
    }
  };
  useEffect(() => void load(), []);

  const save = async (e: Event) => {
    e.preventDefault();
    if (!draft) return;
    setFieldError(null);
    setNotice('');
    setSaving(true);
    try {
      const { lan: _l, wan: _w, firewall: _f, ...rest } = await api<Obj>('GET', '/v1/config');
      const r = await api<{ persisted: boolean; restart: string[] }>('PUT', '/v1/config', { ...rest, ...sectionsOf(draft) });
      const later = r.restart.filter((k) => k === 'lan' || k === 'wan' || k === 'firewall');
      setNotice(`Saved${later.length ? `; ${later.join(', ')} take effect after a restart` : ''}${r.persisted ? '' : ' (not kept across reboots: no data partition)'}.`);
      await load();
    } catch (err) {
      if (err instanceof ApiError) setFieldError({ field: networkField(err.field), message: err.message });
      else setFieldError({ message: String(err) });
    } finally {
      setSaving(false);
    }
  };

  if (error) return <section><h2>Network</h2><p class="error">{error}</p></section>;
  if (!draft) return <section><h2>Network</h2><p>Loading…</p></section>;

  const set = (k: keyof Draft, v: string | boolean) => setDraft({ ...draft, [k]: v });
  const problem = (k: string) => fieldError?.field === k && <span class="field-error" role="alert" data-field={k}>{fieldError.message}</span>;
  const text = (k: TextField, label: string, hint: string, disabled = false) => (
    <label class={fieldError?.field === k ? 'invalid' : ''}>
      {label}
      <input name={k} value={draft[k]} placeholder={hint} disabled={disabled} onInput={(e) => set(k, (e.target as HTMLInputElement).value)} />
      {problem(k)}
    </label>
  );
  const noLan = !draft.lanEnabled;
  return (
    <section>
      <h2>Network</h2>
      {role !== undefined && role !== '3router' && (
        <p class="note" data-testid="role-note">This device's role is {role}: only a 3router runs the LAN gateway; these settings are kept but not used.</p>
      )}
      {notice && <p class="notice" data-testid="network-notice">{notice}</p>}
      <form class="network-form" onSubmit={save} data-testid="network-form">
        <fieldset>
          <legend>LAN</legend>
          <label class="inline">
            <input type="checkbox" name="lanEnabled" checked={draft.lanEnabled} onChange={(e) => set('lanEnabled', (e.target as HTMLInputElement).checked)} />
            Bridge the LAN port and serve it (DHCP, DNS, NAT to the WAN)
          </label>
          {text('lan.address', 'Address', '192.168.1.1/24', noLan)}
          {text('lan.bridge', 'Bridge', 'br-lan', noLan)}
          <label class="inline">
            <input type="checkbox" name="lan.dhcp.enabled" checked={draft['lan.dhcp.enabled']} disabled={noLan} onChange={(e) => set('lan.dhcp.enabled', (e.target as HTMLInputElement).checked)} />
            DHCP server
          </label>
          <div class="row">
            {text('lan.dhcp.start', 'Pool start', '100 (host number or address)', noLan)}
            {text('lan.dhcp.end', 'Pool end', '250', noLan)}
            {text('lan.dhcp.leaseTime', 'Lease time', '12h', noLan)}
          </div>
          {text('lan.dns.upstream', 'DNS upstream servers', "comma separated; empty: the WAN's", noLan)}
        </fieldset>
        <fieldset>
          <legend>WAN</legend>
          <label class={fieldError?.field === 'wan.method' ? 'invalid' : ''}>
            Method
            <select name="wan.method" value={draft['wan.method']} onChange={(e) => set('wan.method', (e.target as HTMLSelectElement).value)}>
              <option value="dhcp">DHCP client</option>
              <option value="static">Static address</option>
            </select>
            {problem('wan.method')}
          </label>
          {draft['wan.method'] === 'static' && (
            <div class="row">
              {text('wan.address', 'Address', '203.0.113.2/24')}
              {text('wan.gateway', 'Gateway', '203.0.113.1')}
            </div>
          )}
        </fieldset>
        <fieldset>
          <legend>Firewall</legend>
          <label class={fieldError?.field === 'firewall.allowOverlayToLan' ? 'invalid' : ''}>
            Overlay hosts may reach the LAN at
            <textarea name="firewall.allowOverlayToLan" rows={4} value={draft['firewall.allowOverlayToLan']} placeholder={'one rule a line: "prefix" (4ab:cd::/64) or "addr port" (4ab:cd::10 22)'}
              onInput={(e) => set('firewall.allowOverlayToLan', (e.target as HTMLTextAreaElement).value)} />
            {problem('firewall.allowOverlayToLan')}
          </label>
          <p class="note">Other new connections from the overlay to the LAN are dropped (pings pass); the LAN reaches the WAN through NAT, and the overlay.</p>
        </fieldset>
        {fieldError && !fieldError.field && <p class="error" role="alert">{fieldError.message}</p>}
        <div class="buttons">
          <button type="submit" disabled={saving}>Save</button>
          <button type="button" class="link" onClick={() => { setFieldError(null); setNotice(''); void load(); }}>Revert</button>
        </div>
      </form>
    </section>
  );
}
