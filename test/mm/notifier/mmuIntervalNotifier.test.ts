import assert from "node:assert/strict";
import { test } from "node:test";
import { mmput } from "../../../src/mm/mmStruct.ts";
import {
  MmuIntervalNotifier,
  mmuIntervalNotifierInsert,
  mmuIntervalNotifierRemove,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
  type MmuIntervalNotifierOps,
} from "../../../src/mm/notifier/mmuIntervalNotifier.ts";
import {
  MMU_NOTIFIER_SEQ_START,
  mmuNotifierSubscriptionsOf,
  type MmuNotifierSubscriptionsState,
} from "../../../src/mm/notifier/mmuNotifierSubscriptions.ts";
import { EAGAIN, EINVAL, EOVERFLOW } from "../../../src/sim/errno.ts";
import { KObject } from "../../../src/sim/kasan.ts";
import { Mutex } from "../../../src/sim/sync/mutex.ts";
import type { KGen } from "../../../src/sim/task.ts";
import { g, invalidate, runOk, setup } from "./fixture.ts";

const PAGE = 0x1000;

/** Ops that set the seq and log what they saw; optionally sleep inside. */
function recordingOps(
  log: string[],
  options: { sleepNs?: number; k?: ReturnType<typeof setup>["k"]; lock?: Mutex } = {},
): MmuIntervalNotifierOps {
  return {
    name: "rec",
    *invalidate(sub, range, curSeq) {
      if (options.lock !== undefined) {
        if (!range.blockable) {
          if (!options.lock.trylock()) return false;
        } else {
          yield* options.lock.lock();
        }
      }
      mmuIntervalSetSeq(sub, curSeq);
      log.push(`inv ${range.start}-${range.end} seq ${curSeq}`);
      if (options.sleepNs !== undefined && options.k !== undefined) {
        yield* options.k.sleep(options.sleepNs);
      }
      options.lock?.unlock();
      return true;
    },
  };
}

function subsOf(mm: ReturnType<typeof setup>["mm"]): MmuNotifierSubscriptionsState {
  const subs = mmuNotifierSubscriptionsOf(mm);
  assert.ok(subs !== null);
  return subs;
}

test("invalidate_seq starts at 2, is odd during a covering invalidation and even after", () => {
  const { k, mm } = setup({ seed: 1 });
  const log: string[] = [];
  const sub = new MmuIntervalNotifier(recordingOps(log));
  let seen = -1;
  k.spawn("t", g, function* (): KGen {
    assert.equal(yield* mmuIntervalNotifierInsert(sub, mm, 0x10000, 4 * PAGE), 0);
    const subs = subsOf(mm);
    assert.equal(subs.invalidateSeq, MMU_NOTIFIER_SEQ_START);
    assert.equal(subs.invalidateSeq, 2);
    // Not overlapping: the seq stays even.
    yield* invalidate(mm, 0x20000, 0x21000, {
      *during() {
        seen = subs.invalidateSeq;
      },
    });
    assert.equal(seen, 2);
    yield* invalidate(mm, 0x11000, 0x12000, {
      *during() {
        seen = subs.invalidateSeq;
      },
    });
    assert.equal(seen, 3);
    assert.equal(subs.invalidateSeq, 4);
    assert.equal(subs.activeInvalidateRanges, 0);
  });
  assert.equal(k.run().status, "ok");
  assert.deepEqual(log, ["inv 69632-73728 seq 3"]);
});

test("mmu_interval_read_begin sleeps during a covering invalidation, not for one elsewhere", () => {
  const { k, mm } = setup({ seed: 2 });
  const log: string[] = [];
  const a = new MmuIntervalNotifier(recordingOps(log));
  const b = new MmuIntervalNotifier(recordingOps(log));
  const returnedAt: Record<string, number> = {};
  k.spawn("setup+invalidate", g, function* (): KGen {
    yield* mmuIntervalNotifierInsert(a, mm, 0x10000, PAGE);
    yield* mmuIntervalNotifierInsert(b, mm, 0x80000, PAGE);
    yield* invalidate(mm, 0x10000, 0x11000, {
      *during() {
        yield* k.sleep(1000); // the PTEs change for a long time
      },
    });
  });
  k.spawn("reader a", g, function* (): KGen {
    yield* k.sleep(100);
    yield* mmuIntervalReadBegin(a);
    returnedAt.a = k.clock.now();
  });
  k.spawn("reader b", g, function* (): KGen {
    yield* k.sleep(100);
    yield* mmuIntervalReadBegin(b);
    returnedAt.b = k.clock.now();
  });
  assert.equal(k.run().status, "ok");
  assert.equal(returnedAt.b, 100);
  assert.equal(returnedAt.a, 1000);
});

