/**
 * Physical memory: the frame allocator, page references and the bytes in frames.
 *
 * Models mm/page_alloc.c (alloc_pages / __free_pages), include/linux/mm.h (get_page,
 * put_page, ZERO_PAGE), mm/gup.c's pin accounting (try_grab_page with FOLL_PIN,
 * unpin_user_page) and mm/hugetlb.c's pool limit, for one NUMA-less machine.
 *
 * The allocator reuses freed frames last-in first-out, so a frame a device still
 * translates to after it was freed is quickly handed to someone else: a use-after-free
 * by DMA becomes observable, and each frame's `generation` says whether it happened.
 * Bytes are allocated on the first write to a frame, so a large sparse memory is cheap.
 *
 * Simplifications: no buddy coalescing. Free 2 MiB blocks are kept on their own LIFO
 * list; small allocations break a free block when no single frame is left, but small
 * frames are never merged back into a block, so a huge allocation can fail with memory
 * free (as fragmentation makes it fail in Linux).
 */
import type { Kernel } from "../sim/kernel.ts";
import { accessFields } from "../sim/objectAccess.ts";
import { HPAGE_PMD_NR, HPAGE_PMD_ORDER, PAGE_SIZE, Page, frameId, type PageKind } from "./page.ts";
import { framesFreed } from "./devicePageTable.ts";

export interface PhysMemOptions {
  /** Frames of RAM, the zero page included. Default 65,536 (256 MiB). */
  readonly frames?: number;
  /** The hugetlb pool size (nr_hugepages): huge pages usable by MAP_HUGETLB. */
  readonly hugetlbPages?: number;
}

/** Sees every load/store that reaches IO memory, and the region's release. */
export interface IoRegionObserver {
  access?(region: IoRegion, pfn: number, write: boolean): void;
  release?(region: IoRegion): void;
}

/** A range of device IO memory (a BAR) that drivers map with remap_pfn_range(). */
export class IoRegion {
  private readonly bytes = new Map<number, Uint8Array>();
  /** The hardware is gone (PCI hot unplug): an access now would machine-check. */
  released = false;
  /** Oracles watching accesses to this region (a narrow hook; the model never reads it). */
  readonly observers: IoRegionObserver[] = [];

  constructor(
    readonly name: string,
    readonly basePfn: number,
    readonly npages: number,
  ) {}

  /** The device is unplugged: its IO memory no longer exists. */
  release(): void {
    this.released = true;
    for (const o of this.observers) o.release?.(this);
  }

  /** Tells the observers about an access to `pfn` (called on every load and store). */
  noteAccess(pfn: number, write: boolean): void {
    for (const o of this.observers) o.access?.(this, pfn, write);
  }

  /** The bytes of one IO page (created on first use). */
  frame(pfn: number): Uint8Array {
    let b = this.bytes.get(pfn);
    if (b === undefined) {
      b = new Uint8Array(PAGE_SIZE);
      this.bytes.set(pfn, b);
    }
    return b;
  }
}

const DEFAULT_FRAMES = 65_536;
/** IO pfns start far above RAM so the two never meet. */
const IO_PFN_BASE = 2 ** 36;

export class PhysMem {
  readonly nrFrames: number;
  readonly hugetlbPages: number;
  /** The shared zero page (ZERO_PAGE(0)): pfn 0, reserved, never freed. */
  readonly zeroPage: Page;
  /** Huge pages of the hugetlb pool in use. */
  hugetlbInUse = 0;
  private readonly pages: Page[] = [];
  private readonly freeSmall: number[] = [];
  private readonly freeHuge: number[] = [];
  private used = 0;
  private nextIoPfn = IO_PFN_BASE;
  private readonly ioRegions: IoRegion[] = [];

  constructor(
    readonly k: Kernel,
    options: PhysMemOptions = {},
  ) {
    this.nrFrames = options.frames ?? DEFAULT_FRAMES;
    this.hugetlbPages = options.hugetlbPages ?? Infinity;
    const zero = this.grow();
    if (zero === undefined) throw new Error("PhysMem needs at least one frame");
    zero.kind = "zero";
    zero.refcount = 1;
    this.used = 1;
    this.zeroPage = zero;
  }

  /** Frames currently allocated (the zero page included): the leak check's figure. */
  get usedFrames(): number {
    return this.used;
  }

  /** pfn_valid(): a RAM frame. */
  pfnValid(pfn: number): boolean {
    return Number.isInteger(pfn) && pfn >= 0 && pfn < this.pages.length;
  }

  /** pfn_to_page(); a pfn that is not RAM is an odpsim bug here. */
  pfnToPage(pfn: number): Page {
    const page = this.pages[pfn];
    if (page === undefined) throw new Error(`pfn ${pfn} is not a RAM frame`);
    return page;
  }

