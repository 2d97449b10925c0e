// tfw:kernels/forward over wasm/forward: the `fib` resource. The kernel holds one
// IPv4 table (DIR-24-8) and one IPv6 table (Poptrie) per instance, so a component
// instance opens at most one fib per family; the resource's rep is 1 (IPv4) or
// 2 (IPv6). The RIB (the set of prefixes: the covering route on an IPv4 delete,
// presence on delete, every route on drop) is an open-addressing hash table here.
import {
  blockAlloc,
  blockFree,
  v4Delete,
  v4Insert,
  v4Lookup,
  v4LookupBatch,
  v4Ready,
  v6Delete,
  v6Insert,
  v6Lookup,
  v6LookupBatch,
  v6Ready,
} from '../forward/index';
import { bump, err1, err4, ok32, ok8, okList } from './abi';

@external('[export]tfw:kernels/forward@0.1.0', '[resource-new]fib')
declare function resourceNew(rep: i32): i32;

// forward-error cases (wit/kernels.wit order).
const FAMILY_IN_USE: u8 = 0;
const BAD_ADDRESS: u8 = 1;
const BAD_LENGTH: u8 = 2;
const OUT_OF_MEMORY: u8 = 3;

const V4: i32 = 1;
const V6: i32 = 2;
let open4 = false;
let open6 = false;

// ---- RIB: entries of 32 bytes {hi u64, lo u64, len u32 (bit 8: IPv6), nh i32, state u32} ----
const ENTRY: usize = 32;
const EMPTY: u32 = 0;
const USED: u32 = 1;
const GONE: u32 = 2;
let table: usize = 0;
let cap: usize = 0; // entries, a power of two
let used: usize = 0;
let filled: usize = 0; // used + tombstones

// @ts-ignore: decorator
@inline function mix(hi: u64, lo: u64, len: u32): usize {
  let h = hi ^ (lo * 0x9e3779b97f4a7c15) ^ (<u64>len << 56);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccd;
  h ^= h >> 33;
  return <usize>h;
}

/** Entry holding the key, or 0. */
function find(hi: u64, lo: u64, len: u32): usize {
  if (cap == 0) return 0;
  let i = mix(hi, lo, len) & (cap - 1);
  let e = table + i * ENTRY;
  let s = load<u32>(e, 24);
  while (s != EMPTY) {
    if (s == USED && load<u64>(e) == hi && load<u64>(e, 8) == lo && load<u32>(e, 16) == len) return e;
    i = (i + 1) & (cap - 1);
    e = table + i * ENTRY;
    s = load<u32>(e, 24);
  }
  return 0;
}

function place(hi: u64, lo: u64, len: u32, nh: i32): void {
  let i = mix(hi, lo, len) & (cap - 1);
  while (load<u32>(table + i * ENTRY, 24) == USED) i = (i + 1) & (cap - 1);
  const e = table + i * ENTRY;
  if (load<u32>(e, 24) == EMPTY) filled++;
  store<u64>(e, hi);
  store<u64>(e, lo, 8);
  store<u32>(e, len, 16);
  store<i32>(e, nh, 20);
  store<u32>(e, USED, 24);
  used++;
}

/** Makes room for one more entry (rehash at half full). False when out of memory. */
function reserveOne(): bool {
  if ((filled + 1) << 1 <= cap) return true;
  const oldTable = table, oldCap = cap;
  let n: usize = oldCap == 0 ? 64 : oldCap;
  while ((used + 1) << 2 > n) n <<= 1; // at most a quarter full after the rehash
  const t = blockAlloc(n * ENTRY);
  if (t == 0) return false;
  memory.fill(t, 0, n * ENTRY);
  table = t;
  cap = n;
  used = 0;
  filled = 0;
  for (let i: usize = 0; i < oldCap; i++) {
    const e = oldTable + i * ENTRY;
    if (load<u32>(e, 24) == USED) place(load<u64>(e), load<u64>(e, 8), load<u32>(e, 16), load<i32>(e, 20));
  }
  if (oldTable != 0) blockFree(oldTable, oldCap * ENTRY);
  return true;
}

/** Host-order masks for a prefix length (IPv4 in `hi` as u32, IPv6 over hi:lo). */
// @ts-ignore: decorator
@inline function mask64(bits: i32): u64 {
  return bits <= 0 ? 0 : bits >= 64 ? <u64>-1 : <u64>-1 << <u64>(64 - bits);
}
// @ts-ignore: decorator
@inline function mask4(len: u32): u32 {
  return len == 0 ? 0 : <u32>-1 << (32 - len);
}

// ---- fib resource --------------------------------------------------------

export function fibCreate(family: i32): usize {
  if (family == 0) {
    if (open4) return err4(FAMILY_IN_USE);
    open4 = true;
    return ok32(<u32>resourceNew(V4));
  }
  if (open6) return err4(FAMILY_IN_USE);
  open6 = true;
  return ok32(<u32>resourceNew(V6));
}

