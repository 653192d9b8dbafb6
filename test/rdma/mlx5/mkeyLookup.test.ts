/**
 * What a device fault and an advise get when the key they name is not there or its MR
 * is going away, path by path and era by era:
 *
 *   - a fault (pagefault_single_data_segment): v5.2/v5.3 look the key up in the mkey
 *     table under mr_srcu, -EFAULT for a key not found or an MR not live, 0 for a pinned
 *     MR ("skipping non ODP MR"); v6.14 looks it up in dev->odp_mkeys, and a key not
 *     there (pinned, gone) is skipped the same way: 0, its bytes counted as mapped. So
 *     is one a dereg in progress has erased, after which the device faults again until
 *     the revoke; odpsim fails that fault at once with -EFAULT (intervalOdp.ts says why);
 *   - an advise (prefetch.ts): v5.2/v5.3 -EFAULT (FLUSH) or -EINVAL (queued) for a key not
 *     found or an MR not live, -EINVAL for another PD's MR, a pinned one or a write to a
 *     read-only one when FLUSHed (queued, those two are accepted and their work fails
 *     unreported); v6.14's get_prefetchable_mr() -ENOENT for any key not in odp_mkeys,
 *     -EPERM for another PD's MR or a write to a read-only one;
 *   - v6.14's prefetch calls pagefault_mr on the MR it holds, with no second lookup, so a
 *     queued prefetch still maps the pages of an MR a dereg erased meanwhile.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { odpHost, setupOdpBuffer } from "../../../src/check/catalog/scenarios/odpHost.ts";
import { MADV_DONTNEED, doMadvise } from "../../../src/mm/madvise.ts";
import { PAGE_SIZE } from "../../../src/mm/page.ts";
import {
  IB_ACCESS_LOCAL_WRITE,
  IB_ACCESS_ON_DEMAND,
  IB_UVERBS_ADVISE_MR_FLAG_FLUSH,
  type IbAdviseMrAdvice,
} from "../../../src/rdma/core/ibVerbs.ts";
import type { IbMr } from "../../../src/rdma/core/ibMr.ts";
import type { IbPd } from "../../../src/rdma/core/ibPd.ts";
import type { OdpDesignName } from "../../../src/rdma/core/odp/umemOdpDesign.ts";
import { ibvAdviseMr, ibvAllocPd, ibvDeregMr, ibvRegMr } from "../../../src/rdma/core/verbs.ts";
import { isMlx5IbMr, type Mlx5IbMr } from "../../../src/rdma/mlx5/mlx5IbMr.ts";
import type { BytesMapped } from "../../../src/rdma/mlx5/odp/pageCount.ts";
import { prefetchErrnos } from "../../../src/rdma/mlx5/prefetch.ts";
import { mlx5IbMrRdmaPfaultHandler } from "../../../src/rdma/mlx5/rdmaPfault.ts";
import { EFAULT, EINVAL, ENOENT, EPERM, errnoName } from "../../../src/sim/errno.ts";
import { Completion } from "../../../src/sim/sync/completion.ts";
import { FirstRunnable } from "../../../src/sim/strategies/firstRunnable.ts";
import type { KGen } from "../../../src/sim/task.ts";

type Host = ReturnType<typeof odpHost>;

const FLUSH = IB_UVERBS_ADVISE_MR_FLAG_FLUSH;

function host(design: OdpDesignName): Host {
  return odpHost({ seed: 1, strategy: new FirstRunnable(), design }, 512);
}

function run(h: Host): void {
  const r = h.k.run();
  assert.equal(r.internalError, null, r.internalError?.stack);
  assert.equal(r.status, "ok", JSON.stringify(r.violations));
}

function mlx5Mr(mr: IbMr): Mlx5IbMr {
  assert.ok(isMlx5IbMr(mr));
  return mr;
}

/** Drops the CPU's (and so the device's) mapping of every page of the MR. */
function* unmapAll(h: Host, addr: number, pages: number): KGen {
  const mm = h.proc.mm;
  assert.ok(mm);
  assert.equal(yield* doMadvise(mm, addr, pages * PAGE_SIZE, MADV_DONTNEED), 0);
}

