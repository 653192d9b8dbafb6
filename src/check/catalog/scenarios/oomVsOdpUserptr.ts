/**
 * Catalog scenario: the OOM reaper reaps a process that has two MMU-notifier
 * subscribers on its mm, an RDMA per-mm notifier (an ODP MR over a shared mapping,
 * which the reaper leaves alone) and an i915 userptr notifier (an active userptr object
 * over a private mapping, which the reaper does reap). The userptr notifier refuses the
 * non-blockable invalidation of its mapping; the per-mm notifier, with no umem there,
 * accepts it and holds umem_rwsem for read until its end. After the reaper is done the
 * process deregisters the MR (down_write of umem_rwsem).
 *
 * Models no kernel file: the situation of "mm/mmu_notifiers: ensure range_end() is
 * paired with range_start()" (v5.12), with the v5.3 RDMA per-mm notifier as the
 * subscriber that loses its end.
 *
 * Kernel era. The classic design's kernel (v5.3) predates the fix, so its setup turns
 * the pairing off; this scenario runs v5.3 with the fix backported and the catalog
 * defect takes it out again. The backport is sound here only: the fix ends every
 * subscriber, including one whose start failed, and makes it a rule that a subscriber
 * that may refuse has no end. The v5.3 per-mm notifier breaks that rule (it refuses
 * with an end), so the scenario keeps it from refusing: its MR lies in a shared
 * mapping the reaper skips, and nothing write-locks umem_rwsem while the reaper runs
 * (the deregistration waits for it).
 */
import { Completion } from "../../../sim/sync/completion.ts";
import type { KGen } from "../../../sim/task.ts";
import { cpuWrite } from "../../../mm/access.ts";
import { mmdrop, mmgrab, type MmStruct } from "../../../mm/mmStruct.ts";
import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
  vmMmap,
} from "../../../mm/mmap.ts";
import { setPairEndsOnFailedStart } from "../../../mm/notifier/srcu.ts";
import { oomReapTaskMm } from "../../../mm/oomReaper.ts";
import { PAGE_SIZE } from "../../../mm/page.ts";
import {
  i915GemUserptrInitMmuNotifier,
  i915GemUserptrSetActive,
  i915MmuNotifierCreate,
} from "../../../drm/i915GemUserptr.ts";
import type { IbMr } from "../../../rdma/core/ibMr.ts";
import type { Scenario } from "../../scenario.ts";
import {
  deregAfterFaultLatency,
  odpHost,
  setupDone,
  setupOdpBuffer,
  spawnNicWriter,
  type OdpHost,
} from "./odpHost.ts";

const PAGES = 2;

/** A private anonymous buffer, touched, under an active i915 userptr object. */
function* setupUserptr(host: OdpHost): KGen {
  const { k, proc } = host;
  const mm = proc.mm;
  if (mm === null) throw new Error("process has no mm");
  const len = PAGES * PAGE_SIZE;
  const addr = yield* vmMmap(mm, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  if (addr < 0) throw new Error(`userptr mmap failed: ${addr}`);
  const w = yield* cpuWrite(mm, addr, new Uint8Array(len).fill(0x22));
  if (!w.ok) throw new Error("userptr CPU write faulted");
  const mn = yield* i915MmuNotifierCreate(k, mm);
  if (typeof mn === "number") throw new Error(`i915 notifier failed: ${mn}`);
  yield* i915GemUserptrSetActive(i915GemUserptrInitMmuNotifier(mn, addr, len), true);
}

export const oomVsOdpUserptr: Scenario = {
  name: "oom-vs-odp-userptr",
  description:
    "oom-vs-odp-userptr v1: kernel with range_end pairing; 2-page shared anon ODP MR, " +
    "then an active i915 userptr over a 2-page private anon map; nic: write each MR page; " +
    "oom_reaper: one oom_reap_task_mm pass (non-blockable); user: wait for the reaper, " +
    "sleep one fault latency, dereg_mr",
  build(ctx) {
    const host = odpHost(ctx);
    // The fix, backported onto the classic design's v5.3 (see the file comment).
    setPairEndsOnFailedStart(host.k, true);
    host.proc.spawnThread("setup", () => setup(host));
    return host.k;
  },
};

function* setup(host: OdpHost): KGen {
  const { k, proc } = host;
  const buf = yield* setupOdpBuffer(host, PAGES, MAP_SHARED | MAP_ANONYMOUS);
  yield* setupUserptr(host);
  const mm = proc.mm;
  if (mm === null) return;
  setupDone(host);
  spawnNicWriter(host, buf, PAGES);
  const reaped = new Completion(k, "oom_reaped");
  // mark_oom_victim() holds the victim's mm struct (mmgrab) for the reaper.
  mmgrab(mm);
  k.spawn("oom_reaper", { kind: "host", name: "kthreads" }, () => oomReaperOnce(mm, reaped));
  proc.spawnThread("user", () => deregAfterReaper(host, reaped, buf.mr));
}

/** One reaper pass: oom_reap_task()'s retries would refuse and leak the same way again. */
function* oomReaperOnce(mm: MmStruct, reaped: Completion): KGen {
  yield* oomReapTaskMm(mm);
  mmdrop(mm);
  reaped.complete();
}

function* deregAfterReaper(host: OdpHost, reaped: Completion, mr: IbMr): KGen {
  yield* reaped.wait();
  yield* deregAfterFaultLatency(host, mr);
}
