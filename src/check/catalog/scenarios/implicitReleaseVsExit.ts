/**
 * Catalog scenario: a process writes through an implicit ODP MR from the device and
 * exits without deregistering it. exit_mmap runs the per-mm notifier's release, which
 * empties every child; closing the uverbs file then destroys the implicit MR, whose
 * children must all be freed by then. The teardown-leak oracle reports any child umem,
 * child MR or per_mm still allocated at the end.
 *
 * Models no kernel file: ibv_rc_pingpong with -O killed or exiting before it
 * deregisters (the call trace of "IB/mlx5: Fix implicit MR release flow").
 */
import type { KGen, Task } from "../../../sim/task.ts";
import { cpuWrite } from "../../../mm/access.ts";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, vmMmap } from "../../../mm/mmap.ts";
import { exitFiles, exitMm } from "../../../mm/process.ts";
import { PAGE_SIZE } from "../../../mm/page.ts";
import type { IbMr } from "../../../rdma/core/ibMr.ts";
import {
  IB_ACCESS_LOCAL_WRITE,
  IB_ACCESS_ON_DEMAND,
  IMPLICIT_ODP_LENGTH,
} from "../../../rdma/core/ibVerbs.ts";
import {
  fileUfile,
  ibUverbsGetUcontext,
  ibUverbsOpen,
} from "../../../rdma/core/uverbs/uverbsMain.ts";
import { ibvAllocPd, ibvRegMr } from "../../../rdma/core/verbs.ts";
import { mlx5DeviceDma } from "../../../rdma/mlx5/deviceDma.ts";
import { teardownLeaks } from "../../oracles/teardownLeaks.ts";
import type { Scenario } from "../../scenario.ts";
import { instantOdpHost, setupBegins, setupDone, type OdpHost } from "./odpHost.ts";

const PAGES = 2;

export const implicitReleaseVsExit: Scenario = {
  name: "implicit-release-vs-exit",
  description:
    "implicit-release-vs-exit v1: 2-page anon buffer under an implicit ODP MR, zero-cost " +
    "faults and UMRs; nic: write each page; user: join nic, exit (exit_mm, then the " +
    "files: the MR is destroyed); teardown leak check",
  build: (ctx) => instantOdpHost(ctx, setup),
  check: teardownLeaks,
};

function* setup(host: OdpHost): KGen {
  setupBegins(host);
  const { k, proc, dev } = host;
  const mm = proc.mm;
  if (mm === null) return;
  const len = PAGES * PAGE_SIZE;
  const addr = yield* vmMmap(mm, 0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  if (addr < 0) throw new Error(`setup mmap failed: ${addr}`);
  yield* cpuWrite(mm, addr, new Uint8Array(len).fill(0x11));
  // The uverbs file stays in the process's file table, so exit closes it.
  const filp = yield* ibUverbsOpen(host.udev, mm, proc.pid);
  if (typeof filp === "number") throw new Error(`open device failed: ${filp}`);
  proc.files.push(filp);
  const uctx = ibUverbsGetUcontext(fileUfile(filp));
  if (typeof uctx === "number") throw new Error(`get_context failed: ${uctx}`);
  const pd = ibvAllocPd(uctx);
  if (typeof pd === "number") throw new Error(`alloc_pd failed: ${pd}`);
  const access = IB_ACCESS_ON_DEMAND | IB_ACCESS_LOCAL_WRITE;
  const imr = yield* ibvRegMr(pd, 0, IMPLICIT_ODP_LENGTH, access);
  if (typeof imr === "number") throw new Error(`implicit reg_mr failed: ${imr}`);
  setupDone(host);
  const nic = k.spawn("nic", { kind: "device", name: dev.name }, () => nicWrites(host, imr, addr));
  proc.spawnThread("user", () => exitAfter(host, nic));
}

/** The device writes each page once (the first write makes the slot's child). */
function* nicWrites(host: OdpHost, imr: IbMr, addr: number): KGen {
  for (let page = 0; page < PAGES; page++) {
    const va = addr + page * PAGE_SIZE;
    const req = { key: imr.lkey, va, buf: new Uint8Array(16).fill(page), write: true };
    if ((yield* mlx5DeviceDma(host.dev, host.design, req)) < 0) return;
  }
}

/** Once the device is done, the process exits without deregistering. */
function* exitAfter(host: OdpHost, nic: Task): KGen {
  yield* host.k.join(nic);
  yield* exitMm(host.proc);
  yield* exitFiles(host.proc);
}
