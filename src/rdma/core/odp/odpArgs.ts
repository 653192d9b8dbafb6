/**
 * Argument checks and range arithmetic shared by every design's ib_umem_odp_get().
 *
 * Models the checks of ib_umem_get() / ib_umem_odp_get() (drivers/infiniband/core/
 * umem.c, umem_odp.c): overflow of addr + size, an empty range, page alignment of the
 * umem's start (down) and end (up) to its page size, and the IB_ACCESS_HUGETLB
 * requirement that the range start in a hugetlb VMA.
 */
import { EINVAL, EOVERFLOW } from "../../../sim/errno.ts";
import type { KGen } from "../../../sim/task.ts";
import { mmapReadLock, mmapReadUnlock, findVma, type MmStruct } from "../../../mm/mmStruct.ts";
import { HPAGE_PMD_SHIFT, PAGE_SHIFT } from "../../../mm/page.ts";
import { VM_HUGETLB } from "../../../mm/vma.ts";
import { IB_ACCESS_HUGETLB } from "../ibVerbs.ts";

/** The highest user address + 1 the model accepts in a umem (2^53, JS's safe range). */
export const UMEM_ADDR_LIMIT = Number.MAX_SAFE_INTEGER;

export interface UmemRange {
  readonly start: number;
  readonly length: number;
  readonly pageShift: number;
}

/** Checks addr/size and aligns them to `pageShift`; a negative errno on bad input. */
export function umemAlign(addr: number, size: number, pageShift: number): UmemRange | number {
  if (!Number.isSafeInteger(addr) || !Number.isSafeInteger(size) || addr < 0 || size < 0) {
    return EINVAL;
  }
  if (addr + size > UMEM_ADDR_LIMIT) return EOVERFLOW;
  if (size === 0) return EINVAL;
  const pageSize = 2 ** pageShift;
  const start = Math.floor(addr / pageSize) * pageSize;
  const end = Math.ceil((addr + size) / pageSize) * pageSize;
  return { start, length: end - start, pageShift };
}

/**
 * The page shift of a umem: PAGE_SHIFT, or the huge page shift when IB_ACCESS_HUGETLB is
 * asked and the VMA at `addr` is hugetlb (else -EINVAL).
 */
export function* umemPageShift(mm: MmStruct, addr: number, access: number): KGen<number> {
  if ((access & IB_ACCESS_HUGETLB) === 0) return PAGE_SHIFT;
  yield* mmapReadLock(mm);
  const vma = findVma(mm, addr);
  const ok = vma !== null && vma.vmStart <= addr && (vma.vmFlags & VM_HUGETLB) !== 0;
  mmapReadUnlock(mm);
  return ok ? HPAGE_PMD_SHIFT : EINVAL;
}
