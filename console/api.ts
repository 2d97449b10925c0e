/**
 * The console's client of the device API (runtime/api/server.ts): JSON over
 * fetch on the same origin, the session riding in the `tfw_session` cookie the
 * login sets (HttpOnly, SameSite=Strict); a 401 sends the SIGNED_OUT event
 * so the app asks for the password again. Errors keep the API's `code` and
 * `field` so a form can show the message next to the field it names.
 */

/** An API refusal: HTTP status, `ERR_TFW_...` code, message, and the config field when one is named. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly field?: string) {
    super(message);
  }
}

/** Window event sent when the device no longer knows this browser's session. */
export const SIGNED_OUT = 'tfw:signed-out';

/** Calls `method path` with an optional JSON body; resolves with the JSON answer. @throws ApiError */
export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  let r: Response;
  try {
    r = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, 'ERR_TFW_UNREACHABLE', `the device does not answer (${(err as Error).message})`);
  }
  const text = await r.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON: reported below */
  }
  // A session that expired or was ended (a password change ends them all): the app shows the sign-in page.
  if (r.status === 401 && !path.startsWith('/v1/login') && !path.startsWith('/v1/password')) dispatchEvent(new Event(SIGNED_OUT));
  if (!r.ok) throw new ApiError(r.status, json?.code ?? 'ERR_TFW_HTTP', json?.error ?? `HTTP ${r.status}`, json?.field);
  return json as T;
}

/**
 * The form field an API error names: `peers.2.endpoint` -> `endpoint`,
 * `allowedIPs.0` -> `allowedIPs`, `publicKey` -> `publicKey`.
 */
export function formField(field: string | undefined): string | undefined {
  if (!field) return undefined;
  return field.replace(/^peers\.\d+\./, '').split('.')[0];
}

export interface PeerStatus {
  publicKey: string;
  endpoint: string | null;
  lastHandshake: number;
  rxBytes: number;
  txBytes: number;
}

export interface Status {
  board: string;
  role: string;
  arch: string;
  version: string;
  slot: string | null;
  data: string;
  uptime: number;
  passwordSet: boolean;
  identity: { publicKey: string; source: string } | null;
  overlay: { publicKey: string; listenPort: number; peers: PeerStatus[]; routes: { prefix: string; via: string | null; metric: number }[]; drops: Record<string, number> } | null;
}

export interface PeerConfig {
  publicKey: string;
  endpoint?: string;
  allowedIPs?: string[];
  persistentKeepalive?: number;
  presharedKey?: string;
}

/** "3 s", "5 min", "2 h 4 min", "3 d 2 h". */
export function duration(s: number): string {
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}

/** Handshake age of a Unix-seconds time ("never" for 0). */
export function handshakeAge(lastHandshake: number, now = Date.now() / 1000): string {
  return lastHandshake ? `${duration(Math.max(0, now - lastHandshake))} ago` : 'never';
}

/** "1.5 KiB" for byte counts and rates. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${i ? n.toFixed(1) : Math.round(n)} ${units[i]}`;
}

/** A public key shortened for tables (the full key in the title). */
export const shortKey = (k: string): string => (k.length > 16 ? `${k.slice(0, 10)}…${k.slice(-4)}` : k);
