/**
 * Running a scenario's threads: each thread is a task that performs its operations in
 * order (repeated `repeat` times), calling the modelled syscalls, verbs and device
 * accesses.
 *
 * Models no kernel file: these are the user programs, kernel daemons and NIC work of
 * the scenario. Every operation is a trace operation (`NAME:begin` / `NAME:end` events)
 * so it becomes a slice in Perfetto. A thread stops when its process has exited, when
 * a CPU access raises a signal it did not expect (the process would die), when a
 * device access fails fatally (the QP goes to the error state), when a completion
 * does not come or comes with the wrong status, or when an HMM test device command
 * returns another error than the one expected (mirrors.ts).
 */
import { EINVAL, errnoName } from "../sim/errno.ts";
import type { Task, KGen } from "../sim/task.ts";
import type { TraceFieldValue } from "../sim/trace.ts";
import { cpuRead, cpuWrite, type CpuFault } from "../mm/access.ts";
import {
  MADV_DOFORK,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MADV_NORMAL,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MADV_WILLNEED,
  doMadvise,
} from "../mm/madvise.ts";
import { migrateRange } from "../mm/migrate.ts";
import { MAP_FIXED, MAP_SHARED, PROT_READ, PROT_WRITE, vmMmap, vmMunmap } from "../mm/mmap.ts";
import type { Inode } from "../mm/file.ts";
import { filemapWriteAndWait } from "../mm/pageWriteback.ts";
import { invalidateMappingPages } from "../mm/truncate.ts";
import { mmget, mmgrab, mmdrop, mmput, type MmStruct } from "../mm/mmStruct.ts";
import { doMprotect } from "../mm/mprotect.ts";
import { MREMAP_MAYMOVE, doMremap } from "../mm/mremap.ts";
import { oomReapTask } from "../mm/oomReaper.ts";
import { exitFiles, exitMm, forkProcess, getTaskMm } from "../mm/process.ts";
import { IB_UVERBS_ADVISE_MR_FLAG_FLUSH, type IbAdviseMrAdvice } from "../rdma/core/ibVerbs.ts";
import { ibvWaitCompletions } from "../rdma/core/ibCq.ts";
import {
  IB_SEND_SIGNALED,
  ibvDestroyQp,
  ibvPostRecv,
  ibvPostSend,
  type IbWrOpcode,
} from "../rdma/core/ibQp.ts";
import { ibvAdviseMr, ibvDeregMr } from "../rdma/core/verbs.ts";
import { mlx5IbRemove } from "../rdma/mlx5/mlx5Uverbs.ts";
import { mlx5DeviceDma } from "../rdma/mlx5/deviceDma.ts";
import { mlx5MkeyAfter } from "../rdma/mlx5/mlx5IbDev.ts";
import { compareBytes, hasBytes, specBytes, type ByteSpec } from "./data.ts";
import { mirrorClose, mirrorCommand } from "./mirrors.ts";
import { toOp, type Op, type ThreadKind } from "./opSpec.ts";
import { SCENARIO_PAGE_SIZE as PAGE, type RegistrationSpec, type ThreadSpec } from "./schema.ts";
import { mapBits, protBits, registerMr } from "./setup.ts";
import {
  eventOf,
  newProcessRt,
  opPart,
  threadPart,
  type BufferRt,
  type MrRt,
  type ProcessRt,
  type QpRt,
  type World,
} from "./world.ts";

const ADVICE: Readonly<Record<string, number>> = {
  dontneed: MADV_DONTNEED,
  free: MADV_FREE,
  willneed: MADV_WILLNEED,
  dontfork: MADV_DONTFORK,
  dofork: MADV_DOFORK,
  hugepage: MADV_HUGEPAGE,
  nohugepage: MADV_NOHUGEPAGE,
  normal: MADV_NORMAL,
  random: MADV_RANDOM,
  sequential: MADV_SEQUENTIAL,
};

const ADVISE_MR: Readonly<Record<string, IbAdviseMrAdvice>> = {
  prefetch: "PREFETCH",
  prefetch_write: "PREFETCH_WRITE",
  prefetch_no_fault: "PREFETCH_NO_FAULT",
};

/** Where an operation sits, for messages. */
interface Site {
  readonly world: World;
  readonly p: ProcessRt;
  readonly thread: string;
  readonly index: number;
}

