/**
 * A per-page array that costs memory only where pages are mapped.
 *
 * Models the storage of ib_umem_odp's pfn_list / dma_list (vzalloc'ed arrays of one
 * entry per page in the kernel). An ODP umem may span 1 GiB (an implicit child) or the
 * whole address space, while only a handful of its pages are ever mapped, so entries
 * live in 512-entry chunks created on first write and dropped when they empty. Unset
 * entries read as 0, like the kernel's zeroed arrays.
 */

const CHUNK_SHIFT = 9;
const CHUNK_SIZE = 1 << CHUNK_SHIFT;
const CHUNK_MASK = CHUNK_SIZE - 1;

interface Chunk {
  readonly values: Float64Array;
  used: number;
}

export class SparsePageArray {
  private readonly chunks = new Map<number, Chunk>();
  private nonZero = 0;

  constructor(readonly length: number) {
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new RangeError(`SparsePageArray length must be a safe integer >= 0, got ${length}`);
    }
  }

  /** The entry at `index`, 0 when never set. */
  get(index: number): number {
    const chunk = this.chunks.get(this.chunkOf(index));
    return chunk === undefined ? 0 : (chunk.values[index & CHUNK_MASK] as number);
  }

  /** Sets the entry at `index`; setting 0 clears it. */
  set(index: number, value: number): void {
    this.checkIndex(index);
    const key = this.chunkOf(index);
    let chunk = this.chunks.get(key);
    if (chunk === undefined) {
      if (value === 0) return;
      chunk = { values: new Float64Array(CHUNK_SIZE), used: 0 };
      this.chunks.set(key, chunk);
    }
    const slot = index & CHUNK_MASK;
    const old = chunk.values[slot] as number;
    if ((old === 0) === (value === 0)) {
      chunk.values[slot] = value;
      return;
    }
    chunk.values[slot] = value;
    const delta = value === 0 ? -1 : 1;
    chunk.used += delta;
    this.nonZero += delta;
    if (chunk.used === 0) this.chunks.delete(key);
  }

  /** How many entries are non-zero. */
  count(): number {
    return this.nonZero;
  }

  /** Calls `fn(index, value)` for each non-zero entry in [from, to), in index order. */
  forEachSet(from: number, to: number, fn: (index: number, value: number) => void): void {
    const keys = [...this.chunks.keys()].sort((a, b) => a - b);
    for (const key of keys) {
      const base = key * CHUNK_SIZE;
      if (base + CHUNK_SIZE <= from || base >= to) continue;
      const values = (this.chunks.get(key) as Chunk).values;
      const lo = Math.max(from, base) - base;
      const hi = Math.min(to, base + CHUNK_SIZE) - base;
      for (let i = lo; i < hi; i++) {
        const v = values[i] as number;
        if (v !== 0) fn(base + i, v);
      }
    }
  }

  // `index & CHUNK_MASK` is safe for any integer index: ToInt32 keeps the low bits.
  private chunkOf(index: number): number {
    return Math.floor(index / CHUNK_SIZE);
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`page index ${index} outside [0, ${this.length})`);
    }
  }
}
