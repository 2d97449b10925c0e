// IPv6 FIB: Poptrie (H. Asai, Y. Ohara, "Poptrie: A Compressed Trie with Population
// Count for Fast and Scalable Software IP Routing Table Lookup", SIGCOMM 2015).
//
// Direct pointing on the top S = 18 bits (`dir`: 262,144 u32), then multiway nodes
// of stride 6. A node (32 B, so it never straddles a cache line) holds `vector`
// (u64: bit c set = child c is an inner node), `leafvec` (u64: bit c set = a run
// of equal leaves starts at child c), `base0` (byte address of its leaf array,
// i32 next hops, -1 = no route; 0 = the leaves are the two i32 at bytes 24..31 of
// the node itself) and `base1` (byte address of its inner-node array). The child
// or leaf index is a population count of the bits below c, so a /48 costs one
// dir read, 5 node reads and at most one leaf-array read.
// dir entry: bit 31 set = leaf, value (bits 0..16) - 1 = next hop or -1; else node address.
//
// RIB: prefixes up to /18 in `short` (one i32 array per length), longer ones in a
// linked list per top-18-bit slot. An update rebuilds only the slots it covers
// (one slot for a prefix longer than /18): it builds a binary trie of the slot's
// prefixes in scratch memory, builds the new Poptrie subtree from it (leaf pushing,
// runs of equal leaves compressed) and frees the old one. Bulk loads defer the
// rebuild to v6Commit, which rebuilds each dirty slot once.
import { blockAlloc, blockFree, blockSize } from './alloc';

export const LEAF: u32 = 0x80000000;
/** Leaf value: no prefix longer than /S matches; the answer is slotBest[slot]. */
export const INHERIT: i32 = -2;
export const NODE: usize = 32;
/** Leaf runs kept inside the node (bytes 24..31) instead of a leaf array. */
const INLINE: usize = 2;
/** Direct-pointing bits (Poptrie's s; the paper's fastest variant uses 18). */
export const S: u32 = 18;
const SLOTS: usize = 1 << S;
/** `short`: one i32 array per prefix length 0..S, length l at offset ((1 << l) - 1) * 4. */
const SHORT_BYTES: usize = ((1 << (S + 1)) - 1) * 4;
const REC: usize = 32; // prefix record: next u32, len u32, nh i32, pad, hi u64, lo u64

export let dir: usize = 0; // SLOTS u32
let heads: usize = 0; // SLOTS u32: per-slot record list
let short: usize = 0; // lengths 0..S
export let slotBest: usize = 0; // SLOTS i32: the longest prefix up to /S covering each slot, or -1
let dirty: usize = 0; // SLOTS-bit bitmap
let bulk = false;
let fixedBytes: u64 = 0;
let treeBytes: u64 = 0;
let recBytes: u64 = 0;

// Scratch binary trie: nodes of 12 B (child0 u32, child1 u32, nh i32); index 0 = null.
let scratch: usize = 0;
let scratchCap: u32 = 0;
let scratchUsed: u32 = 0;

// Per-level child staging for node builds: 64 x (rib u32, nh i32) per level, 24 levels.
const STAGE: usize = memory.data(24 * 64 * 8);

function ensure(): bool {
  if (dir != 0) return true;
  dir = blockAlloc(SLOTS * 4);
  heads = blockAlloc(SLOTS * 4);
  short = blockAlloc(SHORT_BYTES);
  slotBest = blockAlloc(SLOTS * 4);
  dirty = blockAlloc(SLOTS / 8);
  if (dir == 0 || heads == 0 || short == 0 || slotBest == 0 || dirty == 0) return false;
  for (let i: usize = 0; i < SLOTS; i++) store<u32>(dir + (i << 2), LEAF);
  memory.fill(heads, 0, SLOTS * 4);
  memory.fill(short, 0xff, SHORT_BYTES);
  memory.fill(slotBest, 0xff, SLOTS * 4);
  memory.fill(dirty, 0, SLOTS / 8);
  fixedBytes = <u64>(blockSize(SLOTS * 4) * 3 + blockSize(SHORT_BYTES) + blockSize(SLOTS / 8));
  return true;
}

