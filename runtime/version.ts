/** tfw version, injected at bundle time (esbuild --define) or read from package.json. */
declare const __TFW_VERSION__: string | undefined;
export const VERSION: string = typeof __TFW_VERSION__ === 'string' ? __TFW_VERSION__ : '0.1.0';
