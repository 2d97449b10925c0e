// tfw forward kernel: IPv4 FIB (DIR-24-8), IPv6 FIB (Poptrie), batch classifier.
// One instance holds one IPv4 and one IPv6 table and the classifier that uses them.
export { blockAlloc, blockFree, liveBytes } from './alloc';
export { v4Insert, v4Delete, v4Lookup, v4LookupBatch, v4Bytes, v4Groups, v4Ready } from './dir24';
export { v6Insert, v6Delete, v6Bytes, v6Begin, v6Commit } from './poptrie6';
export { v6Lookup, v6LookupBatch, v6Ready } from './poptrie6-lookup';
export { classify, setLocal4, setLocal6 } from './classify';

/** Reserves a buffer of `bytes` bytes at start-up (batch buffers, packet pool); 0 when out of memory. */
export { blockAlloc as reserve } from './alloc';
