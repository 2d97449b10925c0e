/**
 * store.yaml, the object store's config (issue 16 item 5):
 *
 *   secret: <base64, 32 bytes>        # `tfw keygen` prints one; every key derives from it
 *   dataShards: 4                     # k
 *   parityShards: 2                   # m: any m backends may be lost
 *   chunkSize: 4194304                # bytes of plaintext per chunk (optional, default 4 MiB)
 *   compression: snappy               # or none (optional, default snappy)
 *   backends:
 *     - { address: "HOST:PORT", namespace: ns, password: pw, group: node1 }
 *
 * `group` names the failure group (a node, a rack); by default each address is
 * its own. Validated with zod; errors are ConfigError naming the dotted field.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { describeIssue } from '../config/issue.js';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { isKey32 } from '../config/schema.js';
import { MAX_VALUE } from './record-log.js';
import { parseHostPort } from './server.js';

const backend = z
  .object({
    address: z.string().refine((s) => {
      try {
        return parseHostPort(s, 'address').port > 0;
      } catch {
        return false;
      }
    }, { message: 'expected HOST:PORT or [IPv6]:PORT with a port 1..65535' }),
    namespace: z.string().min(1).default('default'),
    password: z.string().optional(),
    group: z.string().min(1).optional(),
  })
  .strict();

const schema = z
  .object({
    secret: z.string({ required_error: 'required: base64 of 32 bytes (as `tfw keygen` prints)' }).refine(isKey32, { message: 'expected base64 of 32 bytes (as `tfw keygen` prints)' }),
    dataShards: z.number().int().min(1).max(200),
    parityShards: z.number().int().min(0).max(56),
    chunkSize: z.number().int().min(4096).max(64 * 1024 * 1024).default(4 * 1024 * 1024),
    compression: z.enum(['snappy', 'none']).default('snappy'),
    backends: z.array(backend).min(1),
  })
  .strict();

export type BackendConfig = z.output<typeof backend>;
export type StoreConfig = z.output<typeof schema>;
export type StoreConfigInput = z.input<typeof schema>;

/**
 * Validates a parsed store config.
 * @throws ConfigError naming the dotted field, the value and the expectation
 */
export function validateStoreConfig(input: unknown): StoreConfig {
  const r = schema.safeParse(input);
  if (!r.success) {
    // Unknown keys get a suggestion; secret and passwords are shown as (hidden) (runtime/config/issue.ts).
    const { path, message } = describeIssue(schema, r.error.issues[0], input);
    throw new ConfigError(path.join('.') || 'config', message);
  }
  const c = r.data;
  const labels = new Set<string>();
  c.backends.forEach((b, i) => {
    const l = `${b.address}/${b.namespace}`;
    if (labels.has(l)) throw new ConfigError(`backends.${i}`, `duplicate backend ${l}`);
    labels.add(l);
  });
  if (Math.ceil((c.chunkSize + 64) / c.dataShards) > MAX_VALUE) {
    throw new ConfigError('chunkSize', `a chunk of ${c.chunkSize} bytes over ${c.dataShards} data shards exceeds 0-db's 8 MiB value limit; lower chunkSize`);
  }
  return c;
}

/**
 * Reads and validates a store config file (YAML or JSON).
 * @throws ConfigError (field `config` for an unreadable or unparsable file)
 */
export function loadStoreConfig(path: string): StoreConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('config', `cannot read ${path}: ${(err as Error).message}`);
  }
  let obj: unknown;
  try {
    obj = parseYaml(text);
  } catch (err) {
    throw new ConfigError('config', `${path} is not YAML/JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  return validateStoreConfig(obj);
}
