/**
 * 0-db's command set (threefoldtech/0-db docs "Supported commands"), one
 * handler per command over a connection's session: PING, SET/GET/DEL/EXISTS/
 * CHECK, SCAN/RSCAN, DBSIZE, SELECT, AUTH, NSNEW/NSDEL/NSINFO/NSLIST/NSSET,
 * INFO, TIME, COMMAND, QUIT; and COMPACT (tfw's own: compaction.ts). Replies and error texts follow 0-db's.
 */
import { Buffer } from 'node:buffer';
import { timingSafeEqual, createHash } from 'node:crypto';
import { CorruptRecordError, LimitError } from './errors.js';
import { isCompacting } from './compaction.js';
import { MAX_KEY, MAX_VALUE } from './record-log.js';
import { NAMESPACE_NAME, type Namespace, type NamespaceSet } from './namespace.js';
import { RespErrorReply, RespStatus, type RespValue } from './resp.js';

/** Entries returned by one SCAN call (0-db returns a batch; clients loop on the cursor). */
export const SCAN_BATCH = 32;

export interface Session {
  ns: Namespace;
  /** False after SELECT of a public, password-protected namespace without the password. */
  writable: boolean;
  admin: boolean;
  quit: boolean;
  /** Where GET reads a record (RecordLog.get's `alloc`; server.ts lends reply buffers); default a new buffer each. */
  alloc?: (bytes: number) => Buffer;
}

export interface ServerState {
  namespaces: NamespaceSet;
  /** SHA-256 of the admin password; absent = every client is admin (0-db without --admin). */
  adminHash?: Buffer;
  started: number;
}

const OK = new RespStatus('OK');
const err = (m: string) => new RespErrorReply(m);
const str = (b: Buffer | undefined) => (b ?? Buffer.alloc(0)).toString('utf8');

type Handler = (s: Session, a: Buffer[], st: ServerState) => RespValue;

function arity(a: Buffer[], min: number, max: number, name: string): RespErrorReply | null {
  return a.length < min || a.length > max ? err(`ERR wrong number of arguments for '${name}' command`) : null;
}

function writeGuard(s: Session): RespErrorReply | null {
  return s.writable ? null : err('Namespace is in read-only mode');
}

function adminGuard(s: Session): RespErrorReply | null {
  return s.admin ? null : err('Permission denied');
}

/** A SCAN cursor is the log position of the last entry returned, 8 bytes little-endian (opaque to clients). */
function cursorOf(offset: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(offset));
  return b;
}

function scan(reverse: boolean): Handler {
  return (s, a) => {
    const e = arity(a, 0, 1, reverse ? 'rscan' : 'scan');
    if (e) return e;
    let from: number | null = null;
    if (a.length === 1) {
      if (a[0].length !== 8) return err('Invalid cursor');
      from = Number(a[0].readBigUInt64LE());
    }
    const batch = s.ns.log.scan(from, SCAN_BATCH, reverse);
    if (!batch.length) return err('No more data');
    return [cursorOf(batch[batch.length - 1].offset), batch.map((x) => [x.key, x.size, x.timestamp])];
  };
}

function nsInfo(ns: Namespace): string {
  return [
    '# namespace',
    `name: ${ns.name}`,
    `entries: ${ns.log.entries}`,
    `public: ${ns.settings.public ? 'yes' : 'no'}`,
    `password: ${ns.hasPassword ? 'yes' : 'no'}`,
    `data_size_bytes: ${ns.dataBytes}`,
    `data_size_mb: ${(ns.dataBytes / 1048576).toFixed(2)}`,
    `data_limits_bytes: ${ns.settings.maxsize}`,
    `index_size_bytes: ${ns.log.entries * 40}`,
    `mode: ${ns.settings.mode === 'seq' ? 'sequential' : 'userkey'}`,
    `worm: no`,
    `locked: no`,
    `log_bytes: ${ns.log.fileBytes}`,
    `garbage_bytes: ${ns.log.garbageBytes}`,
    `compacting: ${isCompacting(ns.log) ? 'yes' : 'no'}`,
    '',
  ].join('\n');
}

