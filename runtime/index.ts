/** `tfw/runtime`: the pieces of the image runtime usable as a library. */
export { VERSION } from './version.js';
export { TfwError, BackendUnavailableError, ConfigError, AuthenticationError } from './errors.js';
export { resolveBackend, availableBackends, wasmSimdSupported, calibrate, autoDecisions } from './kernels/backend.js';
export { startOverlay, overlayAddress, overlayPrefix, type Overlay, type OverlayStatus } from './overlay/index.js';
export { loadConfig, parseConfig, compileConfig, validateOverlayConfig, type OverlayConfig } from './config/index.js';
export { selfTest, selfTests, type SelfTestResult } from './selftest.js';
