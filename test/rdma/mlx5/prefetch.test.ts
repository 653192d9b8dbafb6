import assert from "node:assert/strict";
import { test } from "node:test";
import {
  INSTANT_DEVICE,
  odpHost,
  setupOdpBuffer,
} from "../../../src/check/catalog/scenarios/odpHost.ts";
import { explore } from "../../../src/check/explore.ts";
import type { Scenario } from "../../../src/check/scenario.ts";
import { MADV_DONTNEED, doMadvise } from "../../../src/mm/madvise.ts";
import { PAGE_SIZE } from "../../../src/mm/page.ts";
import {
  IB_ACCESS_ON_DEMAND,
  IB_UVERBS_ADVISE_MR_FLAG_FLUSH,
  type IbAdviseMrAdvice,
} from "../../../src/rdma/core/ibVerbs.ts";
import { ibvAdviseMr, ibvDeregMr, ibvRegMr } from "../../../src/rdma/core/verbs.ts";
import { mttReadable, mttWritable } from "../../../src/rdma/mlx5/mkey.ts";
import { EINVAL, EOPNOTSUPP } from "../../../src/sim/errno.ts";
import { FirstRunnable } from "../../../src/sim/strategies/firstRunnable.ts";
import { Completion } from "../../../src/sim/sync/completion.ts";
import { mlx5PrefetchOf } from "../../../src/rdma/mlx5/prefetch.ts";
import type { KGen } from "../../../src/sim/task.ts";

const FLUSH = IB_UVERBS_ADVISE_MR_FLAG_FLUSH;

function run(body: (h: ReturnType<typeof odpHost>) => KGen): void {
  const h = odpHost({ seed: 1, strategy: new FirstRunnable(), design: "classic" }, 512);
  h.proc.spawnThread("t", () => body(h));
  const r = h.k.run();
  assert.equal(r.internalError, null, r.internalError?.stack);
  assert.equal(r.status, "ok", JSON.stringify(r.violations));
}

function mtt(h: ReturnType<typeof odpHost>, key: number) {
  const m = h.dev.mkeys.get(key)?.mtt;
  assert.ok(m);
  return m;
}

test("synchronous PREFETCH_WRITE maps every page writable; PREFETCH maps read-only", () => {
  run(function* (h) {
    const buf = yield* setupOdpBuffer(h, 4);
    const sge = { addr: buf.addr, length: 2 * PAGE_SIZE, lkey: buf.mr.lkey };
    assert.equal(yield* ibvAdviseMr(buf.pd, "PREFETCH", FLUSH, [sge]), 0);
    const m = mtt(h, buf.mr.lkey);
    assert.ok(mttReadable(m.get(0)) && !mttWritable(m.get(0)), "read advice downgrades");
    assert.equal(m.get(2), 0, "outside the sge");
    const all = { addr: buf.addr, length: 4 * PAGE_SIZE, lkey: buf.mr.lkey };
    assert.equal(yield* ibvAdviseMr(buf.pd, "PREFETCH_WRITE", FLUSH, [all]), 0);
    for (let i = 0; i < 4; i++) assert.ok(mttWritable(m.get(i)), `page ${i}`);
  });
});

test("PREFETCH_NO_FAULT maps only the pages the CPU maps now", () => {
  run(function* (h) {
    const buf = yield* setupOdpBuffer(h, 4);
    const mm = h.proc.mm;
    assert.ok(mm);
    assert.equal(yield* doMadvise(mm, buf.addr + PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED), 0);
    const all = { addr: buf.addr, length: 4 * PAGE_SIZE, lkey: buf.mr.lkey };
    assert.equal(yield* ibvAdviseMr(buf.pd, "PREFETCH_NO_FAULT", FLUSH, [all]), 0);
    const m = mtt(h, buf.mr.lkey);
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => m.get(i) !== 0),
      [true, false, true, true],
    );
  });
});

test("asynchronous prefetch runs on system_unbound_wq and maps the pages later", () => {
  run(function* (h) {
    const buf = yield* setupOdpBuffer(h, 2);
    const all = { addr: buf.addr, length: 2 * PAGE_SIZE, lkey: buf.mr.lkey };
    assert.equal(yield* ibvAdviseMr(buf.pd, "PREFETCH_WRITE", 0, [all]), 0);
    const m = mtt(h, buf.mr.lkey);
    assert.equal(m.count(), 0, "nothing mapped when advise returns");
    yield* h.k.sleep(1_000_000);
    assert.equal(m.count(), 2);
    assert.ok(h.k.allTasks().some((t) => t.name.startsWith("kworker/system_unbound_wq")));
  });
});

