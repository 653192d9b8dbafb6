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
import {
  odpHost,
  setupDone,
  setupImplicitOdpBuffer,
  type ImplicitOdpBuffer,
  type OdpHost,
} from "./odpHost.ts";

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
    mlx5SetImrMttSize(host.dev, CHILD_SIZE);
    host.proc.spawnThread("setup", () => setup(host));
    return host.k;
  },
};

function* setup(host: OdpHost): KGen {
  const { k, proc, dev, design } = host;
  if (proc.mm === null) return;
  const buf = yield* setupImplicitOdpBuffer(host, CHILD_SIZE + PAGE_SIZE, 8);
  const first = new Uint8Array(8).fill(0xa0);
  yield* mlx5DeviceDma(dev, design, { key: buf.imr.lkey, va: buf.addr, buf: first, write: true });
  setupDone(host);
  k.spawn("nic", { kind: "device", name: dev.name }, () => nicSecondChild(host, buf));
  proc.spawnThread("exit", () => exitMm(proc));
}

/** The device writes the page 2 MiB in: a fault that needs a second child. */
function* nicSecondChild(host: OdpHost, buf: ImplicitOdpBuffer): KGen {
  const va = buf.addr + CHILD_SIZE;
  const data = new Uint8Array(8).fill(0xa1);
  yield* mlx5DeviceDma(host.dev, host.design, { key: buf.imr.lkey, va, buf: data, write: true });
}
