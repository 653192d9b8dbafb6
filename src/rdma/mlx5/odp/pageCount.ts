/**
 * What a page fault reports having mapped, and the check that it mapped every page it had
 * to: the page count pagefault_mr returns, `*bytes_mapped` of the WQE path, and where the
 * driver compares the count with pages_in_range().
 *
 * Models those parts of drivers/infiniband/hw/mlx5/odp.c in both of their forms:
 *
 *   - up to v6.13 (every design's era but the interval design's v6.14): pagefault_mr and
 *     pagefault_single_data_segment return the number of 4 KiB (PAGE_SIZE) pages mapped,
 *     np << (umem page_shift - PAGE_SHIFT) for each MTT MR, summed over an implicit MR's
 *     children; pagefault_data_segments sums it over the WQE's segments, and
 *     mlx5_ib_mr_rdma_pfault_handler resumes with an error when pages_in_range(address,
 *     length) exceeds it;
 *   - since "RDMA/mlx5: Fix indirect mkey ODP page count" (235f23840219, v6.14-rc1, in
 *     6.13.y and 6.6.y stable), pagefault_single_data_segment compares each direct MR's
 *     count with pages_in_range of that MR's io_virt/bcnt itself and fails with -EFAULT;
 *     it returns 0 on success and the RDMA handler only tests for an error.
 *
 * The fix matters for indirect mkeys (a memory window's KSM, a DEVX indirect mkey), whose
 * pages were summed over the inner MRs and compared with the outer range: a KSM that
 * starts off a page boundary counted two pages for a 4 KiB fault its aligned MTT resolved
 * with one. odpsim models no indirect mkey (an implicit MR's KSM is reached only through
 * its own MR, type MLX5_MKEY_MR), so for everything it models both forms fail the same
 * faults: the later form also fails a WQE fault whose MR mapped short, which the earlier
 * caught only through bytes_mapped.
 *
 * Which form a kernel has is an era setting (setPageCountPerDirectMr), put by each
 * design's kernelSetup.
 *
 * `*bytes_mapped` (only the WQE path passes one; the RDMA handler passes NULL): each MTT
 * MR fault adds the bytes from `io_virt` to the end of the pages it mapped, at most the
 * segment's length; a segment on a non-ODP key counts as mapped whole.
 */
import { KernelGlobal, type Kernel } from "../../../sim/kernel.ts";
import { EFAULT } from "../../../sim/errno.ts";
import { PAGE_SHIFT, PAGE_SIZE } from "../../../mm/page.ts";

/** The u32 *bytes_mapped a WQE fault accumulates over its data segments. */
export interface BytesMapped {
  value: number;
}

const PAGE_COUNT_FORM = new KernelGlobal<{ perDirectMr: boolean }>(
  "drivers/infiniband/hw/mlx5/odp.c",
  () => ({ perDirectMr: false }),
);

/** Puts `k` in the era of 235f23840219: the page count is checked per direct MR. */
export function setPageCountPerDirectMr(k: Kernel, on: boolean): void {
  k.global(PAGE_COUNT_FORM).perDirectMr = on;
}

/** Whether pagefault_single_data_segment checks the page count itself (v6.14+). */
export function pageCountPerDirectMr(k: Kernel): boolean {
  return k.global(PAGE_COUNT_FORM).perDirectMr;
}

/** pages_in_range(): the PAGE_SIZE pages [address, address + length) touches. */
export function pagesInRange(address: number, length: number): number {
  const end = Math.ceil((address + length) / PAGE_SIZE) * PAGE_SIZE;
  return (end - Math.floor(address / PAGE_SIZE) * PAGE_SIZE) / PAGE_SIZE;
}

/** np pages of a umem of `pageShift`, in PAGE_SIZE pages: np << (page_shift - PAGE_SHIFT). */
export function osPages(np: number, pageShift: number): number {
  return np * 2 ** (pageShift - PAGE_SHIFT);
}

/**
 * The bytes_mapped update of one MTT MR fault: `np` pages of 2^pageShift mapped from the
 * page holding `va`, of which the first `off` bytes lie before `va`; at most `size`.
 */
export function addBytesMapped(
  bytesMapped: BytesMapped | null,
  np: number,
  pageShift: number,
  off: number,
  size: number,
): void {
  if (bytesMapped === null) return;
  const newMappings = Math.max(0, np * 2 ** pageShift - off);
  bytesMapped.value += Math.min(newMappings, size);
}

/**
 * The MLX5_MKEY_MR case of pagefault_single_data_segment after pagefault_mr returned
 * `ret` for [ioVirt, ioVirt + bcnt): before 235f23840219 the count goes back to the caller;
 * since, a short count is -EFAULT and success is 0.
 */
export function mkeyMrPageCount(k: Kernel, ioVirt: number, bcnt: number, ret: number): number {
  if (ret < 0 || !pageCountPerDirectMr(k)) return ret;
  if (ret < pagesInRange(ioVirt, bcnt)) {
    k.event("pagefault_mr_short", { va: ioVirt, len: bcnt, pages: ret });
    return EFAULT;
  }
  return 0;
}