/** Bytes held by the IPv6 tables: fixed arrays, Poptrie nodes and leaves, RIB records, scratch. */
export function v6Bytes(): u64 {
  return fixedBytes + treeBytes + recBytes + (scratch != 0 ? <u64>blockSize(<usize>scratchCap * 12) : 0);
}

// @ts-ignore: decorator
@inline function bitAt(hi: u64, lo: u64, i: u32): u32 {
  return i < 64 ? <u32>((hi >> (63 - i)) & 1) : <u32>((lo >> (127 - i)) & 1);
}

// ---- building a slot's subtree ----

function scratchNode(): u32 {
  const i = scratchUsed++;
  const p = scratch + <usize>i * 12;
  store<u64>(p, 0);
  store<i32>(p, -1, 8);
  return i;
}

/** Frees the subtree under node `np` (not the node itself). */
function freeTree(np: usize): void {
  const vec = load<u64>(np);
  const nodes = <usize>popcnt<u64>(vec);
  const leaves = <usize>popcnt<u64>(load<u64>(np, 8));
  const b1 = <usize>load<u32>(np, 20);
  for (let i: usize = 0; i < nodes; i++) freeTree(b1 + i * NODE);
  if (nodes) {
    treeBytes -= blockSize(nodes * NODE);
    blockFree(b1, nodes * NODE);
  }
  if (leaves > INLINE) {
    treeBytes -= blockSize(leaves << 2);
    blockFree(<usize>load<u32>(np, 16), leaves << 2);
  }
}

/** Leaf-pushes the scratch trie under `r` over 6 bits into the staging row `row`. */
function expand(row: usize, r: u32, k: u32, idx: u32, best: i32): void {
  if (r == 0) {
    const span: u32 = (<u32>1) << (6 - k);
    const from = idx << (6 - k);
    for (let c: u32 = 0; c < span; c++) {
      const p = row + (<usize>(from + c) << 3);
      store<u32>(p, 0);
      store<i32>(p, best, 4);
    }
    return;
  }
  const rp = scratch + <usize>r * 12;
  const nh = load<i32>(rp, 8);
  if (nh >= 0) best = nh;
  const c0 = load<u32>(rp);
  const c1 = load<u32>(rp, 4);
  if (k == 6) {
    const p = row + (<usize>idx << 3);
    store<u32>(p, (c0 | c1) != 0 ? r : 0);
    store<i32>(p, best, 4);
    return;
  }
  expand(row, c0, k + 1, idx << 1, best);
  expand(row, c1, k + 1, (idx << 1) | 1, best);
}

/** Builds node `np` for scratch trie node `r` at tree `level` (0 = bits S..S+5). False: out of memory. */
function buildNode(np: usize, r: u32, level: u32, best: i32): bool {
  const row = STAGE + (<usize>level) * 512;
  expand(row, r, 0, 0, best);
  let vec: u64 = 0;
  let lv: u64 = 0;
  let nodes: usize = 0;
  let leaves: usize = 0;
  let prev: i32 = 0;
  let havePrev = false;
  for (let c: u32 = 0; c < 64; c++) {
    const p = row + (<usize>c << 3);
    if (load<u32>(p) != 0) {
      vec |= (<u64>1) << c;
      nodes++;
    } else {
      const v = load<i32>(p, 4);
      if (!havePrev || v != prev) {
        lv |= (<u64>1) << c;
        leaves++;
        prev = v;
        havePrev = true;
      }
    }
  }
  let b0: usize = 0;
  let b1: usize = 0;
  if (leaves > INLINE) {
    b0 = blockAlloc(leaves << 2);
    if (b0 == 0) return false;
    treeBytes += blockSize(leaves << 2);
  }
  {
    // Few runs (the common case on a path to a long prefix) stay in the node: one read less.
    const la = b0 != 0 ? b0 : np + 24;
    let j: usize = 0;
    for (let c: u32 = 0; c < 64; c++) {
      if ((lv >> c) & 1) store<i32>(la + ((j++) << 2), load<i32>(row + (<usize>c << 3), 4));
    }
  }
  if (nodes) {
    b1 = blockAlloc(nodes * NODE);
    if (b1 == 0) return false;
    treeBytes += blockSize(nodes * NODE);
  }
  store<u64>(np, vec);
  store<u64>(np, lv, 8);
  store<u32>(np, <u32>b0, 16);
  store<u32>(np, <u32>b1, 20);
  if (nodes) {
    // Children are built after this row is consumed: deeper levels use other rows.
    let j: usize = 0;
    for (let c: u32 = 0; c < 64; c++) {
      if ((vec >> c) & 1) {
        const p = row + (<usize>c << 3);
        const child = b1 + (j++) * NODE;
        memory.fill(child, 0, NODE);
        if (!buildNode(child, load<u32>(p), level + 1, load<i32>(p, 4))) return false;
      }
    }
  }
  return true;
}

