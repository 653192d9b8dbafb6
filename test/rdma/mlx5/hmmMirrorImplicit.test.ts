import assert from "node:assert/strict";
import { test } from "node:test";
import { odpHost } from "../../../src/check/catalog/scenarios/odpHost.ts";
import { explore } from "../../../src/check/explore.ts";
import type { Scenario } from "../../../src/check/scenario.ts";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  vmMmap,
  vmMunmap,
} from "../../../src/mm/mmap.ts";
import type { MmStruct } from "../../../src/mm/mmStruct.ts";
import { PAGE_SIZE } from "../../../src/mm/page.ts";
import { walkPte } from "../../../src/mm/pageTable.ts";
import { exitMm } from "../../../src/mm/process.ts";
import { HmmMirrorUmemOdp } from "../../../src/rdma/core/odp/hmmMirrorUmemOdp.ts";
import {
  IB_ACCESS_HUGETLB,
  IB_ACCESS_LOCAL_WRITE,
  IB_ACCESS_ON_DEMAND,
  IB_ODP_SUPPORT,
  IMPLICIT_ODP_LENGTH,
  NO_ODP_CAPS,
} from "../../../src/rdma/core/ibVerbs.ts";
import type { IbPd } from "../../../src/rdma/core/ibPd.ts";
import { ibvAllocPd, ibvDeregMr, ibvOpenDevice, ibvRegMr } from "../../../src/rdma/core/verbs.ts";
import { mlx5DeviceDma } from "../../../src/rdma/mlx5/deviceDma.ts";
import { mttPfn, type Mlx5Mkey } from "../../../src/rdma/mlx5/mkey.ts";
import { Mlx5IbMr } from "../../../src/rdma/mlx5/mlx5IbMr.ts";
import { mlx5SetImrMttSize } from "../../../src/rdma/mlx5/odp/implicitMr.ts";
import { EFAULT, EINVAL } from "../../../src/sim/errno.ts";
import { FirstRunnable } from "../../../src/sim/strategies/firstRunnable.ts";
import { UniformRandom } from "../../../src/sim/strategies/uniformRandom.ts";
import type { Strategy } from "../../../src/sim/strategy.ts";
import type { KGen } from "../../../src/sim/task.ts";
import type { Mlx5DevOptions } from "../../../src/rdma/mlx5/mlx5IbDev.ts";

const ODP_RW = IB_ACCESS_ON_DEMAND | IB_ACCESS_LOCAL_WRITE;
const GIB = 2 ** 30;

function host(strategy: Strategy = new FirstRunnable(), seed = 1, dev: Mlx5DevOptions = {}) {
  return odpHost({ seed, strategy, design: "hmm-mirror" }, 256, dev);
}
type Host = ReturnType<typeof host>;

function mmOf(h: Host): MmStruct {
  const mm = h.proc.mm;
  if (mm === null) throw new Error("process exited");
  return mm;
}

function* openPd(h: Host): KGen<IbPd> {
  const ctx = yield* ibvOpenDevice(h.dev, mmOf(h), h.proc.pid);
  assert.ok(typeof ctx !== "number");
  const pd = ibvAllocPd(ctx);
  assert.ok(typeof pd !== "number");
  return pd;
}

/** An anonymous mapping of `pages` at exactly `addr`. */
function* anonAt(h: Host, addr: number, pages: number): KGen<number> {
  const flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
  const got = yield* vmMmap(mmOf(h), addr, pages * PAGE_SIZE, PROT_READ | PROT_WRITE, flags);
  assert.equal(got, addr);
  return got;
}

function* implicitMr(pd: IbPd): KGen<Mlx5IbMr> {
  const imr = yield* ibvRegMr(pd, 0, IMPLICIT_ODP_LENGTH, ODP_RW);
  assert.ok(
    imr instanceof Mlx5IbMr,
    `implicit reg_mr failed: ${typeof imr === "number" ? imr : "?"}`,
  );
  return imr;
}

/** The live children of `imr` in the per_mm tree, in address order. */
function childrenOf(imr: Mlx5IbMr): HmmMirrorUmemOdp[] {
  const root = imr.umem;
  assert.ok(root instanceof HmmMirrorUmemOdp);
  const out: HmmMirrorUmemOdp[] = [];
  root.perMm?.umemTree.forEachOverlap(0, Number.MAX_SAFE_INTEGER, (n) => {
    const mr = n.value.driverPrivate;
    if (mr instanceof Mlx5IbMr && mr.parent === imr) out.push(n.value);
  });
  return out;
}

