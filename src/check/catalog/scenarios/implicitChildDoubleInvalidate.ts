/**
 * Catalog scenario: the device faults in a page under an implicit ODP MR (creating its
 * one child), then two threads of the process discard that page (MADV_DONTNEED) at
 * once. Both invalidations reach the child; the one that unmaps its last page leaves it
 * empty, and each then decides whether the emptied child must be freed. At the end the
 * process deregisters the implicit MR, which waits until every queued child free has
 * run.
 *
 * Models no kernel file: the program of the race diagram in "RDMA/odp: Lift umem_mutex
 * out of ib_umem_odp_unmap_dma_pages()" (two mlx5_ib_invalidate_range() on one child).
 */
import type { KGen, Task } from "../../../sim/task.ts";
import type { MmStruct } from "../../../mm/mmStruct.ts";
import { MADV_DONTNEED, doMadvise } from "../../../mm/madvise.ts";
import { PAGE_SIZE } from "../../../mm/page.ts";
import { mlx5DeviceDma } from "../../../rdma/mlx5/deviceDma.ts";
import type { Scenario } from "../../scenario.ts";
import {
  deregAfter,
  instantOdpHost,
  setupDone,
  setupImplicitOdpBuffer,
  type ImplicitOdpBuffer,
  type OdpHost,
} from "./odpHost.ts";

export const implicitChildDoubleInvalidate: Scenario = {
  name: "implicit-child-double-invalidate",
  description:
    "implicit-child-double-invalidate v1: 1-page anon buffer under an implicit ODP MR, " +
    "zero-cost faults and UMRs; nic: write the page; cpu0, cpu1: join nic, " +
    "madvise(DONTNEED) the page; user: join all, dereg_mr",
  build: (ctx) => instantOdpHost(ctx, setup),
};

function* setup(host: OdpHost): KGen {
  const { k, proc, dev } = host;
  const mm = proc.mm;
  if (mm === null) return;
  const buf = yield* setupImplicitOdpBuffer(host, PAGE_SIZE);
  setupDone(host);
  const nic = k.spawn("nic", { kind: "device", name: dev.name }, () => nicWrite(host, buf));
  const discarders = [0, 1].map((n) =>
    proc.spawnThread(`cpu${n}`, () => discardAfter(host, nic, mm, buf.addr)),
  );
  proc.spawnThread("user", () => deregAfter(host, [nic, ...discarders], buf.imr));
}

/** The device writes the page (a fault creates the implicit child). */
function* nicWrite(host: OdpHost, buf: ImplicitOdpBuffer): KGen {
  const data = new Uint8Array(16).fill(0xa0);
  yield* mlx5DeviceDma(host.dev, host.design, {
    key: buf.imr.lkey,
    va: buf.addr,
    buf: data,
    write: true,
  });
}

/** Once the device is done, MADV_DONTNEED the page. */
function* discardAfter(host: OdpHost, nic: Task, mm: MmStruct, addr: number): KGen {
  yield* host.k.join(nic);
  yield* doMadvise(mm, addr, PAGE_SIZE, MADV_DONTNEED);
}
