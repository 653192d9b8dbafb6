/**
 * The driver side of the hmm-mirror design: pagefault_mr and mlx5_ib_invalidate_range
 * exactly as seed 002 ("RDMA/odp: convert to use HMM for ODP" v5) posts them.
 *
 * Models drivers/infiniband/hw/mlx5/odp.c after that patch:
 *
 *     fault                                      invalidation (sync_cpu_device_pagetables)
 *     hmm_range_register(range)  (valid unless   hmm: range->valid = false for
 *                                 one is running)     overlapping ranges
 *     ib_umem_odp_map_dma_pages(range)            zap MTT blocks, unmap the pages
 *       mmap_sem; umem_mutex; hmm_range_dma_map
 *     lock umem_mutex
 *     hmm_range_valid(range)? update MTT : -EAGAIN
 *     unlock; hmm_range_unregister
 *     -EAGAIN: wait_until_valid ... unless (!implicit || dying): -EFAULT
 *
 * Implicit MRs keep v5.2's scheme (hmmMirrorImplicit.ts): pagefault_mr walks the children
 * implicit_mr_get_data returns, one hmm_range per child, and an implicit child's -EAGAIN
 * waits on its range unless the child is dying.
 *
 * The default is the posting with three changes in, each undone by its catalog defect:
 * the review's mmget_not_zero (hmm-fault-no-mmget) and two v5.3 hmm.c fixes
 * (hmm-notifier-uses-freed-hmm, hmm-invalidate-start-error-flow); the list, and what is
 * kept as posted, has its one home in hmmMirrorAsPosted.ts.
 *
 * Kept as posted: the -EAGAIN path turns every retry of an explicit MR into -EFAULT
 * (the test reads `!implicit || odp->dying` where the code it replaced read
 * `implicit || !odp->dying`), so a fault raced by any invalidation kills the QP; and
 * io_virt is page-aligned before its offset is taken, so `off` is always 0 and
 * fault_size is ALIGN(size): the range registered and mapped, [io_virt aligned, +
 * fault_size), ends one page short of the last page [io_virt, io_virt + size) touches
 * whenever the offset carries the end into one more page (a 4 KiB fault from 2 KiB into
 * a page maps that page only). The RDMA responder handler then finds fewer pages than
 * pages_in_range() and fails the QP; a WQE or plain device access resumes
 * (bytes_mapped, also computed with off 0, claims the whole segment) and faults again on
 * the page left out (test/rdma/mlx5/hmmMirrorUnaligned.test.ts). Registration is not
 * affected: ib_umem_start/end round the umem out to whole pages.
 */
import { EAGAIN, EFAULT, EINVAL } from "../../../sim/errno.ts";
import type { KGen } from "../../../sim/task.ts";
import type { MmStruct } from "../../../mm/mmStruct.ts";
import { setInvalidateStartMap, setPairEndsOnFailedStart } from "../../../mm/notifier/srcu.ts";
import {
  hmmRangeInit,
  hmmRangeRegister,
  hmmRangeUnregister,
  hmmRangeValid,
  hmmRangeWaitUntilValid,
} from "../../../mm/notifier/hmmMirror.ts";
import {
  hmmMirrorDesign,
  hmmUnmapDmaPages,
  ibUmemOdpMapDmaPagesHmm,
} from "../../core/odp/hmmMirrorDesign.ts";
import { HmmMirrorUmemOdp, ODP_READ_BIT, ODP_WRITE_BIT } from "../../core/odp/hmmMirrorUmemOdp.ts";
import { ibUmemEnd, ibUmemStart, sizeToUmemEnd } from "../../core/umemOdp.ts";
import type { Mlx5IbMr } from "../mlx5IbMr.ts";
import { MLX5_IB_UPD_XLT_ZAP, mlx5IbUpdateXlt } from "../umr.ts";
import { MMU_NOTIFIER_TIMEOUT_NS } from "./classicOdp.ts";
import { zapBlocks } from "./zapBlocks.ts";
import {
  hmmMirrorImplicit,
  implicitMrGetDataHmm,
  implicitOdpNextHmm,
  mlx5ImplicitChildEmptiedHmm,
} from "./hmmMirrorImplicit.ts";
import { mrOfUmem, type Mlx5OdpDesign, type PagefaultFlags } from "./mlx5OdpDesign.ts";
import { addBytesMapped, osPages, setPageCountPerDirectMr, type BytesMapped } from "./pageCount.ts";
import { setPrefetchErrnos } from "../prefetch.ts";
import {
  deregOdpMrSrcuEra,
  pagefaultSingleDataSegmentSrcuEra,
  regOdpMrSrcuEra,
} from "./srcuEraMr.ts";