test("mmu_interval_read_retry detects an invalidation between read_begin and the check", () => {
  const { k, mm } = setup({ seed: 3 });
  const log: string[] = [];
  const sub = new MmuIntervalNotifier(recordingOps(log));
  k.spawn("t", g, function* (): KGen {
    yield* mmuIntervalNotifierInsert(sub, mm, 0, 16 * PAGE);
    const seq = yield* mmuIntervalReadBegin(sub);
    assert.equal(mmuIntervalReadRetry(sub, seq), false);
    yield* invalidate(mm, 15 * PAGE, 17 * PAGE);
    assert.equal(mmuIntervalReadRetry(sub, seq), true);
    const seq2 = yield* mmuIntervalReadBegin(sub);
    yield* invalidate(mm, 16 * PAGE, 17 * PAGE); // just past its last byte
    assert.equal(mmuIntervalReadRetry(sub, seq2), false);
  });
  assert.equal(k.run().status, "ok");
});

test("insert and remove during an invalidation are deferred and applied at its end", () => {
  const { k, mm } = setup({ seed: 4 });
  const log: string[] = [];
  const a = new MmuIntervalNotifier(recordingOps(log));
  const late = new MmuIntervalNotifier(recordingOps(log));
  k.spawn("t", g, function* (): KGen {
    yield* mmuIntervalNotifierInsert(a, mm, 0, 4 * PAGE);
    const subs = subsOf(mm);
    yield* invalidate(mm, 0, PAGE, {
      *during() {
        // The tree is being walked (seq odd): the insert is deferred ...
        assert.equal(yield* mmuIntervalNotifierInsert(late, mm, 0, 4 * PAGE), 0);
        assert.equal(late.node, null);
        assert.equal(late.onDeferredList, true);
        assert.equal(subs.itree.size, 1);
        // ... and starts out collided, so read_begin would wait.
        assert.equal(late.invalidateSeq, subs.invalidateSeq);
      },
    });
    assert.equal(subs.itree.size, 2);
    assert.notEqual(late.node, null);
    assert.equal(subs.deferredList.length, 0);
    // A removal during an invalidation, from another task, is deferred too.
    yield* invalidate(mm, 0, PAGE, {
      *during() {
        k.spawn("remover", g, function* (): KGen {
          yield* mmuIntervalNotifierRemove(late);
          log.push(`removed, tree size ${subs.itree.size}`);
        });
        yield* k.sleep(10);
        assert.equal(subs.itree.size, 2);
        assert.equal(late.onDeferredList, true);
      },
    });
  });
  assert.equal(k.run().status, "ok");
  assert.deepEqual(log, [
    "inv 0-4096 seq 3",
    "inv 0-4096 seq 5",
    "inv 0-4096 seq 5",
    "removed, tree size 1",
  ]);
});

test("mmu_interval_notifier_remove waits for the invalidation running on it", () => {
  const { k, mm } = setup({ seed: 5 });
  const log: string[] = [];
  const sub = new MmuIntervalNotifier(recordingOps(log, { k, sleepNs: 500 }));
  k.spawn("invalidator", g, function* (): KGen {
    yield* mmuIntervalNotifierInsert(sub, mm, 0, PAGE);
    yield* invalidate(mm, 0, PAGE);
    log.push(`invalidation done at ${k.clock.now()}`);
  });
  k.spawn("remover", g, function* (): KGen {
    yield* k.sleep(100);
    yield* mmuIntervalNotifierRemove(sub);
    log.push(`remove returned at ${k.clock.now()}`);
  });
  assert.equal(k.run().status, "ok");
  assert.deepEqual(log, ["inv 0-4096 seq 3", "invalidation done at 500", "remove returned at 500"]);
  assert.equal(mm.mmCount.read(), 1); // remove dropped insert's mmgrab
});

test("mmu_interval_notifier_remove from an invalidate callback is a violation", () => {
  const { k, mm } = setup({ seed: 6 });
  const sub = new MmuIntervalNotifier({
    name: "self-remover",
    *invalidate(s) {
      yield* mmuIntervalNotifierRemove(s);
      return true;
    },
  });
  k.spawn("t", g, function* (): KGen {
    yield* mmuIntervalNotifierInsert(sub, mm, 0, PAGE);
    yield* invalidate(mm, 0, PAGE);
  });
  const r = k.run();
  assert.equal(r.status, "violation");
  assert.equal(r.violations[0]?.kind, "mmu_interval_remove_in_callback");
});

