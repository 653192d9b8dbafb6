/**
 * Seed 002's pagefault_mr() as posted aligns io_virt down to the page before it takes
 * the offset into the page (`io_virt = io_virt & page_mask; off = io_virt & ~page_mask`),
 * so `off` is always 0 and `fault_size = ALIGN(size + off, page)` is ALIGN(size): the
 * hmm_range it registers and maps, [io_virt aligned, + fault_size), ends a page short of
 * the last page [io_virt, io_virt + size) touches whenever the offset carries the end
 * into one more page. A property of the design, kept as posted (hmmMirrorAsPosted.ts):
 * the RDMA responder handler, which wants pages_in_range() pages, fails the QP; a WQE or
 * plain device access resumes (bytes_mapped, min(np << page_shift - off, size), claims
 * the whole segment) and faults again on the page left out. Classic (v5.3) and interval
 * (v6.14) fault the range from io_virt and map every page it touches.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { odpHost } from "../../../src/check/catalog/scenarios/odpHost.ts";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, vmMmap } from "../../../src/mm/mmap.ts";
import { PAGE_SIZE } from "../../../src/mm/page.ts";
import {
  IB_ACCESS_LOCAL_WRITE,
  IB_ACCESS_ON_DEMAND,
  IB_ACCESS_REMOTE_WRITE,
} from "../../../src/rdma/core/ibVerbs.ts";
import type { OdpDesignName } from "../../../src/rdma/core/odp/umemOdpDesign.ts";
import { ibvAllocPd, ibvOpenDevice, ibvRegMr } from "../../../src/rdma/core/verbs.ts";
import { mlx5DeviceDma } from "../../../src/rdma/mlx5/deviceDma.ts";
import type { BytesMapped } from "../../../src/rdma/mlx5/odp/pageCount.ts";
import { EFAULT } from "../../../src/sim/errno.ts";
import { FirstRunnable } from "../../../src/sim/strategies/firstRunnable.ts";
import type { KGen } from "../../../src/sim/task.ts";
import { responderFault } from "./responderFaultFixtures.ts";

type Host = ReturnType<typeof odpHost>;

const ODP = IB_ACCESS_ON_DEMAND | IB_ACCESS_LOCAL_WRITE | IB_ACCESS_REMOTE_WRITE;
const PAGES = 4;
const HALF = PAGE_SIZE / 2;

function host(design: OdpDesignName): Host {
  return odpHost({ seed: 0, strategy: new FirstRunnable(), design });
}

function run(h: Host, body: () => KGen): void {
  h.proc.spawnThread("t", body);
  const r = h.k.run();
  assert.equal(r.status, "ok", JSON.stringify(r.violations) + JSON.stringify(r.internalError));
}

/** An ODP MR over PAGES pages the process has never touched: every access faults. */
function* untouchedMr(h: Host): KGen<{ addr: number; key: number }> {
  const mm = h.proc.mm;
  assert.ok(mm);
  const len = PAGES * PAGE_SIZE;
  const addr = yield* vmMmap(mm, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  const ctx = yield* ibvOpenDevice(h.dev, mm, h.proc.pid);
  assert.ok(typeof ctx !== "number");
  const pd = ibvAllocPd(ctx);
  assert.ok(typeof pd !== "number");
  const mr = yield* ibvRegMr(pd, addr, len, ODP);
  assert.ok(typeof mr !== "number");
  return { addr, key: mr.lkey };
}

/** Which of the MR's pages its MTT maps. */
function mapped(h: Host, key: number): boolean[] {
  const mtt = h.dev.mkeys.get(key)?.mtt;
  assert.ok(mtt);
  return Array.from({ length: PAGES }, (_, i) => mtt.get(i) !== 0);
}

test("hmm-mirror as posted: a responder fault of [page 0 + 2 KiB, + 4 KiB) maps page 0 only, and the QP fails", () => {
  const h = host("hmm-mirror");
  run(h, function* () {
    const { addr, key } = yield* untouchedMr(h);
    const { seg, resumed } = yield* responderFault(h, key, addr + HALF, PAGE_SIZE);
    assert.deepEqual(seg, [1], "the range [addr, addr + ALIGN(4 KiB)) is one page");
    assert.deepEqual(mapped(h, key), [true, false, false, false], "page 1 is touched, not mapped");
    assert.equal(resumed, EFAULT, "pages_in_range 2 > 1: resumed with an error");
  });
});

test("hmm-mirror as posted: the range is short only when the offset carries the end into one more page", () => {
  const h = host("hmm-mirror");
  run(h, function* () {
    const { addr, key } = yield* untouchedMr(h);
    // [2 KiB, 8 KiB): ALIGN(6 KiB) from page 0 reaches the end; nothing is left out.
    const { seg, resumed } = yield* responderFault(h, key, addr + HALF, PAGE_SIZE + HALF);
    assert.deepEqual(seg, [2]);
    assert.equal(resumed, 2);
    assert.deepEqual(mapped(h, key), [true, true, false, false]);
  });
});

for (const [design, expected] of [
  ["classic", 2],
  ["interval", 0],
] as const) {
  test(`${design}: the same unaligned responder fault maps both pages it touches and succeeds`, () => {
    const h = host(design);
    run(h, function* () {
      const { addr, key } = yield* untouchedMr(h);
      const { seg, resumed } = yield* responderFault(h, key, addr + HALF, PAGE_SIZE);
      assert.deepEqual(seg, [expected], "v5.3: 2 pages; v6.14: 0, the count checked inside");
      assert.equal(resumed, expected);
      assert.deepEqual(mapped(h, key), [true, true, false, false]);
    });
  });
}

test("hmm-mirror as posted: bytes_mapped claims the whole unaligned segment; a device access faults again for the page left out", () => {
  const faults = new Map<OdpDesignName, number>();
  for (const design of ["hmm-mirror", "classic"] as const) {
    const h = host(design);
    let n = 0;
    h.k.observeEvents((label) => {
      if (label === "page_fault") n++;
    });
    run(h, function* () {
      const { addr, key } = yield* untouchedMr(h);
      if (design === "hmm-mirror") {
        const bytesMapped: BytesMapped = { value: 0 };
        const flags = { write: true };
        const seg = { dev: h.dev, key, va: addr + HALF, len: PAGE_SIZE };
        const ret = yield* h.design.pagefaultSingleDataSegment(
          seg.dev,
          null,
          seg.key,
          seg.va,
          seg.len,
          flags,
          bytesMapped,
        );
        assert.equal(ret, 1);
        assert.equal(bytesMapped.value, PAGE_SIZE, "min(np << page_shift - off, size), off 0");
        assert.deepEqual(mapped(h, key), [true, false, false, false]);
      }
      const buf = new Uint8Array(PAGE_SIZE).fill(7);
      const req = { key, va: addr + 3 * PAGE_SIZE - HALF, buf, write: true };
      assert.equal(yield* mlx5DeviceDma(h.dev, h.design, req), 0, "the access completes");
    });
    faults.set(design, n);
  }
  // Pages 2 and 3: hmm-mirror maps page 2, resumes, and faults again on page 3.
  assert.deepEqual(Object.fromEntries(faults), { "hmm-mirror": 2, classic: 1 });
});
