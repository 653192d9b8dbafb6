/**
 * Shared set-up for the notifier tests: a kernel, physical memory, an mm, and an
 * invalidation driven the way the mm core drives one. Models no kernel file.
 */
import { mmAlloc, type MmStruct } from "../../../src/mm/mmStruct.ts";
import type { MmuNotifyEvent } from "../../../src/mm/notifier/subscriptions.ts";
import {
  mmuNotifierInvalidateRangeEnd,
  mmuNotifierInvalidateRangeStart,
  mmuNotifierRangeInit,
} from "../../../src/mm/notify.ts";
import { PhysMem } from "../../../src/mm/physMem.ts";
import assert from "node:assert/strict";
import { Kernel, type KernelOptions, type RunResult } from "../../../src/sim/kernel.ts";
import type { KGen } from "../../../src/sim/task.ts";

export const g = { kind: "process", name: "test" } as const;

export function setup(options: KernelOptions = {}): { k: Kernel; mm: MmStruct; phys: PhysMem } {
  const k = new Kernel(options);
  const phys = new PhysMem(k, { frames: 4096 });
  const mm = mmAlloc(k, phys, "mm-test");
  return { k, mm, phys };
}

/** One CPU page-table change of [start, end) as the mm core brackets it. */
export function* invalidate(
  mm: MmStruct,
  start: number,
  end: number,
  options: { blockable?: boolean; event?: MmuNotifyEvent; during?: () => KGen } = {},
): KGen<number> {
  const range = mmuNotifierRangeInit(mm, options.event ?? "UNMAP", start, end, {
    blockable: options.blockable ?? true,
  });
  const ret = yield* mmuNotifierInvalidateRangeStart(range);
  if (ret !== 0) return ret; // the kernel protocol: no end after -EAGAIN
  if (options.during !== undefined) yield* options.during();
  yield* mmuNotifierInvalidateRangeEnd(range);
  return 0;
}

/** Runs `k` and asserts it ended cleanly, with the reason in the message if not. */
export function runOk(k: Kernel, what = ""): RunResult {
  const r = k.run();
  const why =
    r.internalError === null
      ? JSON.stringify(r.violations)
      : `${r.internalError.message}\n${r.internalError.stack ?? ""}`;
  assert.equal(r.status, "ok", `${what} ${why}`);
  return r;
}
