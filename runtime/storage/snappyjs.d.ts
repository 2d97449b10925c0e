// Types for snappyjs 0.7 (a pure-JS Snappy, github.com/zhipeng-jia/snappyjs); it ships none.
declare module 'snappyjs' {
  /** Snappy raw format (no framing); returns the input's type (Uint8Array for Uint8Array/Buffer). */
  export function compress(input: Uint8Array): Uint8Array;
  /** @throws Error('Invalid Snappy bitstream') or when the length exceeds maxLength */
  export function uncompress(input: Uint8Array, maxLength?: number): Uint8Array;
  const snappy: { compress: typeof compress; uncompress: typeof uncompress };
  export default snappy;
}
