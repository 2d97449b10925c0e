// Block allocator for the forward kernel's tables, in raw linear memory.
//
// Blocks come in power-of-two size classes (16 B .. 2 GiB); a freed block goes on
// its class's free list and is reused by the next request of that class. Fresh
// blocks come from a bump pointer above __heap_base that grows linear memory
// (memory.grow) only when the tables grow; nothing is allocated per lookup or per
// packet. Blocks up to 4 KiB are aligned to their size (DIR-24-8 tbl8 groups are
// addressed as ptr >> 10), larger ones to 4 KiB.

const MIN_CLASS: u32 = 4;
/** Free-list heads, one u32 per size class. */
const FREE: usize = memory.data(32 * 4);
let top: usize = 0;
/** Bytes handed out in live blocks (class sizes, not requested sizes). */
let live: u64 = 0;

/** Smallest class k with 2^k >= bytes (at least 16 B). */
// @ts-ignore: decorator
@inline function classOf(bytes: usize): u32 {
  const k = <u32>(32 - clz<u32>(<u32>bytes - 1));
  return k < MIN_CLASS ? MIN_CLASS : k;
}

/** Size in bytes of the block that a request of `bytes` receives. */
export function blockSize(bytes: usize): usize {
  return (<usize>1) << classOf(bytes);
}

/** Allocates a block of at least `bytes` bytes (contents undefined); 0 when memory is exhausted. */
export function blockAlloc(bytes: usize): usize {
  if (bytes == 0 || bytes > 0x40000000) return 0;
  const k = classOf(bytes);
  const size: usize = (<usize>1) << k;
  const head = FREE + (<usize>k << 2);
  let p = <usize>load<u32>(head);
  if (p != 0) {
    store<u32>(head, load<u32>(p));
  } else {
    if (top == 0) top = (__heap_base + 15) & ~(<usize>15);
    const align: usize = size < 4096 ? size : 4096;
    p = (top + align - 1) & ~(align - 1);
    const end = <u64>p + <u64>size;
    // Keep every pointer below 2 GiB: table entries use bit 31 as a flag.
    if (end > 0x80000000) return 0;
    const need = <i32>((end + 0xffff) >> 16);
    const have = memory.size();
    if (need > have) {
      // Grow by at least 1/8 of the current size (and 1 MiB): each memory.grow
      // detaches the host's views and can cost the host a garbage collection, so
      // a table that grows block by block must not grow memory page by page.
      let step = need - have;
      const min = max<i32>(have >> 3, 16);
      if (step < min) step = min;
      if (have + step > 32768) step = 32768 - have; // 2 GiB cap (see above)
      if (step < need - have || memory.grow(step) < 0) {
        if (memory.grow(need - have) < 0) return 0;
      }
    }
    top = <usize>end;
  }
  live += size;
  return p;
}

/**
 * Like blockAlloc, but the block reads as zeros. Fresh memory from memory.grow is
 * already zero and is left untouched, so its pages stay uncommitted until written
 * (a 64 MiB tbl24 costs resident memory only where routes are).
 */
export function blockAllocZeroed(bytes: usize): usize {
  const k = classOf(bytes);
  const reused = load<u32>(FREE + (<usize>k << 2)) != 0;
  const p = blockAlloc(bytes);
  if (p != 0 && reused) memory.fill(p, 0, (<usize>1) << k);
  return p;
}

/** Returns a block to its class's free list. */
export function blockFree(p: usize, bytes: usize): void {
  if (p == 0) return;
  const k = classOf(bytes);
  const head = FREE + (<usize>k << 2);
  store<u32>(p, load<u32>(head));
  store<u32>(head, <u32>p);
  live -= (<u64>1) << k;
}

/** Bytes in live blocks. */
export function liveBytes(): u64 {
  return live;
}
