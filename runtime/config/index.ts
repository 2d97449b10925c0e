/** The tfw config: overlay schema, loaders (YAML/JSON/CBOR/wg-quick) and the CBOR compiler. */
export { validateOverlayConfig, validateImageOverlayConfig, isKey32, type ImageOverlayConfig, type OverlayConfig, type OverlayConfigInput, type PeerConfig } from './schema.js';
export { loadConfig, parseConfig, parseConfigObject, readConfigObject, detectFormat, compileConfig, type ConfigFormat } from './load.js';
export { parseWgQuick, toWgQuick } from './wgquick.js';
export { parseIp, formatIp, parseCidr, formatCidr, maskCidr, parseEndpoint, formatEndpoint, parseListenAddress, type Cidr, type Endpoint, type ListenAddress } from './ip.js';
export { TOP_LEVEL_KEYS, suggestKey } from './top-level.js';
export { myceliumFor, validateMyceliumConfig, type MyceliumConfig } from './mycelium.js';
export { validateSlicesConfig, DEFAULT_SLICES_BRIDGE, type SlicesConfig } from './slices.js';
