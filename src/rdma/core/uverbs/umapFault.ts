/**
 * What a touch of a zapped device mapping finds: zeros, never the device.
 *
 * Models rdma_umap_fault() (drivers/infiniband/core/uverbs_main.c, added by "RDMA/
 * ucontext: Fix regression with disassociate", 67f269b37f9b). Only a VMA whose pages
 * were zapped (disassociation, device reset) faults here: a live mapping has all its
 * PTEs. No private data (the copy zapped in ->open) means SIGBUS. A VMA that can never
 * be writable gets the system zero page; any other gets the file's one zeroed page,
 * allocated on first use under umap_lock and shared by every such VMA of the file (the
 * VMA is always shared, so there is no copy on write to worry about).
 */
import type { KGen } from "../../../sim/task.ts";
import { VM_FAULT_SIGBUS, VM_MAYWRITE, VM_WRITE, type VmFault } from "../../../mm/vma.ts";
import { vmaUfile, vmaUmapPriv } from "./uverbsFile.ts";

/** rdma_umap_fault(): 0 with vmf.page set (holding a reference), or VM_FAULT_*. */
export function* rdmaUmapFault(vmf: VmFault): KGen<number> {
  const vma = vmf.vma;
  const ufile = vmaUfile(vma);
  const priv = vmaUmapPriv(vma);
  if (ufile === null || priv === null) return VM_FAULT_SIGBUS;
  const phys = vma.vmMm.phys;
  if ((vma.vmFlags & (VM_WRITE | VM_MAYWRITE)) === 0) {
    phys.getPage(phys.zeroPage);
    vmf.page = phys.zeroPage;
    return 0;
  }
  yield* ufile.umapLock.lock();
  ufile.disassociatePage ??= phys.allocPage("kernel");
  const page = ufile.disassociatePage;
  let ret = 0;
  if (page === null) {
    ret = VM_FAULT_SIGBUS;
  } else {
    phys.getPage(page);
    vmf.page = page;
  }
  ufile.umapLock.unlock();
  return ret;
}
