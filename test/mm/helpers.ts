/**
 * Shared fixtures for the mm tests (models no kernel file): a kernel with physical
 * memory and one address space, a way to run a test body as a single task, and a fake
 * MmuNotifierSubscriptions that records every call.
 */
import assert from "node:assert/strict";
import { EAGAIN } from "../../src/sim/errno.ts";
import { Kernel } from "../../src/sim/kernel.ts";
import { FirstRunnable } from "../../src/sim/strategies/firstRunnable.ts";
import type { KGen } from "../../src/sim/task.ts";
import type { Violation } from "../../src/sim/violation.ts";
import { MmStruct } from "../../src/mm/mmStruct.ts";
import type {
  MmuNotifierRange,
  MmuNotifierSubscriptions,
  MmuNotifyEvent,
} from "../../src/mm/notifier/subscriptions.ts";
import { PhysMem, type PhysMemOptions } from "../../src/mm/physMem.ts";

export const group = { kind: "process", name: "pid 1" } as const;

export interface World {
  readonly k: Kernel;
  readonly phys: PhysMem;
  readonly mm: MmStruct;
}

export function world(options: PhysMemOptions = { frames: 4096 }): World {
  const k = new Kernel({ strategy: new FirstRunnable() });
  const phys = new PhysMem(k, options);
  return { k, phys, mm: new MmStruct(k, phys, "test") };
}

/** Runs `body` as the only task; asserts the run had no violation; returns its value. */
export function runIn<T>(w: World, body: () => KGen<T>): T {
  const { out, violations } = runAllowingViolations(w, body);
  assert.deepEqual(violations, [], "unexpected violations");
  return out as T;
}

/** Like runIn, but returns the violations instead of failing on them. */
export function runAllowingViolations<T>(
  w: World,
  body: () => KGen<T>,
): { out: T | undefined; violations: readonly Violation[] } {
  let out: T | undefined;
  w.k.spawn("test", group, function* (): KGen {
    out = yield* body();
  });
  const r = w.k.run();
  assert.equal(r.internalError, null, r.internalError?.message);
  return { out, violations: r.violations };
}

export interface NotifierCall {
  readonly call: "start" | "end" | "release";
  readonly event?: MmuNotifyEvent;
  readonly start?: number;
  readonly end?: number;
  readonly blockable?: boolean;
}

/** A stand-in for the notifier layer that records calls (and may refuse ranges). */
export class RecordingSubscriptions implements MmuNotifierSubscriptions {
  readonly calls: NotifierCall[] = [];

  constructor(private readonly refuse: (range: MmuNotifierRange) => boolean = () => false) {}

  *invalidateRangeStart(range: MmuNotifierRange): KGen<number> {
    yield "fake invalidate_range_start";
    this.calls.push(describe("start", range));
    return !range.blockable && this.refuse(range) ? EAGAIN : 0;
  }

  *invalidateRangeEnd(range: MmuNotifierRange): KGen {
    this.calls.push(describe("end", range));
  }

  *release(): KGen {
    this.calls.push({ call: "release" });
  }

  /** The starts, as [event, start, end]. */
  starts(): [MmuNotifyEvent | undefined, number | undefined, number | undefined][] {
    return this.calls.filter((c) => c.call === "start").map((c) => [c.event, c.start, c.end]);
  }

  /** Every start is followed by the end of the same range before the next start. */
  assertPaired(): void {
    let open = null as NotifierCall | null;
    for (const c of this.calls) {
      if (c.call === "start") {
        assert.equal(open, null, "nested start");
        open = c;
      } else if (c.call === "end") {
        assert.notEqual(open, null, "end without start");
        assert.equal(c.start, open?.start);
        assert.equal(c.end, open?.end);
        open = null;
      }
    }
    assert.equal(open, null, "start without end");
  }
}

function describe(call: "start" | "end", r: MmuNotifierRange): NotifierCall {
  return { call, event: r.event, start: r.start, end: r.end, blockable: r.blockable };
}

/** `n` bytes of `value`. */
export function fill(n: number, value: number): Uint8Array {
  return new Uint8Array(n).fill(value);
}
