import assert from "node:assert/strict";
import { test } from "node:test";
import { findingOf } from "../../../src/check/catalog/findings.ts";
import { odpHost } from "../../../src/check/catalog/scenarios/odpHost.ts";
import { explore } from "../../../src/check/explore.ts";
import type { Scenario } from "../../../src/check/scenario.ts";
import { vmMunmap } from "../../../src/mm/mmap.ts";
import { PAGE_SIZE } from "../../../src/mm/page.ts";
import { HmmMirrorUmemOdp } from "../../../src/rdma/core/odp/hmmMirrorUmemOdp.ts";
import { ibvDeregMr } from "../../../src/rdma/core/verbs.ts";
import { mlx5SetImrMttSize } from "../../../src/rdma/mlx5/odp/implicitMr.ts";
import { UniformRandom } from "../../../src/sim/strategies/uniformRandom.ts";
import type { Strategy } from "../../../src/sim/strategy.ts";
import type { KGen } from "../../../src/sim/task.ts";
import {
  anonAt,
  childrenOf,
  devWrite,
  implicitHost,
  implicitMr,
  mmOf,
  noOdpObjectsLeft,
  openPd,
  runOk,
} from "./implicitFixtures.ts";

/**
 * Implicit MRs as seed 002 posted them, beyond what they share with classic v5.3
 * (perMmImplicit.test.ts).
 */
function host(strategy?: Strategy, seed?: number) {
  return implicitHost("hmm-mirror", strategy, seed);
}

test("hmm-mirror implicit: children share the root's per_mm and its one hmm_mirror", () => {
  const h = host();
  mlx5SetImrMttSize(h.dev, 2 ** 21);
  h.proc.spawnThread("t", function* (): KGen {
    const pd = yield* openPd(h);
    const imr = yield* implicitMr(pd);
    const root = imr.umem;
    assert.ok(root instanceof HmmMirrorUmemOdp);
    const perMm = root.perMm;
    assert.ok(perMm);
    assert.equal(perMm.odpMrsCount, 1);
    const a = yield* anonAt(h, 3 * 2 ** 21, 1);
    const b = yield* anonAt(h, 9 * 2 ** 21, 1);
    assert.equal(yield* devWrite(h, imr.lkey, a, new Uint8Array([1])), 0);
    assert.equal(yield* devWrite(h, imr.lkey, b, new Uint8Array([2])), 0);
    const kids = childrenOf(imr);
    assert.equal(kids.length, 2);
    for (const kid of kids) {
      assert.ok(kid instanceof HmmMirrorUmemOdp);
      assert.equal(kid.perMm, perMm, "a child joins its root's per_mm");
      assert.equal(kid.root, root);
      assert.equal(kid.pfns.length, 2 ** 21 / PAGE_SIZE, "ib_alloc_odp_umem gives it pfns");
    }
    assert.equal(perMm.odpMrsCount, 3, "each child counts on the per_mm");
    assert.equal(
      h.k.kasan.liveObjects().filter((o) => o.objKind === "ib_ucontext_per_mm").length,
      1,
    );
    assert.equal(yield* ibvDeregMr(imr), 0);
    assert.equal(perMm.freed, true, "the last umem's put frees the per_mm");
  });
  runOk(h);
  noOdpObjectsLeft(h);
});

test("hmm-mirror implicit: device writes across a child boundary racing munmap of both pages stay clean over 300 random schedules; dereg then frees everything", () => {
  const firstWrite = { ok: 0, failed: 0 };
  for (let seed = 0; seed < 300; seed++) {
    const h = host(new UniformRandom(), seed);
    mlx5SetImrMttSize(h.dev, 2 ** 21);
    const boundary = 8 * 2 ** 21;
    h.proc.spawnThread("setup", function* (): KGen {
      const pd = yield* openPd(h);
      const imr = yield* implicitMr(pd);
      yield* anonAt(h, boundary - PAGE_SIZE, 2);
      let done = 0;
      h.k.spawn("nic", { kind: "device", name: h.dev.name }, function* (): KGen {
        for (let i = 0; i < 2; i++) {
          const data = new Uint8Array(8).fill(i + 1);
          const ret = yield* devWrite(h, imr.lkey, boundary - 4 + i * PAGE_SIZE, data);
          if (i === 0) firstWrite[ret === 0 ? "ok" : "failed"]++;
          if (ret < 0) break;
        }
        done++;
      });
      h.proc.spawnThread("munmap", function* (): KGen {
        yield* vmMunmap(mmOf(h), boundary - PAGE_SIZE, 2 * PAGE_SIZE);
        done++;
      });
      // Once both are done: every child the race made was emptied by the munmap and
      // freed by its work, or is freed now by dereg.
      while (done < 2) yield* h.k.sleep(1_000_000);
      assert.equal(yield* ibvDeregMr(imr), 0);
    });
    const r = h.k.run();
    assert.equal(r.internalError, null, `seed ${seed}: ${r.internalError?.message ?? ""}`);
    assert.deepEqual(r.violations, [], `seed ${seed}`);
    assert.equal(r.status, "ok", `seed ${seed}`);
    noOdpObjectsLeft(h);
  }
});

