/** Errors thrown by the Babel module's public API (never by packet parsing, which counts and skips). */
import { TfwError } from '../../errors.js';

/** A prefix string that is not `address/length` in standard IPv4 or IPv6 notation. */
export class BabelPrefixError extends TfwError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('ERR_TFW_BABEL_PREFIX', `${field}: ${message}`);
    this.field = field;
  }
}

/** A bad argument to the router (router id length, unknown neighbour, duplicate neighbour). */
export class BabelArgumentError extends TfwError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('ERR_TFW_BABEL_ARGUMENT', `${field}: ${message}`);
    this.field = field;
  }
}