/** What an operation tells its thread: go on, or stop. */
type Next = "continue" | "stop";

/** Spawns every thread of `p` as a task of the right kind. */
export function spawnThreads(world: World, p: ProcessRt): void {
  for (const t of p.spec.threads ?? []) spawnThread(world, p, t);
}

function spawnThread(world: World, p: ProcessRt, t: ThreadSpec): Task {
  const kind: ThreadKind = t.kind ?? "user";
  const body = (): KGen => runThread(world, p, t);
  if (kind === "user") return p.proc.spawnThread(t.name, body);
  if (kind === "nic") return world.k.spawn(t.name, { kind: "device", name: p.host.dev.name }, body);
  return world.k.spawn(t.name, { kind: "host", name: p.host.name }, body);
}

function* runThread(world: World, p: ProcessRt, t: ThreadSpec): KGen {
  if (world.omitted.has(threadPart(p.name, t.name))) return;
  const ops = t.ops.map(toOp);
  for (let round = 0; round < (t.repeat ?? 1); round++) {
    for (const [index, op] of ops.entries()) {
      if (world.omitted.has(opPart(p.name, t.name, index))) continue;
      const site = { world, p, thread: t.name, index };
      if ((yield* runOp(site, op)) === "stop") return;
    }
  }
}

function fieldsOf(args: object): Record<string, TraceFieldValue> {
  const out: Record<string, TraceFieldValue> = {};
  for (const [key, value] of Object.entries(args)) {
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean")
      out[key] = value;
  }
  return out;
}

function* runOp(site: Site, op: Op): KGen<Next> {
  const k = site.world.k;
  const args = typeof op.args === "object" ? op.args : {};
  const event: Record<string, TraceFieldValue> =
    typeof op.args === "string" ? { event: op.args } : {};
  k.event(`${op.name}:begin`, { process: site.p.name, ...event, ...fieldsOf(args) });
  const result = yield* perform(site, op);
  k.event(`${op.name}:end`, { ret: result.ret });
  if (CALL_OPS.has(op.name)) judgeCall(site, op, result.ret);
  return result.next;
}

/** The system calls and verbs whose return a scenario may expect (`expect: { error }`). */
const CALL_OPS: ReadonlySet<string> = new Set([
  "munmap",
  "mprotect",
  "madvise",
  "migrate",
  "mremap",
  "mmap",
  "writeback",
  "drop_caches",
  "fork",
  "reg_mr",
  "dereg_mr",
  "destroy_qp",
  "advise_mr",
  "post_recv",
  "post_send",
  "uverbs_mmap",
]);

/**
 * A call's return against `expect.error` (default none). An error nobody expected is an
 * `unexpected_error` violation (unless an injected fault may explain it); an expected
 * error that did not come is `expectation_failed`.
 */
function judgeCall(site: Site, op: Op, ret: TraceFieldValue): void {
  const args = op.args as { expect?: { error?: string | undefined } | undefined };
  const want = args.expect?.error ?? "none";
  const got = typeof ret === "string" && ret.startsWith("-E") ? ret : null;
  const k = site.world.k;
  const details = { site: where(site), process: site.p.name, ret };
  if (want === "any" || (got !== null && got === `-${want}`)) return;
  if (got === null) {
    if (want === "none") return;
    k.report(
      "expectation_failed",
      `${where(site)} ${op.name}: expected -${want}, it succeeded`,
      details,
    );
    return;
  }
  if (k.faultsInjected > 0) return;
  const expected = want === "none" ? "" : `, expected -${want}`;
  k.report("unexpected_error", `${where(site)} ${op.name} failed: ${got}${expected}`, details);
}

interface Outcome {
  readonly ret: TraceFieldValue;
  readonly next: Next;
}

const ok: Outcome = { ret: 0, next: "continue" };

function done(ret: number, next: Next = "continue"): Outcome {
  return { ret: ret < 0 ? errnoName(ret) : ret, next };
}

