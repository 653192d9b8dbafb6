/**
 * What a fault reports having mapped (pageCount.ts): the page count in PAGE_SIZE pages,
 * bytes_mapped over a WQE's data segments, and the check that a fault mapped every page,
 * in the responder handler up to v6.13 and in pagefault_single_data_segment since
 * "RDMA/mlx5: Fix indirect mkey ODP page count" (235f23840219).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { odpHost } from "../../../src/check/catalog/scenarios/odpHost.ts";
import { cpuWrite } from "../../../src/mm/access.ts";
import {
  MAP_ANONYMOUS,
  MAP_HUGETLB,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  vmMmap,
  vmMunmap,
} from "../../../src/mm/mmap.ts";
import { HPAGE_PMD_SIZE, PAGE_SIZE } from "../../../src/mm/page.ts";
import type { MmStruct } from "../../../src/mm/mmStruct.ts";
import type { IbPd } from "../../../src/rdma/core/ibPd.ts";
import {
  IB_ACCESS_HUGETLB,
  IB_ACCESS_LOCAL_WRITE,
  IB_ACCESS_ON_DEMAND,
  IB_ACCESS_REMOTE_WRITE,
} from "../../../src/rdma/core/ibVerbs.ts";
import { ibvAllocPd, ibvOpenDevice, ibvRegMr } from "../../../src/rdma/core/verbs.ts";
import type { OdpDesignName } from "../../../src/rdma/core/odp/umemOdpDesign.ts";
import {
  pageCountPerDirectMr,
  pagesInRange,
  setPageCountPerDirectMr,
} from "../../../src/rdma/mlx5/odp/pageCount.ts";
import { createResourceCommon, mlx5QpTable } from "../../../src/rdma/mlx5/qp/qpTable.ts";
import {
  mlx5IbMrWqePfaultHandler,
  pagefaultDataSegments,
  type WqeSegment,
} from "../../../src/rdma/mlx5/wqePfault.ts";
import { EFAULT } from "../../../src/sim/errno.ts";
import { KObject } from "../../../src/sim/kasan.ts";
import { FirstRunnable } from "../../../src/sim/strategies/firstRunnable.ts";
import type { KGen } from "../../../src/sim/task.ts";
import { recording, responderFault } from "./responderFaultFixtures.ts";

const ODP = IB_ACCESS_ON_DEMAND | IB_ACCESS_LOCAL_WRITE | IB_ACCESS_REMOTE_WRITE;
const MR_PAGES = 8;

type Host = ReturnType<typeof odpHost>;

interface Buf {
  readonly mm: MmStruct;
  readonly pd: IbPd;
  readonly addr: number;
  readonly key: number;
}

/** A host of `design`; `perDirectMr` overrides the era its kernelSetup chose. */
function host(design: OdpDesignName, perDirectMr?: boolean): Host {
  const h = odpHost({ seed: 0, strategy: new FirstRunnable(), design });
  if (perDirectMr !== undefined) setPageCountPerDirectMr(h.k, perDirectMr);
  return h;
}

