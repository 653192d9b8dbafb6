/**
 * Shared fixtures for the uverbs mmap tests (models no kernel file): a host per design,
 * a way to run a body as one process thread, and small access helpers.
 */
import assert from "node:assert/strict";
import type { Scenario } from "../../../../src/check/scenario.ts";
import { cpuRead, cpuWrite } from "../../../../src/mm/access.ts";
import { setForkOpensBeforeCopy } from "../../../../src/mm/fork.ts";
import type { MmStruct } from "../../../../src/mm/mmStruct.ts";
import type { Process } from "../../../../src/mm/process.ts";
import { FirstRunnable } from "../../../../src/sim/strategies/firstRunnable.ts";
import type { KGen } from "../../../../src/sim/task.ts";
import type { Violation } from "../../../../src/sim/violation.ts";
import {
  newProcess,
  uverbsHost,
  type UverbsHost,
  type UverbsHostOptions,
} from "../../../../src/check/catalog/uverbs/uverbsHost.ts";

export const DESIGNS = ["seed", "entry"] as const;

/** A host scheduled first-runnable (deterministic, one task at a time in spawn order). */
export function host(opts: UverbsHostOptions = {}): UverbsHost {
  return uverbsHost({ strategy: new FirstRunnable(), ...opts });
}

/** Runs `body` as the first thread of a new process; returns the run's violations. */
export function runProcess(
  h: UverbsHost,
  body: (p: Process) => KGen,
): { violations: readonly Violation[]; p: Process } {
  const p = newProcess(h);
  p.spawnThread("main", () => body(p));
  const r = h.k.run();
  assert.equal(r.internalError, null, r.internalError?.stack);
  return { violations: r.violations, p };
}

/** Like runProcess, asserting a clean run. */
export function runClean(h: UverbsHost, body: (p: Process) => KGen): Process {
  const { violations, p } = runProcess(h, body);
  assert.deepEqual(
    violations.map((v) => `${v.kind}: ${v.message}`),
    [],
    "unexpected violations",
  );
  return p;
}

/** One byte at `addr`, or the signal the load raised. */
export function* read1(mm: MmStruct, addr: number): KGen<number | string> {
  const r = yield* cpuRead(mm, addr, 1);
  return r.ok ? (r.data[0] ?? -1) : r.fault.signal;
}

/** Stores one byte; true, or the signal. */
export function* write1(mm: MmStruct, addr: number, value: number): KGen<true | string> {
  const r = yield* cpuWrite(mm, addr, new Uint8Array([value]));
  return r.ok ? true : r.fault.signal;
}

/**
 * `scenario` with dup_mmap()'s order pinned (mm/fork.ts): ->open after copy_page_range
 * (`openFirst` false, before v6.9) or before it, whatever the design's era says.
 */
export function withForkOrder(scenario: Scenario, openFirst: boolean): Scenario {
  return {
    ...scenario,
    name: `${scenario.name}+fork-open-${openFirst ? "first" : "last"}`,
    build(ctx) {
      const k = scenario.build(ctx);
      setForkOpensBeforeCopy(k, openFirst);
      return k;
    },
  };
}
