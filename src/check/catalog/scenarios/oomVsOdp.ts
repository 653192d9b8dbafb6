/**
 * Catalog scenario: the OOM reaper reaps a process that has an ODP MR while the device
 * is faulting on it, and the MR is then deregistered (the dying process closing its
 * device file). The reaper's invalidations are non-blockable, so the ODP notifier
 * refuses every VMA that holds a umem (-EAGAIN) and the reaper retries later.
 *
 * Models no kernel file: the situation of "RDMA/odp: Fix missed unlock in
 * non-blocking invalidate_start" (the refusal left umem_rwsem held, so the
 * deregistration's down_write waited for ever).
 */
import type { KGen } from "../../../sim/task.ts";
import { mmdrop, mmgrab, type MmStruct } from "../../../mm/mmStruct.ts";
import { oomReapTask } from "../../../mm/oomReaper.ts";
import type { Scenario } from "../../scenario.ts";
import {
  deregAfterFaultLatency,
  withOdpHost,
  setupDone,
  setupOdpBuffer,
  spawnNicWriter,
  type OdpHost,
} from "./odpHost.ts";

const PAGES = 2;

export const oomVsOdp: Scenario = {
  name: "oom-vs-odp",
  description:
    "oom-vs-odp v1: 2-page anon ODP MR; nic: write each page; oom_reaper: oom_reap_task " +
    "(non-blockable, retries); user: sleep one fault latency, dereg_mr",
  build: (ctx) => withOdpHost(ctx, setup),
};

function* setup(host: OdpHost): KGen {
  const { k, proc } = host;
  const buf = yield* setupOdpBuffer(host, PAGES);
  const mm = proc.mm;
  if (mm === null) return;
  setupDone(host);
  spawnNicWriter(host, buf, PAGES);
  // mark_oom_victim() holds the victim's mm struct (mmgrab) for the reaper.
  mmgrab(mm);
  k.spawn("oom_reaper", { kind: "host", name: "kthreads" }, () => oomReaper(mm));
  proc.spawnThread("user", () => deregAfterFaultLatency(host, buf.mr));
}

/** The OOM reaper on the victim (with its retries), then the reaper's mmdrop. */
function* oomReaper(mm: MmStruct): KGen {
  yield* oomReapTask(mm);
  mmdrop(mm);
}