/** An ODP MR over MR_PAGES fresh pages, of which only the first `present` stay mapped. */
function* odpBuf(h: Host, present = MR_PAGES): KGen<Buf> {
  const mm = h.proc.mm;
  assert.ok(mm);
  const len = MR_PAGES * PAGE_SIZE;
  const addr = yield* vmMmap(mm, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  const ctx = yield* ibvOpenDevice(h.dev, mm, h.proc.pid);
  assert.ok(typeof ctx !== "number");
  const pd = ibvAllocPd(ctx);
  assert.ok(typeof pd !== "number");
  const mr = yield* ibvRegMr(pd, addr, len, ODP);
  assert.ok(typeof mr !== "number");
  // The registration stays; the pages past `present` are no longer the process's.
  if (present < MR_PAGES) {
    assert.equal(yield* vmMunmap(mm, addr + present * PAGE_SIZE, len - present * PAGE_SIZE), 0);
  }
  return { mm, pd, addr, key: mr.lkey };
}

function run(h: Host, body: () => KGen): void {
  h.proc.spawnThread("t", body);
  const r = h.k.run();
  assert.equal(r.status, "ok", JSON.stringify(r.violations) + JSON.stringify(r.internalError));
}

/** A responder fault on a `pages`-page RDMA WRITE at `buf.addr`. */
function bufFault(h: Host, buf: Buf, pages = 4): KGen<{ seg: number[]; resumed: number }> {
  return responderFault(h, buf.key, buf.addr, pages * PAGE_SIZE);
}

test("each design's kernel is in its era: the page count is checked per direct MR only in v6.14", () => {
  assert.equal(pageCountPerDirectMr(host("classic").k), false);
  assert.equal(pageCountPerDirectMr(host("hmm-mirror").k), false);
  assert.equal(pageCountPerDirectMr(host("interval").k), true);
});

test("pages_in_range counts the PAGE_SIZE pages a range touches", () => {
  assert.equal(pagesInRange(0, PAGE_SIZE), 1);
  assert.equal(pagesInRange(PAGE_SIZE - 1, 2), 2);
  assert.equal(pagesInRange(100, 4 * PAGE_SIZE), 5);
  assert.equal(pagesInRange(3 * PAGE_SIZE, 0), 0);
});

test("up to v6.13 a responder fault that maps 2 of 4 pages returns 2, and the RDMA handler fails the QP", () => {
  const h = host("classic");
  run(h, function* () {
    // GUP pins the 2 pages still mapped and stops at the hole: the fault maps 2 pages.
    const { seg, resumed } = yield* bufFault(h, yield* odpBuf(h, 2));
    assert.deepEqual(seg, [2], "pagefault_single_data_segment returns the pages it mapped");
    assert.equal(resumed, EFAULT, "pages_in_range 4 > 2: resumed with an error");
  });
});

test("since 235f23840219 the same short fault fails inside pagefault_single_data_segment", () => {
  const h = host("classic", true);
  run(h, function* () {
    const { seg, resumed } = yield* bufFault(h, yield* odpBuf(h, 2));
    assert.deepEqual(seg, [EFAULT], "the MR's count is checked where pagefault_mr returned it");
    assert.equal(resumed, EFAULT);
  });
});

test("a responder fault that maps every page succeeds in both forms: pages up to v6.13, 0 since", () => {
  for (const [perDirectMr, expected] of [
    [false, 4],
    [true, 0],
  ] as const) {
    const h = host("classic", perDirectMr);
    run(h, function* () {
      const { seg, resumed } = yield* bufFault(h, yield* odpBuf(h));
      assert.deepEqual(seg, [expected]);
      assert.equal(resumed, expected);
    });
  }
});

test("interval (v6.14): a fault on pages the process no longer maps fails the responder", () => {
  const h = host("interval");
  run(h, function* () {
    const { resumed } = yield* bufFault(h, yield* odpBuf(h, 2));
    assert.ok(resumed < 0, `resumed with ${String(resumed)}`);
  });
});

for (const design of ["classic", "hmm-mirror", "interval"] as const) {
  test(`${design}: a huge page counts its PAGE_SIZE pages, so a 4-page responder fault in it succeeds`, () => {
    const h = odpHost({ seed: 0, strategy: new FirstRunnable(), design }, 2048);
    run(h, function* () {
      const mm = h.proc.mm;
      assert.ok(mm);
      const flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB;
      const addr = yield* vmMmap(mm, 0, HPAGE_PMD_SIZE, PROT_READ | PROT_WRITE, flags);
      assert.ok(addr > 0);
      assert.ok((yield* cpuWrite(mm, addr, new Uint8Array(16).fill(1))).ok);
      const ctx = yield* ibvOpenDevice(h.dev, mm, h.proc.pid);
      assert.ok(typeof ctx !== "number");
      const pd = ibvAllocPd(ctx);
      assert.ok(typeof pd !== "number");
      const mr = yield* ibvRegMr(pd, addr, HPAGE_PMD_SIZE, ODP | IB_ACCESS_HUGETLB);
      assert.ok(typeof mr !== "number", "reg_mr of a HUGETLB MR over a hugetlb VMA");
      const buf = { mm, pd, addr: addr + 2 * PAGE_SIZE, key: mr.rkey };
      const { seg, resumed } = yield* bufFault(h, buf);
      // One 2 MiB umem page is 512 PAGE_SIZE pages (np << (page_shift - PAGE_SHIFT)).
      assert.deepEqual(seg, [pageCountPerDirectMr(h.k) ? 0 : 512]);
      assert.ok(resumed >= 0, `resumed with ${String(resumed)}`);
    });
  });
}

for (const design of ["classic", "hmm-mirror", "interval"] as const) {
  test(`${design}: bytes_mapped sums what each data segment's fault mapped, a pinned MR's whole`, () => {
    const h = host(design);
    run(h, function* () {
      const buf = yield* odpBuf(h);
      const pinnedAddr = yield* vmMmap(
        buf.mm,
        0,
        PAGE_SIZE,
        PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS,
      );
      const pinned = yield* ibvRegMr(buf.pd, pinnedAddr, PAGE_SIZE, IB_ACCESS_LOCAL_WRITE);
      assert.ok(typeof pinned !== "number");
      const segs: WqeSegment[] = [
        { key: buf.key, va: buf.addr, bcnt: 2 * PAGE_SIZE, write: true },
        { key: pinned.lkey, va: pinnedAddr, bcnt: 300, write: true },
        { key: buf.key, va: buf.addr + 4 * PAGE_SIZE, bcnt: PAGE_SIZE + 10, write: true },
      ];
      const bytesMapped = { value: 0 };
      const { ret, totalWqeBytes } = yield* pagefaultDataSegments(
        h.dev,
        h.design,
        segs,
        0,
        bytesMapped,
      );
      assert.ok(ret >= 0, `ret ${String(ret)}`);
      assert.equal(totalWqeBytes, 3 * PAGE_SIZE + 310);
      assert.equal(bytesMapped.value, 3 * PAGE_SIZE + 310);
    });
  });
}

test("bytes_mapped: committed bytes are skipped, and a short mapping counts only its pages", () => {
  for (const perDirectMr of [false, true]) {
    const h = host("classic", perDirectMr);
    run(h, function* () {
      const buf = yield* odpBuf(h, 6);
      const segs: WqeSegment[] = [
        { key: buf.key, va: buf.addr, bcnt: PAGE_SIZE, write: true },
        // From page 4 + 10 bytes for 4 pages less 10: GUP maps pages 4 and 5 only.
        { key: buf.key, va: buf.addr + 4 * PAGE_SIZE, bcnt: 4 * PAGE_SIZE, write: true },
      ];
      const bytesMapped = { value: 0 };
      const rets: number[] = [];
      const design = recording(h.design, rets);
      const committed = PAGE_SIZE + 10;
      const r = yield* pagefaultDataSegments(h.dev, design, segs, committed, bytesMapped);
      assert.equal(rets.length, 1, "the first segment was committed: not faulted");
      assert.equal(r.totalWqeBytes, 4 * PAGE_SIZE - 10);
      assert.equal(
        bytesMapped.value,
        2 * PAGE_SIZE - 10,
        "pages 4 and 5 from the committed offset",
      );
      assert.equal(r.ret, perDirectMr ? EFAULT : 2);
    });
  }
});

test("a WQE fault that maps fewer bytes than the WQE needs fails the QP, in both forms", () => {
  for (const perDirectMr of [false, true]) {
    for (const present of [MR_PAGES, 2]) {
      const h = host("classic", perDirectMr);
      run(h, function* () {
        const buf = yield* odpBuf(h, present);
        const qpn = 0x77;
        yield* createResourceCommon(mlx5QpTable(h.dev), qpn, new KObject(h.k.kasan, "mlx5_ib_qp"));
        const seg = { key: buf.key, va: buf.addr, bcnt: 4 * PAGE_SIZE, write: true };
        let resumed = Number.NaN;
        yield* mlx5IbMrWqePfaultHandler(h.dev, h.design, qpn, [seg], (ret) => {
          resumed = ret;
        });
        const label = `per direct MR ${String(perDirectMr)}, ${String(present)} pages mapped`;
        if (present === MR_PAGES) assert.ok(resumed >= 0, `${label}: ${String(resumed)}`);
        else assert.equal(resumed, EFAULT, label);
      });
    }
  }
});