/**
 * Runs `body` while a dereg of `mr`, started in a thread of its own, is under way and
 * held back: by a reader of mr_srcu in the SRCU era (v5.2/v5.3: `live` is 0 and dereg
 * waits for the grace period), by a count of mmkey.usecount in v6.14 (the key is out of
 * odp_mkeys and dereg waits for the count).
 */
function* whileDeregWaits(h: Host, mr: Mlx5IbMr, body: () => KGen): KGen {
  const go = new Completion(h.k, "go");
  const done = new Completion(h.k, "dereg done");
  h.proc.spawnThread("dereg", function* (): KGen {
    yield* go.wait();
    assert.equal(yield* ibvDeregMr(mr), 0);
    done.complete();
  });
  const hold = h.design.prefetchHold;
  const idx = hold === undefined ? h.dev.mrSrcu.readLock() : -1;
  if (hold !== undefined) assert.ok(hold.get(mr));
  go.complete();
  yield* h.k.sleep(1_000);
  assert.equal(mr.live, false, "dereg has begun");
  if (hold !== undefined) assert.equal(mr.inOdpMkeys, false, "the key is out of odp_mkeys");
  yield* body();
  if (hold !== undefined) hold.put(mr);
  else h.dev.mrSrcu.readUnlock(idx);
  yield* done.wait();
}

/** pagefault_single_data_segment of one page at `va` on `key`, as a WQE fault calls it. */
function* fault(h: Host, key: number, va: number): KGen<{ ret: number; bytes: number }> {
  const bytesMapped: BytesMapped = { value: 0 };
  const flags = { write: true };
  const ret = yield* h.design.pagefaultSingleDataSegment(
    h.dev,
    null,
    key,
    va,
    PAGE_SIZE,
    flags,
    bytesMapped,
  );
  return { ret, bytes: bytesMapped.value };
}

/** What an RDMA responder fault of one page at `va` on `key` resumes the QP with. */
function* responderResume(h: Host, key: number, va: number): KGen<number> {
  let resumed = Number.NaN;
  const pf = {
    rkey: key,
    rdmaVa: va,
    rdmaOpLen: PAGE_SIZE,
    bytesCommitted: 0,
    packetSize: 1024,
    write: true,
  };
  yield* mlx5IbMrRdmaPfaultHandler(h.dev, h.design, pf, (ret) => {
    resumed = ret;
  });
  return resumed;
}

test("the advise errors are each design's era: v5.3 for classic and the hmm-mirror posting (v5.2), v5.16+ for interval", () => {
  assert.equal(prefetchErrnos(host("classic").k), "v5.3");
  assert.equal(prefetchErrnos(host("hmm-mirror").k), "v5.3");
  assert.equal(prefetchErrnos(host("interval").k), "v5.16");
});

test("interval (v6.14): a fault on a key not in odp_mkeys is skipped as non-ODP (0, its bytes counted as mapped); one a dereg in progress erased fails at once (simplification)", () => {
  const h = host("interval");
  h.proc.spawnThread("t", function* (): KGen {
    const buf = yield* setupOdpBuffer(h, 2);
    const mr = mlx5Mr(buf.mr);
    const pinned = yield* ibvRegMr(buf.pd, buf.addr, PAGE_SIZE, IB_ACCESS_LOCAL_WRITE);
    assert.ok(typeof pinned !== "number");
    assert.deepEqual(yield* fault(h, pinned.lkey, buf.addr), { ret: 0, bytes: PAGE_SIZE });
    yield* unmapAll(h, buf.addr, 2);
    const mtt = h.dev.mkeys.get(mr.lkey)?.mtt;
    assert.ok(mtt);
    yield* whileDeregWaits(h, mr, function* () {
      // The kernel skips it too (0) and the device faults again until the revoke; the
      // model ends the fault with the -EFAULT the access gets then.
      assert.deepEqual(yield* fault(h, mr.lkey, buf.addr), { ret: EFAULT, bytes: 0 });
      assert.equal(yield* responderResume(h, mr.lkey, buf.addr), EFAULT);
      assert.equal(mtt.count(), 0, "nothing was mapped");
    });
    // The dereg done: no MR by that key, xa_load finds nothing, the segment is skipped.
    assert.deepEqual(yield* fault(h, mr.lkey, buf.addr), { ret: 0, bytes: PAGE_SIZE });
    assert.equal(yield* responderResume(h, mr.lkey, buf.addr), 0, "resumed; the mkey is gone");
    assert.equal(yield* ibvDeregMr(pinned), 0);
  });
  run(h);
});

