/** `tfw/runtime`: the pieces of the image runtime usable as a library. */
export { VERSION } from './version.js';
export { TfwError, BackendUnavailableError, ConfigError } from './errors.js';
export { resolveBackend, availableBackends, wasmSimdSupported } from './kernels/backend.js';
