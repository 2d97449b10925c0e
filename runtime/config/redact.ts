/**
 * Secrets in configs (the overlay's privateKey and presharedKey, store and API
 * passwords) and how every output shows them: `(hidden)`. `--check`, `tfw show`,
 * logs, `--json` outputs and error messages that echo a value all pass through
 * `redact`, so one list decides what is a secret.
 */

/** Field names whose values are secrets, wherever they appear in a config. */
export const SECRET_FIELDS: ReadonlySet<string> = new Set(['privateKey', 'presharedKey', 'password', 'secret', 'secretKey', 'admin']);

/** What a secret is shown as. */
export const HIDDEN = '(hidden)';

/** True when `field` (a key, or a dotted path's last part) names a secret. */
export const isSecretField = (field: string | number | undefined): boolean => typeof field === 'string' && SECRET_FIELDS.has(field.split('.').pop()!);

/**
 * A deep copy of `value` with every secret field's value (when not null or
 * undefined) replaced by `(hidden)`; other values are kept as they are.
 */
export function redact<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => redact(v)) as T;
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = isSecretField(k) && v !== undefined && v !== null ? HIDDEN : redact(v);
  return out as T;
}