export function fibInsert(rep: i32, p: usize, n: usize, len: u32, nh: u32): usize {
  if (rep == V4) {
    if (n != 4) return err1(BAD_ADDRESS);
    if (len > 32) return err1(BAD_LENGTH);
    const ip = bswap<u32>(load<u32>(p)) & mask4(len);
    const e = find(ip, 0, len);
    if (e == 0 && !reserveOne()) return err1(OUT_OF_MEMORY);
    if (v4Insert(ip, len, nh & 0xffff) < 0) return err1(OUT_OF_MEMORY);
    if (e != 0) store<i32>(e, <i32>(nh & 0xffff), 20);
    else place(ip, 0, len, <i32>(nh & 0xffff));
    return ok8(0);
  }
  if (n != 16) return err1(BAD_ADDRESS);
  if (len > 128) return err1(BAD_LENGTH);
  const hi = bswap<u64>(load<u64>(p)) & mask64(<i32>len);
  const lo = bswap<u64>(load<u64>(p, 8)) & mask64(<i32>len - 64);
  const key = len | 0x100;
  const e = find(hi, lo, key);
  if (e == 0 && !reserveOne()) return err1(OUT_OF_MEMORY);
  if (v6Insert(hi, lo, len, <i32>(nh & 0xffff), e == 0) < 0) return err1(OUT_OF_MEMORY);
  if (e != 0) store<i32>(e, <i32>(nh & 0xffff), 20);
  else place(hi, lo, key, <i32>(nh & 0xffff));
  return ok8(0);
}

function remove(e: usize): void {
  store<u32>(e, GONE, 24);
  used--;
}

/** Deletes IPv4 ip/len, handing its entries to the covering prefix (found in the RIB). */
function delete4(ip: u32, len: u32): void {
  let coverNh: i32 = -1;
  let coverLen: u32 = 0;
  for (let l = <i32>len - 1; l >= 0; l--) {
    const c = find(ip & mask4(<u32>l), 0, <u32>l);
    if (c != 0) {
      coverNh = load<i32>(c, 20);
      coverLen = <u32>l;
      break;
    }
  }
  v4Delete(ip, len, coverNh, coverLen);
}

export function fibDelete(rep: i32, p: usize, n: usize, len: u32): usize {
  if (rep == V4) {
    if (n != 4) return err1(BAD_ADDRESS);
    if (len > 32) return err1(BAD_LENGTH);
    const ip = bswap<u32>(load<u32>(p)) & mask4(len);
    const e = find(ip, 0, len);
    if (e == 0) return ok8(0);
    remove(e);
    delete4(ip, len);
    return ok8(1);
  }
  if (n != 16) return err1(BAD_ADDRESS);
  if (len > 128) return err1(BAD_LENGTH);
  const hi = bswap<u64>(load<u64>(p)) & mask64(<i32>len);
  const lo = bswap<u64>(load<u64>(p, 8)) & mask64(<i32>len - 64);
  const e = find(hi, lo, len | 0x100);
  if (e == 0) return ok8(0);
  if (v6Delete(hi, lo, len) < 0) return err1(OUT_OF_MEMORY);
  remove(e);
  return ok8(1);
}

export function fibLookup(rep: i32, p: usize, n: usize): usize {
  if (rep == V4) {
    if (n != 4) return err4(BAD_ADDRESS);
    // v4Lookup / v6Lookup read their tables unconditionally: before the first insert, -1.
    return ok32(<u32>(v4Ready() ? v4Lookup(bswap<u32>(load<u32>(p))) : -1));
  }
  if (n != 16) return err4(BAD_ADDRESS);
  return ok32(<u32>(v6Ready() ? v6Lookup(bswap<u64>(load<u64>(p)), bswap<u64>(load<u64>(p, 8))) : -1));
}

export function fibLookupBatch(rep: i32, p: usize, n: usize): usize {
  const width: usize = rep == V4 ? 4 : 16;
  if (n % width != 0) return err4(BAD_ADDRESS);
  const count = n / width;
  const out = bump(count << 2, 4);
  if (rep == V4) v4LookupBatch(p, <u32>count, out);
  else v6LookupBatch(p, <u32>count, out);
  return okList(out, count);
}

/** Drop: removes every route of the family, so a new fib of it starts empty. */
export function fibDrop(rep: i32): void {
  const v6 = rep == V6;
  // Longest first, so each IPv4 delete falls back to nothing still to be removed.
  for (let l = v6 ? 128 : 32; l >= 0; l--) {
    const key = v6 ? <u32>l | 0x100 : <u32>l;
    for (let i: usize = 0; i < cap; i++) {
      const e = table + i * ENTRY;
      if (load<u32>(e, 24) != USED || load<u32>(e, 16) != key) continue;
      remove(e);
      if (v6) v6Delete(load<u64>(e), load<u64>(e, 8), <u32>l);
      else v4Delete(<u32>load<u64>(e), <u32>l, -1, 0);
    }
  }
  if (v6) open6 = false;
  else open4 = false;
}
