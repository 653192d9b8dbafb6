/**
 * mm benchmarks: the CPU write fault-in rate of anonymous memory — one simulated thread
 * storing one byte to each page of a fresh private mapping, so every store takes a
 * page fault (mmap_lock, VMA lookup, allocation, PTE install). Pages per second of
 * wall-clock time spent simulating.
 */
import type { BenchResult } from "./result.ts";
import { measure, perSecond } from "./measure.ts";
import { cpuWrite } from "../src/mm/access.ts";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, vmMmap } from "../src/mm/mmap.ts";
import { MmStruct } from "../src/mm/mmStruct.ts";
import { PAGE_SIZE } from "../src/mm/page.ts";
import { PhysMem } from "../src/mm/physMem.ts";
import { Kernel } from "../src/sim/kernel.ts";
import { FirstRunnable } from "../src/sim/strategies/firstRunnable.ts";
import type { KGen } from "../src/sim/task.ts";

const PAGES = 4096;
const group = { kind: "process", name: "bench" } as const;

function anonFaultIn(): number {
  const k = new Kernel({ strategy: new FirstRunnable(), maxSteps: Infinity });
  const phys = new PhysMem(k, { frames: PAGES + 16 });
  const mm = new MmStruct(k, phys);
  const one = new Uint8Array([1]);
  let faulted = 0;
  k.spawn("toucher", group, function* (): KGen {
    const addr = yield* vmMmap(
      mm,
      0,
      PAGES * PAGE_SIZE,
      PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS,
    );
    for (let i = 0; i < PAGES; i++) {
      if ((yield* cpuWrite(mm, addr + i * PAGE_SIZE, one)).ok) faulted++;
    }
  });
  k.run();
  if (faulted !== PAGES || phys.usedFrames !== PAGES + 1)
    throw new Error("fault-in did not map every page");
  return faulted;
}

export async function mmBenchmarks(): Promise<BenchResult[]> {
  anonFaultIn();
  const m = await measure({ anonFault: anonFaultIn });
  return [
    {
      id: "mm.anon_fault_pages_per_sec",
      value: perSecond(PAGES, m.get("anonFault")),
      unit: "pages/s",
    },
  ];
}