  /** is_zero_pfn(). */
  isZeroPfn(pfn: number): boolean {
    return pfn === this.zeroPage.pfn;
  }

  /**
   * alloc_page(): a zeroed frame with one reference, or null (ENOMEM). `fn` names the
   * allocating kernel function for the trace (the allocation site a report shows).
   */
  allocPage(kind: PageKind, fn = "alloc_pages"): Page | null {
    if (this.k.shouldFail("alloc")) return null;
    let pfn = this.freeSmall.pop();
    if (pfn === undefined) {
      const fresh = this.pages.length < this.nrFrames ? this.grow() : undefined;
      if (fresh === undefined && !this.breakHugeBlock()) return null;
      pfn = fresh?.pfn ?? this.freeSmall.pop();
      if (pfn === undefined) return null;
    }
    const page = this.pfnToPage(pfn);
    this.prepare(page, kind, 0);
    this.used++;
    this.traceFrames("page allocated", page, fn);
    return page;
  }

  /** alloc_pages(order 9) for THP, or a page from the hugetlb pool; null if none. */
  allocHugePage(kind: "anon" | "hugetlb", fn = "alloc_pages"): Page | null {
    if (this.k.shouldFail("alloc")) return null;
    if (kind === "hugetlb" && this.hugetlbInUse >= this.hugetlbPages) return null;
    const headPfn = this.freeHuge.pop() ?? this.growHugeBlock();
    if (headPfn === undefined) return null;
    const head = this.pfnToPage(headPfn);
    this.prepare(head, kind, HPAGE_PMD_ORDER);
    for (let i = 1; i < HPAGE_PMD_NR; i++) {
      const tail = this.pfnToPage(headPfn + i);
      tail.head = head;
      tail.kind = kind;
      tail.data = null;
      tail.anonExclusive = false;
    }
    this.used += HPAGE_PMD_NR;
    if (kind === "hugetlb") this.hugetlbInUse++;
    this.traceFrames("page allocated", head, fn);
    return head;
  }

  /** get_page(): one more reference, on the head of a compound page. */
  getPage(page: Page): void {
    const head = page.head;
    if (head.refcount <= 0) {
      this.k.report("bad_page", `get_page on a free frame (pfn ${page.pfn})`, {
        pfn: page.pfn,
      });
      return;
    }
    head.refcount++;
  }

  /**
   * put_page(): drops a reference; the frame (or whole compound page) is freed at 0.
   * `fn` names the caller for the trace (the free site a report shows).
   */
  putPage(page: Page, fn = "put_page"): void {
    const head = page.head;
    if (head === this.zeroPage) return;
    if (head.refcount <= 0) {
      this.k.report("bad_page", `put_page underflow (pfn ${page.pfn})`, { pfn: page.pfn });
      return;
    }
    head.refcount--;
    if (head.refcount === 0) this.freePage(head, fn);
  }

  /** try_grab_page(FOLL_PIN): a pin is a reference plus a pin count. */
  pinPage(page: Page): void {
    this.getPage(page);
    page.head.pincount++;
  }

  /** unpin_user_page(). */
  unpinPage(page: Page, fn = "unpin_user_page"): void {
    const head = page.head;
    if (head.pincount <= 0) {
      this.k.report("bad_page", `unpin of an unpinned frame (pfn ${page.pfn})`, {
        pfn: page.pfn,
      });
      return;
    }
    head.pincount--;
    this.putPage(head, fn);
  }

  /** Copies `len` bytes at `offset` of frame `pfn` into `dst` at `dstOff`. */
  readBytes(pfn: number, offset: number, dst: Uint8Array, dstOff = 0, len = dst.length): void {
    const src = this.frameBytes(pfn, false);
    if (src === null) dst.fill(0, dstOff, dstOff + len);
    else dst.set(src.subarray(offset, offset + len), dstOff);
  }

  /** Copies `src` into frame `pfn` at `offset` (allocating the frame's bytes lazily). */
  writeBytes(pfn: number, offset: number, src: Uint8Array): void {
    const dst = this.frameBytes(pfn, true);
    if (dst === null) throw new Error(`write to pfn ${pfn}, which has no bytes`);
    dst.set(src, offset);
  }

  /** copy_highpage(): the contents of `src` into `dst`. */
  copyPage(dst: Page, src: Page): void {
    const bytes = this.frameBytes(src.pfn, false);
    dst.data = bytes === null ? null : bytes.slice();
  }

  /** A new region of device IO memory with pfns outside RAM. */
  allocIoRegion(name: string, npages: number): IoRegion {
    const region = new IoRegion(name, this.nextIoPfn, npages);
    this.nextIoPfn += npages;
    this.ioRegions.push(region);
    return region;
  }

