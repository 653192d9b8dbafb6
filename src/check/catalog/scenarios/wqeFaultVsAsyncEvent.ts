/**
 * Catalog scenario: a process RDMA-writes from an ODP buffer over an RC QP into its own
 * peer QP's MR, which does not grant remote write. The requester's gather faults (a WQE
 * page fault: the worker takes a reference on the QP through the mlx5 core's QP table);
 * the responder meets an access violation and the device raises the peer QP's
 * WQ_ACCESS_ERROR event, whose interrupt handler looks the QP up in the same table, in
 * hard IRQ context. Lockdep judges the two uses of the table's lock.
 *
 * Models no kernel file: a program with a wrong rkey permission, as good as any to get
 * both users of qp_table->lock into one run ("net/mlx5: Take lock with IRQs disabled to
 * avoid deadlock" was found by lockdep in testing).
 */
import type { KGen } from "../../../sim/task.ts";
import { IB_SEND_SIGNALED, ibvPostSend, type IbQp } from "../../../rdma/core/ibQp.ts";
import { IB_ACCESS_LOCAL_WRITE, IB_ACCESS_ON_DEMAND } from "../../../rdma/core/ibVerbs.ts";
import { ibvRegMr } from "../../../rdma/core/verbs.ts";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, vmMmap } from "../../../mm/mmap.ts";
import { PAGE_SIZE } from "../../../mm/page.ts";
import type { Scenario } from "../../scenario.ts";
import { instantOdpHost, setupDone, setupOdpBuffer, type OdpHost } from "./odpHost.ts";
import { connectedQpPair, loopbackLid } from "./qpPair.ts";

export const wqeFaultVsAsyncEvent: Scenario = {
  name: "wqe-fault-vs-async-event",
  description:
    "wqe-fault-vs-async-event v1: 1-page anon ODP MR (source) and a 1-page ODP MR " +
    "without REMOTE_WRITE (target), zero-cost faults and UMRs, two RC QPs a and b in " +
    "loopback; user: post a 64-byte signaled RDMA WRITE on a from the source to b's " +
    "target",
  build: (ctx) => instantOdpHost(ctx, setup),
};

function* setup(host: OdpHost): KGen {
  const mm = host.proc.mm;
  if (mm === null) return;
  const src = yield* setupOdpBuffer(host, 1);
  const dst = yield* vmMmap(mm, 0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  if (dst < 0) throw new Error(`setup mmap failed: ${dst}`);
  const target = yield* ibvRegMr(
    src.pd,
    dst,
    PAGE_SIZE,
    IB_ACCESS_ON_DEMAND | IB_ACCESS_LOCAL_WRITE,
  );
  if (typeof target === "number") throw new Error(`reg_mr failed: ${target}`);
  const [a] = yield* connectedQpPair(src.pd, loopbackLid(host));
  setupDone(host);
  host.proc.spawnThread("user", () => writeTo(a.qp, src.mr.lkey, src.addr, target.rkey, dst));
}

/** One RDMA WRITE the target MR does not allow. */
function* writeTo(a: IbQp, lkey: number, addr: number, rkey: number, remote: number): KGen {
  ibvPostSend(a, {
    wrId: 1,
    opcode: "RDMA_WRITE",
    sgList: [{ addr, length: 64, lkey }],
    sendFlags: IB_SEND_SIGNALED,
    remoteAddr: remote,
    rkey,
  });
  yield "post_send";
}
