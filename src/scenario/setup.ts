/**
 * A process's setup: its files, its mmap()s (touched from the CPU when asked), its
 * HMM test device files (mirrors.ts), its ODP registrations (over a buffer, or implicit),
 * its RC QPs and its i915 GEM userptr objects (userptrs.ts), then the connection of the
 * QPs across processes — what a verbs program does before its threads get going.
 *
 * Models no kernel file: it is the program's prologue, calling the modelled syscalls
 * and verbs. A step that fails (an mmap that returns -ENOMEM, a reg_mr the device
 * refuses) is reported as a `scenario_setup_failed` violation: the run is about the
 * threads, and a scenario whose setup fails tests nothing.
 */
import { errnoName } from "../sim/errno.ts";
import type { KGen } from "../sim/task.ts";
import { cpuWrite } from "../mm/access.ts";
import { Inode, kernelWrite, openFile, shmemFileSetup, type File } from "../mm/file.ts";
import {
  MAP_ANONYMOUS,
  MAP_HUGETLB,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  vmMmap,
} from "../mm/mmap.ts";
import type { IbPd } from "../rdma/core/ibPd.ts";
import {
  IB_ACCESS_HUGETLB,
  IB_ACCESS_LOCAL_WRITE,
  IB_ACCESS_ON_DEMAND,
  IB_ACCESS_REMOTE_ATOMIC,
  IB_ACCESS_REMOTE_READ,
  IB_ACCESS_REMOTE_WRITE,
  IMPLICIT_ODP_LENGTH,
} from "../rdma/core/ibVerbs.ts";
import { ibvCreateCq } from "../rdma/core/ibCq.ts";
import { ibvCreateQp, ibvModifyQp, type IbQp } from "../rdma/core/ibQp.ts";
import { ibvAllocPd, ibvRegMr } from "../rdma/core/verbs.ts";
import { fileUfile, ibUverbsGetUcontext, ibUverbsOpen } from "../rdma/core/uverbs/uverbsMain.ts";
import { mlx5PortOf } from "../rdma/mlx5/qp/mlx5Port.ts";
import {
  DEFAULT_ACCESS,
  SCENARIO_PAGE_SIZE as PAGE,
  type BufferSpec,
  type FileSpec,
  type QpSpec,
  type RegistrationSpec,
} from "./schema.ts";
import { bufferFlags } from "./validate.ts";
import { openMirror } from "./mirrors.ts";
import { createUserptr } from "./userptrs.ts";
import { mapsIoMemory, type MrRt, type ProcessRt, type World } from "./world.ts";

const PROT_BITS: Readonly<Record<string, number>> = {
  read: PROT_READ,
  write: PROT_WRITE,
  exec: PROT_EXEC,
};

const MAP_BITS: Readonly<Record<string, number>> = {
  private: MAP_PRIVATE,
  shared: MAP_SHARED,
  anonymous: MAP_ANONYMOUS,
  file: 0,
  hugetlb: MAP_HUGETLB,
};

const ACCESS_BITS: Readonly<Record<string, number>> = {
  LOCAL_WRITE: IB_ACCESS_LOCAL_WRITE,
  REMOTE_WRITE: IB_ACCESS_REMOTE_WRITE,
  REMOTE_READ: IB_ACCESS_REMOTE_READ,
  REMOTE_ATOMIC: IB_ACCESS_REMOTE_ATOMIC,
  ON_DEMAND: IB_ACCESS_ON_DEMAND,
  HUGETLB: IB_ACCESS_HUGETLB,
};

/** Work requests per queue of a QP that does not say. */
export const DEFAULT_QP_DEPTH = 16;

/** The responder access every scenario QP allows; the MR's own access still applies. */
const QP_ACCESS = IB_ACCESS_REMOTE_WRITE | IB_ACCESS_REMOTE_READ | IB_ACCESS_REMOTE_ATOMIC;

function orBits(names: readonly string[], table: Readonly<Record<string, number>>): number {
  return names.reduce((acc, n) => acc | (table[n] ?? 0), 0);
}

/** MAP_* of a list of names. */
export function mapBits(flags: readonly string[]): number {
  return orBits(flags, MAP_BITS);
}

/** PROT_* of a list of names. */
export function protBits(prot: readonly string[]): number {
  return orBits(prot, PROT_BITS);
}