function shortBest(s: u32): i32 {
  for (let l: i32 = S; l >= 0; l--) {
    const v = load<i32>(short + ((((<usize>1) << l) - 1 + (<usize>s >> (S - l))) << 2));
    if (v >= 0) return v;
  }
  return -1;
}

/** Rebuilds the subtree of top-S-bit slot `s` from the RIB. False: out of memory. */
function rebuildSlot(s: u32): bool {
  const best = load<i32>(slotBest + (<usize>s << 2));
  const dp = dir + (<usize>s << 2);
  const old = load<u32>(dp);
  let head = load<u32>(heads + (<usize>s << 2));
  let nv: u32 = LEAF | <u32>(best + 1);
  if (head != 0) {
    // Scratch capacity: one node per bit of each prefix below /S, plus the root.
    let need: u32 = 1;
    for (let r = head; r != 0; r = load<u32>(<usize>r)) need += load<u32>(<usize>r, 4) - S;
    need += 1;
    if (need > scratchCap) {
      if (scratch) blockFree(scratch, <usize>scratchCap * 12);
      let cap: u32 = 1024;
      while (cap < need) cap <<= 1;
      scratch = blockAlloc(<usize>cap * 12);
      scratchCap = scratch != 0 ? cap : 0;
      if (scratch == 0) return false;
    }
    scratchUsed = 1;
    const root = scratchNode();
    for (let r = head; r != 0; r = load<u32>(<usize>r)) {
      const rp = <usize>r;
      const len = load<u32>(rp, 4);
      const hi = load<u64>(rp, 16);
      const lo = load<u64>(rp, 24);
      let n = root;
      for (let i: u32 = S; i < len; i++) {
        const slot = scratch + <usize>n * 12 + (<usize>bitAt(hi, lo, i) << 2);
        let next = load<u32>(slot);
        if (next == 0) {
          next = scratchNode();
          store<u32>(slot, next);
        }
        n = next;
      }
      store<i32>(scratch + <usize>n * 12, load<i32>(rp, 8), 8);
    }
    const np = blockAlloc(NODE);
    if (np == 0) return false;
    treeBytes += blockSize(NODE);
    // Leaves not under a longer prefix say INHERIT: the lookup then reads slotBest,
    // so a change of a short prefix (say the default route) rebuilds no subtree.
    if (!buildNode(np, root, 0, INHERIT)) return false;
    nv = <u32>np;
  }
  store<u32>(dp, nv);
  if ((old & LEAF) == 0) {
    freeTree(<usize>old);
    treeBytes -= blockSize(NODE);
    blockFree(<usize>old, NODE);
  }
  return true;
}

function touch(s: u32): bool {
  if (bulk) {
    const p = dirty + (<usize>s >> 3);
    store<u8>(p, load<u8>(p) | (<u8>1 << <u8>(s & 7)));
    return true;
  }
  return rebuildSlot(s);
}

/**
 * A prefix up to /S changed: recompute slotBest for the slots it covers and the dir
 * entries that are leaves. Subtrees hold INHERIT for such routes: nothing to rebuild.
 */