export const COMMANDS: Record<string, Handler> = {
  PING: (_s, a) => (a.length ? a[0] : new RespStatus('PONG')),

  SET: (s, a) => {
    const e = arity(a, 2, 2, 'set') ?? writeGuard(s);
    if (e) return e;
    let [key, value] = a;
    if (value.length > MAX_VALUE) return err(`Payload too large (max ${MAX_VALUE} bytes)`);
    if (s.ns.settings.mode === 'seq') {
      if (key.length !== 0 && (key.length !== 4 || !s.ns.log.has(key))) return err('Invalid key, only update authorized');
    } else if (key.length === 0 || key.length > MAX_KEY) {
      return err(`Invalid key size (1..${MAX_KEY} bytes)`);
    }
    if (!s.ns.fits(key, value.length)) return err('No space left on this namespace');
    if (key.length === 0) key = s.ns.takeSeqKey(); // only now: a refused SET leaves no gap in the ids
    s.ns.put(key, value);
    return key;
  },

  GET: (s, a) => {
    const e = arity(a, 1, 1, 'get');
    if (e) return e;
    try {
      return s.ns.log.get(a[0], s.alloc);
    } catch (x) {
      if (x instanceof CorruptRecordError) return err('Internal error: data corrupted (checksum mismatch)');
      throw x;
    }
  },

  DEL: (s, a) => {
    const e = arity(a, 1, 1, 'del') ?? writeGuard(s);
    if (e) return e;
    return s.ns.remove(a[0]) ? OK : err('Key not found');
  },

  EXISTS: (s, a) => arity(a, 1, 1, 'exists') ?? (s.ns.log.has(a[0]) ? 1 : 0),

  CHECK: (s, a) => arity(a, 1, 1, 'check') ?? (!s.ns.log.has(a[0]) ? null : s.ns.log.check(a[0]) ? 1 : 0),

  SCAN: scan(false),
  RSCAN: scan(true),

  DBSIZE: (s) => s.ns.log.entries,

  SELECT: (s, a, st) => {
    const e = arity(a, 1, 3, 'select');
    if (e) return e;
    const ns = st.namespaces.get(str(a[0]));
    if (!ns) return err('Namespace not found');
    // SELECT ns [SECURE] password: the SECURE challenge form is not offered (AUTH SECURE neither)
    const password = a.length === 3 ? undefined : a[1];
    if (a.length === 3) return err('SECURE is not supported; send SELECT ns password');
    if (s.admin && st.adminHash) {
      Object.assign(s, { ns, writable: true });
      return OK;
    }
    if (password !== undefined && !ns.passwordMatches(password)) return err('Access denied');
    if (password === undefined && ns.hasPassword && !ns.settings.public) return err('Access denied');
    Object.assign(s, { ns, writable: password !== undefined || !ns.hasPassword });
    return OK;
  },

  AUTH: (s, a, st) => {
    const e = arity(a, 1, 2, 'auth');
    if (e) return e;
    if (a.length === 2) return err('SECURE is not supported; send AUTH password');
    if (!st.adminHash) return err('Authentication disabled (no admin password set)');
    const got = createHash('sha256').update(a[0]).digest();
    if (!timingSafeEqual(got, st.adminHash)) return err('Access denied');
    s.admin = true;
    s.writable = true;
    return OK;
  },

  NSNEW: (s, a, st) => {
    const e = arity(a, 1, 1, 'nsnew') ?? adminGuard(s);
    if (e) return e;
    const name = str(a[0]);
    if (!NAMESPACE_NAME.test(name)) return err('Invalid namespace name (1..128 of A-Z a-z 0-9 . _ -)');
    if (st.namespaces.get(name)) return err('Namespace already exists');
    st.namespaces.create(name);
    return OK;
  },

  NSDEL: (s, a, st) => {
    const e = arity(a, 1, 1, 'nsdel') ?? adminGuard(s);
    if (e) return e;
    const name = str(a[0]);
    if (name === 'default') return err('Cannot remove the default namespace');
    if (!st.namespaces.get(name)) return err('Namespace not found');
    if (s.ns.name === name) return err('Cannot remove the namespace you are using');
    st.namespaces.drop(name);
    return OK;
  },

  NSINFO: (_s, a, st) => {
    const e = arity(a, 1, 1, 'nsinfo');
    if (e) return e;
    const ns = st.namespaces.get(str(a[0]));
    return ns ? Buffer.from(nsInfo(ns)) : err('Namespace not found');
  },

  NSLIST: (_s, _a, st) => st.namespaces.names().map((n) => Buffer.from(n)),

  NSSET: (s, a, st) => {
    const e = arity(a, 3, 3, 'nsset') ?? adminGuard(s);
    if (e) return e;
    const ns = st.namespaces.get(str(a[0]));
    if (!ns) return err('Namespace not found');
    const prop = str(a[1]).toLowerCase();
    const v = str(a[2]);
    switch (prop) {
      case 'password':
        ns.setPassword(v === '*' ? null : a[2]);
        return OK;
      case 'public':
        if (!['0', '1', 'yes', 'no'].includes(v)) return err('Invalid value for public: expected 0, 1, yes or no');
        ns.settings.public = v === '1' || v === 'yes';
        break;
      case 'maxsize':
        if (!/^\d{1,15}$/.test(v)) return err('Invalid value for maxsize: expected bytes');
        ns.settings.maxsize = Number(v);
        break;
      case 'mode':
        if (!['user', 'userkey', 'seq', 'sequential'].includes(v)) return err('Invalid mode: expected user or seq');
        if (ns.log.entries > 0) return err('Cannot change the mode of a namespace that holds data');
        ns.settings.mode = v.startsWith('seq') ? 'seq' : 'user';
        break;
      default:
        return err('Invalid property (password, public, maxsize, mode)');
    }
    ns.saveSettings();
    return OK;
  },

  // not in 0-db (its compaction is an offline tool): rewrites the namespace's log without its garbage, in the background
  COMPACT: (s, a, st) => {
    const e = arity(a, 0, 1, 'compact') ?? adminGuard(s);
    if (e) return e;
    const name = a.length ? str(a[0]) : s.ns.name;
    if (!st.namespaces.get(name)) return err('Namespace not found');
    return st.namespaces.compact(name, 'COMPACT') ? new RespStatus('Compaction started') : err('Compaction already running');
  },

  INFO: (_s, _a, st) =>
    Buffer.from(
      ['# server', 'server_name: tfw 0-db compatible backend', `uptime: ${Math.floor((Date.now() - st.started) / 1000)}`,
        `namespaces: ${st.namespaces.names().length}`, `max_value_bytes: ${MAX_VALUE}`, ''].join('\n'),
    ),

  TIME: () => {
    const ms = Date.now();
    return [Buffer.from(String(Math.floor(ms / 1000))), Buffer.from(String((ms % 1000) * 1000))];
  },

  COMMAND: () => [],

  QUIT: (s) => {
    s.quit = true;
    return OK;
  },
};

/**
 * Runs one request. Unknown commands and internal failures become error replies;
 * the connection stays usable.
 */
export function dispatch(s: Session, req: RespValue, st: ServerState): RespValue {
  if (!Array.isArray(req) || req.length === 0 || !req.every((x) => Buffer.isBuffer(x))) {
    return err('ERR expected a command: an array of bulk strings');
  }
  const args = req as Buffer[];
  const name = args[0].toString('latin1').toUpperCase();
  const h = COMMANDS[name];
  if (!h) return err(`Command not supported: ${name.slice(0, 32)}`);
  try {
    return h(s, args.slice(1), st);
  } catch (x) {
    if (x instanceof LimitError) return err(x.message);
    return err(`Internal error: ${(x as Error).message}`);
  }
}