// What an SGE the driver cannot prefetch gets (a key not found, a dying, pinned or other
// PD's MR, a write to a read-only one) is the design's era: mkeyLookup.test.ts.
test("advise_mr errors every era shares: -EINVAL for bad flags or no SGE, -EOPNOTSUPP for an unknown advice", () => {
  run(function* (h) {
    const buf = yield* setupOdpBuffer(h, 2);
    const sge = (lkey: number) => [{ addr: buf.addr, length: PAGE_SIZE, lkey }];
    const lkey = buf.mr.lkey;
    assert.equal(yield* ibvAdviseMr(buf.pd, "PREFETCH", 1 << 5, sge(lkey)), EINVAL);
    assert.equal(yield* ibvAdviseMr(buf.pd, "PREFETCH", FLUSH, []), EINVAL);
    const bogus = "WILLNEED" as IbAdviseMrAdvice;
    assert.equal(yield* ibvAdviseMr(buf.pd, bogus, FLUSH, sge(lkey)), EOPNOTSUPP);
    const ro = yield* ibvRegMr(buf.pd, buf.addr, PAGE_SIZE, IB_ACCESS_ON_DEMAND);
    assert.ok(typeof ro !== "number");
    assert.equal(yield* ibvAdviseMr(buf.pd, "PREFETCH", FLUSH, sge(ro.lkey)), 0);
  });
});

test("dereg_mr waits for prefetch work that holds the MR (flush_workqueue)", () => {
  run(function* (h) {
    const buf = yield* setupOdpBuffer(h, 2);
    const all = { addr: buf.addr, length: 2 * PAGE_SIZE, lkey: buf.mr.lkey };
    assert.equal(yield* ibvAdviseMr(buf.pd, "PREFETCH_WRITE", 0, [all]), 0);
    assert.equal((buf.mr as { numPendingPrefetch?: number }).numPendingPrefetch, 1);
    assert.equal(yield* ibvDeregMr(buf.mr), 0);
    assert.equal((buf.mr as { numPendingPrefetch?: number }).numPendingPrefetch, 0);
  });
});

test("dereg_mr reads num_pending_prefetch twice: a count taken between the reads trips the WARN_ON", () => {
  // aa116b810ac9's race diagram: the first read sees 0 and skips the flush, an advise
  // counts, the WARN_ON's read sees 1. FirstRunnable runs the lower-id "advise" thread
  // as soon as it is woken and dereg yields between its reads.
  const h = odpHost({ seed: 1, strategy: new FirstRunnable(), design: "classic" }, 512);
  const go = new Completion(h.k, "go");
  let mr: { numPendingPrefetch: number } | null = null;
  h.proc.spawnThread("advise", function* (): KGen {
    yield* go.wait();
    assert.ok(mr);
    mr.numPendingPrefetch++;
  });
  h.proc.spawnThread("dereg", function* (): KGen {
    const buf = yield* setupOdpBuffer(h, 2);
    const prefetch = mlx5PrefetchOf(h.dev);
    assert.ok(prefetch);
    mr = buf.mr as unknown as { numPendingPrefetch: number };
    go.complete();
    yield* prefetch.flushMr(buf.mr as unknown as Parameters<typeof prefetch.flushMr>[0]);
  });
  const r = h.k.run();
  assert.equal(r.internalError, null, r.internalError?.stack);
  assert.deepEqual(
    r.violations.map((v) => v.kind),
    ["warn_on"],
  );
});

test("interval design: prefetch work holds a usecount on the mkey and dereg waits for it (instant device costs)", () => {
  // get_prefetchable_mr() takes mmkey.usecount; mlx5_ib_dereg_mr waits for it to drop.
  // With no UMR latency to hide it, an async advise followed by dereg must stay clean.
  const scenario: Scenario = {
    name: "prefetch-then-dereg-instant",
    description: "2-page ODP MR, instant device; async PREFETCH_WRITE then dereg_mr",
    build(ctx) {
      const h = odpHost(ctx, 256, { cost: INSTANT_DEVICE });
      h.proc.spawnThread("user", function* (): KGen {
        const buf = yield* setupOdpBuffer(h, 2);
        const all = { addr: buf.addr, length: 2 * PAGE_SIZE, lkey: buf.mr.lkey };
        assert.equal(yield* ibvAdviseMr(buf.pd, "PREFETCH_WRITE", 0, [all]), 0);
        assert.equal(yield* ibvDeregMr(buf.mr), 0);
      });
      return h.k;
    },
  };
  const r = explore(scenario, {
    strategy: "random",
    schedules: 500,
    design: "interval",
    stopAtFirst: false,
  });
  assert.equal(r.firstInternalError, null);
  const v = r.firstFailure?.violation;
  assert.equal(r.verdict, "clean", `${v?.kind ?? ""}: ${v?.message ?? ""}`);
});