  /** The IO region containing `pfn`, if any. */
  ioRegionOf(pfn: number): IoRegion | undefined {
    return this.ioRegions.find((r) => pfn >= r.basePfn && pfn < r.basePfn + r.npages);
  }

  /** The frame's bytes: RAM (lazily allocated when `forWrite`) or IO memory. */
  private frameBytes(pfn: number, forWrite: boolean): Uint8Array | null {
    const page = this.pages[pfn];
    if (page !== undefined) {
      if (page === this.zeroPage && forWrite) {
        this.k.report("bad_page", "write to the shared zero page", { pfn });
      }
      if (page.data === null && forWrite) page.data = new Uint8Array(PAGE_SIZE);
      return page.data;
    }
    const io = this.ioRegionOf(pfn);
    if (io === undefined) throw new Error(`pfn ${pfn} is neither RAM nor IO memory`);
    io.noteAccess(pfn, forWrite);
    return io.frame(pfn);
  }

  private prepare(page: Page, kind: PageKind, order: number): void {
    page.kind = kind;
    page.order = order;
    page.head = page;
    page.refcount = 1;
    page.mapcount = 0;
    page.pincount = 0;
    page.dirty = false;
    page.lazyfree = false;
    page.anonExclusive = false;
    page.mapping = null;
    page.index = 0;
    page.data = null; // clear_page(): the new owner sees zeros
  }

  /**
   * PG_dirty of `page`'s frame as `fn` set, cleared (`write`) or tested it, for the trace:
   * the part `.dirty` of the frame's life.
   */
  traceDirty(page: Page, fn: string, write: boolean): void {
    if (this.k.trace === null) return;
    const head = page.head;
    const id = [`${frameId(head.pfn, 1, head.generation)}.dirty`];
    const access = write ? accessFields([], id) : accessFields(id);
    this.k.event(fn, { pfn: head.pfn, PG_dirty: head.dirty, ...access });
  }

  /** An allocation or free of `head`'s frames, for the trace (free when tracing is off). */
  private traceFrames(label: string, head: Page, fn: string): void {
    if (this.k.trace === null) return;
    const n = head.order === 0 ? 1 : HPAGE_PMD_NR;
    const fields = { pfn: head.pfn, ...(n > 1 ? { pages: n } : {}), in: fn };
    const id = frameId(head.pfn, n, head.generation);
    const born = label === "page allocated";
    this.k.event(label, { ...fields, ...accessFields([], born ? [] : [id], born ? [id] : []) });
  }

  /** free_pages(): the frame goes back to the LIFO list, one generation older. */
  private freePage(head: Page, fn: string): void {
    if (head.mapcount !== 0 || head.pincount !== 0) {
      this.k.report("bad_page", `freeing a mapped or pinned frame (pfn ${head.pfn})`, {
        pfn: head.pfn,
        mapcount: head.mapcount,
        pincount: head.pincount,
      });
    }
    this.traceFrames("page freed", head, fn);
    const n = head.order === 0 ? 1 : HPAGE_PMD_NR;
    framesFreed(this, head.pfn, n, head.generation);
    if (head.kind === "hugetlb") this.hugetlbInUse--;
    for (let i = 0; i < n; i++) {
      const p = this.pfnToPage(head.pfn + i);
      p.kind = "free";
      p.head = p;
      p.order = 0;
      p.mapping = null;
      p.dirty = false;
      p.generation++;
    }
    this.used -= n;
    if (n === 1) this.freeSmall.push(head.pfn);
    else this.freeHuge.push(head.pfn);
  }

  private grow(): Page | undefined {
    if (this.pages.length >= this.nrFrames) return undefined;
    const page = new Page(this.pages.length);
    this.pages.push(page);
    return page;
  }

  /** A never-used 2 MiB-aligned block; the frames skipped for alignment become free. */
  private growHugeBlock(): number | undefined {
    const start = Math.ceil(this.pages.length / HPAGE_PMD_NR) * HPAGE_PMD_NR;
    if (start + HPAGE_PMD_NR > this.nrFrames) return undefined;
    while (this.pages.length < start) {
      const skipped = this.grow();
      if (skipped !== undefined) this.freeSmall.push(skipped.pfn);
    }
    for (let i = 0; i < HPAGE_PMD_NR; i++) this.grow();
    return start;
  }

  /** Splits a free 2 MiB block into single frames for the small list. */
  private breakHugeBlock(): boolean {
    const head = this.freeHuge.pop();
    if (head === undefined) return false;
    for (let i = HPAGE_PMD_NR - 1; i >= 0; i--) this.freeSmall.push(head + i);
    return true;
  }
}
