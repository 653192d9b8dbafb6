/**
 * Destroying the hardware side of a uverbs file: on close, and on hot unplug.
 *
 * Models uverbs_destroy_ufile_hw() and ufile_destroy_ucontext()
 * (drivers/infiniband/core/rdma_core.c, as seed 004 left them): under hw_destroy_rwsem
 * for write, a driver removal first disassociates every mmap of the file (seed 004's
 * addition) and the driver's hardware context, then the driver deallocates the
 * ucontext and ufile->ucontext becomes NULL. On close there is nothing to disassociate:
 * every VMA holds a file reference, so a closing file has no VMAs left. Before any of
 * that, the file's objects are destroyed (uverbs_destroy_uobjects): the MRs the process
 * still holds, newest first, through the driver's dereg_mr. QPs, CQs and PDs of the
 * file are not tracked as uobjects here.
 */
import type { KGen } from "../../../sim/task.ts";
import type { IbUcontext } from "../ucontext.ts";
import { uverbsUserMmapDisassociate } from "./disassociate.ts";
import type { IbUverbsFile } from "./uverbsFile.ts";

/** enum rdma_remove_reason, the two that matter here. */
export type RdmaRemoveReason = "close" | "driver_remove";

/**
 * ufile_destroy_ucontext(), under hw_destroy_rwsem for write (uverbs_destroy_ufile_hw
 * takes it; the kernel asserts it in the callees, uverbs_destroy_uobject and
 * uverbs_user_mmap_disassociate).
 */
export function* ufileDestroyUcontext(ufile: IbUverbsFile, reason: RdmaRemoveReason): KGen {
  ufile.hwDestroyRwsem.assertHeldWrite();
  const ucontext = ufile.ucontext;
  if (ucontext === null) return;
  const k = ufile.k;
  const driver = ufile.device.driver;
  yield* uverbsDestroyUobjects(ufile, ucontext);
  if (reason === "driver_remove") {
    yield* uverbsUserMmapDisassociate(ufile);
    driver.disassociateUcontext?.(ucontext);
    ufile.disassociated = true;
  }
  ucontext.live = false;
  if (driver.deallocUcontext !== undefined) yield* driver.deallocUcontext(ucontext);
  ufile.ucontext = null;
  k.kasan.free(ucontext);
}

/**
 * uverbs_destroy_uobjects(): the MRs, newest first, each as uverbs_destroy_uobject()
 * destroys it, which asserts hw_destroy_rwsem held.
 */
function* uverbsDestroyUobjects(ufile: IbUverbsFile, ucontext: IbUcontext): KGen {
  for (const mr of [...ucontext.mrs].reverse()) {
    ufile.hwDestroyRwsem.assertHeld();
    yield* ucontext.device.driver.deregMr(mr);
    ucontext.mrs.delete(mr);
  }
}

/** uverbs_destroy_ufile_hw(). */
export function* uverbsDestroyUfileHw(ufile: IbUverbsFile, reason: RdmaRemoveReason): KGen {
  yield* ufile.hwDestroyRwsem.downWrite();
  yield* ufileDestroyUcontext(ufile, reason);
  ufile.hwDestroyRwsem.upWrite();
}
