/**
 * The on-demand-paging umem: a range of a process's address space that a device may
 * access, with a record of which pages are mapped for DMA right now.
 *
 * Models struct ib_umem + struct ib_umem_odp (include/rdma/ib_umem.h,
 * include/rdma/ib_umem_odp.h) — the fields every design shares. Each design (classic,
 * hmm-mirror, interval) extends this class with its interlock state; see odp/.
 *
 * The per-page record is the "device view" the oracles read: for page index i,
 * `pageList.get(i)` is 1 + the pfn mapped (0 = none) and `dmaList.get(i)` the access
 * bits the device was given (ODP_READ_ALLOWED_BIT / ODP_WRITE_ALLOWED_BIT). The DMA
 * address of a page is its pfn: odpsim has no IOMMU.
 *
 * Three kinds, from seed 000:
 *   - a normal ODP MR umem (ib_umem_odp_get): a VA range with page lists;
 *   - an implicit root (ib_umem_odp_alloc_implicit): no range, no lists, it only holds
 *     the mm for its children;
 *   - an implicit child (ib_umem_odp_alloc_child): a range under an implicit root.
 */
import { KObject } from "../../sim/kasan.ts";
import { accessFields, guardId, indexRange } from "../../sim/objectAccess.ts";
import { frameId } from "../../mm/page.ts";
import { Mutex } from "../../sim/sync/mutex.ts";
import type { MmStruct } from "../../mm/mmStruct.ts";
import { SparsePageArray } from "./sparsePageArray.ts";
import type { IbUcontext } from "./ucontext.ts";

export const ODP_READ_ALLOWED_BIT = 1 << 0;
export const ODP_WRITE_ALLOWED_BIT = 1 << 1;
export const ODP_DMA_ADDR_MASK = ~(ODP_READ_ALLOWED_BIT | ODP_WRITE_ALLOWED_BIT);

export type UmemOdpKind = "explicit" | "implicit_root" | "implicit_child";

export interface UmemOdpInit {
  readonly context: IbUcontext;
  readonly owningMm: MmStruct;
  readonly kind: UmemOdpKind;
  /** Page-aligned start (0 for an implicit root). */
  readonly address: number;
  /** Page-aligned length in bytes (0 for an implicit root). */
  readonly length: number;
  readonly pageShift: number;
  readonly writable: boolean;
  readonly access: number;
  readonly root?: IbUmemOdp;
  /**
   * The lockdep class of umem_mutex: lockdep keys a mutex by its mutex_init() site, and
   * a design whose umems are initialized at different sites passes its own. Default
   * "umem_mutex".
   */
  readonly umemMutexClass?: string;
}

export class IbUmemOdp extends KObject {
  readonly context: IbUcontext;
  readonly owningMm: MmStruct;
  readonly kind: UmemOdpKind;
  readonly address: number;
  readonly length: number;
  readonly pageShift: number;
  readonly writable: boolean;
  readonly access: number;
  /** The implicit root of a child, else null. */
  readonly root: IbUmemOdp | null;
  /** umem_mutex: serializes device page-table updates with invalidations. */
  readonly umemMutex: Mutex;
  /** page_list: 1 + pfn of each mapped page, 0 when none (absent for an implicit root). */
  readonly pageList: SparsePageArray | null;
  /** dma_list: the access bits given to the device for each page. */
  readonly dmaList: SparsePageArray | null;
  /** umem_odp->npages: pages currently mapped. */
  npages = 0;
  /** The driver's MR (umem_odp->private). */
  driverPrivate: unknown = null;
  /** The mm is going away (release) or the umem is being destroyed. */
  dying = false;