test("a refused non-blockable invalidation returns -EAGAIN and is ended by the notifier core", () => {
  const { k, mm } = setup({ seed: 7 });
  const log: string[] = [];
  const lock = new Mutex(k, "driver_lock");
  const sub = new MmuIntervalNotifier(recordingOps(log, { lock }));
  k.spawn("oom_reaper", g, function* (): KGen {
    yield* mmuIntervalNotifierInsert(sub, mm, 0, PAGE);
    const subs = subsOf(mm);
    yield* lock.lock();
    assert.equal(yield* invalidate(mm, 0, PAGE, { blockable: false }), EAGAIN);
    lock.unlock();
    assert.equal(subs.activeInvalidateRanges, 0);
    assert.equal(subs.invalidateSeq, 4); // odd during, even again
    assert.equal(yield* invalidate(mm, 0, PAGE, { blockable: false }), 0);
  });
  const r = k.run();
  assert.equal(r.status, "ok", JSON.stringify(r.violations));
  assert.deepEqual(log, ["inv 0-4096 seq 5"]);
});

test("an end without a successful start is reported as unpaired", () => {
  const { k, mm } = setup({ seed: 8 });
  const sub = new MmuIntervalNotifier(recordingOps([]));
  k.spawn("t", g, function* (): KGen {
    yield* mmuIntervalNotifierInsert(sub, mm, 0, PAGE);
    const subs = subsOf(mm);
    yield* subs.invalidateRangeEnd({ mm, start: 0, end: PAGE, event: "UNMAP", blockable: true });
  });
  const r = k.run();
  assert.equal(r.violations[0]?.kind, "mmu_notifier_unpaired_end");
});

test("mmu_interval_notifier_insert: zero length is -EOVERFLOW; a dead mm is a WARN and -EINVAL", () => {
  const { k, mm } = setup({ seed: 9 });
  k.spawn("t", g, function* (): KGen {
    const a = new MmuIntervalNotifier(recordingOps([]));
    assert.equal(yield* mmuIntervalNotifierInsert(a, mm, 0, 0), EOVERFLOW);
    assert.equal(yield* mmuIntervalNotifierInsert(a, mm, 0, PAGE), 0);
    yield* mmput(mm); // exit_mmap: the release invalidation reaches `a`
    const b = new MmuIntervalNotifier(recordingOps([]));
    assert.equal(yield* mmuIntervalNotifierInsert(b, mm, 0, PAGE), EINVAL);
  });
  const r = k.run();
  assert.equal(r.violations[0]?.kind, "warn_on");
});

test("exit_mmap invalidates every interval notifier with a RELEASE range", () => {
  const { k, mm } = setup({ seed: 10 });
  const events: string[] = [];
  const sub = new MmuIntervalNotifier({
    name: "rel",
    *invalidate(s, range, seq) {
      mmuIntervalSetSeq(s, seq);
      events.push(range.event);
      return true;
    },
  });
  k.spawn("t", g, function* (): KGen {
    yield* mmuIntervalNotifierInsert(sub, mm, 0x10000, PAGE);
    yield* mmput(mm);
    yield* mmuIntervalNotifierRemove(sub);
  });
  assert.equal(k.run().status, "ok");
  assert.equal(events[0], "RELEASE");
  assert.equal(mm.freed, true);
});

test("remove() does not return while mn_itree_inv_end still walks the deferred list (locked seq read)", () => {
  for (let seed = 0; seed < 80; seed++) {
    const { k, mm } = setup({ seed });
    const owner = new Owner(k);
    const sub = new MmuIntervalNotifier<KObject>(recordingOps([]), owner);
    const others = [0, 1, 2].map(() => new MmuIntervalNotifier(recordingOps([])));
    let inside = false;
    k.spawn("invalidator", g, function* (): KGen {
      yield* mmuIntervalNotifierInsert(sub, mm, 0, PAGE);
      for (const o of others) yield* mmuIntervalNotifierInsert(o, mm, 0, PAGE);
      yield* invalidate(mm, 0, PAGE, {
        *during() {
          inside = true;
          for (let i = 0; i < 5; i++) yield "PTEs change";
        },
      });
    });
    k.spawn("remover", g, function* (): KGen {
      while (!inside) yield "wait";
      // Deferred removals of several notifiers, this one among them.
      for (const o of others) k.spawn("other remover", g, () => mmuIntervalNotifierRemove(o));
      yield* mmuIntervalNotifierRemove(sub);
      k.kasan.free(owner); // safe only once no invalidation can touch `sub`
    });
    runOk(k, `seed ${seed}`);
  }
});

class Owner extends KObject {
  constructor(k: ReturnType<typeof setup>["k"]) {
    super(k.kasan, "owner");
  }
}
