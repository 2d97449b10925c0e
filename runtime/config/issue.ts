/**
 * One zod issue as a tfw config error: the dotted field, what was expected and
 * the value found (secrets redacted, runtime/config/redact.ts); an unknown key
 * gets the closest known key of its own section suggested ("did you mean
 * listenPort?"), the same way for the overlay, its peers, the gateway sections
 * and board and role YAML.
 */
import { z } from 'zod';
import { HIDDEN, isSecretField, redact } from './redact.js';
import { suggestKey } from './top-level.js';

/** Strips wrappers (optional, nullable, default, effects, lazy) to the schema inside. */
function unwrap(t: z.ZodTypeAny): z.ZodTypeAny {
  for (;;) {
    if (t instanceof z.ZodOptional || t instanceof z.ZodNullable) t = t.unwrap();
    else if (t instanceof z.ZodDefault) t = t._def.innerType;
    else if (t instanceof z.ZodEffects) t = t.innerType();
    else if (t instanceof z.ZodLazy) t = t.schema;
    else return t;
  }
}

/** The keys the object schema at `path` inside `schema` knows (empty when it is not an object). */
export function knownKeys(schema: z.ZodTypeAny, path: ReadonlyArray<string | number>): string[] {
  let t = unwrap(schema);
  for (const p of path) {
    if (t instanceof z.ZodObject) t = (t.shape as Record<string, z.ZodTypeAny>)[p];
    else if (t instanceof z.ZodArray) t = t.element;
    else if (t instanceof z.ZodRecord) t = t.valueSchema;
    else return [];
    if (!t) return [];
    t = unwrap(t);
  }
  return t instanceof z.ZodObject ? Object.keys(t.shape) : [];
}

/** "unknown field; did you mean X? (expected one of ...)" for `key` among `known`. */
export function unknownField(key: string, known: string[]): string {
  const hint = suggestKey(key, known);
  return `unknown field${hint ? `; did you mean ${hint}?` : ''}${known.length ? ` (expected one of ${known.join(', ')})` : ''}`;
}

/** `value` as shown in an error: JSON with secrets hidden; a secret field's own value is `(hidden)`. */
export function shownValue(value: unknown, field?: string | number): string {
  if (value === undefined) return 'missing';
  return isSecretField(field) ? HIDDEN : JSON.stringify(redact(value));
}

/** The value at `path` in `input` (undefined when absent). */
export function valueAt(input: unknown, path: ReadonlyArray<string | number>): unknown {
  let v = input;
  for (const k of path) v = v == null ? undefined : (v as Record<string | number, unknown>)[k];
  return v;
}

/**
 * The first issue of a failed parse of `input` with `schema` as `{ path, message }`:
 * an unknown key's path ends with the key and its message suggests a known one;
 * other messages end with `(got <value>)`, secrets hidden.
 */
export function describeIssue(schema: z.ZodTypeAny, issue: z.ZodIssue, input: unknown): { path: Array<string | number>; message: string } {
  if (issue.code === 'unrecognized_keys') {
    return { path: [...issue.path, issue.keys[0]], message: unknownField(issue.keys[0], knownKeys(schema, issue.path)) };
  }
  return { path: issue.path, message: `${issue.message} (got ${shownValue(valueAt(input, issue.path), issue.path.at(-1))})` };
}