  constructor(init: UmemOdpInit) {
    super(init.context.k.kasan, `umem_odp(${init.kind})`);
    this.context = init.context;
    this.owningMm = init.owningMm;
    this.kind = init.kind;
    this.address = init.address;
    this.length = init.length;
    this.pageShift = init.pageShift;
    this.writable = init.writable;
    this.access = init.access;
    this.root = init.root ?? null;
    this.umemMutex = new Mutex(
      init.context.k,
      `umem_mutex(${this.objName})`,
      init.umemMutexClass ?? "umem_mutex",
    );
    const pages = this.kind === "implicit_root" ? 0 : this.length / this.pageSize;
    this.pageList = this.kind === "implicit_root" ? null : new SparsePageArray(pages);
    this.dmaList = this.kind === "implicit_root" ? null : new SparsePageArray(pages);
  }

  get isImplicitOdp(): boolean {
    return this.kind === "implicit_root";
  }

  get pageSize(): number {
    return 2 ** this.pageShift;
  }
}

/**
 * The trace's object id of the DMA-list entries [idx, idx + count) of `umem`
 * (`umem_odp(explicit)#9.dma[0]`): the pages the umem gives the device.
 */
export function umemDmaId(umem: IbUmemOdp, idx: number, count = 1): string {
  return `${umem.objName}.dma${indexRange(idx, count)}`;
}

/**
 * The trace's guard id of the fault/invalidate interlock of `umem`, whatever the design
 * keeps it in (notifiers_seq and notifiers_count, the mirror's range validity, the
 * interval notifier's invalidate_seq): `~umem_odp(explicit)#9.interlock`.
 */
export function umemInterlockId(umem: IbUmemOdp): string {
  return guardId(`${umem.objName}.interlock`);
}

/**
 * The trace's guard id of a umem's `dying` flag (`~umem_odp(implicit_child)#12.dying`):
 * set by the release trampoline of older kernels and by an implicit child's reaping,
 * tested before a child's freeing is queued.
 */
export function umemDyingId(umem: { readonly objName: string }): string {
  return guardId(`${umem.objName}.dying`);
}

/**
 * A DMA-list entry set to `pfn` (or cleared, `pfn` null, of `old`) under `fn`, for the
 * trace: `dma_list[0] = pfn 5`, reading the frame's life and writing the entry.
 */
export function traceDmaMap(
  umem: IbUmemOdp,
  idx: number,
  pfn: number | null,
  fn: string,
  old?: number,
): void {
  const k = umem.context.k;
  if (k.trace === null) return;
  const frame = pfn ?? old;
  const phys = umem.owningMm.phys;
  const reads = frame === undefined ? [] : [frameId(frame, 1, phys.pfnToPage(frame).generation)];
  const value = pfn === null ? `empty (was pfn ${String(old)})` : `pfn ${pfn}`;
  k.event(fn, {
    [`dma_list[${idx}]`]: value,
    ...accessFields(reads, [umemDmaId(umem, idx)]),
  });
}

/** ib_umem_start(). */
export function ibUmemStart(umem: IbUmemOdp): number {
  return umem.address;
}

/** ib_umem_end(). */
export function ibUmemEnd(umem: IbUmemOdp): number {
  return umem.address + umem.length;
}

/**
 * min_t(size_t, bcnt, ib_umem_end(umem) - va), the size pagefault_mr() maps: for a `va`
 * past the umem's end the difference wraps to a huge size_t, so the size stays `bcnt`
 * (and the map's range check then fails with -EFAULT) rather than going negative.
 */
export function sizeToUmemEnd(umem: IbUmemOdp, va: number, bcnt: number): number {
  const room = ibUmemEnd(umem) - va;
  return room < 0 ? bcnt : Math.min(bcnt, room);
}

/** ib_umem_odp_num_pages(). */
export function ibUmemOdpNumPages(umem: IbUmemOdp): number {
  return umem.length / umem.pageSize;
}

/** The page index of `va` within `umem`. */
export function ibUmemPageIndex(umem: IbUmemOdp, va: number): number {
  return Math.floor((va - umem.address) / umem.pageSize);
}