function updateShort(hi: u64, len: u32): void {
  const first = <u32>(hi >> (64 - S));
  const count: u32 = (<u32>1) << (S - len);
  for (let k: u32 = 0; k < count; k++) {
    const s = first + k;
    const b = shortBest(s);
    store<i32>(slotBest + (<usize>s << 2), b);
    const dp = dir + (<usize>s << 2);
    if (load<u32>(dp) & LEAF) store<u32>(dp, LEAF | <u32>(b + 1));
  }
}

/**
 * Inserts or replaces `hi:lo`/`len` -> `nh` (host bits cleared by the caller).
 * `isNew`: the caller's RIB says the prefix is not present (skips the list scan).
 * Returns 0, or -1 when memory is exhausted.
 */
export function v6Insert(hi: u64, lo: u64, len: u32, nh: i32, isNew: bool): i32 {
  if (!ensure()) return -1;
  if (len <= S) {
    const idx = ((<usize>1) << len) - 1 + (len == 0 ? 0 : <usize>(hi >> (64 - len)));
    store<i32>(short + (idx << 2), nh);
    updateShort(hi, len);
    return 0;
  }
  const s = <u32>(hi >> (64 - S));
  const hp = heads + (<usize>s << 2);
  if (!isNew) {
    for (let r = load<u32>(hp); r != 0; r = load<u32>(<usize>r)) {
      const rp = <usize>r;
      if (load<u32>(rp, 4) == len && load<u64>(rp, 16) == hi && load<u64>(rp, 24) == lo) {
        store<i32>(rp, nh, 8);
        return touch(s) ? 0 : -1;
      }
    }
  }
  const rp = blockAlloc(REC);
  if (rp == 0) return -1;
  recBytes += REC;
  store<u32>(rp, load<u32>(hp));
  store<u32>(rp, len, 4);
  store<i32>(rp, nh, 8);
  store<u64>(rp, hi, 16);
  store<u64>(rp, lo, 24);
  store<u32>(hp, <u32>rp);
  return touch(s) ? 0 : -1;
}

/** Deletes `hi:lo`/`len`. Returns 1 when it was present, 0 when not, -1 out of memory. */
export function v6Delete(hi: u64, lo: u64, len: u32): i32 {
  if (dir == 0) return 0;
  if (len <= S) {
    const idx = ((<usize>1) << len) - 1 + (len == 0 ? 0 : <usize>(hi >> (64 - len)));
    const p = short + (idx << 2);
    if (load<i32>(p) < 0) return 0;
    store<i32>(p, -1);
    updateShort(hi, len);
    return 1;
  }
  const s = <u32>(hi >> (64 - S));
  let link = heads + (<usize>s << 2);
  for (let r = load<u32>(link); r != 0; r = load<u32>(link)) {
    const rp = <usize>r;
    if (load<u32>(rp, 4) == len && load<u64>(rp, 16) == hi && load<u64>(rp, 24) == lo) {
      store<u32>(link, load<u32>(rp));
      blockFree(rp, REC);
      recBytes -= REC;
      return touch(s) ? 1 : -1;
    }
    link = rp;
  }
  return 0;
}

/** Starts a bulk load: inserts and deletes only mark slots dirty until v6Commit. */
export function v6Begin(): i32 {
  if (!ensure()) return -1;
  bulk = true;
  return 0;
}

/** Ends a bulk load: rebuilds every dirty slot once. Returns 0, or -1 out of memory. */
export function v6Commit(): i32 {
  bulk = false;
  if (dir == 0) return 0;
  for (let w: usize = 0; w < SLOTS / 8; w += 8) {
    let bits = load<u64>(dirty + w);
    if (bits == 0) continue;
    store<u64>(dirty + w, 0);
    while (bits != 0) {
      const b = <u32>ctz<u64>(bits);
      bits &= bits - 1;
      if (!rebuildSlot(<u32>(w << 3) + b)) return -1;
    }
  }
  return 0;
}
