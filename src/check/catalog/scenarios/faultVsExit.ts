/**
 * Catalog scenario: the device keeps faulting on an ODP MR while the process exits:
 * exit_mm drops the last mm_users reference and exit_mmap tears the address space
 * down (release of every mirror, then the VMAs) under the fault handler's feet.
 *
 * Models no kernel file: the race Jason Gunthorpe diagrammed in seed 002's thread
 * (hmm_range_fault walking VMAs that exit_mmap is freeing).
 */
import type { KGen } from "../../../sim/task.ts";
import { exitMm } from "../../../mm/process.ts";
import type { Scenario } from "../../scenario.ts";
import { withOdpHost, setupDone, setupOdpBuffer, spawnNicWriter, type OdpHost } from "./odpHost.ts";

const PAGES = 4;

export const faultVsExit: Scenario = {
  name: "fault-vs-exit",
  description:
    "fault-vs-exit v1: 4-page anon ODP MR; nic: write each page in turn; process: sleep " +
    "one fault latency, exit_mm",
  build: (ctx) => withOdpHost(ctx, setup),
};

function* setup(host: OdpHost): KGen {
  const buf = yield* setupOdpBuffer(host, PAGES);
  setupDone(host);
  spawnNicWriter(host, buf, PAGES);
  host.proc.spawnThread("exit", () => exitLater(host));
}

/** After one fault latency, the process lets go of its mm. */
function* exitLater(host: OdpHost): KGen {
  yield* host.k.sleep(host.dev.cost.pageFaultNs);
  yield* exitMm(host.proc);
}
