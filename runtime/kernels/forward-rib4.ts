/**
 * The IPv4 RIB kept beside the DIR-24-8 table: the set of (prefix, length) ->
 * next hop, used to find the covering route when a prefix is deleted (as DPDK's
 * rte_lpm keeps its rules table). An open-addressing hash table (linear probing,
 * tombstones) over typed arrays: a million routes are three arrays, not a million
 * Map entries for the garbage collector to walk.
 */
const EMPTY = 0;
const TOMB = 0xff;

export class Rib4 {
  private addr = new Uint32Array(1024);
  /** length + 1; EMPTY or TOMB when the slot holds no route. */
  private len1 = new Uint8Array(1024);
  private hop = new Uint16Array(1024);
  private shift = 22; // 32 - log2(capacity)
  private live = 0;
  private used = 0; // live + tombstones

  get size(): number {
    return this.live;
  }

  private slot(addr: number, length: number): number {
    return Math.imul((addr ^ Math.imul(length + 1, 0x27d4eb2f)) | 0, 0x9e3779b1) >>> this.shift;
  }

  /** Index of (addr, length), or -1. */
  private find(addr: number, length: number): number {
    const mask = this.addr.length - 1;
    const l1 = length + 1;
    for (let i = this.slot(addr, length); ; i = (i + 1) & mask) {
      const l = this.len1[i];
      if (l === EMPTY) return -1;
      if (l === l1 && this.addr[i] === addr) return i;
    }
  }

  /** Next hop of exactly (addr, length), or -1. `addr` host-order with host bits clear. */
  get(addr: number, length: number): number {
    const i = this.find(addr, length);
    return i < 0 ? -1 : this.hop[i];
  }

  /** Adds or replaces; true when the route is new. */
  set(addr: number, length: number, nextHop: number): boolean {
    const i = this.find(addr, length);
    if (i >= 0) {
      this.hop[i] = nextHop;
      return false;
    }
    if ((this.used + 1) * 4 > this.addr.length * 3) this.resize(this.live * 2 >= this.addr.length ? this.addr.length * 2 : this.addr.length);
    const mask = this.addr.length - 1;
    let j = this.slot(addr, length);
    while (this.len1[j] !== EMPTY && this.len1[j] !== TOMB) j = (j + 1) & mask;
    if (this.len1[j] === EMPTY) this.used++;
    this.addr[j] = addr;
    this.len1[j] = length + 1;
    this.hop[j] = nextHop;
    this.live++;
    return true;
  }

  /** Removes (addr, length); false when absent. */
  delete(addr: number, length: number): boolean {
    const i = this.find(addr, length);
    if (i < 0) return false;
    this.len1[i] = TOMB;
    this.live--;
    return true;
  }

  /** The longest route strictly shorter than `length` that covers `addr`: [nextHop, length], or null. */
  cover(addr: number, length: number): [number, number] | null {
    for (let l = length - 1; l >= 0; l--) {
      const k = l === 0 ? 0 : (addr & (0xffffffff << (32 - l))) >>> 0;
      const nh = this.get(k, l);
      if (nh >= 0) return [nh, l];
    }
    return null;
  }

  *entries(): IterableIterator<[number, number, number]> {
    for (let i = 0; i < this.addr.length; i++) {
      const l = this.len1[i];
      if (l !== EMPTY && l !== TOMB) yield [this.addr[i], l - 1, this.hop[i]];
    }
  }

  private resize(capacity: number): void {
    const { addr, len1, hop } = this;
    this.addr = new Uint32Array(capacity);
    this.len1 = new Uint8Array(capacity);
    this.hop = new Uint16Array(capacity);
    this.shift = 32 - Math.log2(capacity);
    this.live = 0;
    this.used = 0;
    for (let i = 0; i < addr.length; i++) {
      if (len1[i] !== EMPTY && len1[i] !== TOMB) this.set(addr[i], len1[i] - 1, hop[i]);
    }
  }
}