/** An MR of this design: its umem is a hmm-mirror umem. */
type HmmMirrorMr = Mlx5IbMr<HmmMirrorUmemOdp>;

/** mlx5_ib_invalidate_range(), seed 002: zap the blocks HMM marked readable, unmap. */
export function* mlx5IbInvalidateRangeHmm(
  umem: HmmMirrorUmemOdp,
  start: number,
  end: number,
): KGen {
  const k = umem.context.k;
  if (!k.kasan.check(umem, "mlx5_ib_invalidate_range reads umem->private")) return;
  const mr = mrOfUmem(umem);
  if (mr === null) return;
  if (!k.kasan.check(mr, "mlx5_ib_invalidate_range uses mr")) return;
  const from = Math.max(ibUmemStart(umem), start);
  const to = Math.min(ibUmemEnd(umem), end);
  if (from >= to) return;
  for (const [blkStart, count] of zapBlocks(umem, from, to)) {
    yield* mlx5IbUpdateXlt(mr, blkStart, count, MLX5_IB_UPD_XLT_ZAP);
  }
  yield* hmmUnmapDmaPages(umem, from, to);
  // As v5.2 (and v5.3) had it, after the unmap dropped umem_mutex: an implicit child
  // left without pages dies and is freed by work.
  yield* mlx5ImplicitChildEmptiedHmm(umem, mr);
}

/** The span one pass of pagefault_mr() faults: io_virt aligned, the bytes, the pages. */
interface LeafSpan {
  readonly ioVirt: number;
  readonly size: number;
  readonly faultSize: number;
  /** `off`, what bytes_mapped leaves out of the first page. */
  readonly off: number;
}

/**
 * The head of pagefault_mr()'s next_mr step as posted, for `odp` at `ioVirtIn`: size to
 * the umem's end from the unaligned address, then the address aligned and `off` taken
 * from the aligned one (0), so the fault covers ALIGN(size) from the aligned address,
 * one page short when ioVirtIn's offset carries the end into one more page.
 */
function leafSpan(odp: HmmMirrorUmemOdp, ioVirtIn: number, bcnt: number): LeafSpan {
  const size = sizeToUmemEnd(odp, ioVirtIn, bcnt);
  const pageSize = odp.pageSize;
  const ioVirt = Math.floor(ioVirtIn / pageSize) * pageSize;
  const off = ioVirt % pageSize; // as posted: taken after aligning, so always 0
  return { ioVirt, size, faultSize: Math.ceil((size + off) / pageSize) * pageSize, off };
}

/**
 * One next_mr step of pagefault_mr() as posted, on the MTT MR `mr` over `odp` (an
 * explicit MR, or one implicit child): register a range on the mm, map it, write the
 * MTT if the range is still valid. Returns the PAGE_SIZE pages mapped and adds the bytes
 * to `bytesMapped` (np << page_shift less `off`, at least 0, at most the step's size), or
 * an errno.
 */
function* pagefaultLeaf(
  mr: HmmMirrorMr,
  odp: HmmMirrorUmemOdp,
  mm: MmStruct,
  span: LeafSpan,
  flags: PagefaultFlags,
  implicit: boolean,
  bytesMapped: BytesMapped | null,
): KGen<number> {
  const k = mr.dev.k;
  const { ioVirt, faultSize } = span;
  const pageSize = odp.pageSize;
  if (ioVirt < ibUmemStart(odp)) return EINVAL;
  const startIdx = (ioVirt - Math.floor(mr.iova / pageSize) * pageSize) / pageSize;
  const range = hmmRangeInit();
  let ret = yield* hmmRangeRegister(range, mm, ioVirt, ioVirt + faultSize, odp.pageShift);
  if (ret !== 0) return ret;
  if (flags.prefetch === true && flags.downgrade !== true && !odp.writable && flags.write) {
    yield* hmmRangeUnregister(range);
    return EINVAL;
  }
  range.defaultFlags = ODP_READ_BIT;
  if (odp.writable && flags.downgrade !== true) range.defaultFlags |= ODP_WRITE_BIT;
  ret = yield* ibUmemOdpMapDmaPagesHmm(odp, range);
  if (ret >= 0) {
    const np = ret;
    yield* odp.umemMutex.lock();
    if (hmmRangeValid(range)) ret = yield* mlx5IbUpdateXlt(mr, startIdx, np, 0);
    else ret = EAGAIN;
    odp.umemMutex.unlock();
    if (ret >= 0) {
      addBytesMapped(bytesMapped, np, odp.pageShift, span.off, span.size);
      yield* hmmRangeUnregister(range);
      return osPages(np, odp.pageShift);
    }
  }
  if (ret === EAGAIN) {
    // As posted: `!implicit || odp->dying`, so an explicit MR never waits.
    if (!implicit || odp.dying) {
      ret = EFAULT;
    } else if (!(yield* hmmRangeWaitUntilValid(range, MMU_NOTIFIER_TIMEOUT_NS / 1_000_000))) {
      k.event("mlx5_ib_warn", { msg: "timeout waiting for mmu notifier" });
    }
  }
  yield* hmmRangeUnregister(range);
  return ret;
}

