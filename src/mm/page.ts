/**
 * A physical page frame and its descriptor.
 *
 * Models struct page / struct folio (include/linux/mm_types.h, include/linux/page_ref.h,
 * include/linux/mm.h): a 4 KiB frame named by its pfn, with a reference count, a map
 * count, a pin count, PG_dirty, and compound (2 MiB) pages for THP and hugetlb whose
 * head carries the counts. Struct pages are never freed in Linux (they live in the
 * memmap), so a Page is not a KObject: a freed frame is reused, and `generation` (bumped
 * at every free) is how an oracle tells "this frame was freed or reused since you
 * mapped it".
 *
 * Simplifications: the pin count is a separate counter instead of the
 * GUP_PIN_COUNTING_BIAS trick (each pin still holds one reference, so a pinned frame
 * stays allocated); refcount, mapcount and pincount of a compound page are kept on the
 * head only (folio-style), tails forward to it.
 */

import { indexRange } from "../sim/objectAccess.ts";

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
/** A PMD-sized huge page (THP or hugetlb on x86-64): 2 MiB, order 9. */
export const HPAGE_PMD_SHIFT = 21;
export const HPAGE_PMD_SIZE = 2 ** HPAGE_PMD_SHIFT;
export const HPAGE_PMD_ORDER = HPAGE_PMD_SHIFT - PAGE_SHIFT;
export const HPAGE_PMD_NR = 1 << HPAGE_PMD_ORDER;

/** What a frame is used for (the interesting PageFlags and folio types). */
export type PageKind = "free" | "anon" | "file" | "zero" | "hugetlb" | "kernel";

export class Page {
  /** Bytes of the frame; null until first written (reads of null are zeros). */
  data: Uint8Array | null = null;
  /** page_ref_count(): kept on the head of a compound page. */
  refcount = 0;
  /** Page-table mappings (total over the folio for a compound page, on the head). */
  mapcount = 0;
  /** FOLL_PIN pins (folio_maybe_dma_pinned() when > 0); each pin also holds a ref. */
  pincount = 0;
  /** PG_dirty: the contents differ from the backing store (file pages). */
  dirty = false;
  /** Bumped at every free: a mapping recorded with an older generation is stale. */
  generation = 0;
  kind: PageKind = "free";
  /** 0 for a base page, HPAGE_PMD_ORDER for the head of a 2 MiB compound page. */
  order = 0;
  /** The head of the compound page this frame belongs to (itself for a head/base). */
  head: Page = this;
  /** page->mapping for a page-cache page: the file it caches (null otherwise). */
  mapping: object | null = null;
  /** page->index: the page offset in the file, for page-cache pages. */
  index = 0;
  /** PageAnonExclusive: mapped by one mm only, so a write fault may reuse it. */
  anonExclusive = false;
  /** MADV_FREE'd anonymous page (PG_swapbacked cleared): reclaim may drop it if clean. */
  lazyfree = false;

  constructor(readonly pfn: number) {}

  /** A tail page of a compound page. */
  get isTail(): boolean {
    return this.head !== this;
  }
}

/**
 * The trace's object id of frames [pfn, pfn + count) (src/sim/objectAccess.ts): `pfn[5]`,
 * `pfn[512..1023]` for a huge page; with a generation, one life of them (`pfn[5].g0`),
 * so a freed frame's next allocation is another object.
 */
export function frameId(pfn: number, count = 1, generation?: number): string {
  const frames = `pfn${indexRange(pfn, count)}`;
  return generation === undefined ? frames : `${frames}.g${generation}`;
}

/** compound_head() / page_folio(): the head page that carries the counts. */
export function compoundHead(page: Page): Page {
  return page.head;
}

/** folio_maybe_dma_pinned(): whether someone has the frame pinned for DMA. */
export function pageMaybeDmaPinned(page: Page): boolean {
  return page.head.pincount > 0;
}

/** PageAnon(). */
export function pageAnon(page: Page): boolean {
  return page.head.kind === "anon";
}

/** PageHuge() (hugetlb) vs PageTransHuge() (THP): both are order-9 compound pages. */
export function pageHuge(page: Page): boolean {
  return page.head.kind === "hugetlb";
}

/** PageCompound(). */
export function pageCompound(page: Page): boolean {
  return page.head.order > 0;
}

/** PAGE_ALIGN(). */
export function pageAlign(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
}

/** offset_in_page() / aligned-down address helpers. */
export function pageAlignDown(n: number): number {
  return Math.floor(n / PAGE_SIZE) * PAGE_SIZE;
}

/**
 * Whether `n` is a multiple of `size`. Addresses exceed 2^31, so the mm code uses
 * arithmetic, never the bitwise masks the kernel uses.
 */
export function isAligned(n: number, size: number): boolean {
  return n % size === 0;
}
