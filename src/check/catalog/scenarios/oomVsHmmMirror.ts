/**
 * Catalog scenario: the OOM reaper reaps a process whose ODP MR the device is writing,
 * under the hmm-mirror design. The reaper's invalidations are non-blockable; the ODP
 * mirror refuses a range that holds a umem (-EAGAIN), which hmm must pass on so the
 * reaper leaves that VMA alone. The device writes every page twice; the process
 * deregisters once the device and the reaper are done.
 *
 * Models no kernel file: the program of "mm/hmm: Fix error flows in
 * hmm_invalidate_range_start" (a refused non-blockable start reported as success, so
 * the reaper frees pages the device still translates).
 */
import { Completion } from "../../../sim/sync/completion.ts";
import type { KGen } from "../../../sim/task.ts";
import { mmdrop, mmgrab, type MmStruct } from "../../../mm/mmStruct.ts";
import { oomReapTask } from "../../../mm/oomReaper.ts";
import { PAGE_SIZE } from "../../../mm/page.ts";
import { mlx5DeviceDma } from "../../../rdma/mlx5/deviceDma.ts";
import type { Scenario } from "../../scenario.ts";
import {
  deregAfter,
  instantOdpHost,
  setupDone,
  setupOdpBuffer,
  type OdpBuffer,
  type OdpHost,
} from "./odpHost.ts";

const PAGES = 2;
const ROUNDS = 2;

export const oomVsHmmMirror: Scenario = {
  name: "oom-vs-hmm-mirror",
  description:
    "oom-vs-hmm-mirror v1: 2-page anon ODP MR, zero-cost faults and UMRs; nic: 2 rounds " +
    "of a write to each page, completing `faulted` after the first (or on stopping early); oom_reaper: wait " +
    "faulted, oom_reap_task (non-blockable, retries); user: join both, dereg_mr",
  build: (ctx) => instantOdpHost(ctx, setup),
};

function* setup(host: OdpHost): KGen {
  const { k, proc, dev } = host;
  const buf = yield* setupOdpBuffer(host, PAGES);
  const mm = proc.mm;
  if (mm === null) return;
  const faulted = new Completion(k, "faulted");
  setupDone(host);
  const nic = k.spawn("nic", { kind: "device", name: dev.name }, () =>
    nicRounds(host, buf, faulted),
  );
  // mark_oom_victim() holds the victim's mm struct (mmgrab) for the reaper.
  mmgrab(mm);
  const reaper = k.spawn("oom_reaper", { kind: "host", name: "kthreads" }, () =>
    oomReaper(mm, faulted),
  );
  proc.spawnThread("user", () => deregAfter(host, [nic, reaper], buf.mr));
}

/**
 * ROUNDS times, the device writes each page in turn; stops at the first error. A device
 * that stops in its first round (its MR or the device itself gone: an injected kill or
 * unplug) faults nothing more, so it lets the reaper go then rather than never.
 */
function* nicRounds(host: OdpHost, buf: OdpBuffer, faulted: Completion): KGen {
  for (let round = 0; round < ROUNDS; round++) {
    if (round === 1) faulted.complete();
    for (let page = 0; page < PAGES; page++) {
      const va = buf.addr + page * PAGE_SIZE;
      const req = { key: buf.mr.lkey, va, buf: new Uint8Array(16).fill(0xa0 + round), write: true };
      if ((yield* mlx5DeviceDma(host.dev, host.design, req)) < 0) {
        if (round === 0) faulted.complete();
        return;
      }
    }
  }
}

/** Once the device faulted the pages in, the OOM reaper (with its retries), then mmdrop. */
function* oomReaper(mm: MmStruct, faulted: Completion): KGen {
  yield* faulted.wait();
  yield* oomReapTask(mm);
  mmdrop(mm);
}
