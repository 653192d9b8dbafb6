/**
 * ib_umem_get / ib_umem_release: pinning at registration and unpinning at
 * deregistration (frame pin counts, mm->pinned_vm), the device's fixed view across fork
 * and copy-on-write, dirtying on release, and the error paths (each leaving nothing
 * pinned or charged).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { odpHost, type OdpHost } from "../../../src/check/catalog/scenarios/odpHost.ts";
import { cpuRead, cpuWrite } from "../../../src/mm/access.ts";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, vmMmap } from "../../../src/mm/mmap.ts";
import type { MmStruct } from "../../../src/mm/mmStruct.ts";
import { doMprotect } from "../../../src/mm/mprotect.ts";
import { PAGE_SIZE } from "../../../src/mm/page.ts";
import { walkPte } from "../../../src/mm/pageTable.ts";
import { forkProcess } from "../../../src/mm/process.ts";
import { EFAULT, EINVAL, ENOMEM, EOPNOTSUPP, EPERM } from "../../../src/sim/errno.ts";
import { FirstRunnable } from "../../../src/sim/strategies/firstRunnable.ts";
import type { KGen } from "../../../src/sim/task.ts";
import {
  IB_ACCESS_LOCAL_WRITE,
  IB_ACCESS_ON_DEMAND,
  IB_ACCESS_REMOTE_READ,
} from "../../../src/rdma/core/ibVerbs.ts";
import type { IbUcontext } from "../../../src/rdma/core/ucontext.ts";
import { ibUmemGet, ibUmemPfns, ibUmemRelease, type IbUmem } from "../../../src/rdma/core/umem.ts";
import { ibvAllocPd, ibvDeregMr, ibvOpenDevice, ibvRegMr } from "../../../src/rdma/core/verbs.ts";
import { mlx5DeviceDma } from "../../../src/rdma/mlx5/deviceDma.ts";
import type { FaultPlan } from "../../../src/check/faults.ts";

const NPAGES = 3;

interface Env {
  readonly h: OdpHost;
  readonly mm: MmStruct;
  readonly ctx: IbUcontext;
  readonly addr: number;
}

/** Runs `body` in a process with an open device and NPAGES touched anonymous pages. */
function withEnv(body: (env: Env) => KGen, faults?: FaultPlan, prot = PROT_READ | PROT_WRITE) {
  const h = odpHost({ seed: 0, strategy: new FirstRunnable(), design: "classic", faults });
  h.proc.spawnThread("t", function* (): KGen {
    const mm = h.proc.mm;
    assert.ok(mm);
    const len = NPAGES * PAGE_SIZE;
    const addr = yield* vmMmap(mm, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    for (let i = 0; i < NPAGES; i++) {
      assert.ok((yield* cpuWrite(mm, addr + i * PAGE_SIZE, new Uint8Array([i + 1]))).ok);
    }
    if (prot !== (PROT_READ | PROT_WRITE)) {
      assert.equal(yield* doMprotect(mm, addr, len, prot), 0);
    }
    const ctx = yield* ibvOpenDevice(h.dev, mm, h.proc.pid);
    assert.ok(typeof ctx !== "number");
    yield* body({ h, mm, ctx, addr });
  });
  const r = h.k.run();
  assert.equal(r.status, "ok", JSON.stringify(r.violations));
}

function pinCounts(env: Env): number[] {
  const out: number[] = [];
  for (let i = 0; i < NPAGES; i++) {
    const pfn = walkPte(env.mm, env.addr + i * PAGE_SIZE)?.pte.pfn;
    assert.ok(pfn !== undefined);
    out.push(env.h.phys.pfnToPage(pfn).pincount);
  }
  return out;
}

test("ib_umem_get pins every page and charges pinned_vm; ib_umem_release undoes both", () => {
  withEnv(function* (env) {
    const umem = yield* ibUmemGet(env.ctx, env.addr + 100, NPAGES * PAGE_SIZE - 200, 0);
    assert.ok(typeof umem !== "number");
    assert.deepEqual(pinCounts(env), [1, 1, 1]);
    assert.equal(env.mm.pinnedVm, NPAGES);
    const pfns = ibUmemPfns(umem);
    for (let i = 0; i < NPAGES; i++) {
      assert.equal(pfns[i], walkPte(env.mm, env.addr + i * PAGE_SIZE)?.pte.pfn);
    }
    yield* ibUmemRelease(umem);
    assert.deepEqual(pinCounts(env), [0, 0, 0]);
    assert.equal(env.mm.pinnedVm, 0);
  });
});

test("a pinned MR pins at registration and unpins at deregistration", () => {
  withEnv(function* (env) {
    const pd = ibvAllocPd(env.ctx);
    assert.ok(typeof pd !== "number");
    const mr = yield* ibvRegMr(pd, env.addr, NPAGES * PAGE_SIZE, IB_ACCESS_LOCAL_WRITE);
    assert.ok(typeof mr !== "number");
    assert.deepEqual(pinCounts(env), [1, 1, 1]);
    assert.equal(env.mm.pinnedVm, NPAGES);
    assert.equal(yield* ibvDeregMr(mr), 0);
    assert.deepEqual(pinCounts(env), [0, 0, 0]);
    assert.equal(env.mm.pinnedVm, 0);
  });
});

test("the device keeps its view across fork and copy-on-write: parent writes reach it, the child's do not", () => {
  withEnv(function* (env) {
    const pd = ibvAllocPd(env.ctx);
    assert.ok(typeof pd !== "number");
    const mr = yield* ibvRegMr(pd, env.addr, PAGE_SIZE, IB_ACCESS_LOCAL_WRITE);
    assert.ok(typeof mr !== "number");
    const pinned = walkPte(env.mm, env.addr)?.pte.pfn;
    const devRead = function* (): KGen<number> {
      const buf = new Uint8Array(1);
      const req = { key: mr.lkey, va: env.addr, buf, write: false };
      assert.equal(yield* mlx5DeviceDma(env.h.dev, env.h.design, req), 0);
      return buf[0] ?? -1;
    };

    const child = yield* forkProcess(env.h.proc);
    assert.ok(typeof child !== "number" && child.mm !== null);
    const childMm = child.mm;
    assert.equal(walkPte(env.mm, env.addr)?.pte.pfn, pinned, "the parent keeps the pinned page");
    assert.notEqual(walkPte(childMm, env.addr)?.pte.pfn, pinned, "the child got a copy at fork");

    // The parent writes after fork: no COW fault moves it off the pinned page.
    assert.ok((yield* cpuWrite(env.mm, env.addr, new Uint8Array([0x5a]))).ok);
    assert.equal(walkPte(env.mm, env.addr)?.pte.pfn, pinned);
    assert.equal(yield* devRead(), 0x5a, "the device sees the parent's write");

    // The child writes its copy: the device does not see it.
    assert.ok((yield* cpuWrite(childMm, env.addr, new Uint8Array([0x77]))).ok);
    assert.equal(yield* devRead(), 0x5a, "the child's write stays in the child");

    // The device writes: the parent reads it, the child does not.
    const req = { key: mr.lkey, va: env.addr, buf: new Uint8Array([0x33]), write: true };
    assert.equal(yield* mlx5DeviceDma(env.h.dev, env.h.design, req), 0);
    const parentSees = yield* cpuRead(env.mm, env.addr, 1);
    const childSees = yield* cpuRead(childMm, env.addr, 1);
    assert.ok(parentSees.ok && childSees.ok);
    assert.equal(parentSees.data[0], 0x33);
    assert.equal(childSees.data[0], 0x77);
    assert.equal(yield* ibvDeregMr(mr), 0);
  });
});

function* releaseAndSeeDirty(env: Env, access: number): KGen<boolean[]> {
  const umem = yield* ibUmemGet(env.ctx, env.addr, NPAGES * PAGE_SIZE, access);
  assert.ok(typeof umem !== "number");
  const pages = ibUmemPfns(umem).map((pfn) => env.h.phys.pfnToPage(pfn));
  for (const p of pages) p.head.dirty = false;
  yield* ibUmemRelease(umem);
  return pages.map((p) => p.head.dirty);
}

test("release dirties the pages of a writable umem only", () => {
  withEnv(function* (env) {
    assert.deepEqual(yield* releaseAndSeeDirty(env, IB_ACCESS_LOCAL_WRITE), [true, true, true]);
    assert.deepEqual(yield* releaseAndSeeDirty(env, IB_ACCESS_REMOTE_READ), [false, false, false]);
  });
});

/** ibUmemGet fails with `want`, and leaves no pin and no charge behind. */
function* expectFailure(env: Env, got: IbUmem | number, want: number): KGen {
  yield "check";
  assert.equal(got, want);
  assert.deepEqual(pinCounts(env), [0, 0, 0]);
  assert.equal(env.mm.pinnedVm, 0);
}

test("argument errors: an ODP access, an empty range, an overflowing range", () => {
  withEnv(function* (env) {
    const len = NPAGES * PAGE_SIZE;
    yield* expectFailure(
      env,
      yield* ibUmemGet(env.ctx, env.addr, len, IB_ACCESS_ON_DEMAND),
      EOPNOTSUPP,
    );
    yield* expectFailure(env, yield* ibUmemGet(env.ctx, env.addr, 0, 0), EINVAL);
    yield* expectFailure(env, yield* ibUmemGet(env.ctx, Number.MAX_SAFE_INTEGER, len, 0), EINVAL);
  });
});

test("RLIMIT_MEMLOCK: zero is EPERM, past the limit is ENOMEM, CAP_IPC_LOCK lifts both", () => {
  withEnv(function* (env) {
    const len = NPAGES * PAGE_SIZE;
    env.ctx.rlimitMemlock = 0;
    yield* expectFailure(env, yield* ibUmemGet(env.ctx, env.addr, len, 0), EPERM);
    env.ctx.rlimitMemlock = (NPAGES - 1) * PAGE_SIZE;
    yield* expectFailure(env, yield* ibUmemGet(env.ctx, env.addr, len, 0), ENOMEM);
    // Within the limit, then a second umem that would go past it.
    const one = yield* ibUmemGet(env.ctx, env.addr, PAGE_SIZE, 0);
    assert.ok(typeof one !== "number");
    assert.equal(yield* ibUmemGet(env.ctx, env.addr, 2 * PAGE_SIZE, 0), ENOMEM);
    assert.equal(env.mm.pinnedVm, 1);
    yield* ibUmemRelease(one);
    env.ctx.capIpcLock = true;
    const all = yield* ibUmemGet(env.ctx, env.addr, len, 0);
    assert.ok(typeof all !== "number");
    assert.equal(env.mm.pinnedVm, NPAGES);
    yield* ibUmemRelease(all);
    env.ctx.rlimitMemlock = 0;
    const capOnly = yield* ibUmemGet(env.ctx, env.addr, len, 0);
    assert.ok(typeof capOnly !== "number", "CAP_IPC_LOCK passes can_do_mlock");
    yield* ibUmemRelease(capOnly);
  });
});

test("a hole after pinned pages: EFAULT, and the pages pinned before it are unpinned", () => {
  withEnv(function* (env) {
    // The page after the buffer is not mapped (the buffer is the only VMA there).
    const got = yield* ibUmemGet(env.ctx, env.addr, (NPAGES + 1) * PAGE_SIZE, 0);
    yield* expectFailure(env, got, EFAULT);
  });
});

test("a writable umem over a read-only mapping is EFAULT; a read-only one pins", () => {
  withEnv(
    function* (env) {
      const len = NPAGES * PAGE_SIZE;
      const got = yield* ibUmemGet(env.ctx, env.addr, len, IB_ACCESS_LOCAL_WRITE);
      yield* expectFailure(env, got, EFAULT);
      const ro = yield* ibUmemGet(env.ctx, env.addr, len, IB_ACCESS_REMOTE_READ);
      assert.ok(typeof ro !== "number");
      assert.deepEqual(pinCounts(env), [1, 1, 1]);
      yield* ibUmemRelease(ro);
    },
    undefined,
    PROT_READ,
  );
});

test("a failed DMA mapping (injected) is ENOMEM and unpins without dirtying", () => {
  withEnv(
    function* (env) {
      for (let i = 0; i < NPAGES; i++) {
        const pfn = walkPte(env.mm, env.addr + i * PAGE_SIZE)?.pte.pfn;
        assert.ok(pfn !== undefined);
        env.h.phys.pfnToPage(pfn).head.dirty = false;
      }
      const len = NPAGES * PAGE_SIZE;
      const got = yield* ibUmemGet(env.ctx, env.addr, len, IB_ACCESS_LOCAL_WRITE);
      yield* expectFailure(env, got, ENOMEM);
      for (let i = 0; i < NPAGES; i++) {
        const pfn = walkPte(env.mm, env.addr + i * PAGE_SIZE)?.pte.pfn;
        assert.ok(pfn !== undefined);
        assert.equal(env.h.phys.pfnToPage(pfn).head.dirty, false);
      }
    },
    { sites: ["dma_map"], probability: 1 },
  );
});