for (const design of ["classic", "hmm-mirror"] as const) {
  test(`${design} (v5.3/v5.2): a fault on an MR dereg has made not live, or on a key gone, is -EFAULT; a pinned MR's is 0`, () => {
    const h = host(design);
    h.proc.spawnThread("t", function* (): KGen {
      const buf = yield* setupOdpBuffer(h, 2);
      const mr = mlx5Mr(buf.mr);
      const pinned = yield* ibvRegMr(buf.pd, buf.addr, PAGE_SIZE, IB_ACCESS_LOCAL_WRITE);
      assert.ok(typeof pinned !== "number");
      assert.deepEqual(yield* fault(h, pinned.lkey, buf.addr), { ret: 0, bytes: PAGE_SIZE });
      yield* whileDeregWaits(h, mr, function* () {
        assert.deepEqual(yield* fault(h, mr.lkey, buf.addr), { ret: EFAULT, bytes: 0 });
      });
      assert.deepEqual(yield* fault(h, mr.lkey, buf.addr), { ret: EFAULT, bytes: 0 });
      assert.equal(yield* ibvDeregMr(pinned), 0);
    });
    run(h);
  });
}

test("interval (v6.14): a queued prefetch maps the pages of an MR a dereg erased meanwhile: pagefault_mr on the MR it holds", () => {
  const h = host("interval");
  const mappedWhileErased: boolean[] = [];
  let watched: Mlx5IbMr | null = null;
  h.k.observeEvents((label) => {
    if (label === "odp_map_page" && watched !== null) mappedWhileErased.push(!watched.inOdpMkeys);
  });
  h.proc.spawnThread("t", function* (): KGen {
    const buf = yield* setupOdpBuffer(h, 2);
    const mr = mlx5Mr(buf.mr);
    yield* unmapAll(h, buf.addr, 2);
    watched = mr;
    const sge = [{ addr: buf.addr, length: 2 * PAGE_SIZE, lkey: mr.lkey }];
    assert.equal(yield* ibvAdviseMr(buf.pd, "PREFETCH_WRITE", 0, sge), 0);
    // Dereg erases the key, then waits for the work's count: the work runs meanwhile.
    assert.equal(yield* ibvDeregMr(mr), 0);
  });
  run(h);
  assert.deepEqual(mappedWhileErased, [true, true]);
});

/** One advise case: how to get the SGE's key, and the advice. */
interface AdviseCase {
  readonly name: string;
  readonly advice: IbAdviseMrAdvice;
  /** Runs `advise` on the case's key and address, with the PD to advise through. */
  readonly with: (h: Host, advise: (pd: IbPd, lkey: number, addr: number) => KGen) => KGen;
}

function* odpBuf(h: Host): KGen<{ pd: IbPd; mr: Mlx5IbMr; addr: number }> {
  const buf = yield* setupOdpBuffer(h, 2);
  return { pd: buf.pd, mr: mlx5Mr(buf.mr), addr: buf.addr };
}