function* perform(site: Site, op: Op): KGen<Outcome> {
  if (op.name === "sleep_us") {
    yield* site.world.k.sleep(Math.round(op.args * 1000));
    return ok;
  }
  if (op.name === "signal") {
    eventOf(site.world, op.args).completeAll();
    return ok;
  }
  if (op.name === "wait") {
    yield* eventOf(site.world, op.args).wait();
    return ok;
  }
  if (op.name === "dma_read" || op.name === "dma_write") return yield* deviceAccess(site, op);
  if (op.name === "oom_reap") return yield* oomReap(site);
  if (op.name === "device_remove") return yield* deviceRemove(site);
  const mm = site.p.proc.mm;
  if (mm === null) {
    site.world.k.event("thread stops: its process has exited", { process: site.p.name });
    return { ret: "exited", next: "stop" };
  }
  if (op.name === "exit") return yield* performOnMm(site, mm, op);
  // A CLONE_VM thread holds its own mm_users reference (copy_mm() takes one per thread),
  // so a sibling's exit cannot free the mm under a system call this thread is in.
  // Simplification: the reference is held per operation, and the last one out runs
  // exit_mmap(); the file table is still closed by the exiting thread itself.
  mmget(mm);
  try {
    return yield* performOnMm(site, mm, op);
  } finally {
    yield* mmput(mm);
  }
}

/** The operations that act on the process's address space or files. */
type MmOp = Exclude<
  Op,
  { name: "sleep_us" | "signal" | "wait" | "dma_read" | "dma_write" | "oom_reap" | "device_remove" }
>;

function* performOnMm(site: Site, mm: MmStruct, op: MmOp): KGen<Outcome> {
  switch (op.name) {
    case "cpu_read":
    case "cpu_write":
      return yield* cpuAccess(site, mm, op);
    case "munmap":
    case "mprotect":
    case "madvise":
    case "migrate":
      return yield* rangeSyscall(site, mm, op);
    case "mremap":
      return yield* mremap(site, mm, op.args);
    case "mmap":
      return yield* mmapFixed(site, mm, op.args);
    case "writeback":
      return done(yield* filemapWriteAndWait(inodeOf(site, op.args.file)));
    case "drop_caches":
      return done(yield* invalidateMappingPages(inodeOf(site, op.args.file)));
    case "destroy_qp":
      return done(yield* ibvDestroyQp(qpOf(site, op.args.qp).qp));
    case "fork":
      return yield* fork(site, op.args.child);
    case "exit":
      yield* exitMm(site.p.proc);
      yield* exitFiles(site.p.proc);
      return { ret: 0, next: "stop" };
    case "reg_mr":
      return yield* regMr(site, op.args);
    case "dereg_mr":
      return yield* deregMr(site, op.args.mr);
    case "advise_mr":
      return yield* adviseMr(site, op.args);
    case "post_recv":
    case "post_send": {
      const out = postWr(site, op);
      // The doorbell is rung: the device may take the WQE before the program goes on.
      yield "doorbell";
      return out;
    }
    case "poll_cq":
      return yield* pollCq(site, op.args);
    case "mirror_read":
    case "mirror_write":
    case "mirror_snapshot":
      return yield* mirrorCommand({ world: site.world, p: site.p, where: where(site) }, op);
    case "mirror_close":
      return yield* mirrorClose(site.p, op.args.mirror);
    case "uverbs_mmap":
      return yield* uverbsMmap(site, mm, op.args);
  }
}

function bufferOf(site: Site, name: string): BufferRt {
  const buf = site.p.buffers.get(name);
  if (buf === undefined) throw new Error(`validated scenario lost buffer ${name}`);
  return buf;
}

/**
 * The buffer `name` of an operation that may name a uverbs mapping (cpu_read, cpu_write,
 * munmap), or null for a mapping the program does not have: its uverbs_mmap failed or
 * has not returned, so the program holds MAP_FAILED (validation leaves no other name
 * missing).
 */
function mappedBufferOf(site: Site, name: string): BufferRt | null {
  const buf = site.p.buffers.get(name);
  if (buf === undefined) {
    site.world.k.event("no such mapping: its uverbs_mmap failed or has not returned", {
      process: site.p.name,
      buffer: name,
    });
  }
  return buf ?? null;
}

/** MAP_FAILED, the address a program holds for a mapping it did not get. */
const MAP_FAILED = -1;

/**
 * The MR `name` of the process, or null when a thread registers it (`reg_mr`) and has
 * not yet: the program has no handle or key for it, so the operation fails with -EINVAL
 * without reaching the kernel (traced, and judged by the operation's `expect`).
 */