/** How the oracle's report says why the child's MTT still held the entry. */
const LEAF_FREE_KEPT = "(mr_leaf_free unmapped it and zapped no MTT entry)";

/**
 * The device keeps writing through an implicit MR while the process deregisters it and
 * unmaps the buffer. Built as a scenario so the explorer searches it.
 */
const implicitDeregVsMunmap: Scenario = {
  name: "implicit-dereg-vs-munmap",
  description:
    "2 MiB children; implicit MR; 2 anon pages at the end of slot 7; nic: 1 write, then " +
    "3 writes racing munmap of both pages and dereg of the MR",
  build(ctx) {
    const h = odpHost(ctx, 256);
    mlx5SetImrMttSize(h.dev, 2 ** 21);
    h.proc.spawnThread("setup", function* (): KGen {
      const pd = yield* openPd(h);
      const imr = yield* implicitMr(pd);
      const base = 8 * 2 ** 21 - 2 * PAGE_SIZE;
      const va = base + PAGE_SIZE - 4;
      yield* anonAt(h, base, 2);
      assert.equal(yield* devWrite(h, imr.lkey, va, new Uint8Array(8)), 0);
      h.k.spawn("nic", { kind: "device", name: h.dev.name }, function* (): KGen {
        for (let i = 0; i < 3; i++) {
          if ((yield* devWrite(h, imr.lkey, va, new Uint8Array(8).fill(i + 1))) < 0) return;
        }
      });
      h.proc.spawnThread("munmap", function* (): KGen {
        yield* vmMunmap(mmOf(h), base, 2 * PAGE_SIZE);
      });
      h.proc.spawnThread("dereg", function* (): KGen {
        yield* ibvDeregMr(imr);
      });
    });
    return h.k;
  },
};

test("hmm-mirror implicit, finding (as posted, inherited from v5.2): dereg unmaps a child's pages without zapping its MTT behind a live KSM, so a device write racing munmap hits a freed frame", () => {
  // mlx5_ib_free_implicit_mr -> mr_leaf_free unmaps each child (ib_umem_odp_unmap_dma_pages)
  // but leaves its MTT entries and the parent's KSM mkey alone until mr_leaf_free_action
  // runs. The munmap's invalidation then finds the child's pfns already clear, so
  // mlx5_ib_invalidate_range zaps nothing; the frame is freed while the device can still
  // reach it through KSM -> child MTT: the oracle sees it at the free, as the MTT still
  // translates to the frame (device_translation_outlives_frame). v5.5's rework fences the parent mkey
  // (mlx5_mr_cache_invalidate) before destroying the children; the interval design has it.
  const r = explore(implicitDeregVsMunmap, {
    strategy: "random",
    schedules: 300,
    design: "hmm-mirror",
  });
  assert.equal(r.firstInternalError, null);
  assert.ok(r.firstFailure, "found within 300 random schedules");
  assert.equal(r.firstFailure.violation.kind, "device_translation_outlives_frame");
  // The report says why the MTT still had the entry, and it is the documented finding.
  assert.ok(
    r.firstFailure.violation.message.endsWith(LEAF_FREE_KEPT),
    r.firstFailure.violation.message,
  );
  assert.equal(
    findingOf("hmm-mirror", r.firstFailure.violation)?.id,
    "hmm-mirror-implicit-dereg-keeps-child-mtt",
  );
  // The same v5.2/v5.3 scheme on the classic design fails the same way; the interval
  // design (v6.x, parent fenced first) is clean on the same schedules.
  const classic = explore(implicitDeregVsMunmap, {
    strategy: "random",
    schedules: 300,
    design: "classic",
  });
  assert.equal(classic.firstFailure?.violation.kind, "device_translation_outlives_frame");
  assert.equal(
    findingOf("classic", classic.firstFailure.violation)?.id,
    "classic-implicit-dereg-keeps-child-mtt",
  );
  const interval = explore(implicitDeregVsMunmap, {
    strategy: "random",
    schedules: 300,
    design: "interval",
  });
  assert.equal(interval.firstInternalError, null);
  assert.equal(interval.firstFailure, null);
});
