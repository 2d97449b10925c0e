/**
 * Firmware upgrade: pick a release bundle (`X.tfwup`) and its signature
 * (`X.tfwup.minisig`, both from `tfw release`), upload with
 * XMLHttpRequest (fetch has no upload progress) to POST /v1/upgrade with the
 * signature base64 in `Tfw-Signature`, show the progress, then the device's
 * answer or refusal. After an accepted bundle the device reboots; the page
 * polls GET /v1/status until it answers again and shows the slot it came
 * back on.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type Status } from '../api.js';
import { Admin } from './admin.js';

/** Base64 of a text file's bytes (btoa takes Latin-1 only). */
function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

type Phase =
  | { kind: 'idle' }
  | { kind: 'uploading'; sent: number; total: number }
  | { kind: 'verifying' }
  | { kind: 'refused'; message: string; uploaded: number }
  | { kind: 'accepted'; slot: string; version: string; back?: Status };

export function Upgrade() {
  const [bundle, setBundle] = useState<File | null>(null);
  const [sig, setSig] = useState<File | null>(null);
  const [downgrade, setDowngrade] = useState(false);
  const [phase, setPhase] = useState<Phase>({ kind: 'idle' });
  const [current, setCurrent] = useState<Status | null>(null);
  /** Percentage of the bundle sent so far (kept when the device refuses it after the upload). */
  const sent = useRef(0);

  useEffect(() => {
    api<Status>('GET', '/v1/status').then(setCurrent, () => {});
  }, []);

  // After an accepted upgrade: wait for the device to go away and answer again with a fresh uptime.
  useEffect(() => {
    if (phase.kind !== 'accepted' || phase.back) return;
    const since = Date.now();
    let stopped = false;
    const tick = async () => {
      try {
        const s = await api<Status>('GET', '/v1/status');
        if (s.uptime * 1000 < Date.now() - since + 1000 && s.slot === phase.slot) {
          if (!stopped) {
            setPhase({ ...phase, back: s });
            setCurrent(s);
          }
          return;
        }
      } catch {
        /* rebooting */
      }
      if (!stopped) timer = setTimeout(tick, 2000);
    };
    let timer = setTimeout(tick, 2000);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [phase]);

  const upload = async (e: Event) => {
    e.preventDefault();
    if (!bundle || !sig) return setPhase({ kind: 'refused', message: 'Pick the bundle (.tfwup) and its signature (.minisig) first.', uploaded: 0 });
    const signature = base64(new Uint8Array(await sig.arrayBuffer()));
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/v1/upgrade${downgrade ? '?allowDowngrade=1' : ''}`);
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.setRequestHeader('tfw-signature', signature);
    sent.current = 0;
    xhr.upload.onprogress = (ev) => {
      const total = ev.lengthComputable ? ev.total : bundle.size;
      sent.current = Math.floor((ev.loaded / Math.max(1, total)) * 100);
      setPhase({ kind: 'uploading', sent: ev.loaded, total });
    };
    xhr.upload.onload = () => {
      sent.current = 100;
      setPhase({ kind: 'verifying' });
    };
    xhr.onerror = () => setPhase({ kind: 'refused', message: 'The connection broke during the upload.', uploaded: sent.current });
    xhr.onload = () => {
      let body: any = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* shown raw below */
      }
      if (xhr.status === 200 && body) setPhase({ kind: 'accepted', slot: body.slot, version: body.version });
      else setPhase({ kind: 'refused', message: body?.error ?? `HTTP ${xhr.status}: ${xhr.responseText.slice(0, 200)}`, uploaded: sent.current });
    };
    setPhase({ kind: 'uploading', sent: 0, total: bundle.size });
    xhr.send(bundle);
  };

  const pct = phase.kind === 'uploading' ? Math.floor((phase.sent / Math.max(1, phase.total)) * 100) : phase.kind === 'idle' ? 0 : phase.kind === 'refused' ? phase.uploaded : 100;
  const busy = phase.kind === 'uploading' || phase.kind === 'verifying' || (phase.kind === 'accepted' && !phase.back);
  return (
    <section>
      <h2>Firmware</h2>
      {current && <p>Running <strong data-testid="running-version">{current.version}</strong> from slot <strong data-testid="running-slot">{current.slot ?? '–'}</strong>.</p>}
      <form class="upgrade-form" onSubmit={upload}>
        <label>Release bundle (.tfwup)<input type="file" name="bundle" accept=".tfwup" onChange={(e) => setBundle((e.target as HTMLInputElement).files?.[0] ?? null)} /></label>
        <label>Signature (.minisig)<input type="file" name="signature" accept=".minisig" onChange={(e) => setSig((e.target as HTMLInputElement).files?.[0] ?? null)} /></label>
        <label class="inline"><input type="checkbox" name="allowDowngrade" checked={downgrade} onChange={(e) => setDowngrade((e.target as HTMLInputElement).checked)} /> allow an older version</label>
        <button type="submit" disabled={busy}>Upload and install</button>
      </form>
      <div class="progress" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} data-testid="upload-progress">
        <div class="bar" style={{ width: `${pct}%` }} />
        <span>{pct} %</span>
      </div>
      <p data-testid="upgrade-result" class={phase.kind === 'refused' ? 'error' : ''}>
        {phase.kind === 'uploading' && `Uploading ${Math.round(phase.sent / 1024)} of ${Math.round(phase.total / 1024)} KiB…`}
        {phase.kind === 'verifying' && 'Uploaded; the device verifies the signature and writes the other slot…'}
        {phase.kind === 'refused' && `Refused: ${phase.message}`}
        {phase.kind === 'accepted' && !phase.back && `Accepted: slot ${phase.slot} holds ${phase.version}. The device reboots; waiting for it to answer…`}
        {phase.kind === 'accepted' && phase.back && <span data-testid="back-on-slot">Back on slot {phase.back.slot} running {phase.back.version}.</span>}
      </p>
      <Admin />
    </section>
  );
}
