/**
 * The node's identity: its X25519 private key, which also fixes its overlay
 * address (overlay/address.ts). On a device with a data partition the key is
 * created once, on first boot, and kept on `/data` (mode 0600, written to a
 * temporary file, fsync'ed and renamed into place so a power cut leaves either
 * no key or the whole key); every later boot loads it. A key given in the
 * config (`tfw build --config` with `privateKey`) wins over the stored one.
 * Without a data partition the runtime runs RAM-only with a key for this boot.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TfwError } from '../errors.js';
import { isKey32 } from '../config/schema.js';
import { generatePrivateKey, publicKeyFromPrivate, toBase64 } from '../overlay/wireguard/keys.js';
import { fsyncPath } from './slots.js';

/** Where the key lives below the data partition's mount point. */
export const IDENTITY_FILE = 'tfw/identity/node.key';

export interface Identity {
  /** Base64 of the 32-byte X25519 private key (as `wg genkey` prints it). */
  privateKey: string;
  publicKey: string;
  /** created: new on this boot and stored; loaded: read from /data; config: given in the config; ephemeral: RAM-only. */
  source: 'created' | 'loaded' | 'config' | 'ephemeral';
}

/**
 * Loads the identity from `dataDir` (the data partition's mount point) or
 * creates and stores it there; `configKey` (the config's privateKey) wins;
 * without `dataDir` the key is ephemeral.
 * @throws TfwError ERR_TFW_IDENTITY when the stored key is unreadable or not base64 of 32 bytes (it is never overwritten)
 */
export function loadIdentity(o: { dataDir?: string; configKey?: string }): Identity {
  const pub = (k: string) => toBase64(publicKeyFromPrivate(new Uint8Array(Buffer.from(k, 'base64'))));
  if (o.configKey) return { privateKey: o.configKey, publicKey: pub(o.configKey), source: 'config' };
  if (!o.dataDir) {
    const k = toBase64(generatePrivateKey());
    return { privateKey: k, publicKey: pub(k), source: 'ephemeral' };
  }
  const file = join(o.dataDir, IDENTITY_FILE);
  if (existsSync(file)) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new TfwError('ERR_TFW_IDENTITY', `${file}: cannot read the node key (${(err as NodeJS.ErrnoException).code})`);
    }
    if (!isKey32(text)) throw new TfwError('ERR_TFW_IDENTITY', `${file}: expected a base64 private key of 32 bytes; refusing to replace it (move it away to make a new identity)`);
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    return { privateKey: text, publicKey: pub(text), source: 'loaded' };
  }
  const k = toBase64(generatePrivateKey());
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${k}\n`, { mode: 0o600, flush: true } as Parameters<typeof writeFileSync>[2]);
  fsyncPath(tmp);
  renameSync(tmp, file);
  fsyncPath(dirname(file));
  return { privateKey: k, publicKey: pub(k), source: 'created' };
}
