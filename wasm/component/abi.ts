// Canonical ABI plumbing for the tfw:kernels component (Component Model
// CanonicalABI.md: flattening, `cabi_realloc`, return areas, post-return).
//
// Arguments (lowered by the host through cabi_realloc) and results (return areas
// and result lists) live in one bump arena. Every export returns a pointer to its
// return area and has a post-return function that resets the arena, so memory
// stays bounded by the largest single call. The arena and every table come from
// the forward kernel's block allocator: the module has exactly one allocator.
import { blockAlloc, blockFree } from '../forward/index';

const MIN_ARENA: usize = 64 * 1024;
/** Arenas outgrown during the current call, freed at the next reset. */
const RETIRED: usize = memory.data(64 * 8);
let retired: i32 = 0;
let base: usize = 0;
let end: usize = 0;
let top: usize = 0;

function growArena(need: usize): void {
  const old = end - base;
  let cap = old << 1;
  if (cap < need << 1) cap = need << 1;
  if (cap < MIN_ARENA) cap = MIN_ARENA;
  const p = blockAlloc(cap);
  if (p == 0) unreachable(); // out of memory: the call traps
  if (base != 0) {
    if (retired < 64) {
      store<u32>(RETIRED + (<usize>retired << 3), <u32>base);
      store<u32>(RETIRED + (<usize>retired << 3), <u32>old, 4);
      retired++;
    }
  }
  base = p;
  end = p + cap;
  top = p;
}

/** `size` bytes aligned to `align` (a power of two) from the arena; never 0. */
export function bump(size: usize, align: usize): usize {
  let p = (top + align - 1) & ~(align - 1);
  if (base == 0 || p + size > end) {
    growArena(size + align);
    p = (top + align - 1) & ~(align - 1);
  }
  top = p + size;
  return p;
}

/**
 * Bytes left after each argument block of 1 KiB or more: shards lowered one after
 * another then sit `size + 64` bytes apart, not a power of two apart, so the same
 * byte of every row does not map to one L1 set (see runtime/kernels/erasure-engine.ts).
 */
export const ROW_PAD: usize = 64;

/** cabi_realloc: the host allocates argument lists here (old blocks are never reused). */
export function cabiRealloc(old: usize, oldSize: usize, align: usize, size: usize): usize {
  const p = bump(size >= 1024 ? size + ROW_PAD : size, align == 0 ? 1 : align);
  if (old != 0 && oldSize != 0) memory.copy(p, old, oldSize < size ? oldSize : size);
  return p;
}

/** Post-return of every export: the host has copied the results out. */
export function postReturn(_ret: usize): void {
  top = base;
  for (let i = 0; i < retired; i++) {
    blockFree(<usize>load<u32>(RETIRED + (<usize>i << 3)), <usize>load<u32>(RETIRED + (<usize>i << 3), 4));
  }
  retired = 0;
}

// ---- Return areas ----------------------------------------------------------
// result<T, E> is stored as a u8 discriminant (0 ok, 1 err) then the payload at
// the payload's alignment: offset 4 for lists, s32 and handles, 1 for bool and
// enums (E is an enum of < 256 cases, stored as u8).

/** result<list<_>, E> ok: (ptr, len) at offset 4. */
export function okList(ptr: usize, len: usize): usize {
  const r = bump(12, 4);
  store<u8>(r, 0);
  store<u32>(r, <u32>ptr, 4);
  store<u32>(r, <u32>len, 8);
  return r;
}

/** result<T, E> err where T has 4-byte alignment (lists, s32, handles). */
export function err4(code: u8): usize {
  const r = bump(12, 4);
  store<u8>(r, 1);
  store<u8>(r, code, 4);
  return r;
}

/** result<u32-like, E> ok (s32 or a handle) at offset 4. */
export function ok32(v: u32): usize {
  const r = bump(8, 4);
  store<u8>(r, 0);
  store<u32>(r, v, 4);
  return r;
}

/** result<bool, E> ok, or result<_, E> ok (value ignored), payload at offset 1. */
export function ok8(v: u8): usize {
  const r = bump(2, 1);
  store<u8>(r, 0);
  store<u8>(r, v, 1);
  return r;
}

/** result<T, E> err where T has 1-byte alignment (bool, no payload). */
export function err1(code: u8): usize {
  const r = bump(2, 1);
  store<u8>(r, 1);
  store<u8>(r, code, 1);
  return r;
}