/** The KSM slots of an implicit parent's mkey. */
function ksmOf(imr: Mlx5IbMr): Map<number, Mlx5Mkey> {
  const ksm = imr.mmkey.ksm;
  assert.ok(ksm);
  return ksm;
}

function childMr(odp: HmmMirrorUmemOdp): Mlx5IbMr {
  const mr = odp.driverPrivate;
  assert.ok(mr instanceof Mlx5IbMr);
  return mr;
}

function* devWrite(h: Host, key: number, va: number, data: Uint8Array): KGen<number> {
  return yield* mlx5DeviceDma(h.dev, h.design, { key, va, buf: data, write: true });
}

function cpuBytes(h: Host, va: number, n: number): number[] {
  const cpu = walkPte(mmOf(h), va);
  assert.ok(cpu, `no CPU mapping at ${va.toString(16)}`);
  const back = new Uint8Array(n);
  h.phys.readBytes(cpu.pte.pfn, va % PAGE_SIZE, back, 0, n);
  return [...back];
}

function runOk(h: Host): void {
  const r = h.k.run();
  assert.equal(r.status, "ok", JSON.stringify(r.violations) + JSON.stringify(r.internalError));
}

function noOdpObjectsLeft(h: Host): void {
  const live = h.k.kasan.liveObjects().map((o) => o.objKind);
  assert.ok(
    !live.some((k) => k.startsWith("umem_odp") || k === "mlx5_ib_mr" || k === "ib_ucontext_per_mm"),
    live.join(","),
  );
}

test("hmm-mirror implicit: reg_mr makes an empty KSM parent; a device write at a scattered address faults a child in and moves the bytes", () => {
  const h = host();
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

test("hmm-mirror implicit: two scattered buffers make two children; one access across a child boundary makes both at once", () => {
  const h = host();
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

  const h2 = host();
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

test("hmm-mirror implicit: munmap of a child's range zaps its MTT, empties it and frees it by work; the KSM slot goes back to the null mkey", () => {
  const h = host();
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

test("hmm-mirror implicit, as posted (v5.2's scheme): a child the exiting mm's release marked dying is never queued, so dereg leaves it behind", () => {
  const h = host();
  let child: HmmMirrorUmemOdp | undefined;
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

test("hmm-mirror implicit: reg_mr errors: no IMPLICIT capability, or IB_ACCESS_HUGETLB", () => {
  const caps = { generalCaps: IB_ODP_SUPPORT, perTransportCaps: NO_ODP_CAPS.perTransportCaps };
  const h = host(new FirstRunnable(), 1, { odpCaps: caps });
  h.proc.spawnThread("t", function* (): KGen {
    const pd = yield* openPd(h);
    assert.equal(yield* ibvRegMr(pd, 0, IMPLICIT_ODP_LENGTH, ODP_RW), EINVAL);
  });
  runOk(h);
  const h2 = host();
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
  // reach it through KSM -> child MTT. v5.5's rework fences the parent mkey
  // (mlx5_mr_cache_invalidate) before destroying the children; the interval design has it.
  const r = explore(implicitDeregVsMunmap, {
    strategy: "random",
    schedules: 300,
    design: "hmm-mirror",
  });
  assert.equal(r.firstInternalError, null);
  assert.ok(r.firstFailure, "found within 300 random schedules");
  assert.equal(r.firstFailure.violation.kind, "device_use_after_free");
  // The same v5.2/v5.3 scheme on the classic design fails the same way; the interval
  // design (v6.x, parent fenced first) is clean on the same schedules.
  const classic = explore(implicitDeregVsMunmap, {
    strategy: "random",
    schedules: 300,
    design: "classic",
  });
  assert.equal(classic.firstFailure?.violation.kind, "device_use_after_free");
  const interval = explore(implicitDeregVsMunmap, {
    strategy: "random",
    schedules: 300,
    design: "interval",
  });
  assert.equal(interval.firstInternalError, null);
  assert.equal(interval.firstFailure, null);
});
