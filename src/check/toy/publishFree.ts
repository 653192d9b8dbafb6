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
      let shared: KObject | null = null;
      k.spawn("owner", toyGroup, function* (): KGen {
        for (let i = 0; i < ownerWork; i++) yield;
        const buf = new KObject(k.kasan, "buffer");
        shared = buf;
        yield "kmalloc + publish(buf)";
        shared = null;
        yield "unpublish(buf)";
        k.kasan.free(buf);
        yield "kfree(buf)";
      });
      k.spawn("reader", toyGroup, function* (): KGen {
        for (let i = 0; i < readerWork; i++) yield;
        const p = shared;
        yield p === null ? "load ptr: NULL" : "load ptr: buf";
        if (p !== null) {
          k.kasan.check(p, "reader reads buf->data");
          yield "read buf->data";
        }
      });
      for (let n = 0; n < noiseTasks; n++) {
        k.spawn(`noise${n}`, toyGroup, function* (): KGen {
          for (let i = 0; i < noiseWork; i++) yield;
        });
      }
      return k;
    },
  };
}

export const publishFree = publishFreeScenario();
