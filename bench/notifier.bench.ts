/**
 * The cost of an munmap as interval notifiers pile up: `mm.munmap_cost_growth` is the
 * median wall-clock cost of munmap() of N = 64 populated pages with M = 10,000
 * mmu_interval_notifiers on the mm, over the same with M = 10. The notifiers have a
 * realistic spread: one covers the unmapped buffer (its mirror, so the invalidation
 * really runs a callback and flips the seq), the rest are 1..64-page registrations
 * scattered over 64 GiB of address space, so almost none overlap the unmapped range.
 * The interval tree keeps the overlap search logarithmic, so the ratio should stay
 * close to 1; a linear scan of the subscribers would make it ~1000.
 *
 * Models no kernel file. Wall-clock time (performance.now) is fine here: it measures
 * the simulator and does not feed back into the simulated run.
 * Run alone with `npx tsx bench/notifier.bench.ts`.
 */
import { pathToFileURL } from "node:url";
import type { BenchResult } from "./result.ts";
import { cpuWrite } from "../src/mm/access.ts";
import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  vmMmap,
  vmMunmap,
} from "../src/mm/mmap.ts";
import { mmAlloc, type MmStruct } from "../src/mm/mmStruct.ts";
import {
  MmuIntervalNotifier,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalSetSeq,
  type MmuIntervalNotifierOps,
} from "../src/mm/notifier/mmuIntervalNotifier.ts";
import { PAGE_SIZE } from "../src/mm/page.ts";
import { PhysMem } from "../src/mm/physMem.ts";
import { Kernel } from "../src/sim/kernel.ts";
import { Prng } from "../src/sim/rng.ts";
import type { KGen } from "../src/sim/task.ts";

const N_PAGES = 64;
const M_SMALL = 10;
const M_LARGE = 10_000;
const REPS = 500;
/** Where the scattered registrations live: 64 GiB above this base. */
const SPREAD_BASE = 0x1000_0000_0000;
const SPREAD_PAGES = 2 ** 24;
const group = { kind: "process", name: "bench" } as const;

const mirrorOps: MmuIntervalNotifierOps = {
  name: "bench-mirror",
  *invalidate(sub, _range, seq) {
    mmuIntervalSetSeq(sub, seq);
    return true;
  },
};

/** M - 1 scattered notifiers, deterministic. */
function* insertScattered(mm: MmStruct, count: number): KGen {
  const rng = new Prng(0x5eed);
  for (let i = 0; i < count; i++) {
    const start = SPREAD_BASE + rng.nextInt(SPREAD_PAGES) * PAGE_SIZE;
    const len = (1 + rng.nextInt(64)) * PAGE_SIZE;
    const ret = yield* mmuIntervalNotifierInsert(
      new MmuIntervalNotifier(mirrorOps),
      mm,
      start,
      len,
    );
    if (ret !== 0) throw new Error(`insert failed: ${ret}`);
  }
}

/** Median ms of REPS munmaps of N_PAGES populated pages with `m` notifiers. */
function medianMunmapMs(m: number): number {
  const k = new Kernel({ seed: 1, maxSteps: Infinity });
  const phys = new PhysMem(k, { frames: 4 * N_PAGES });
  const mm = mmAlloc(k, phys, "bench");
  const times: number[] = [];
  const size = N_PAGES * PAGE_SIZE;
  const data = new Uint8Array(size).fill(0x5a);
  k.spawn("bench", group, function* (): KGen {
    yield* insertScattered(mm, m - 1);
    for (let rep = 0; rep < REPS; rep++) {
      const addr = yield* vmMmap(mm, 0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      if (addr < 0) throw new Error(`mmap failed: ${addr}`);
      yield* cpuWrite(mm, addr, data);
      const mirror = new MmuIntervalNotifier(mirrorOps);
      yield* mmuIntervalNotifierInsert(mirror, mm, addr, size);
      const t0 = performance.now();
      const ret = yield* vmMunmap(mm, addr, size);
      times.push(performance.now() - t0);
      if (ret !== 0) throw new Error(`munmap failed: ${ret}`);
      yield* mmuIntervalNotifierRemove(mirror);
    }
  });
  const r = k.run();
  if (r.status !== "ok")
    throw new Error(`bench run ended ${r.status}: ${r.internalError?.message ?? ""}`);
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? Number.NaN;
}

/** `mm.munmap_cost_growth` and the two costs it compares. */
export async function notifierBenchmarks(): Promise<BenchResult[]> {
  // Warm both paths once so JIT state does not favour whichever runs second.
  medianMunmapMs(M_SMALL);
  medianMunmapMs(M_LARGE);
  await new Promise((resolve) => setImmediate(resolve));
  const small = medianMunmapMs(M_SMALL);
  const large = medianMunmapMs(M_LARGE);
  const growth = large / small;
  return [
    { id: "mm.munmap_cost_growth", value: growth, unit: "x" },
    { id: "mm.munmap_us.m10", value: small * 1000, unit: "us" },
    {
      id: "mm.munmap_us.m10000",
      value: large * 1000,
      unit: "us",
      baseline: small * 1000,
      ratio: growth,
    },
  ];
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  for (const r of await notifierBenchmarks()) {
    process.stdout.write(`${r.id.padEnd(28)} ${r.value.toFixed(3)} ${r.unit}\n`);
  }
}