function mrOf(site: Site, name: string, p: ProcessRt = site.p): MrRt | null {
  const mr = p.mrs.get(name);
  if (mr !== undefined) return mr;
  site.world.k.event("no such MR yet: its reg_mr has not returned", { process: p.name, mr: name });
  return null;
}

/**
 * Where offsets into an MR start: at the buffer named (its current address; an implicit
 * MR is always addressed so), else at the MR's iova; and how far they may go.
 */
function addressing(
  site: Site,
  mr: MrRt,
  buffer: string | undefined,
  p: ProcessRt = site.p,
): { base: number; size: number } {
  if (buffer === undefined) return { base: mr.mr.iova, size: mr.mr.length };
  const buf = p.buffers.get(buffer);
  if (buf === undefined) throw new Error(`validated scenario lost buffer ${buffer}`);
  return { base: buf.addr, size: buf.bytes };
}

function where(site: Site): string {
  return `${site.p.name}/${site.thread} op ${site.index}`;
}

function* cpuAccess(
  site: Site,
  mm: MmStruct,
  op: Extract<Op, { name: "cpu_read" | "cpu_write" }>,
): KGen<Outcome> {
  const buf = mappedBufferOf(site, op.args.buffer);
  const expect: ByteSpec & { signal?: string | undefined } = op.args.expect ?? {};
  // A load or store through MAP_FAILED: nothing is mapped there.
  if (buf === null)
    return signalOutcome(site, { signal: "SIGSEGV", addr: MAP_FAILED }, expect.signal);
  const addr = buf.addr + (op.args.offset ?? 0);
  if (op.name === "cpu_write") {
    const r = yield* cpuWrite(mm, addr, specBytes(op.args));
    return r.ok
      ? signalOutcome(site, null, expect.signal)
      : signalOutcome(site, r.fault, expect.signal);
  }
  const r = yield* cpuRead(mm, addr, op.args.bytes);
  if (!r.ok) return signalOutcome(site, r.fault, expect.signal);
  if (hasBytes(expect)) checkData(site, "cpu_read", expect, r.data);
  return signalOutcome(site, null, expect.signal);
}

/** Judges a CPU access's signal (or its absence) against what the op expected. */
function signalOutcome(site: Site, fault: CpuFault | null, expected = "none"): Outcome {
  const k = site.world.k;
  if (fault === null) {
    if (expected !== "none" && expected !== "any") {
      k.report("expectation_failed", `${where(site)}: expected ${expected}, the access succeeded`, {
        site: where(site),
        process: site.p.name,
      });
    }
    return ok;
  }
  const details = {
    site: where(site),
    process: site.p.name,
    signal: fault.signal,
    addr: fault.addr,
  };
  if (expected === "any" || expected === fault.signal) {
    k.event(`${fault.signal} (expected)`, details);
    return { ret: fault.signal, next: "continue" };
  }
  const message = `${where(site)}: ${fault.signal} at 0x${fault.addr.toString(16)}`;
  if (expected === "none") k.report("unexpected_signal", message, details);
  else k.report("expectation_failed", `${message}, expected ${expected}`, details);
  return { ret: fault.signal, next: "stop" };
}

function checkData(site: Site, what: string, spec: ByteSpec, got: Uint8Array): void {
  const mismatch = compareBytes(spec, specBytes(spec, got.length), got);
  if (mismatch === null) return;
  site.world.k.report("data_mismatch", `${where(site)} ${what}: ${mismatch}`, {
    site: where(site),
    process: site.p.name,
  });
}

function* rangeSyscall(
  site: Site,
  mm: MmStruct,
  op: Extract<Op, { name: "munmap" | "mprotect" | "madvise" | "migrate" }>,
): KGen<Outcome> {
  if (op.name === "munmap" && site.p.buffers.get(op.args.buffer) === undefined) {
    mappedBufferOf(site, op.args.buffer);
    return done(EINVAL); // munmap(MAP_FAILED, ...): the address is not page-aligned
  }
  const buf = bufferOf(site, op.args.buffer);
  const offset = op.args.offset ?? 0;
  const start = buf.addr + offset;
  const len = op.args.pages === undefined ? buf.bytes - offset : op.args.pages * PAGE;
  switch (op.name) {
    case "munmap":
      return done(yield* vmMunmap(mm, start, len));
    case "mprotect":
      return done(yield* doMprotect(mm, start, len, protBits(op.args.prot)));
    case "madvise":
      return done(yield* doMadvise(mm, start, len, ADVICE[op.args.advice] ?? -1));
    case "migrate":
      return yield* migrate(site, start, len);
  }
}

