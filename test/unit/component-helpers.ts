/** Loading the transpiled tfw:kernels component (build/components/js, `make components`) for tests and benches. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface Packet {
  nonce: Uint8Array;
  data: Uint8Array;
  aad: Uint8Array;
}
export interface PackedBatch {
  nonces: Uint8Array;
  data: Uint8Array;
  lengths: Uint32Array | number[];
}
export interface ComponentFib {
  insert(prefix: Uint8Array, length: number, nextHop: number): void;
  delete(prefix: Uint8Array, length: number): boolean;
  lookup(address: Uint8Array): number;
  lookupBatch(addresses: Uint8Array): Int32Array;
  [Symbol.dispose](): void;
}
/** The ESM exports `jco transpile` generates for world tfw:kernels/kernels (see build/components/js/interfaces/*.d.ts). */
export interface KernelsComponent {
  aead: {
    seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
    open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array;
    xchachaSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array;
    xchachaOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array;
    sealBatch(key: Uint8Array, packets: Packet[]): Uint8Array[];
    openBatch(key: Uint8Array, packets: Packet[]): Array<Uint8Array | undefined>;
    sealPacked(key: Uint8Array, batch: PackedBatch): Uint8Array;
    openPacked(key: Uint8Array, batch: PackedBatch): { data: Uint8Array; verified: boolean[] };
  };
  erasure: {
    encode(dataShards: number, parityShards: number, data: Uint8Array[]): Uint8Array[];
    reconstruct(dataShards: number, parityShards: number, shards: Array<Uint8Array | undefined>): Uint8Array[];
    verify(dataShards: number, parityShards: number, shards: Uint8Array[]): boolean;
  };
  forward: {
    Fib: { create(family: 'ipv4' | 'ipv6'): ComponentFib };
  };
}

/** The repository root (this file is test/unit/component-helpers.ts). */
export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const componentDir = join(repoRoot, 'build/components');
export const componentFile = join(componentDir, 'tfw-kernels.wasm');

/** Imports build/components/js/tfw-kernels.js. @throws Error naming `make components` when it is not built */
export async function loadComponent(): Promise<KernelsComponent> {
  const js = join(componentDir, 'js/tfw-kernels.js');
  if (!existsSync(js)) throw new Error(`tfw: component: ${js} not found (run \`make components\`)`);
  return (await import(pathToFileURL(js).href)) as KernelsComponent;
}

/** The error case a component call threw (jco's ComponentError carries the WIT error as `payload`). */
export function errorCase(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return String((err as { payload?: unknown }).payload ?? (err as Error).message);
  }
  return 'no error';
}
