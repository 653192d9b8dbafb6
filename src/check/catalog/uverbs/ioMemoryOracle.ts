/**
 * Oracle: user space never touches device IO memory that is gone, and while the device
 * is present every VMA mapping its IO memory is tracked on a uverbs file (so that a hot
 * unplug can find and zap it).
 *
 * Models no kernel file: it states the invariants uverbs mmap tracking exists for
 * (seed 004: "the physical HW ... memory may vanish ... access to it from userspace
 * could MCE"). It watches through the IO region's observer hook only, plus the
 * uverbs tracking query (isUmapTracked) and the page tables of live address spaces.
 *
 *   cpu_access_removed_io     a load or store reached a BAR after its release
 *   io_released_while_mapped  the BAR was released while a live mm still mapped it
 *                             through a tracked VMA (disassociation missed it)
 *   untracked_io_vma          the same through an untracked VMA; or a process touched
 *                             the BAR through a VMA no uverbs file
 *                             tracks, with no disassociation of that file under way
 *                             and its address space not being changed (mmap_lock held
 *                             for write: a split piece is untracked until ->open)
 */
import type { Kernel } from "../../../sim/kernel.ts";
import { objectId } from "../../../sim/objectAccess.ts";
import type { Task } from "../../../sim/task.ts";
import { MmStruct } from "../../../mm/mmStruct.ts";
import type { IoRegion } from "../../../mm/physMem.ts";
import type { Process } from "../../../mm/process.ts";
import type { VmAreaStruct } from "../../../mm/vma.ts";
import { isUmapTracked, vmaUfile } from "../../../rdma/core/uverbs/uverbsFile.ts";
import { OracleKinds } from "../../violationKinds.ts";

/** What this oracle reports. */
export const IO_MEMORY_KINDS = new OracleKinds("io memory", [
  "cpu_access_removed_io",
  "io_released_while_mapped",
  "untracked_io_vma",
]);

export class IoMemoryOracle {
  private readonly processes: Process[] = [];

  constructor(
    private readonly k: Kernel,
    regions: readonly IoRegion[],
  ) {
    for (const region of regions) {
      region.observers.push({
        access: (r, pfn, write) => {
          this.onAccess(r, pfn, write);
        },
        release: (r) => {
          this.onRelease(r);
        },
      });
    }
  }

  /** Judge accesses by this process's threads against its address space. */
  watchProcess(p: Process): void {
    if (!this.processes.includes(p)) this.processes.push(p);
  }

  private onAccess(region: IoRegion, pfn: number, write: boolean): void {
    const what = write ? "store" : "load";
    if (region.released) {
      IO_MEMORY_KINDS.report(
        this.k,
        "cpu_access_removed_io",
        `${what} to pfn ${pfn} of ${region.name}, whose device is gone`,
        { region: region.name, pfn, write },
      );
      return;
    }
    const mm = this.mmOf(this.k.current);
    // A VMA being split or copied under mmap_lock is untracked until its ->open runs.
    if (mm === null || mm.mmapLock.writer !== null) return;
    for (const vma of mm.vmas) {
      if (!mapsPfn(vma, pfn) || isUmapTracked(vma) || disassociating(vma)) continue;
      IO_MEMORY_KINDS.report(
        this.k,
        "untracked_io_vma",
        `${what} to ${region.name} through ${vma.describe()} of ${mm.name}, tracked by no uverbs file`,
        { region: region.name, pfn, mm: mm.name, vma: vma.describe() },
      );
      return;
    }
  }

  private onRelease(region: IoRegion): void {
    for (const obj of this.k.kasan.liveObjects("mm")) {
      // A dying address space (no users) is unmapped by exit_mmap without touching it.
      if (!(obj instanceof MmStruct) || obj.exited || obj.mmUsers.read() === 0) continue;
      for (const vma of obj.vmas) {
        const pfn = firstPfnIn(vma, region);
        if (pfn === null) continue;
        const tracked = isUmapTracked(vma);
        IO_MEMORY_KINDS.report(
          this.k,
          tracked ? "io_released_while_mapped" : "untracked_io_vma",
          `${region.name} released while ${vma.describe()} of ${obj.name} still maps pfn ${pfn}` +
            (tracked ? "" : ": no uverbs file tracked it, so disassociation could not zap it"),
          {
            region: region.name,
            pfn,
            mm: obj.name,
            vma: vma.describe(),
            objects: [objectId(vma.objName), `${objectId(vma.objName)}.vm_private_data`],
          },
        );
        return;
      }
    }
  }

  private mmOf(task: Task | null): MmStruct | null {
    if (task === null) return null;
    for (const p of this.processes) if (p.threads.includes(task)) return p.mm;
    return null;
  }
}

function mapsPfn(vma: VmAreaStruct, pfn: number): boolean {
  for (const [, pte] of vma.vmMm.pgtable.ptesIn(vma.vmStart, vma.vmEnd)) {
    if (pte.pfn === pfn) return true;
  }
  return false;
}

function firstPfnIn(vma: VmAreaStruct, region: IoRegion): number | null {
  for (const [, pte] of vma.vmMm.pgtable.ptesIn(vma.vmStart, vma.vmEnd)) {
    if (pte.pfn >= region.basePfn && pte.pfn < region.basePfn + region.npages) return pte.pfn;
  }
  return null;
}

/** Disassociation of the VMA's file is running: it untracks each VMA just before zapping. */
function disassociating(vma: VmAreaStruct): boolean {
  const ufile = vmaUfile(vma);
  return ufile !== null && !ufile.freed && ufile.hwDestroyRwsem.writer !== null;
}
