/**
 * Toy scenario, a depth-3 bug (two preemptions): the owner allocates a buffer,
 * publishes a pointer to it, unpublishes it and frees it, with no grace period; the
 * reader loads the pointer and later dereferences it. The reader must load between
 * publish and unpublish, and dereference after the free: a use-after-free with the
 * buffer's allocation and free sites.
 *
 * Models no kernel file.
 */
import { KObject } from "../../sim/kasan.ts";
import type { Kernel } from "../../sim/kernel.ts";
import type { KGen } from "../../sim/task.ts";
import type { Scenario } from "../scenario.ts";
import { toyGroup, toyKernel } from "./common.ts";

export interface PublishFreeOptions {
  /** Unlabelled steps before the owner allocates. */
  readonly ownerWork?: number;
  /** Unlabelled steps before the reader loads the pointer. */
  readonly readerWork?: number;
  /** Noise tasks of `noiseWork` steps. */
  readonly noiseTasks?: number;
  readonly noiseWork?: number;
}

export function publishFreeScenario(options: PublishFreeOptions = {}): Scenario {
  const ownerWork = options.ownerWork ?? 6;
  const readerWork = options.readerWork ?? 3;
  const noiseTasks = options.noiseTasks ?? 1;
  const noiseWork = options.noiseWork ?? 6;
  return {
    name: "publish-free",
    description:
      `toy publish-free v1: owner ${ownerWork} steps, kmalloc, publish, unpublish, kfree; ` +
      `reader ${readerWork} steps, load, deref; ${noiseTasks} noise x ${noiseWork}`,
    build(ctx) {
      const k = toyKernel(ctx);
      const slot: Slot = { shared: null };
      k.spawn("owner", toyGroup, () => owner(k, slot, ownerWork));
      k.spawn("reader", toyGroup, () => reader(k, slot, readerWork));
      for (let n = 0; n < noiseTasks; n++) k.spawn(`noise${n}`, toyGroup, () => work(noiseWork));
      return k;
    },
  };
}

/** The published pointer. */
interface Slot {
  shared: KObject | null;
}

/** `steps` unlabelled steps. */
function* work(steps: number): KGen {
  for (let i = 0; i < steps; i++) yield;
}

/** Allocates and publishes a buffer, unpublishes it, frees it: no grace period. */
function* owner(k: Kernel, slot: Slot, steps: number): KGen {
  yield* work(steps);
  const buf = new KObject(k.kasan, "buffer");
  slot.shared = buf;
  k.event("kmalloc + publish", { object: buf.objName, writes: `${buf.objName} slot` });
  yield "kmalloc + publish(buf)";
  slot.shared = null;
  k.event("unpublish", { writes: "slot" });
  yield "unpublish(buf)";
  k.kasan.free(buf);
  yield "kfree(buf)";
}

/** Loads the pointer and, a step later, reads through it. */
function* reader(k: Kernel, slot: Slot, steps: number): KGen {
  yield* work(steps);
  const p = slot.shared;
  k.event("load ptr", { ptr: p?.objName ?? "NULL", reads: "slot" });
  yield p === null ? "load ptr: NULL" : "load ptr: buf";
  if (p !== null) {
    k.event("read buf->data", { reads: p.objName });
    k.kasan.check(p, "reader reads buf->data");
    yield "read buf->data";
  }
}

export const publishFree = publishFreeScenario();
