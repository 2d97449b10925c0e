/**
 * tfw error classes. Every error carries a stable `code` (`ERR_TFW_...`) and a
 * message that names the field, the value and what was expected.
 */
export class TfwError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Thrown when a kernel or backend cannot be loaded (missing build output, unsupported engine). */
export class BackendUnavailableError extends TfwError {
  constructor(message: string) {
    super('ERR_TFW_BACKEND_UNAVAILABLE', message);
  }
}

/** Thrown for an invalid configuration value; `field` is its dotted path. */
export class ConfigError extends TfwError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('ERR_TFW_CONFIG', `${field}: ${message}`);
    this.field = field;
  }
}

/** Thrown when a ChaCha20-Poly1305 tag does not verify (RFC 8439 §2.8: the message is rejected). */
export class AuthenticationError extends TfwError {
  constructor(message = 'aead: authentication failed (tag mismatch): the ciphertext, tag, nonce, key or AAD is wrong') {
    super('ERR_TFW_AEAD_AUTH', message);
  }
}

/** Thrown when kernel routes cannot be programmed (runtime/overlay/os/kernel-routes.ts), or for a malformed route. */
export class RouteError extends TfwError {
  constructor(message: string) {
    super('ERR_TFW_ROUTE', message);
  }
}

/**
 * A kernel API argument of the wrong type (a non-Uint8Array, a view of a
 * detached buffer, a wrong output array type). A TypeError, as Node's own
 * ERR_INVALID_ARG_TYPE is, so the documented `instanceof TypeError` contract
 * of tfw/aead holds, with a stable code on top.
 */
export class ArgumentTypeError extends TypeError {
  readonly code = 'ERR_TFW_ARG_TYPE';
  constructor(message: string) {
    super(message);
    this.name = 'ArgumentTypeError';
  }
}

/** A kernel API argument out of range (size, index, count): a RangeError with a stable code, as ArgumentTypeError. */
export class ArgumentRangeError extends RangeError {
  readonly code = 'ERR_TFW_ARG_RANGE';
  constructor(message: string) {
    super(message);
    this.name = 'ArgumentRangeError';
  }
}
