/**
 * Oracle: every DMA the device makes through an ODP translation goes to the frame the
 * CPU maps at that address right now, with an access the CPU mapping allows, and never
 * to a frame freed since the translation was written.
 *
 * Models no kernel file: it states the invariant the whole ODP interlock exists for.
 * Invalidations zap the device's translation in invalidate_range_start, before the CPU
 * page table changes, so in a correct design the device never sees a CPU change it was
 * not told about. It watches through the device's DMA observer hook only.
 *
 *   device_use_after_free     the frame was freed (and maybe reused) since mapped
 *   device_stale_translation  the CPU maps another frame (or none) at that address
 *   device_write_readonly     a device write where the CPU mapping is read-only
 */
import type { Kernel } from "../../sim/kernel.ts";
import { walkPte } from "../../mm/pageTable.ts";
import { PAGE_SIZE, frameId } from "../../mm/page.ts";
import { umemInterlockId } from "../../rdma/core/umemOdp.ts";
import { mkeyId } from "../../rdma/mlx5/mkey.ts";
import type { DmaAccess, Mlx5IbDev } from "../../rdma/mlx5/mlx5IbDev.ts";

export function attachDeviceAccessOracle(dev: Mlx5IbDev): void {
  dev.dmaObservers.push((access) => {
    checkDeviceAccess(dev.k, access);
  });
}

function checkDeviceAccess(k: Kernel, access: DmaAccess): void {
  const { dev, va, pfn } = access;
  const where = { mkey: access.mkey.key, va, pfn, write: access.write, objects: named(access) };
  if (!dev.phys.pfnValid(pfn)) {
    k.report(
      "device_stale_translation",
      `device ${rw(access)} of va ${hex(va)} uses pfn ${pfn}, which is no RAM frame`,
      where,
    );
    return;
  }
  const page = dev.phys.pfnToPage(pfn);
  if (page.kind === "free" || page.generation !== access.mappedGeneration) {
    k.report(
      "device_use_after_free",
      `device ${rw(access)} of va ${hex(va)} hits pfn ${pfn}, freed since it was mapped`,
      {
        ...where,
        mappedGeneration: access.mappedGeneration,
        generation: page.generation,
      },
    );
    return;
  }
  const umem = dev.mrs.get(access.mkey.key)?.umem;
  if (umem === undefined || umem === null) return; // not an ODP MR: pinned frames
  const walk = walkPte(umem.owningMm, va);
  const cpuPfn = walk === null ? null : walk.pte.pfn + Math.floor((va - walk.base) / PAGE_SIZE);
  if (walk === null || cpuPfn !== pfn || walk.pte.protnone) {
    k.report(
      "device_stale_translation",
      `device ${rw(access)} of va ${hex(va)} uses pfn ${pfn}; the CPU maps ${cpuPfn ?? "nothing"} there`,
      { ...where, cpuPfn },
    );
    return;
  }
  if (access.write && !walk.pte.writable) {
    k.report(
      "device_write_readonly",
      `device write of va ${hex(va)} through a read-only CPU mapping`,
      where,
    );
  }
}

/**
 * What a bad access names for a race report (src/check/slice.ts): the translation entry,
 * the life of the frame it mapped, and the interlock of the umem behind it.
 */
function named(access: DmaAccess): string[] {
  const { dev, mkey, va, pfn } = access;
  const idx = Math.floor((va - mkey.iova) / 2 ** mkey.pageShift);
  const ids = [mkeyId(mkey.key, idx), frameId(pfn, 1, access.mappedGeneration)];
  for (const mr of dev.mrs.values()) {
    const owner = mr.mmkey === mkey ? mr : [...mr.children.values()].find((c) => c.mmkey === mkey);
    if (owner?.umem !== undefined && owner.umem !== null) ids.push(umemInterlockId(owner.umem));
  }
  return ids;
}

function rw(access: DmaAccess): string {
  return access.write ? "write" : "read";
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
