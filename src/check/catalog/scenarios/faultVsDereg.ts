/**
 * Catalog scenario: the device keeps faulting on an ODP MR while the process discards
 * one of its pages and then deregisters the MR. Destruction must stop new faults
 * (`live`), wait for running fault handlers (mr_srcu), and keep the MR alive until its
 * umem has left the notifier tree; a design that gets any of that wrong lets a fault
 * handler or an invalidation touch freed memory, which object lifetimes catch. After the
 * run nothing of the MR may be left allocated (teardown leak check).
 *
 * Models no kernel file.
 */
import type { KGen } from "../../../sim/task.ts";
import { MADV_DONTNEED, doMadvise } from "../../../mm/madvise.ts";
import type { MmStruct } from "../../../mm/mmStruct.ts";
import { PAGE_SIZE } from "../../../mm/page.ts";
import type { Scenario } from "../../scenario.ts";
import { teardownLeaks } from "../../oracles/teardownLeaks.ts";
import {
  deregAfterFaultLatency,
  withOdpHost,
  setupDone,
  setupOdpBuffer,
  spawnNicWriter,
  type OdpBuffer,
  type OdpHost,
} from "./odpHost.ts";

const PAGES = 4;

export const faultVsDereg: Scenario = {
  name: "fault-vs-dereg",
  description:
    "fault-vs-dereg v1: 4-page anon ODP MR; nic: write each page in turn; cpu: madvise " +
    "(DONTNEED) page 3; user: sleep one fault latency, dereg_mr",
  build: (ctx) => withOdpHost(ctx, setup),
  check: teardownLeaks,
};

function* setup(host: OdpHost): KGen {
  const { proc } = host;
  const buf = yield* setupOdpBuffer(host, PAGES);
  const mm = proc.mm;
  if (mm === null) return;
  setupDone(host);
  spawnNicWriter(host, buf, PAGES);
  proc.spawnThread("cpu", () => dropLastPage(host, mm, buf));
  proc.spawnThread("user", () => deregAfterFaultLatency(host, buf.mr));
}

/** After one fault latency, MADV_DONTNEED the last page. */
function* dropLastPage(host: OdpHost, mm: MmStruct, buf: OdpBuffer): KGen {
  yield* host.k.sleep(host.dev.cost.pageFaultNs);
  yield* doMadvise(mm, buf.addr + 3 * PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED);
}
