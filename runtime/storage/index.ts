/**
 * tfw/storage: the 0-db-compatible shard backend (`startShardServer`) and the
 * erasure-coded, encrypted object store client (`ObjectStore`, `check`,
 * `repair`, `status`). docs/storage.md describes the formats and guarantees.
 */
export { startShardServer, parseHostPort, type ShardServer, type ShardServerOptions } from './server.js';
export { ZdbClient, type ZdbClientOptions } from './zdb-client.js';
export { ObjectStore, type ObjectInfo, type ObjectStoreOptions, type PutOptions, type ReadOptions } from './object-store.js';
export { check, repair, status, type CheckReport, type ObjectCheck, type RepairReport, type RepairOptions, type StatusReport } from './maintenance.js';
export { loadStoreConfig, validateStoreConfig, type StoreConfig, type StoreConfigInput, type BackendConfig } from './store-config.js';
export { MAX_VALUE, MAX_KEY, type SyncPolicy } from './record-log.js';
export { BackendError, CorruptRecordError, DataLostError, LimitError, NotFoundError, ProtocolError, WrongSecretError } from './errors.js';
