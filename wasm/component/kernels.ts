// Entry of the tfw:kernels component's core module (wit/kernels.wit): the three
// kernels' AssemblyScript sources behind canonical-ABI exports. Export names are
// plain identifiers here; scripts/component.mjs renames them to the
// canonical names (`tfw:kernels/aead@0.1.0#seal`, `cabi_post_...`) before
// `componentNew`. Built once, from the SIMD kernels, by mk/wasi.mk.
export { cabiRealloc, postReturn } from './abi';
export { seal, open, xseal, xopen, sealBatch, openBatch, sealPacked, openPacked } from './aead';
export { encode, reconstruct, verify } from './erasure';
export { fibCreate, fibInsert, fibDelete, fibLookup, fibLookupBatch, fibDrop } from './forward';
