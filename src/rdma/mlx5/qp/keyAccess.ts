/**
 * The hardware's checks of a key before it touches memory, and the gather / scatter of
 * a WQE's scatter/gather list through the faulting DMA path.
 *
 * Models the mkey context checks of the HCA (the key exists, belongs to the QP's PD,
 * grants the access, and covers the range; see the mkey context's access bits in
 * include/linux/mlx5/mlx5_ifc.h) followed by the data movement that, for ODP keys, may
 * raise page faults (mlx5DeviceDma). A failed check is a protection error: local for the
 * requester's own keys (LOC_PROT_ERR), remote for an rkey (a NAK, REM_ACCESS_ERR).
 */
import type { KGen } from "../../../sim/task.ts";
import type { IbWrSge } from "../../core/ibQp.ts";
import { IB_ACCESS_LOCAL_WRITE } from "../../core/ibVerbs.ts";
import { mlx5DeviceDma } from "../deviceDma.ts";
import type { Mlx5IbMr } from "../mlx5IbMr.ts";
import type { RdmaOp } from "../rdmaPfault.ts";
import type { Mlx5Qp } from "./mlx5Qp.ts";

/** The MR behind `key` if the QP may use it for [va, va + len) with `access` bits. */
function usableMr(qp: Mlx5Qp, key: number, va: number, len: number): Mlx5IbMr | null {
  const mr = qp.port.dev.mrs.get(key);
  if (mr === undefined || mr.freed || mr.pd !== qp.pd) return null;
  if (va < mr.iova || va + len > mr.iova + mr.length) return null;
  return mr;
}

/** A local key check: any valid key may be read; writing needs IB_ACCESS_LOCAL_WRITE. */
export function localKeyOk(qp: Mlx5Qp, sge: IbWrSge, write: boolean): boolean {
  const mr = usableMr(qp, sge.lkey, sge.addr, sge.length);
  if (mr === null) return false;
  return !write || (mr.access & IB_ACCESS_LOCAL_WRITE) !== 0;
}

/** An rkey check: the MR and the QP's qp_access_flags must both grant `need`. */
export function remoteKeyOk(
  qp: Mlx5Qp,
  rkey: number,
  va: number,
  len: number,
  need: number,
): boolean {
  const mr = usableMr(qp, rkey, va, len);
  if (mr === null) return false;
  return (mr.access & need) === need && (qp.qpAccessFlags & need) === need;
}

/**
 * Moves `buf` to or from [va, va + buf.length) of `key`; 0 or the fatal errno. A
 * responder's access names the RDMA operation it is part of (`rdma`).
 */
export function* qpDma(
  qp: Mlx5Qp,
  key: number,
  va: number,
  buf: Uint8Array,
  write: boolean,
  rdma?: RdmaOp,
): KGen<number> {
  const port = qp.port;
  // A responder's RDMA access faults as an RDMA fault; any other is a fault on a WQE.
  const req = rdma === undefined ? { key, va, buf, write, wqe: qp } : { key, va, buf, write, rdma };
  return yield* mlx5DeviceDma(port.dev, port.dmaDesign, req);
}

/** Gathers a WQE's local buffers (a requester's DMA read); null on a protection error. */
export function* gatherSgl(qp: Mlx5Qp, sgList: readonly IbWrSge[]): KGen<Uint8Array | null> {
  let total = 0;
  for (const sge of sgList) total += sge.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const sge of sgList) {
    if (!localKeyOk(qp, sge, false)) return null;
    const ret = yield* qpDma(qp, sge.lkey, sge.addr, out.subarray(off, off + sge.length), false);
    if (ret !== 0) return null;
    off += sge.length;
  }
  return out;
}

export type ScatterResult = "ok" | "len" | "prot";

/**
 * Scatters `data` into a WQE's local buffers (a DMA write), in list order, starting
 * `at` bytes in (a later packet of a multi-packet message lands after the earlier ones).
 */
export function* scatterSgl(
  qp: Mlx5Qp,
  sgList: readonly IbWrSge[],
  data: Uint8Array,
  at = 0,
): KGen<ScatterResult> {
  let room = 0;
  for (const sge of sgList) room += sge.length;
  if (at + data.length > room) return "len";
  let off = 0;
  let skip = at;
  for (const sge of sgList) {
    if (off >= data.length) break;
    if (skip >= sge.length) {
      skip -= sge.length;
      continue;
    }
    const n = Math.min(sge.length - skip, data.length - off);
    if (!localKeyOk(qp, sge, true)) return "prot";
    const dst = sge.addr + skip;
    const ret = yield* qpDma(qp, sge.lkey, dst, data.subarray(off, off + n), true);
    if (ret !== 0) return "prot";
    off += n;
    skip = 0;
  }
  return "ok";
}