/** Runs `p`'s setup; false (after reporting why) if a step failed. */
export function* setupProcess(world: World, p: ProcessRt): KGen<boolean> {
  const setup = p.spec.setup ?? {};
  for (const f of setup.files ?? []) {
    const file = createFile(world, p, f);
    if (file === null) return fail(world, p, `file ${f.name}: no memory for its contents`);
    p.files.set(f.name, file);
  }
  for (const b of setup.buffers ?? []) {
    const err = yield* mmapBuffer(p, b);
    if (err !== null) return fail(world, p, `buffer ${b.name}: ${err}`);
  }
  for (const m of setup.mirrors ?? []) {
    const err = yield* openMirror(p, m.name);
    if (err !== null) return fail(world, p, `mirror ${m.name}: ${err}`);
  }
  if (!(yield* setupVerbs(world, p))) return false;
  for (const u of setup.userptrs ?? []) {
    const err = yield* createUserptr(world, p, u);
    if (err !== null) return fail(world, p, `userptr ${u.name}: ${err}`);
  }
  return true;
}

/** The device, the registrations and the QPs, when the process uses the device at all. */
function* setupVerbs(world: World, p: ProcessRt): KGen<boolean> {
  const regs = p.spec.setup?.registrations ?? [];
  const qps = p.spec.setup?.qps ?? [];
  if (regs.length === 0 && qps.length === 0 && !threadsRegister(p) && !mapsIoMemory(p.spec)) {
    return true;
  }
  const pd = yield* openPd(p);
  if (typeof pd === "string") return fail(world, p, pd);
  p.pd = pd;
  for (const r of regs) {
    const mr = yield* registerMr(world, p, pd, r);
    if (typeof mr === "number") return fail(world, p, `reg_mr ${r.name} failed: ${errnoName(mr)}`);
  }
  for (const q of qps) {
    const err = yield* createQp(p, pd, q);
    if (err !== null) return fail(world, p, err);
  }
  return true;
}

/** Whether a thread of `p` registers an MR (`reg_mr`): then setup opens the device too. */
function threadsRegister(p: ProcessRt): boolean {
  return (p.spec.threads ?? []).some((t) =>
    t.ops.some((op) => typeof op !== "string" && op.reg_mr !== undefined),
  );
}

/**
 * ibv_reg_mr() over a buffer, or over the whole address space for an implicit MR, from
 * setup or from a thread (`reg_mr`); the MR joins the process's MRs once it is made.
 */
export function* registerMr(
  world: World,
  p: ProcessRt,
  pd: IbPd,
  r: RegistrationSpec,
): KGen<MrRt | number> {
  const access = orBits(r.access ?? DEFAULT_ACCESS, ACCESS_BITS);
  const implicit = r.implicit === true;
  let addr = 0;
  let bytes = IMPLICIT_ODP_LENGTH;
  let offset = 0;
  if (!implicit) {
    const buf = p.buffers.get(r.buffer ?? "");
    if (buf === undefined) throw new Error(`validated scenario lost buffer ${String(r.buffer)}`);
    offset = r.offset ?? 0;
    bytes = r.bytes ?? buf.bytes - offset;
    addr = buf.addr + offset;
  }
  const mr = yield* ibvRegMr(pd, addr, bytes, access);
  if (typeof mr === "number") return mr;
  world.k.event("reg_mr", {
    process: p.name,
    mr: r.name,
    lkey: mr.lkey,
    iova: mr.iova,
    bytes: implicit ? "implicit" : bytes,
  });
  const rt = { mr, pd, buffer: r.buffer ?? "", offset, implicit, deregistered: false };
  p.mrs.set(r.name, rt);
  return rt;
}

/** Its own CQ (room for both queues' completions), then the RC QP. */
function* createQp(p: ProcessRt, pd: IbPd, q: QpSpec): KGen<string | null> {
  const depth = q.depth ?? DEFAULT_QP_DEPTH;
  const cq = ibvCreateCq(pd.uctx, 2 * depth);
  const qp = yield* ibvCreateQp(pd, {
    qpType: "RC",
    sendCq: cq,
    recvCq: cq,
    maxSendWr: depth,
    maxRecvWr: depth,
  });
  if (typeof qp === "number") return `create_qp ${q.name} failed: ${errnoName(qp)}`;
  p.qps.set(q.name, { qp, cq });
  return null;
}

/**
 * After every process's setup: each `connect` brings both QPs to RTS, pointed at each
 * other (what rc_pingpong does once the two sides have swapped LID and QP number).
 */
export function* connectQps(world: World): KGen<boolean> {
  for (const p of world.procs.values()) {
    for (const q of p.spec.setup?.qps ?? []) {
      if (q.connect === undefined) continue;
      const peer = world.procs.get(q.connect.process);
      const a = p.qps.get(q.name);
      const b = peer?.qps.get(q.connect.qp);
      if (peer === undefined || a === undefined || b === undefined) {
        return fail(world, p, `QP ${q.name}: no peer QP ${q.connect.process}/${q.connect.qp}`);
      }
      for (const [from, to, host] of [
        [a, b, peer.host],
        [b, a, p.host],
      ] as const) {
        const timeout = from === a ? q.timeout : peerTimeout(peer, q.connect.qp);
        const lid = mlx5PortOf(host.dev)?.lid ?? 0;
        const ret = yield* connectRc(from.qp, lid, to.qp.qpNum, timeout ?? DEFAULT_ACK_TIMEOUT);
        if (ret < 0) return fail(world, p, `connecting QP ${q.name} failed: ${errnoName(ret)}`);
      }
    }
  }
  return true;
}

