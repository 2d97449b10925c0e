/**
 * Errors of the shard backend and the object store (runtime/storage/). Each has
 * a stable code, listed here in one place:
 *   ERR_TFW_STORE_PROTOCOL   a RESP frame that does not parse (either side)
 *   ERR_TFW_STORE_BACKEND    a backend is unreachable, timed out or answered an error
 *   ERR_TFW_STORE_NOT_FOUND  no object (or key) of that name
 *   ERR_TFW_STORE_SECRET     the metadata does not open with this secret
 *   ERR_TFW_STORE_LOST       fewer than k intact shards of a chunk remain
 *   ERR_TFW_STORE_CORRUPT    a record or shard whose checksum does not match
 *   ERR_TFW_STORE_LIMIT      a key or value over 0-db's limits
 */
import { TfwError } from '../errors.js';

/** A malformed RESP frame (redis protocol spec, "RESP protocol description"). */
export class ProtocolError extends TfwError {
  constructor(message: string) {
    super('ERR_TFW_STORE_PROTOCOL', `resp: ${message}`);
  }
}

/** A backend failed: `backend` is its HOST:PORT (and namespace). */
export class BackendError extends TfwError {
  readonly backend: string;
  /** `reply`: the backend answered with an error; `network`: unreachable, closed or timed out. */
  readonly kind: 'reply' | 'network';
  constructor(backend: string, message: string, kind: 'reply' | 'network' = 'network') {
    super('ERR_TFW_STORE_BACKEND', `backend ${backend}: ${message}`);
    this.backend = backend;
    this.kind = kind;
  }
}

/** No object of that name is stored. */
export class NotFoundError extends TfwError {
  constructor(message: string) {
    super('ERR_TFW_STORE_NOT_FOUND', message);
  }
}

/** The object's metadata was written with another secret (or the secret is wrong). */
export class WrongSecretError extends TfwError {
  constructor(message: string) {
    super('ERR_TFW_STORE_SECRET', message);
  }
}

/** Too few intact shards remain to rebuild a chunk (more than m lost or corrupt). */
export class DataLostError extends TfwError {
  constructor(message: string) {
    super('ERR_TFW_STORE_LOST', message);
  }
}

/** A stored record's checksum does not match its bytes. */
export class CorruptRecordError extends TfwError {
  constructor(message: string) {
    super('ERR_TFW_STORE_CORRUPT', message);
  }
}

/** A key or value over 0-db's limits (255-byte keys, 8 MiB values). */
export class LimitError extends TfwError {
  constructor(message: string) {
    super('ERR_TFW_STORE_LIMIT', message);
  }
}