const CASES: readonly AdviseCase[] = [
  {
    name: "no such key",
    advice: "PREFETCH",
    *with(h, advise) {
      const { pd, mr, addr } = yield* odpBuf(h);
      yield* advise(pd, mr.lkey + 0x100, addr);
    },
  },
  {
    name: "an MR being deregistered",
    advice: "PREFETCH",
    *with(h, advise) {
      const { pd, mr, addr } = yield* odpBuf(h);
      yield* whileDeregWaits(h, mr, () => advise(pd, mr.lkey, addr));
    },
  },
  {
    name: "a pinned MR",
    advice: "PREFETCH",
    *with(h, advise) {
      const { pd, addr } = yield* odpBuf(h);
      const pinned = yield* ibvRegMr(pd, addr, PAGE_SIZE, IB_ACCESS_LOCAL_WRITE);
      assert.ok(typeof pinned !== "number");
      yield* advise(pd, pinned.lkey, addr);
    },
  },
  {
    name: "another PD's MR",
    advice: "PREFETCH",
    *with(h, advise) {
      const { pd, mr, addr } = yield* odpBuf(h);
      const other = ibvAllocPd(pd.uctx);
      assert.ok(typeof other !== "number");
      yield* advise(other, mr.lkey, addr);
    },
  },
  {
    name: "PREFETCH_WRITE of a read-only MR",
    advice: "PREFETCH_WRITE",
    *with(h, advise) {
      const { pd, addr } = yield* odpBuf(h);
      const ro = yield* ibvRegMr(pd, addr, PAGE_SIZE, IB_ACCESS_ON_DEMAND);
      assert.ok(typeof ro !== "number");
      yield* advise(pd, ro.lkey, addr);
    },
  },
];

/** [FLUSH, queued] per case, in CASES' order. */
const EXPECTED: Readonly<Record<"v5.3" | "v5.16", readonly (readonly [number, number])[]>> = {
  // mlx5_ib_prefetch_sg_list -> pagefault_single_data_segment(PREFETCH): "failed to find
  // mkey" / "got dead MR" -EFAULT, "Invalid prefetch request" -EINVAL, pagefault_mr's
  // write check -EINVAL; queued, num_pending_prefetch_inc refuses with -EINVAL or accepts.
  "v5.3": [
    [EFAULT, EINVAL],
    [EFAULT, EINVAL],
    [EINVAL, 0],
    [EINVAL, EINVAL],
    [EINVAL, 0],
  ],
  // get_prefetchable_mr(): not in odp_mkeys -ENOENT, another PD's or a read-only MR -EPERM.
  "v5.16": [
    [ENOENT, ENOENT],
    [ENOENT, ENOENT],
    [ENOENT, ENOENT],
    [EPERM, EPERM],
    [EPERM, EPERM],
  ],
};

for (const [design, era] of [
  ["classic", "v5.3"],
  ["hmm-mirror", "v5.3"],
  ["interval", "v5.16"],
] as const) {
  test(`${design}: advise_mr on a key it cannot prefetch returns ${era}'s errno, FLUSHed and queued`, () => {
    const got: string[] = [];
    for (const c of CASES) {
      for (const flags of [FLUSH, 0]) {
        const h = host(design);
        h.proc.spawnThread("t", function* (): KGen {
          yield* c.with(h, function* (pd, lkey, addr) {
            const sge = [{ addr, length: PAGE_SIZE, lkey }];
            got.push(
              `${c.name} ${flags === FLUSH ? "FLUSH" : "queued"}: ${errnoName(yield* ibvAdviseMr(pd, c.advice, flags, sge))}`,
            );
          });
        });
        run(h);
      }
    }
    const want = CASES.flatMap((c, i) =>
      [FLUSH, 0].map(
        (flags, j) =>
          `${c.name} ${flags === FLUSH ? "FLUSH" : "queued"}: ${errnoName(EXPECTED[era][i]?.[j] ?? 0)}`,
      ),
    );
    assert.deepEqual(got, want);
  });
}