/**
 * pagefault_mr() as posted: an explicit MR's one umem, or for an implicit parent the
 * children implicit_mr_get_data found or made, each faulted in turn from where the
 * previous step's fault_size ended; a child missing there (freed meanwhile) ends the
 * fault with -EAGAIN.
 */
function* pagefaultMr(
  mr: HmmMirrorMr,
  ioVirtIn: number,
  bcnt: number,
  flags: PagefaultFlags,
  bytesMapped: BytesMapped | null,
): KGen<number> {
  const k = mr.dev.k;
  const odpMr = mr.umem;
  if (odpMr === null || odpMr.perMm === null) return EINVAL;
  if (!k.kasan.check(odpMr, "pagefault_mr reads the umem")) return EFAULT;
  const mm = odpMr.perMm.mm;
  if (!odpMr.isImplicitOdp) {
    const span = leafSpan(odpMr, ioVirtIn, bcnt);
    return yield* pagefaultLeaf(mr, odpMr, mm, span, flags, false, bytesMapped);
  }
  const first = yield* implicitMrGetDataHmm(mr, ioVirtIn, bcnt);
  if (typeof first === "number") return first;
  return yield* pagefaultChildren(first, mm, ioVirtIn, bcnt, flags, bytesMapped);
}

/** The implicit loop of pagefault_mr(): each child from `odp` on, as posted. */
function* pagefaultChildren(
  first: HmmMirrorUmemOdp,
  mm: MmStruct,
  ioVirtIn: number,
  bcntIn: number,
  flags: PagefaultFlags,
  bytesMapped: BytesMapped | null,
): KGen<number> {
  let odp = first;
  let ioVirt = ioVirtIn;
  let bcnt = bcntIn;
  let npages = 0;
  for (;;) {
    const child = mrOfUmem(odp);
    if (child === null) return EFAULT;
    const span = leafSpan(odp, ioVirt, bcnt);
    const ret = yield* pagefaultLeaf(child, odp, mm, span, flags, true, bytesMapped);
    if (ret < 0) return ret;
    npages += ret;
    bcnt -= span.size;
    if (bcnt <= 0) return npages;
    // As posted: the next address is after the pages this step faulted.
    ioVirt = span.ioVirt + span.faultSize;
    const next = yield* implicitOdpNextHmm(odp);
    if (next?.address !== ioVirt) {
      child.dev.k.event("mlx5_ib_dbg", { msg: "next implicit leaf removed", va: ioVirt });
      return EAGAIN;
    }
    odp = next;
  }
}

export const hmmMirrorMlx5Odp: Mlx5OdpDesign<HmmMirrorUmemOdp> = {
  core: hmmMirrorDesign,

  kernelSetup(k) {
    // The posting sits on v5.2-rc1: no invalidate_range_start lockdep map, no pairing
    // of ends after a failed non-blockable start.
    setInvalidateStartMap(k, false);
    setPairEndsOnFailedStart(k, false);
    // The RDMA responder handler checks the page count (pages_in_range), as until v6.13.
    setPageCountPerDirectMr(k, false);
    // advise_mr refusals as v5.2 returns them, the same as v5.3 (prefetch.ts).
    setPrefetchErrnos(k, "v5.3");
  },

  allocUcontext(_dev, ctx) {
    ctx.invalidateRange = mlx5IbInvalidateRangeHmm;
  },

  regOdpMr: (dev, pd, start, length, access) =>
    regOdpMrSrcuEra(hmmMirrorDesign, dev, pd, start, length, access, hmmMirrorImplicit),

  deregOdpMr: (mr) =>
    deregOdpMrSrcuEra(mr, hmmMirrorDesign, mlx5IbInvalidateRangeHmm, hmmMirrorImplicit),

  pagefaultSingleDataSegment: (dev, pd, key, va, bcnt, flags, bytesMapped) =>
    pagefaultSingleDataSegmentSrcuEra(
      dev,
      pd,
      key,
      va,
      bcnt,
      flags,
      pagefaultMr,
      bytesMapped ?? null,
    ),
};
