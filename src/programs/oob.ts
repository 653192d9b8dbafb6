/**
 * The out-of-band channel programs exchange connection data over (the TCP socket of
 * rc_pingpong, the exchange pyverbs tests do in-process).
 *
 * Models no kernel file: a named mailbox whose reader sleeps until the value is there.
 */
import type { Kernel } from "../sim/kernel.ts";
import { WaitQueueHead } from "../sim/sync/waitQueue.ts";
import type { KGen } from "../sim/task.ts";

export class OobChannel<T> {
  private readonly values = new Map<string, T>();
  private readonly posted: WaitQueueHead;

  constructor(k: Kernel, name = "oob") {
    this.posted = new WaitQueueHead(k, `oob(${name})`);
  }

  put(key: string, value: T): void {
    this.values.set(key, value);
    this.posted.wakeUp();
  }

  *get(key: string): KGen<T> {
    yield* this.posted.waitEvent(() => this.values.has(key));
    return this.values.get(key) as T;
  }
}