/** move_pages from the process itself, or NUMA balancing from a kernel thread. */
function* migrate(site: Site, start: number, len: number): KGen<Outcome> {
  const mm = getTaskMm(site.p.proc);
  if (mm === null) return { ret: "exited", next: "continue" };
  const moved = yield* migrateRange(mm, start, start + len);
  yield* mmput(mm);
  return done(moved);
}

function* mremap(
  site: Site,
  mm: MmStruct,
  args: { buffer: string; pages: number; maymove?: boolean | undefined },
): KGen<Outcome> {
  const buf = bufferOf(site, args.buffer);
  const flags = (args.maymove ?? true) ? MREMAP_MAYMOVE : 0;
  const ret = yield* doMremap(mm, buf.addr, buf.bytes, args.pages * PAGE, flags);
  if (ret >= 0) {
    buf.addr = ret;
    buf.bytes = args.pages * PAGE;
  }
  return { ret: ret < 0 ? errnoName(ret) : `0x${ret.toString(16)}`, next: "continue" };
}

function* fork(site: Site, childName: string): KGen<Outcome> {
  const { world, p } = site;
  const child = yield* forkProcess(p.proc);
  if (typeof child === "number") return done(child);
  const spec = world.spec.processes.find((x) => x.name === childName);
  if (spec === undefined) throw new Error(`validated scenario lost process ${childName}`);
  const rt = newProcessRt(spec, p.host, child);
  for (const [name, buf] of p.buffers) rt.buffers.set(name, { ...buf });
  p.host.io?.oracle.watchProcess(child);
  world.procs.set(childName, rt);
  spawnThreads(world, rt);
  return { ret: child.pid, next: "continue" };
}

/** mmap(MAP_FIXED) of a new mapping over a range of a buffer; the buffer stays put. */
function* mmapFixed(
  site: Site,
  mm: MmStruct,
  args: Extract<Op, { name: "mmap" }>["args"],
): KGen<Outcome> {
  const buf = bufferOf(site, args.buffer);
  const offset = args.offset ?? 0;
  const len = args.pages === undefined ? buf.bytes - offset : args.pages * PAGE;
  const prot = protBits(args.prot ?? ["read", "write"]);
  const names = args.flags ?? ["private", args.file === undefined ? "anonymous" : "file"];
  const file = args.file === undefined ? null : (site.p.files.get(args.file) ?? null);
  const at = buf.addr + offset;
  const flags = mapBits(names) | MAP_FIXED;
  return done(yield* vmMmap(mm, at, len, prot, flags, file, args.fileOffset ?? 0));
}

/**
 * mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, uverbs_fd, offset) of one object
 * of the process's device context, at the offset the driver gave for it: on success the
 * mapping becomes the process's buffer `name` (one page).
 */
function* uverbsMmap(
  site: Site,
  mm: MmStruct,
  args: Extract<Op, { name: "uverbs_mmap" }>["args"],
): KGen<Outcome> {
  const fd = site.p.uverbs;
  if (fd === null) throw new Error(`validated scenario lost the uverbs file of ${site.p.name}`);
  const prot = PROT_READ | PROT_WRITE;
  const addr = yield* vmMmap(mm, 0, PAGE, prot, MAP_SHARED, fd.file, fd.offsets[args.object]);
  if (addr < 0) return done(addr);
  site.p.buffers.set(args.name, { addr, bytes: PAGE });
  return { ret: `0x${addr.toString(16)}`, next: "continue" };
}

/** The inode of a file of the process's setup. */
function inodeOf(site: Site, name: string): Inode {
  const inode = site.p.files.get(name)?.inode ?? null;
  if (inode === null) throw new Error(`validated scenario lost file ${name}`);
  return inode;
}

/** ibv_reg_mr() from a thread, in the process's protection domain (setup opened it). */
function* regMr(site: Site, spec: RegistrationSpec): KGen<Outcome> {
  const pd = site.p.pd;
  if (pd === null) throw new Error(`validated scenario lost the PD of ${site.p.name}`);
  const mr = yield* registerMr(site.world, site.p, pd, spec);
  return typeof mr === "number"
    ? done(mr)
    : { ret: `lkey 0x${mr.mr.lkey.toString(16)}`, next: "continue" };
}