/** The local ACK timeout exponent of a QP spec unless it sets one (rc_pingpong's). */
const DEFAULT_ACK_TIMEOUT = 14;

/** The ACK timeout the peer process's QP `name` asks for. */
function peerTimeout(peer: ProcessRt, name: string): number | undefined {
  return peer.spec.setup?.qps?.find((x) => x.name === name)?.timeout;
}

/** RESET → INIT → RTR → RTS towards the peer at `lid`, QP number `qpn`. */
function* connectRc(qp: IbQp, lid: number, qpn: number, timeout: number): KGen<number> {
  if (qp.state === "RESET") {
    const ret = yield* ibvModifyQp(qp, { qpState: "INIT", qpAccessFlags: QP_ACCESS });
    if (ret < 0) return ret;
  }
  if (qp.state === "RTS") return 0;
  const ret = yield* ibvModifyQp(qp, {
    qpState: "RTR",
    destLid: lid,
    destQpNum: qpn,
    rqPsn: 0,
    pathMtu: 1024,
    minRnrTimer: 12,
  });
  if (ret < 0) return ret;
  return yield* ibvModifyQp(qp, {
    qpState: "RTS",
    sqPsn: 0,
    timeout,
    retryCnt: 7,
    rnrRetry: 7,
  });
}

function fail(world: World, p: ProcessRt, message: string): false {
  world.k.report("scenario_setup_failed", `process ${p.name}: ${message}`, { process: p.name });
  return false;
}

function createFile(world: World, p: ProcessRt, f: FileSpec): File | null {
  const size = f.pages * PAGE;
  const phys = p.host.phys;
  if (f.shmem === true) {
    const file = shmemFileSetup(world.k, phys, f.name, size);
    if (f.fill !== undefined && file.inode !== null) {
      const written = kernelWrite(file.inode, 0, new Uint8Array(size).fill(f.fill));
      if (written === null) return null;
    }
    return file;
  }
  const inode = new Inode(phys, f.name, size);
  // A regular file's contents are on its "disk" until someone reads them in.
  if (f.fill !== undefined) {
    for (let i = 0; i < f.pages; i++) inode.backing.set(i, new Uint8Array(PAGE).fill(f.fill));
  }
  return openFile(world.k, inode);
}

function* mmapBuffer(p: ProcessRt, b: BufferSpec): KGen<string | null> {
  const mm = p.proc.mm;
  if (mm === null) return "the process has exited";
  const bytes = b.pages * PAGE;
  const prot = protBits(b.prot ?? ["read", "write"]);
  const flags = orBits(bufferFlags(b), MAP_BITS);
  const file = b.file === undefined ? null : (p.files.get(b.file) ?? null);
  const addr = yield* vmMmap(mm, 0, bytes, prot, flags, file, b.fileOffset ?? 0);
  if (addr < 0) return `mmap failed: ${errnoName(addr)}`;
  p.buffers.set(b.name, { addr, bytes });
  if (b.fill === undefined) return null;
  const w = yield* cpuWrite(mm, addr, new Uint8Array(bytes).fill(b.fill));
  return w.ok ? null : `filling it raised ${w.fault.signal}`;
}

/**
 * open() of the uverbs device file (kept in the process's file table, so exit closes it
 * and hot unplug finds it) and GET_CONTEXT, then ibv_alloc_pd(). On a host whose NIC
 * offers IO memory the process keeps the file and its mmap offsets for `uverbs_mmap`.
 */
function* openPd(p: ProcessRt): KGen<IbPd | string> {
  const mm = p.proc.mm;
  if (mm === null) return "the process has exited";
  const filp = yield* ibUverbsOpen(p.host.udev, mm, p.proc.pid);
  if (typeof filp === "number") return `open of ${p.host.dev.name} failed: ${errnoName(filp)}`;
  p.proc.files.push(filp);
  const ctx = ibUverbsGetUcontext(fileUfile(filp));
  if (typeof ctx === "number") return `get_context failed: ${errnoName(ctx)}`;
  p.ctx = ctx;
  // The driver hands the mmap offsets of its objects to the program with the context.
  const io = p.host.io;
  if (io !== null) p.uverbs = { file: filp, offsets: io.doorbell.offsets(ctx) };
  const pd = ibvAllocPd(ctx);
  if (typeof pd === "number") return `alloc_pd failed: ${errnoName(pd)}`;
  return pd;
}
