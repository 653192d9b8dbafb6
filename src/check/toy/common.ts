/**
 * Shared bits of the toy scenarios: their task group and a kernel built from a
 * scenario context.
 *
 * Models no kernel file.
 */
import { Kernel } from "../../sim/kernel.ts";
import type { TaskGroup } from "../../sim/task.ts";
import type { Violation, ViolationKind } from "../../sim/violation.ts";
import type { RunResult } from "../../sim/kernel.ts";
import { contextKernelOptions, type ScenarioContext } from "../scenario.ts";

export const toyGroup: TaskGroup = { kind: "process", name: "toy" };

export function toyKernel(ctx: ScenarioContext): Kernel {
  return new Kernel({ ...contextKernelOptions(ctx), maxSteps: 10_000 });
}

/** A violation found by a post-run oracle, dated at the end of the run. */
export function postRunViolation(
  result: RunResult,
  kind: ViolationKind,
  message: string,
  details: Record<string, unknown> = {},
): Violation {
  return { kind, message, step: result.steps, timeNs: result.timeNs, task: null, details };
}