function* deregMr(site: Site, name: string): KGen<Outcome> {
  const mr = mrOf(site, name);
  // The handle is gone after the first dereg: uverbs would not find it again.
  if (mr === null || mr.deregistered) return done(EINVAL);
  mr.deregistered = true;
  return done(yield* ibvDeregMr(mr.mr));
}

function* adviseMr(site: Site, args: Extract<Op, { name: "advise_mr" }>["args"]): KGen<Outcome> {
  const mr = mrOf(site, args.mr);
  if (mr === null) return done(EINVAL);
  const offset = args.offset ?? 0;
  const { base, size } = addressing(site, mr, args.buffer);
  const length = args.bytes ?? size - offset;
  const advice = ADVISE_MR[args.advice ?? "prefetch_write"] ?? "PREFETCH_WRITE";
  const flags = args.flush === true ? IB_UVERBS_ADVISE_MR_FLAG_FLUSH : 0;
  // nextKey: a key guessed from this MR's, which the device may not have handed out yet.
  const lkey = args.nextKey === undefined ? mr.mr.lkey : mlx5MkeyAfter(mr.mr.lkey, args.nextKey);
  return done(yield* ibvAdviseMr(mr.pd, advice, flags, [{ addr: base + offset, length, lkey }]));
}

/** The OOM reaper holds mm_count (mmgrab), not mm_users, while it reaps. */
function* oomReap(site: Site): KGen<Outcome> {
  const mm = site.p.proc.mm;
  if (mm === null) return { ret: "exited", next: "continue" };
  mmgrab(mm);
  const reaped = yield* oomReapTask(mm);
  mmdrop(mm);
  return { ret: reaped, next: "continue" };
}

/** The NIC touches memory through the MR's key (still used after a dereg: a late WQE). */
function* deviceAccess(
  site: Site,
  op: Extract<Op, { name: "dma_read" | "dma_write" }>,
): KGen<Outcome> {
  const expected = op.args.expect?.error ?? "none";
  const mr = mrOf(site, op.args.mr);
  if (mr === null) return dmaFailed(site, op.name, EINVAL, expected);
  const offset = op.args.offset ?? 0;
  const { base } = addressing(site, mr, op.args.buffer);
  const write = op.name === "dma_write";
  const buf = write ? specBytes(op.args) : new Uint8Array(op.args.bytes);
  const dev = site.p.host.dev;
  const ret = yield* mlx5DeviceDma(dev, site.world.design, {
    key: mr.mr.lkey,
    va: base + offset,
    buf,
    write,
  });
  if (ret < 0) return dmaFailed(site, op.name, ret, expected);
  if (expected !== "none" && expected !== "any") {
    site.world.k.report(
      "expectation_failed",
      `${where(site)} ${op.name}: expected -${expected}, the access succeeded`,
      { site: where(site), process: site.p.name },
    );
    return ok;
  }
  if (op.name === "dma_read" && op.args.expect !== undefined && hasBytes(op.args.expect)) {
    checkData(site, "dma_read", op.args.expect, buf);
  }
  return ok;
}

/**
 * A NIC access that failed: its QP is in error, so the thread stops. Expected (`any` or
 * this errno), or after an injected fault (a kill, an unplug, a failed allocation may
 * fail any access), that is all; otherwise it is a `qp_error` violation, so a run whose
 * NIC work died on the way never passes for a clean one.
 */
function dmaFailed(site: Site, name: string, ret: number, expected: string): Outcome {
  const k = site.world.k;
  const errno = errnoName(ret);
  if (expected === "any" || `-${expected}` === errno || k.faultsInjected > 0) {
    k.event("QP error: the access failed (expected)", { ret: errno });
    return done(ret, "stop");
  }
  const want = expected === "none" ? "" : `, expected -${expected}`;
  k.report("qp_error", `${where(site)} ${name} failed (${errno}${want}): its QP is in error`, {
    site: where(site),
    process: site.p.name,
    ret: errno,
  });
  return done(ret, "stop");
}

/**
 * mlx5_ib_remove() on the process's host: uverbs destroys every open file's MRs and
 * zaps its mappings, then the device stops. Once is enough: a second removal of the
 * same device finds it gone.
 */
