/**
 * Oracle: every device access to host memory through a mirrored translation goes to the
 * frame the CPU maps at that address right now, with an access the CPU mapping allows,
 * and never to a frame freed since the translation was written; and no frame is freed
 * while a device still translates to it.
 *
 * Models no kernel file: it states the invariant every mirror's interlock exists for.
 * Invalidations zap the device's translation in invalidate_range_start, before the CPU
 * page table changes, so in a correct design the device never sees a CPU change it was
 * not told about. One check (`checkDeviceAccess`) serves every device: mlx5 through its
 * DMA observer hook, dmirror and a user's driver through their DevicePageTable
 * (src/mm/devicePageTable.ts).
 *
 *   device_use_after_free            the frame was freed (and maybe reused) since mapped
 *   device_stale_translation         the CPU maps another frame (or none) at that address
 *   device_write_readonly            a device write where the CPU mapping is read-only
 *   device_translation_outlives_frame  a frame freed while a device page table maps it
 */
import { KernelGlobal, type Kernel } from "../../sim/kernel.ts";
import {
  addDeviceTranslationObserver,
  type DeviceAccess,
  type DevicePageTable,
} from "../../mm/devicePageTable.ts";
import { walkPte } from "../../mm/pageTable.ts";
import { PAGE_SIZE, frameId } from "../../mm/page.ts";
import { umemInterlockId } from "../../rdma/core/umemOdp.ts";
import { mkeyId } from "../../rdma/mlx5/mkey.ts";
import type { DmaAccess, Mlx5IbDev } from "../../rdma/mlx5/mlx5IbDev.ts";
import { OracleKinds } from "../violationKinds.ts";

/** What this oracle reports. */
export const DEVICE_ACCESS_KINDS = new OracleKinds("device access", [
  "device_use_after_free",
  "device_stale_translation",
  "device_write_readonly",
  "device_translation_outlives_frame",
]);

/**
 * Checks every DMA of an mlx5 device, and (through the translation oracle) the frames
 * freed while its ODP MTTs, mirrored as device page tables (mttMirror.ts), map them.
 */
export function attachDeviceAccessOracle(dev: Mlx5IbDev): void {
  attachDeviceTranslationOracle(dev.k);
  dev.dmaObservers.push((access) => {
    checkDeviceAccess(dev.k, mlx5Access(access));
  });
}

const TRANSLATION_ORACLE = new KernelGlobal("device translation oracle", () => ({
  attached: false,
}));

/**
 * Checks every DevicePageTable of `k`: its accesses, and the frames freed under it.
 * Once per kernel, however many devices ask.
 */
export function attachDeviceTranslationOracle(k: Kernel): void {
  const state = k.global(TRANSLATION_ORACLE);
  if (state.attached) return;
  state.attached = true;
  addDeviceTranslationObserver(k, { access: checkDeviceAccess, freedWhileMapped });
}

/** The one device-access check: the frame's life, the CPU mapping, the permission. */
export function checkDeviceAccess(k: Kernel, access: DeviceAccess): void {
  const { va, pfn, mm, phys } = access;
  const who = `${access.device} ${rw(access)}`;
  const where = { ...access.details, va, pfn, write: access.write, objects: access.objects };
  if (!phys.pfnValid(pfn)) {
    DEVICE_ACCESS_KINDS.report(
      k,
      "device_stale_translation",
      `${who} of va ${hex(va)} uses pfn ${pfn}, which is no RAM frame`,
      where,
    );
    return;
  }
  const page = phys.pfnToPage(pfn);
  if (page.kind === "free" || page.generation !== access.mappedGeneration) {
    DEVICE_ACCESS_KINDS.report(
      k,
      "device_use_after_free",
      `${who} of va ${hex(va)} hits pfn ${pfn}, freed since it was mapped`,
      { ...where, mappedGeneration: access.mappedGeneration, generation: page.generation },
    );
    return;
  }
  if (mm === null) return; // not a mirror: pinned frames
  const walk = walkPte(mm, va);
  const cpuPfn = walk === null ? null : walk.pte.pfn + Math.floor((va - walk.base) / PAGE_SIZE);
  if (walk === null || cpuPfn !== pfn || walk.pte.protnone) {
    DEVICE_ACCESS_KINDS.report(
      k,
      "device_stale_translation",
      `${who} of va ${hex(va)} uses pfn ${pfn}; the CPU maps ${cpuPfn ?? "nothing"} there`,
      { ...where, cpuPfn },
    );
    return;
  }
  if (access.write && !walk.pte.writable) {
    DEVICE_ACCESS_KINDS.report(
      k,
      "device_write_readonly",
      `${access.device} write of va ${hex(va)} through a read-only CPU mapping`,
      where,
    );
  }
}

/** A frame went back to the allocator while `table` still translated `va` to it. */
function freedWhileMapped(k: Kernel, table: DevicePageTable, va: number): void {
  const t = table.lookup(va);
  if (t === undefined) return;
  const why = t.kept === undefined ? "" : ` (${t.kept})`;
  DEVICE_ACCESS_KINDS.report(
    k,
    "device_translation_outlives_frame",
    `${table.name}: pfn ${t.pfn} freed while the device still translates va ${hex(va)} to it${why}`,
    {
      device: table.name,
      va,
      pfn: t.pfn,
      objects: [table.entryId(va), frameId(t.pfn, 1, t.generation)],
    },
  );
}

/**
 * An mlx5 DMA as a device access: the mm is the ODP umem's (none for a pinned MR), the
 * objects are what a race report names (src/check/slice.ts): the translation entry, the
 * life of the frame it mapped, and the interlock of the umem behind it.
 */
function mlx5Access(access: DmaAccess): DeviceAccess {
  const { dev, mkey, va, pfn } = access;
  const umem = dev.mrs.get(mkey.key)?.umem;
  const idx = Math.floor((va - mkey.iova) / 2 ** mkey.pageShift);
  const objects = [mkeyId(mkey.key, idx), frameId(pfn, 1, access.mappedGeneration)];
  for (const mr of dev.mrs.values()) {
    const owner = mr.mmkey === mkey ? mr : [...mr.children.values()].find((c) => c.mmkey === mkey);
    if (owner?.umem !== undefined && owner.umem !== null) objects.push(umemInterlockId(owner.umem));
  }
  return {
    device: `${dev.name} mkey ${mkey.key}`,
    phys: dev.phys,
    mm: umem === undefined || umem === null ? null : umem.owningMm,
    va,
    pfn,
    write: access.write,
    mappedGeneration: access.mappedGeneration,
    objects,
    details: { mkey: mkey.key },
  };
}

function rw(access: DeviceAccess): string {
  return access.write ? "write" : "read";
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}
