import assert from "node:assert/strict";
import { test } from "node:test";
import { vmMunmap } from "../../../src/mm/mmap.ts";
import { PAGE_SIZE } from "../../../src/mm/page.ts";
import { walkPte } from "../../../src/mm/pageTable.ts";
import { exitMm } from "../../../src/mm/process.ts";
import {
  IB_ACCESS_HUGETLB,
  IB_ODP_SUPPORT,
  IMPLICIT_ODP_LENGTH,
  NO_ODP_CAPS,
} from "../../../src/rdma/core/ibVerbs.ts";
import { ibvDeregMr, ibvRegMr } from "../../../src/rdma/core/verbs.ts";
import { mttPfn } from "../../../src/rdma/mlx5/mkey.ts";
import { mlx5SetImrMttSize } from "../../../src/rdma/mlx5/odp/implicitMr.ts";
import { RELEASE_MARKS_DYING } from "../../../src/rdma/core/odp/classicPerMm.ts";
import { EFAULT, EINVAL } from "../../../src/sim/errno.ts";
import { FirstRunnable } from "../../../src/sim/strategies/firstRunnable.ts";
import type { KGen } from "../../../src/sim/task.ts";
import {
  GIB,
  ODP_RW,
  PER_MM_DESIGNS,
  anonAt,
  childMr,
  childrenOf,
  cpuBytes,
  devWrite,
  implicitHost,
  implicitMr,
  ksmOf,
  mmOf,
  noOdpObjectsLeft,
  openPd,
  runOk,
  type PerMmDesign,
  type PerMmUmem,
} from "./implicitFixtures.ts";
/** The kernel each design's implicit MRs reproduce. */
const ERA: Readonly<Record<PerMmDesign, string>> = {
  classic: "as v5.3",
  "hmm-mirror": "as posted (v5.2's scheme)",
};

test('classic implicit, as v5.3: the exiting mm\'s release empties a child and queues its freeing, so dereg frees it ("IB/mlx5: Fix implicit MR release flow")', () => {
  const h = implicitHost("classic");
  let child: PerMmUmem | undefined;
  h.proc.spawnThread("t", function* (): KGen {
    const pd = yield* openPd(h);
    const imr = yield* implicitMr(pd);
    const addr = yield* anonAt(h, 3 * GIB, 1);
    assert.equal(yield* devWrite(h, imr.lkey, addr, new Uint8Array([1])), 0);
    child = childrenOf(imr)[0];
    assert.ok(child);
    yield* exitMm(h.proc);
    assert.equal(child.npages, 0, "the driver unmapped it");
    assert.equal(child.dying, true, "the emptied child is dying because it was queued");
    assert.equal(yield* ibvDeregMr(imr), 0);
  });
  runOk(h);
  assert.ok(child);
  assert.equal(child.freed, true, "its mr_leaf_free_action freed it");
  noOdpObjectsLeft(h);
});

