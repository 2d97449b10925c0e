/**
 * The device API's sign-in: one admin password, stored as a scrypt hash
 * (node:crypto, RFC 7914; N=2^14, r=8, p=1, 16-byte salt, 32-byte key, the
 * parameters stored beside the hash) in `/data/tfw/api/admin.json` (mode 0600,
 * written atomically), sessions as random 256-bit tokens with an idle expiry,
 * and failed logins rate-limited per source address (5 in a window of 60 s,
 * then refused until the window passes), as LuCI's and most routers' logins are.
 *
 * An image may carry a password set at build time (`tfw build
 * --admin-password-file`, the same hash record in `/etc/tfw/admin.json`):
 * it holds until one is set on the device, which then lives on /data.
 *
 * Until a password is set the device is in set-up mode, like a fresh OpenWrt:
 * every endpoint answers requests from the LAN (loopback, RFC 1918, RFC 4193,
 * link-local) and nothing else, and the console asks for a password first.
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { TfwError } from '../errors.js';

/** Where the hash lives below the data partition. */
export const ADMIN_FILE = 'tfw/api/admin.json';
/** Where an image keeps the hash of a password set at build time. */
export const IMAGE_ADMIN_FILE = '/etc/tfw/admin.json';
const SCRYPT = { N: 1 << 14, r: 8, p: 1, keylen: 32 };
/** Failed logins allowed per address and window. */
export const LOGIN_FAILURES = 5;
export const LOGIN_WINDOW_S = 60;
/** Shortest password accepted. */
export const MIN_PASSWORD = 8;

/** The stored form of the password: scrypt's parameters, salt and key (base64). */
export interface StoredHash {
  scrypt: { N: number; r: number; p: number; salt: string; hash: string };
}

/**
 * Hashes an admin password for storing (a fresh random salt each time).
 * @throws AuthError 400 when shorter than MIN_PASSWORD characters
 */
export function hashPassword(password: unknown): StoredHash {
  if (typeof password !== 'string' || password.length < MIN_PASSWORD) throw new AuthError(400, `password: expected a string of at least ${MIN_PASSWORD} characters`);
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, SCRYPT.keylen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
  return { scrypt: { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, salt: salt.toString('base64'), hash: hash.toString('base64') } };
}

/** An auth failure with its HTTP status (401, 403, 429) and, for 429, seconds to wait. */
export class AuthError extends TfwError {
  constructor(readonly status: number, message: string, readonly retryAfter?: number) {
    super(status === 429 ? 'ERR_TFW_RATE_LIMITED' : 'ERR_TFW_AUTH', message);
  }
}

/**
 * True for addresses on the device's own side: loopback, RFC 1918 IPv4,
 * 100.64/10 (CGNAT, as QEMU's and carriers' NATs use), IPv6 ULA fc00::/7,
 * link-local (also as IPv4-mapped IPv6).
 */
export function isLanAddress(addr: string | undefined): boolean {
  if (!addr) return false;
  const a = addr.startsWith('::ffff:') && isIP(addr.slice(7)) === 4 ? addr.slice(7) : addr;
  if (isIP(a) === 4) {
    const [x, y] = a.split('.').map(Number);
    return x === 127 || x === 10 || (x === 172 && y >= 16 && y < 32) || (x === 192 && y === 168) || (x === 169 && y === 254) || (x === 100 && y >= 64 && y < 128);
  }
  if (isIP(a) === 6) return a === '::1' || /^f[cd]/i.test(a) || /^fe[89ab]/i.test(a);
  return false;
}

export class AdminAuth {
  private stored: StoredHash | undefined;
  private readonly sessions = new Map<string, number>();
  private readonly failures = new Map<string, number[]>();
  private readonly file?: string;

  /**
   * `dataDir`: where the hash is kept (RAM only without it). `imageFile`: a
   * hash set at build time (IMAGE_ADMIN_FILE in images), used while the data
   * partition holds none. `sessionSeconds`: idle expiry of a session (default 3600).
   */
  constructor(o: { dataDir?: string; imageFile?: string; sessionSeconds?: number; now?: () => number } = {}) {
    this.file = o.dataDir ? join(o.dataDir, ADMIN_FILE) : undefined;
    this.sessionMs = (o.sessionSeconds ?? 3600) * 1000;
    this.now = o.now ?? Date.now;
    const from = [this.file, o.imageFile].find((f): f is string => !!f && existsSync(f));
    if (from) this.stored = JSON.parse(readFileSync(from, 'utf8')) as StoredHash;
  }

  private readonly sessionMs: number;
  private readonly now: () => number;

  /** True once an admin password exists. */
  get isSet(): boolean {
    return this.stored !== undefined;
  }

  /**
   * Sets (or replaces) the password: hashes it and stores the hash; every
   * session ends.
   * @throws AuthError 400 when shorter than MIN_PASSWORD characters
   */
  setPassword(password: unknown): void {
    this.stored = hashPassword(password);
    if (this.file) {
      mkdirSync(dirname(this.file), { recursive: true, mode: 0o700 });
      writeFileSync(`${this.file}.tmp`, `${JSON.stringify(this.stored)}\n`, { mode: 0o600 });
      renameSync(`${this.file}.tmp`, this.file);
    }
    this.sessions.clear();
  }

  /** True when `password` matches the stored hash (constant-time compare). */
  verify(password: unknown): boolean {
    if (!this.stored || typeof password !== 'string') return false;
    const s = this.stored.scrypt;
    const want = Buffer.from(s.hash, 'base64');
    const got = scryptSync(password, Buffer.from(s.salt, 'base64'), want.length, { N: s.N, r: s.r, p: s.p, maxmem: 256 * s.N * s.r });
    return timingSafeEqual(want, got);
  }

  /**
   * Checks a login from `from` and opens a session.
   * @returns the session token and its expiry (Unix ms)
   * @throws AuthError 429 after LOGIN_FAILURES failures in the window; 401 for a wrong password or none set
   */
  login(from: string, password: unknown): { token: string; expires: number } {
    const t = this.now();
    const recent = (this.failures.get(from) ?? []).filter((x) => t - x < LOGIN_WINDOW_S * 1000);
    if (recent.length >= LOGIN_FAILURES) {
      throw new AuthError(429, `too many failed logins from ${from}; try again in ${Math.ceil((recent[0] + LOGIN_WINDOW_S * 1000 - t) / 1000)} s`, Math.ceil((recent[0] + LOGIN_WINDOW_S * 1000 - t) / 1000));
    }
    if (!this.stored) throw new AuthError(401, 'no admin password is set yet; set one first (POST /v1/password)');
    if (!this.verify(password)) {
      recent.push(t);
      this.failures.set(from, recent);
      throw new AuthError(401, 'password: wrong password');
    }
    this.failures.delete(from);
    const token = randomBytes(32).toString('base64url');
    this.sessions.set(token, t + this.sessionMs);
    return { token, expires: t + this.sessionMs };
  }

  /** True for a live session token; each use extends it (idle expiry). */
  session(token: string | undefined): boolean {
    if (!token) return false;
    const exp = this.sessions.get(token);
    const t = this.now();
    if (exp === undefined || exp <= t) {
      this.sessions.delete(token);
      return false;
    }
    this.sessions.set(token, t + this.sessionMs);
    return true;
  }

  logout(token: string | undefined): void {
    if (token) this.sessions.delete(token);
  }
}
