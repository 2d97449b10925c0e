/**
 * BASELINE for bench/forward.bench.ts: a straightforward binary trie (one node per
 * prefix bit, PATRICIA-free) in plain TypeScript over typed arrays, the structure
 * a JavaScript user would write first. Lookup walks one bit per level and keeps
 * the last next hop seen. Not used by tfw itself.
 */
export class BinaryTrieBaseline {
  private left = new Int32Array(1 << 16);
  private right = new Int32Array(1 << 16);
  private nh = new Int32Array(1 << 16).fill(-1);
  private used = 1;

  constructor(readonly bits: 32 | 128) {}

  private node(): number {
    if (this.used === this.left.length) {
      const grow = (a: Int32Array, fill: number) => {
        const b = new Int32Array(a.length * 2).fill(fill);
        b.set(a);
        return b;
      };
      this.left = grow(this.left, 0);
      this.right = grow(this.right, 0);
      this.nh = grow(this.nh, -1);
    }
    return this.used++;
  }

  /** `words`: the address as 32-bit words, most significant first. */
  insert(words: ArrayLike<number>, len: number, nextHop: number): void {
    let n = 0;
    for (let i = 0; i < len; i++) {
      const bit = (words[i >>> 5] >>> (31 - (i & 31))) & 1;
      const arr = bit ? this.right : this.left;
      let c = arr[n];
      if (c === 0) {
        c = this.node();
        (bit ? this.right : this.left)[n] = c;
      }
      n = c;
    }
    this.nh[n] = nextHop;
  }

  lookup4(a: number): number {
    let n = 0;
    let best = this.nh[0];
    for (let i = 0; i < 32; i++) {
      n = (a >>> (31 - i)) & 1 ? this.right[n] : this.left[n];
      if (n === 0) break;
      const v = this.nh[n];
      if (v >= 0) best = v;
    }
    return best;
  }

  lookup6(w: Uint32Array, at: number): number {
    let n = 0;
    let best = this.nh[0];
    for (let i = 0; i < 128; i++) {
      n = (w[at + (i >>> 5)] >>> (31 - (i & 31))) & 1 ? this.right[n] : this.left[n];
      if (n === 0) break;
      const v = this.nh[n];
      if (v >= 0) best = v;
    }
    return best;
  }

  get bytes(): number {
    return this.used * 12;
  }
}
