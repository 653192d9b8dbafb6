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
import type { KGen } from "../../../sim/task.ts";
import { MADV_DONTNEED, doMadvise } from "../../../mm/madvise.ts";
import { PAGE_SIZE } from "../../../mm/page.ts";
import { ibvDeregMr } from "../../../rdma/core/verbs.ts";
import { mlx5DeviceDma } from "../../../rdma/mlx5/deviceDma.ts";
import type { Scenario } from "../../scenario.ts";
import { INSTANT_DEVICE, odpHost, setupImplicitOdpBuffer } from "./odpHost.ts";

export const implicitChildDoubleInvalidate: Scenario = {
  name: "implicit-child-double-invalidate",
  description:
    "implicit-child-double-invalidate v1: 1-page anon buffer under an implicit ODP MR, " +
    "zero-cost faults and UMRs; nic: write the page; cpu0, cpu1: join nic, " +
    "madvise(DONTNEED) the page; user: join all, dereg_mr",
  build(ctx) {
    const host = odpHost(ctx, 256, { cost: INSTANT_DEVICE });
    const { k, proc, dev, design } = host;
    proc.spawnThread("setup", function* (): KGen {
      const mm = proc.mm;
      if (mm === null) return;
      const { addr, imr } = yield* setupImplicitOdpBuffer(host, PAGE_SIZE);
      const nic = k.spawn("nic", { kind: "device", name: dev.name }, function* (): KGen {
        const buf = new Uint8Array(16).fill(0xa0);
        yield* mlx5DeviceDma(dev, design, { key: imr.lkey, va: addr, buf, write: true });
      });
      const discarders = [0, 1].map((n) =>
        proc.spawnThread(`cpu${n}`, function* (): KGen {
          yield* k.join(nic);
          yield* doMadvise(mm, addr, PAGE_SIZE, MADV_DONTNEED);
        }),
      );
      proc.spawnThread("user", function* (): KGen {
        yield* k.join(nic);
        for (const t of discarders) yield* k.join(t);
        yield* ibvDeregMr(imr);
      });
    });
    return k;
  },
};
