/**
 * Catalog scenario: a process closes its HMM mirror device (dmirror, lib/test_hmm.c)
 * while one of its threads unmaps memory. Closing removes the mirror's interval
 * notifier and frees the mirror; the munmap's invalidation covers the notifier, so the
 * removal is deferred to the invalidation's end and must wait until that end is done
 * with the deferred list.
 *
 * Models no kernel file: the situation of "mm/mmu_notifier.c: fix race in
 * mmu_interval_notifier_remove()".
 */
import { Kernel } from "../../../sim/kernel.ts";
import type { KGen } from "../../../sim/task.ts";
import { DmirrorDevice, dmirrorFopsOpen, dmirrorFopsRelease } from "../../../dmirror/dmirror.ts";
import { cpuWrite } from "../../../mm/access.ts";
import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  vmMmap,
  vmMunmap,
} from "../../../mm/mmap.ts";
import { PAGE_SIZE } from "../../../mm/page.ts";
import { PhysMem } from "../../../mm/physMem.ts";
import { Process } from "../../../mm/process.ts";
import { attachDeviceTranslationOracle } from "../../oracles/deviceAccess.ts";
import { contextKernelOptions, type Scenario } from "../../scenario.ts";

export const dmirrorCloseVsMunmap: Scenario = {
  name: "dmirror-close-vs-munmap",
  description:
    "dmirror-close-vs-munmap v1: a process opens dmirror over its mm and maps 2 pages; " +
    "thread munmap: munmap both; thread close: close the dmirror (remove + free)",
  build(ctx) {
    const k = new Kernel({
      ...contextKernelOptions(ctx),
      defects: ctx.defects ?? [],
      maxSteps: 20_000,
    });
    const phys = new PhysMem(k, { frames: 128 });
    const proc = new Process(k, phys);
    attachDeviceTranslationOracle(k);
    const mdevice = new DmirrorDevice(k, "hmm_dmirror0");
    proc.spawnThread("setup", () => setup(proc, mdevice));
    return k;
  },
};

function* setup(proc: Process, mdevice: DmirrorDevice): KGen {
  const mm = proc.mm;
  if (mm === null) return;
  const len = 2 * PAGE_SIZE;
  const addr = yield* vmMmap(mm, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  yield* cpuWrite(mm, addr, new Uint8Array(len).fill(1));
  const dmirror = yield* dmirrorFopsOpen(mdevice, mm);
  if (typeof dmirror === "number") return;
  proc.spawnThread("munmap", () => vmMunmap(mm, addr, len));
  proc.spawnThread("close", () => dmirrorFopsRelease(dmirror));
}
