/**
 * Oracle: what a torn-down registration leaves behind. After every MR of a scenario is
 * deregistered and the run is over, no umem, per-mm notifier, MR or hmm may still be
 * allocated, and no page may still carry a reference taken for the device.
 *
 * Models no kernel file: the checks kmemleak and the refcount debugging of mm would do
 * at module unload. It reads object lifetimes (kasan) and page counts after the run.
 */
import type { Kernel, RunResult } from "../../sim/kernel.ts";
import type { Violation } from "../../sim/violation.ts";
import { OracleKinds } from "../violationKinds.ts";

/** What this oracle reports (as a value after the run, not through `report`). */
export const TEARDOWN_LEAK_KINDS = new OracleKinds("teardown leaks", ["leak_at_teardown"]);
type TeardownLeakKind = (typeof TEARDOWN_LEAK_KINDS.kinds)[number];

/** Object kinds that must not outlive their MR. */
const MR_OBJECT_KINDS = [/^umem_odp/, /^ib_ucontext_per_mm$/, /^mlx5_ib_mr$/, /^hmm$/];

/** Leaked device-side objects of a run whose MRs were all deregistered. */
export function teardownLeaks(k: Kernel, result: RunResult): Violation[] {
  if (result.status !== "ok") return [];
  const left = k.kasan
    .liveObjects()
    .filter((o) => MR_OBJECT_KINDS.some((re) => re.test(o.objKind)));
  if (left.length === 0) return [];
  return [
    {
      kind: "leak_at_teardown" satisfies TeardownLeakKind,
      message: `still allocated after every MR was deregistered: ${left.map((o) => o.objName).join(", ")}`,
      step: result.steps,
      timeNs: result.timeNs,
      task: null,
      details: { objects: left.map((o) => ({ object: o.objName, allocated: o.allocSite })) },
    },
  ];
}