function* deviceRemove(site: Site): KGen<Outcome> {
  const host = site.p.host;
  if (host.dev.removed) return { ret: "already removed", next: "continue" };
  yield* mlx5IbRemove(host.dev, host.udev);
  return ok;
}

function qpOf(site: Site, name: string, p: ProcessRt = site.p): QpRt {
  const qp = p.qps.get(name);
  if (qp === undefined) throw new Error(`validated scenario lost QP ${name}`);
  return qp;
}

/** The process whose QP `name` is connected to (validation made sure there is one). */
function peerOf(site: Site, qpName: string): ProcessRt {
  const { world, p } = site;
  const own = p.spec.setup?.qps?.find((q) => q.name === qpName)?.connect;
  if (own !== undefined) return world.procs.get(own.process) ?? p;
  for (const other of world.procs.values()) {
    const back = other.spec.setup?.qps?.some(
      (q) => q.connect?.process === p.name && q.connect.qp === qpName,
    );
    if (back === true) return other;
  }
  throw new Error(`validated scenario lost the peer of QP ${qpName}`);
}

/** A signaled work request: its wr_id is the op's index in its thread. */
function postWr(site: Site, op: Extract<Op, { name: "post_recv" | "post_send" }>): Outcome {
  const args = op.args;
  const { qp } = qpOf(site, args.qp);
  const mr = mrOf(site, args.mr);
  if (mr === null) return done(EINVAL);
  const { base } = addressing(site, mr, args.buffer);
  const sge = { addr: base + (args.offset ?? 0), length: args.bytes, lkey: mr.mr.lkey };
  if (op.name === "post_recv") return done(ibvPostRecv(qp, { wrId: site.index, sgList: [sge] }));
  const opcode = SEND_OPCODE[op.args.opcode ?? "send"] ?? "SEND";
  const remote = op.args.remote;
  let target = {};
  if (remote !== undefined) {
    const peer = peerOf(site, args.qp);
    const rmr = mrOf(site, remote.mr, peer);
    if (rmr === null) return done(EINVAL);
    const at = addressing(site, rmr, remote.buffer, peer).base + (remote.offset ?? 0);
    target = { remoteAddr: at, rkey: rmr.mr.rkey };
  }
  const wr = { wrId: site.index, opcode, sgList: [sge], sendFlags: IB_SEND_SIGNALED, ...target };
  return done(ibvPostSend(qp, wr));
}

const SEND_OPCODE: Readonly<Record<string, IbWrOpcode>> = {
  send: "SEND",
  rdma_write: "RDMA_WRITE",
  rdma_read: "RDMA_READ",
};

/**
 * Waits for `count` completions; a missing one or a status other than the expected is
 * an `expectation_failed` violation (an error completion means the QP is in error).
 * Without `timeout_us` it waits as long as it takes, as a program's poll loop does: a
 * completion that never comes leaves nothing runnable, which the kernel reports as a
 * deadlock naming the CQ. A finite timeout is a check that holds only under some
 * timings: under free timing it may fire before the completion.
 */
function* pollCq(site: Site, args: Extract<Op, { name: "poll_cq" }>["args"]): KGen<Outcome> {
  const { cq } = qpOf(site, args.qp);
  const count = args.count ?? 1;
  const timeoutNs = args.timeout_us === undefined ? Infinity : Math.round(args.timeout_us * 1000);
  const wcs = yield* ibvWaitCompletions(cq, count, timeoutNs);
  const k = site.world.k;
  for (const wc of wcs) {
    k.event("wc", { qp: args.qp, wrId: wc.wrId, opcode: wc.opcode, status: wc.status });
  }
  const want = args.status ?? "SUCCESS";
  const details = { site: where(site), process: site.p.name, qp: args.qp };
  if (wcs.length < count) {
    const msg = `${where(site)}: ${wcs.length} of ${count} completions on QP ${args.qp}`;
    k.report("expectation_failed", msg, details);
    return { ret: wcs.length, next: "stop" };
  }
  const bad = wcs.find((wc) => want !== "any" && wc.status !== want);
  if (bad !== undefined) {
    const msg = `${where(site)}: completion ${bad.opcode} on QP ${args.qp} is ${bad.status}, expected ${want}`;
    k.report("expectation_failed", msg, details);
    return { ret: bad.status, next: "stop" };
  }
  return { ret: wcs.length, next: "continue" };
}
