/**
 * The two calls a driver's ->mmap makes to hand device memory to a process.
 *
 * Models rdma_user_mmap_pre(), rdma_user_mmap_io() and rdma_user_mmap_page()
 * (drivers/infiniband/core/uverbs_main.c, seed 004; rdma_user_mmap_io moved to
 * ib_core_uverbs.c later and gained the entry argument). Both check the size (the VMA
 * must be exactly what the driver maps: -EINVAL) and that they are called from
 * ib_uverbs_mmap on this ucontext's file (WARN and -EINVAL otherwise), map the pfns as
 * a pfn map (VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP, set by remap_pfn_range),
 * and track the VMA on the file. A failed remap is -EAGAIN.
 *
 * `prot` is the pgprot the driver asks for (non-cached or write-combining BAR access);
 * the model has no caching attributes, so it is only recorded on the tracking.
 */
import type { IbUcontext } from "../ucontext.ts";
import { EAGAIN, EINVAL } from "../../../sim/errno.ts";
import type { KGen } from "../../../sim/task.ts";
import type { Page } from "../../../mm/page.ts";
import { ioRemapPfnRange, remapPfnRange } from "../../../mm/remap.ts";
import type { VmAreaStruct } from "../../../mm/vma.ts";
import type { RdmaUserMmapEntry } from "./mmapEntry.ts";
import { rdmaUmapPrivInit } from "./umapOps.ts";
import { RdmaUmapPriv, ucontextUfile } from "./uverbsFile.ts";

/** pgprot_noncached() / pgprot_writecombine() of the driver's choice. */
export type RdmaPgprot = "noncached" | "writecombine";

/** rdma_user_mmap_pre(): the checks, then a fresh priv; or -EINVAL. */
function rdmaUserMmapPre(
  ucontext: IbUcontext,
  vma: VmAreaStruct,
  size: number,
): RdmaUmapPriv | number {
  const ufile = ucontextUfile(ucontext);
  const k = ufile.k;
  if (vma.vmEnd - vma.vmStart !== size) return EINVAL;
  const fromUverbsMmap = vma.vmFile !== null && vma.vmFile.privateData === ufile;
  if (k.warnOn(!fromUverbsMmap, "rdma_user_mmap: not called from ib_uverbs_mmap of this file")) {
    return EINVAL;
  }
  return new RdmaUmapPriv(k, ufile, vma);
}

/** rdma_user_mmap_io(): map IO memory (a BAR) at `pfn`; 0 or -errno. */
export function* rdmaUserMmapIo(
  ucontext: IbUcontext,
  vma: VmAreaStruct,
  pfn: number,
  size: number,
  prot: RdmaPgprot,
  entry: RdmaUserMmapEntry | null = null,
): KGen<number> {
  const design = ucontextUfile(ucontext).device.design;
  const err = design.mmapIoCheck(vma);
  if (err < 0) return err;
  const priv = rdmaUserMmapPre(ucontext, vma, size);
  if (typeof priv === "number") return priv;
  priv.prot = prot;
  if (ioRemapPfnRange(vma, vma.vmStart, pfn, size) < 0) {
    ucontext.k.kasan.free(priv);
    return EAGAIN;
  }
  yield* rdmaUmapPrivInit(priv, vma, entry);
  return 0;
}

/**
 * rdma_user_mmap_page(): map a driver page the driver frees when it destroys the
 * ucontext (so the mapping must be zapped first, like IO memory); 0 or -errno.
 */
export function* rdmaUserMmapPage(
  ucontext: IbUcontext,
  vma: VmAreaStruct,
  page: Page,
  size: number,
): KGen<number> {
  const priv = rdmaUserMmapPre(ucontext, vma, size);
  if (typeof priv === "number") return priv;
  if (remapPfnRange(vma, vma.vmStart, page.pfn, size) < 0) {
    ucontext.k.kasan.free(priv);
    return EAGAIN;
  }
  yield* rdmaUmapPrivInit(priv, vma, null);
  return 0;
}
