/**
 * Dropping a umem's DMA mappings.
 *
 * Models the loop of ib_umem_odp_unmap_dma_pages() (drivers/infiniband/core/umem_odp.c):
 * for each mapped page, unmap it and set_page_dirty() on its head page if the device was
 * allowed to write it. No design holds a page reference while a page is mapped (classic
 * drops get_user_pages' right after mapping, "avoid pinning the page"; hmm_range_fault
 * takes none), so there is none to drop: the MMU notifier is what keeps the page.
 */
import { setPageDirty } from "../../../mm/file.ts";
import { compoundHead } from "../../../mm/page.ts";
import {
  ODP_WRITE_ALLOWED_BIT,
  ibUmemEnd,
  ibUmemStart,
  traceDmaMap,
  type IbUmemOdp,
} from "../umemOdp.ts";

/**
 * The body of ib_umem_odp_unmap_dma_pages() shared by every design: drop each mapped
 * page of [virt, bound), marking pages the device could write dirty. The caller holds
 * umem_mutex (how it got it differs by design).
 */
export function unmapDmaPagesLocked(umem: IbUmemOdp, virt: number, bound: number): void {
  const pageList = umem.pageList;
  const dmaList = umem.dmaList;
  if (pageList === null || dmaList === null) return;
  const k = umem.context.k;
  const phys = umem.owningMm.phys;
  const from = Math.max(virt, ibUmemStart(umem));
  const to = Math.min(bound, ibUmemEnd(umem));
  if (from >= to) return;
  const first = Math.floor((from - ibUmemStart(umem)) / umem.pageSize);
  const last = Math.ceil((to - ibUmemStart(umem)) / umem.pageSize);
  pageList.forEachSet(first, last, (idx, entry) => {
    const page = phys.pfnToPage(entry - 1);
    traceDmaMap(umem, idx, null, "ib_umem_odp_unmap_dma_pages", entry - 1);
    const access = dmaList.get(idx);
    // Catalog defect unmap-no-dirty drops this: the device's writes are then lost when
    // the page is reclaimed (fixed since the first ODP code marked written pages dirty).
    if ((access & ODP_WRITE_ALLOWED_BIT) !== 0 && !k.hasDefect("unmap-no-dirty")) {
      setPageDirty(compoundHead(page));
      phys.traceDirty(page, "set_page_dirty", true);
    }
    pageList.set(idx, 0);
    dmaList.set(idx, 0);
    umem.npages--;
    k.event("odp_unmap_page", { umem: umem.objName, index: idx, pfn: entry - 1 });
  });
}
