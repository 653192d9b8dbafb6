/**
 * The driver's and the hardware's queue pair: the send and receive queues of posted
 * WQEs, the packets waiting for the responder, the responses waiting for the requester,
 * and the transport state (PSNs, the last response for duplicate requests).
 *
 * Models struct mlx5_ib_qp (drivers/infiniband/hw/mlx5/mlx5_ib.h) together with the
 * hardware QP context it drives. Each QP runs two device tasks (requester.ts and
 * responder.ts) that process their queues in order.
 */
import { WaitQueueHead } from "../../../sim/sync/waitQueue.ts";
import type { Task } from "../../../sim/task.ts";
import type { IbWc, IbWcOpcode, IbWcStatus } from "../../core/ibCq.ts";
import type { IbPd } from "../../core/ibPd.ts";
import { IbQp, type IbQpInitAttr, type IbRecvWr, type IbSendWr } from "../../core/ibQp.ts";
import type { Mlx5Port } from "./mlx5Port.ts";
import type { Packet } from "./packet.ts";
import type { Mlx5CoreRsc } from "./qpTable.ts";

export class Mlx5Qp extends IbQp {
  /** Posted send WQEs; the head is the one the requester works on. */
  readonly sq: IbSendWr[] = [];
  /** Posted receive WQEs. */
  readonly rq: IbRecvWr[] = [];
  /** Requests that arrived for the responder, in order. */
  readonly inbound: Packet[] = [];
  /** ACKs, NAKs and read / atomic responses for the requester. */
  readonly responses: Packet[] = [];
  /** Doorbell: work for the requester (idle wait: a QP without work is not stuck). */
  readonly sqEvent: WaitQueueHead;
  readonly inEvent: WaitQueueHead;
  readonly respEvent: WaitQueueHead;
  /** A page fault of this QP's WQEs was resumed, or the QP destroyed (deviceDma.ts). */
  readonly pfEvent: WaitQueueHead;
  /** Its entry in the mlx5 core's QP table (qpTable.ts), once created. */
  rsc: Mlx5CoreRsc | null = null;
  /** The next PSN the requester uses, and the one the responder expects. */
  nextPsn = 0;
  expectedPsn = 0;
  /** The responder's answer to the last request, resent for a duplicate. */
  lastResponse: Packet | null = null;
  destroyed = false;
  requester: Task | null = null;
  responder: Task | null = null;

  constructor(
    readonly port: Mlx5Port,
    pd: IbPd,
    qpNum: number,
    init: IbQpInitAttr,
  ) {
    super(pd, qpNum, init);
    const k = pd.uctx.k;
    this.sqEvent = new WaitQueueHead(k, `sq_doorbell(qp ${qpNum})`, true);
    this.inEvent = new WaitQueueHead(k, `rx(qp ${qpNum})`, true);
    this.respEvent = new WaitQueueHead(k, `ack_wait(qp ${qpNum})`);
    this.pfEvent = new WaitQueueHead(k, `pf_resume(qp ${qpNum})`);
  }

  /** A packet for this QP arrived from the port. */
  deliver(pkt: Packet): void {
    if (this.destroyed) return;
    if (pkt.body.kind === "ack" || pkt.body.kind === "read_resp") {
      this.responses.push(pkt);
      this.respEvent.wakeUp();
    } else {
      this.inbound.push(pkt);
      this.inEvent.wakeUp();
    }
  }

  /** Writes a send-side CQE. */
  completeSend(wr: IbSendWr, status: IbWcStatus, byteLen = 0): void {
    this.init.sendCq.push({
      wrId: wr.wrId,
      status,
      opcode: sendWcOpcode(wr),
      byteLen,
      qpNum: this.qpNum,
      srcQp: 0,
    });
  }

  /** Writes a receive CQE. */
  completeRecv(wr: IbRecvWr, status: IbWcStatus, byteLen: number, srcQp: number): void {
    const wc: IbWc = { wrId: wr.wrId, status, opcode: "RECV", byteLen, qpNum: this.qpNum, srcQp };
    this.init.recvCq.push(wc);
  }

  /**
   * The QP enters the error state: outstanding receives are flushed now, the send queue
   * by the requester as it drains it.
   */
  moveToError(): void {
    if (this.state === "ERR") return;
    this.state = "ERR";
    this.pd.uctx.k.event("qp_error", { qpn: this.qpNum });
    for (const wr of this.rq.splice(0)) this.completeRecv(wr, "WR_FLUSH_ERR", 0, 0);
    this.sqEvent.wakeUp();
    this.respEvent.wakeUp();
  }
}

function sendWcOpcode(wr: IbSendWr): IbWcOpcode {
  switch (wr.opcode) {
    case "SEND":
      return "SEND";
    case "RDMA_WRITE":
      return "RDMA_WRITE";
    case "RDMA_READ":
      return "RDMA_READ";
    case "ATOMIC_CMP_AND_SWP":
      return "COMP_SWAP";
    case "ATOMIC_FETCH_AND_ADD":
      return "FETCH_ADD";
  }
}