for (const design of PER_MM_DESIGNS) {
  test(`${design} implicit: reg_mr makes an empty KSM parent; a device write at a scattered address faults a child in and moves the bytes`, () => {
    const h = implicitHost(design);
    h.proc.spawnThread("t", function* (): KGen {
      const pd = yield* openPd(h);
      const imr = yield* implicitMr(pd);
      assert.equal(imr.mmkey.kind, "ksm");
      assert.equal(ksmOf(imr).size, 0, "every slot at the null mkey");
      assert.equal(imr.umem?.kind, "implicit_root");
      assert.equal(childrenOf(imr).length, 0);
      const addr = yield* anonAt(h, 21 * GIB + 3 * PAGE_SIZE, 2);
      const va = addr + PAGE_SIZE + 8;
      assert.equal(yield* devWrite(h, imr.lkey, va, new Uint8Array([5, 6, 7])), 0);
      const [child] = childrenOf(imr);
      assert.ok(child);
      assert.equal(childrenOf(imr).length, 1);
      assert.equal(child.kind, "implicit_child");
      assert.equal(child.address, 21 * GIB, "the child covers the 1 GiB slot of the address");
      assert.equal(child.length, GIB);
      const mtt = childMr(child);
      assert.equal(ksmOf(imr).get(21), mtt.mmkey, "KSM slot 21 points at the child's MTT");
      const cpu = walkPte(mmOf(h), va);
      assert.ok(cpu);
      assert.equal(mttPfn(mtt.mmkey.mtt?.get(4) ?? 0), cpu.pte.pfn, "MTT maps the CPU's frame");
      assert.deepEqual(cpuBytes(h, va, 3), [5, 6, 7]);
      assert.equal(yield* ibvDeregMr(imr), 0);
    });
    runOk(h);
    noOdpObjectsLeft(h);
  });

  test(`${design} implicit: two scattered buffers make two children; one access across a child boundary makes both at once`, () => {
    const h = implicitHost(design);
    h.proc.spawnThread("t", function* (): KGen {
      const pd = yield* openPd(h);
      const imr = yield* implicitMr(pd);
      const a = yield* anonAt(h, 5 * GIB, 1);
      const b = yield* anonAt(h, 37 * GIB + 16 * PAGE_SIZE, 1);
      assert.equal(yield* devWrite(h, imr.lkey, a, new Uint8Array([1])), 0);
      assert.equal(yield* devWrite(h, imr.lkey, b + 100, new Uint8Array([2, 2])), 0);
      const kids = childrenOf(imr);
      assert.deepEqual(
        kids.map((c) => c.address / GIB),
        [5, 37],
      );
      const [ka, kb] = kids.map(childMr);
      assert.ok(ka && kb);
      assert.notEqual(ka.lkey, kb.lkey);
      assert.equal(ksmOf(imr).get(5), ka.mmkey);
      assert.equal(ksmOf(imr).get(37), kb.mmkey);
      assert.deepEqual(cpuBytes(h, a, 1), [1]);
      assert.deepEqual(cpuBytes(h, b + 100, 2), [2, 2]);
      assert.equal(yield* ibvDeregMr(imr), 0);
      assert.equal(ka.freed && kb.freed, true, "dereg frees the children");
    });
    runOk(h);
    noOdpObjectsLeft(h);

    const h2 = implicitHost(design);
    mlx5SetImrMttSize(h2.dev, 2 ** 21);
    h2.proc.spawnThread("t", function* (): KGen {
      const pd = yield* openPd(h2);
      const imr = yield* implicitMr(pd);
      // Two pages straddling the 2 MiB boundary between slots 100 and 101.
      const boundary = 101 * 2 ** 21;
      const addr = yield* anonAt(h2, boundary - PAGE_SIZE, 2);
      const data = new Uint8Array(16).fill(9);
      assert.equal(yield* devWrite(h2, imr.lkey, boundary - 8, data), 0);
      const kids = childrenOf(imr);
      assert.deepEqual(
        kids.map((c) => c.address),
        [boundary - 2 ** 21, boundary],
      );
      const [lo, hi] = kids;
      assert.ok(lo && hi);
      assert.equal(lo.npages, 1);
      assert.equal(hi.npages, 1);
      assert.equal(ksmOf(imr).get(100), childMr(lo).mmkey);
      assert.equal(ksmOf(imr).get(101), childMr(hi).mmkey);
      assert.deepEqual(cpuBytes(h2, boundary - 8, 8), [9, 9, 9, 9, 9, 9, 9, 9]);
      assert.deepEqual(cpuBytes(h2, boundary, 8), [9, 9, 9, 9, 9, 9, 9, 9]);
      assert.equal(addr, boundary - PAGE_SIZE);
      assert.equal(yield* ibvDeregMr(imr), 0);
    });
    runOk(h2);
    noOdpObjectsLeft(h2);
  });

  test(`${design} implicit: munmap of a child's range zaps its MTT, empties it and frees it by work; the KSM slot goes back to the null mkey`, () => {
    const h = implicitHost(design);
    h.proc.spawnThread("t", function* (): KGen {
      const pd = yield* openPd(h);
      const imr = yield* implicitMr(pd);
      const keep = yield* anonAt(h, 5 * GIB, 1);
      const gone = yield* anonAt(h, 9 * GIB + 2 * PAGE_SIZE, 1);
      assert.equal(yield* devWrite(h, imr.lkey, keep, new Uint8Array([1])), 0);
      assert.equal(yield* devWrite(h, imr.lkey, gone, new Uint8Array([2])), 0);
      const victim = childrenOf(imr)[1];
      assert.ok(victim);
      const vmr = childMr(victim);
      const mtt = vmr.mmkey.mtt;
      assert.ok(mtt);
      assert.notEqual(mtt.get(2), 0);
      assert.equal(yield* vmMunmap(mmOf(h), gone, PAGE_SIZE), 0);
      // The invalidation zapped the device's entry before the frame went away.
      assert.equal(mtt.get(2), 0, "MTT entry zapped");
      assert.equal(victim.npages, 0);
      assert.equal(victim.dying, true, "an emptied child dies");
      // mr_leaf_free_action runs on system_wq.
      yield* h.k.sleep(1_000_000);
      assert.equal(victim.freed, true, "child umem released");
      assert.equal(vmr.freed, true, "child MR freed");
      assert.equal(h.dev.mkeys.has(vmr.lkey), false, "child mkey destroyed");
      assert.equal(ksmOf(imr).has(9), false, "KSM slot 9 back at the null mkey");
      assert.equal(imr.numLeafFree, 0);
      assert.equal(childrenOf(imr).length, 1, "the other child stays");
      // The device reaching the unmapped address now faults and fails.
      assert.equal(yield* devWrite(h, imr.lkey, gone, new Uint8Array([3])), EFAULT);
      // The surviving child still translates.
      assert.equal(yield* devWrite(h, imr.lkey, keep, new Uint8Array([4])), 0);
      assert.deepEqual(cpuBytes(h, keep, 1), [4]);
      assert.equal(yield* ibvDeregMr(imr), 0);
      assert.equal(h.dev.mkeys.has(imr.lkey), false, "KSM mkey destroyed");
    });
    runOk(h);
    noOdpObjectsLeft(h);
  });

  // hmm-mirror as posted (v5.2's scheme) and classic with catalog defect
  // implicit-release-leaks-children (v5.3-rc4 and before) leak the child.
  test(`${design} implicit, ${ERA[design]} before "IB/mlx5: Fix implicit MR release flow": a child the exiting mm's release marked dying is never queued, so dereg leaves it behind`, () => {
    const h = implicitHost(design, undefined, undefined, undefined, [RELEASE_MARKS_DYING]);
    let child: PerMmUmem | undefined;
    h.proc.spawnThread("t", function* (): KGen {
      const pd = yield* openPd(h);
      const imr = yield* implicitMr(pd);
      const addr = yield* anonAt(h, 3 * GIB, 1);
      assert.equal(yield* devWrite(h, imr.lkey, addr, new Uint8Array([1])), 0);
      child = childrenOf(imr)[0];
      assert.ok(child);
      yield* exitMm(h.proc);
      assert.equal(child.dying, true, "ib_umem_notifier_release marked it dying");
      assert.equal(child.npages, 0, "and the driver unmapped it");
      assert.equal(imr.numLeafFree, 0, "but queued no mr_leaf_free_action");
      assert.equal(yield* ibvDeregMr(imr), 0);
    });
    runOk(h);
    assert.ok(child);
    assert.equal(child.freed, false, "mr_leaf_free skipped the dying child");
    const live = h.k.kasan.liveObjects().map((o) => o.objKind);
    assert.ok(live.includes("ib_ucontext_per_mm"), "the child still holds the per_mm");
  });

  test(`${design} implicit: reg_mr errors: no IMPLICIT capability, or IB_ACCESS_HUGETLB`, () => {
    const caps = { generalCaps: IB_ODP_SUPPORT, perTransportCaps: NO_ODP_CAPS.perTransportCaps };
    const h = implicitHost(design, new FirstRunnable(), 1, { odpCaps: caps });
    h.proc.spawnThread("t", function* (): KGen {
      const pd = yield* openPd(h);
      assert.equal(yield* ibvRegMr(pd, 0, IMPLICIT_ODP_LENGTH, ODP_RW), EINVAL);
    });
    runOk(h);
    const h2 = implicitHost(design);
    h2.proc.spawnThread("t", function* (): KGen {
      const pd = yield* openPd(h2);
      assert.equal(yield* ibvRegMr(pd, 0, IMPLICIT_ODP_LENGTH, ODP_RW | IB_ACCESS_HUGETLB), EINVAL);
      // Without HUGETLB the same registration succeeds.
      const imr = yield* implicitMr(pd);
      assert.equal(yield* ibvDeregMr(imr), 0);
    });
    runOk(h2);
    noOdpObjectsLeft(h2);
  });
}
