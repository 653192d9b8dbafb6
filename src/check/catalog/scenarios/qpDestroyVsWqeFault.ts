/**
 * Catalog scenario: a process sends from an ODP buffer over an RC QP and destroys the
 * QP right after posting. The device's gather of the send faults (a WQE page fault,
 * which names only the QP number); the page-fault worker looks the QP up to read the
 * WQE while the process tears the QP down. The peer QP has a receive posted into the
 * same MR.
 *
 * Models no kernel file: the situation "IB/mlx5: Lock QP during page fault handling"
 * describes (a resource destroyed by another context while its page fault event is
 * handled). The device costs are zero, so only the interleaving decides what the worker
 * finds.
 */
import type { KGen } from "../../../sim/task.ts";
import {
  IB_SEND_SIGNALED,
  ibvDestroyQp,
  ibvPostRecv,
  ibvPostSend,
  type IbQp,
} from "../../../rdma/core/ibQp.ts";
import { PAGE_SIZE } from "../../../mm/page.ts";
import type { Scenario } from "../../scenario.ts";
import { instantOdpHost, setupDone, setupOdpBuffer, type OdpHost } from "./odpHost.ts";
import { connectedQpPair, loopbackLid } from "./qpPair.ts";

export const qpDestroyVsWqeFault: Scenario = {
  name: "qp-destroy-vs-wqe-fault",
  description:
    "qp-destroy-vs-wqe-fault v1: 2-page anon ODP MR, zero-cost faults and UMRs, two RC " +
    "QPs a and b in loopback; user: post a receive on b into page 1, post a 64-byte " +
    "signaled SEND on a from page 0, destroy a",
  build: (ctx) => instantOdpHost(ctx, setup),
};

function* setup(host: OdpHost): KGen {
  const buf = yield* setupOdpBuffer(host, 2);
  const [a, b] = yield* connectedQpPair(buf.pd, loopbackLid(host));
  setupDone(host);
  host.proc.spawnThread("user", () => sendThenDestroy(buf.mr.lkey, buf.addr, a.qp, b.qp));
}

function* sendThenDestroy(lkey: number, addr: number, a: IbQp, b: IbQp): KGen {
  ibvPostRecv(b, { wrId: 1, sgList: [{ addr: addr + PAGE_SIZE, length: 64, lkey }] });
  const wr = {
    wrId: 2,
    opcode: "SEND",
    sgList: [{ addr, length: 64, lkey }],
    sendFlags: IB_SEND_SIGNALED,
  } as const;
  ibvPostSend(a, wr);
  yield "post_send";
  yield* ibvDestroyQp(a);
}
