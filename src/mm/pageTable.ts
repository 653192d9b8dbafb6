/**
 * Page tables: what the MMU walks to turn a virtual address into a frame.
 *
 * Models the x86-64 page table entries as the mm core sees them
 * (include/linux/pgtable.h, arch/x86/include/asm/pgtable.h): a PTE maps a 4 KiB page,
 * a huge PMD maps 2 MiB (THP or hugetlb); each entry has the pfn and the
 * writable / dirty / young / special (pfn map, no struct page) bits, and PROT_NONE
 * entries (present for the mm, inaccessible to the CPU and to mirrors). The walk
 * (`walkPte`) is what hmm_range_fault, get_user_pages and the device oracles use.
 *
 * Simplification: the intermediate levels are not modelled; a 2 MiB block is either one
 * huge PMD or a set of PTEs (never both, as with a real pmd), and freeing page tables
 * is implicit.
 */
import type { MmStruct } from "./mmStruct.ts";
import { HPAGE_PMD_SIZE, PAGE_SHIFT, PAGE_SIZE, HPAGE_PMD_SHIFT } from "./page.ts";

/** One present entry. Fields may change under you: read them within one step. */
export class Pte {
  constructor(
    public pfn: number,
    public writable: boolean,
    public dirty = false,
    public young = true,
    /** pte_special(): a pfn mapping (IO memory) with no refcounted page behind it. */
    public special = false,
    /** PROT_NONE: present for the mm, but no access for the CPU or a mirror. */
    public protnone = false,
  ) {}
}

/** The result of a walk: the entry and its size. */
export interface PteWalk {
  readonly pte: Pte;
  /** PAGE_SHIFT for a PTE, HPAGE_PMD_SHIFT for a huge PMD. */
  readonly shift: number;
  /** The virtual address the entry starts at. */
  readonly base: number;
}

export class PageTable {
  private readonly ptes = new Map<number, Pte>();
  private readonly pmds = new Map<number, Pte>();
  /** PTEs per 2 MiB block: a block with PTEs has a page table (pmd not none). */
  private readonly ptesPerBlock = new Map<number, number>();

  /** Present entries (PTEs plus huge PMDs). */
  get entries(): number {
    return this.ptes.size + this.pmds.size;
  }

  /** The entry mapping `addr`, huge or not. */
  lookup(addr: number): PteWalk | null {
    const block = Math.floor(addr / HPAGE_PMD_SIZE);
    const pmd = this.pmds.get(block);
    if (pmd !== undefined)
      return { pte: pmd, shift: HPAGE_PMD_SHIFT, base: block * HPAGE_PMD_SIZE };
    const vpn = Math.floor(addr / PAGE_SIZE);
    const pte = this.ptes.get(vpn);
    return pte === undefined ? null : { pte, shift: PAGE_SHIFT, base: vpn * PAGE_SIZE };
  }

  getPte(addr: number): Pte | undefined {
    return this.ptes.get(Math.floor(addr / PAGE_SIZE));
  }

  getPmd(addr: number): Pte | undefined {
    return this.pmds.get(Math.floor(addr / HPAGE_PMD_SIZE));
  }

  /** pmd_none(): no huge entry and no page table in the 2 MiB block of `addr`. */
  pmdNone(addr: number): boolean {
    const block = Math.floor(addr / HPAGE_PMD_SIZE);
    return !this.pmds.has(block) && (this.ptesPerBlock.get(block) ?? 0) === 0;
  }

  /** set_pte_at(). */
  setPte(addr: number, pte: Pte): void {
    const block = Math.floor(addr / HPAGE_PMD_SIZE);
    if (this.pmds.has(block)) throw new Error(`PTE set under a huge PMD at ${addr}`);
    const vpn = Math.floor(addr / PAGE_SIZE);
    if (!this.ptes.has(vpn)) this.ptesPerBlock.set(block, (this.ptesPerBlock.get(block) ?? 0) + 1);
    this.ptes.set(vpn, pte);
  }

  /** pte_clear(); returns the old entry. */
  clearPte(addr: number): Pte | undefined {
    const vpn = Math.floor(addr / PAGE_SIZE);
    const old = this.ptes.get(vpn);
    if (old === undefined) return undefined;
    this.ptes.delete(vpn);
    const block = Math.floor(addr / HPAGE_PMD_SIZE);
    const n = (this.ptesPerBlock.get(block) ?? 1) - 1;
    if (n === 0) this.ptesPerBlock.delete(block);
    else this.ptesPerBlock.set(block, n);
    return old;
  }

  /** set_pmd_at() of a huge entry; the block must have no page table. */
  setPmd(addr: number, pmd: Pte): void {
    if (!this.pmdNone(addr) && this.getPmd(addr) === undefined) {
      throw new Error(`huge PMD set over a page table at ${addr}`);
    }
    this.pmds.set(Math.floor(addr / HPAGE_PMD_SIZE), pmd);
  }

  /** pmdp_huge_clear(); returns the old entry. */
  clearPmd(addr: number): Pte | undefined {
    const block = Math.floor(addr / HPAGE_PMD_SIZE);
    const old = this.pmds.get(block);
    this.pmds.delete(block);
    return old;
  }

  /** The PTEs in [start, end), by address. */
  ptesIn(start: number, end: number): [number, Pte][] {
    return collect(this.ptes, start, end, PAGE_SIZE);
  }

  /** The huge PMDs overlapping [start, end), by address. */
  pmdsIn(start: number, end: number): [number, Pte][] {
    const first = Math.floor(start / HPAGE_PMD_SIZE) * HPAGE_PMD_SIZE;
    return collect(this.pmds, first, end, HPAGE_PMD_SIZE);
  }
}

/** Entries of `map` (keyed by addr / unit) in [start, end), sorted by address. */
function collect(map: Map<number, Pte>, start: number, end: number, unit: number): [number, Pte][] {
  const lo = Math.floor(start / unit);
  const hi = Math.ceil(end / unit);
  const out: [number, Pte][] = [];
  if (hi - lo <= map.size) {
    for (let i = lo; i < hi; i++) {
      const e = map.get(i);
      if (e !== undefined) out.push([i * unit, e]);
    }
    return out;
  }
  for (const [i, e] of map) if (i >= lo && i < hi) out.push([i * unit, e]);
  return out.sort((a, b) => a[0] - b[0]);
}

/**
 * The page walk other layers use (hmm_range_fault, gup, oracles): the present entry
 * mapping `addr` in `mm`, with its size, or null. The caller must hold mmap_lock (or
 * otherwise accept that the answer is only valid within the current step).
 */
export function walkPte(mm: MmStruct, addr: number): PteWalk | null {
  return mm.pgtable.lookup(addr);
}

/** The pfn of the 4 KiB frame `addr` falls in, within a walk's (possibly huge) entry. */
export function pteWalkPfn(walk: PteWalk, addr: number): number {
  return walk.pte.pfn + Math.floor((addr - walk.base) / PAGE_SIZE);
}
