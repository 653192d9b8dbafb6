/**
 * Catalog scenario: the device touches a new region of an implicit ODP MR while the
 * process exits. The fault creates an implicit child, which must not subscribe to the
 * address space once exit_mmap has begun tearing it down.
 *
 * Models no kernel file: a process killed while its implicit MR is in use.
 */
import type { KGen } from "../../../sim/task.ts";
import { PAGE_SIZE } from "../../../mm/page.ts";
import { exitMm } from "../../../mm/process.ts";
import { mlx5DeviceDma } from "../../../rdma/mlx5/deviceDma.ts";
import { mlx5SetImrMttSize } from "../../../rdma/mlx5/odp/intervalOdp.ts";
import type { Scenario } from "../../scenario.ts";
import { odpHost, setupImplicitOdpBuffer } from "./odpHost.ts";

/** Implicit children of 2 MiB, so a small buffer spans two of them. */
const CHILD_SIZE = 2 ** 21;

export const implicitChildVsExit: Scenario = {
  name: "implicit-child-vs-exit",
  description:
    "implicit-child-vs-exit v1: implicit ODP MR with 2 MiB children over a 2 MiB + 4 KiB " +
    "anon buffer; setup: nic writes page 0; then nic: write the page 2 MiB in; " +
    "process: exit_mm",
  build(ctx) {
    const host = odpHost(ctx);
    const { k, proc, dev, design } = host;
    mlx5SetImrMttSize(dev, CHILD_SIZE);
    proc.spawnThread("setup", function* (): KGen {
      if (proc.mm === null) return;
      const { addr, imr } = yield* setupImplicitOdpBuffer(host, CHILD_SIZE + PAGE_SIZE, 8);
      const first = new Uint8Array(8).fill(0xa0);
      yield* mlx5DeviceDma(dev, design, { key: imr.lkey, va: addr, buf: first, write: true });
      k.spawn("nic", { kind: "device", name: dev.name }, function* (): KGen {
        const va = addr + CHILD_SIZE;
        const data = new Uint8Array(8).fill(0xa1);
        yield* mlx5DeviceDma(dev, design, { key: imr.lkey, va, buf: data, write: true });
      });
      proc.spawnThread("exit", function* (): KGen {
        yield* exitMm(proc);
      });
    });
    return k;
  },
};
