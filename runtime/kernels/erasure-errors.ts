/**
 * Errors of the Reed-Solomon kernel (tfw/erasure). Each carries a stable code;
 * messages name the shard index, the value and what was expected.
 */
import { TfwError } from '../errors.js';

/** Fewer than k shards survive, so the data cannot be recovered (klauspost: ErrTooFewShards). */
export class TooFewShardsError extends TfwError {
  readonly present: number;
  readonly needed: number;
  constructor(present: number, needed: number, what = 'shards') {
    super('ERR_TFW_TOO_FEW_SHARDS', `${what}: ${present} present, at least ${needed} needed`);
    this.present = present;
    this.needed = needed;
  }
}

/** Shards differ in length, are empty, or are not Uint8Arrays (klauspost: ErrShardSize, ErrShardNoData). */
export class ShardSizeError extends TfwError {
  /** Index of the offending shard, or -1 when the error is about the whole set. */
  readonly index: number;
  constructor(index: number, message: string) {
    super('ERR_TFW_SHARD_SIZE', index >= 0 ? `shards[${index}]: ${message}` : `shards: ${message}`);
    this.index = index;
  }
}

/** The shard array does not hold k + m entries, or split/join got unusable data (klauspost: ErrTooFewShards, ErrShortData). */
export class ShardCountError extends TfwError {
  constructor(message: string) {
    super('ERR_TFW_SHARD_COUNT', message);
  }
}

/** split got no data, or join was asked for more bytes than the data shards hold (klauspost: ErrShortData). */
export class ShortDataError extends TfwError {
  constructor(message: string) {
    super('ERR_TFW_SHORT_DATA', message);
  }
}
