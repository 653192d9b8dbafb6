/**
 * Running a scenario's threads: each thread is a task that performs its operations in
 * order (repeated `repeat` times), calling the modelled syscalls, verbs and device
 * accesses.
 *
 * Models no kernel file: these are the user programs, kernel daemons and NIC work of
 * the scenario. Every operation is a trace operation (`NAME:begin` / `NAME:end` events)
 * so it becomes a slice in Perfetto. A thread stops when its process has exited, when
 * a CPU access raises a signal it did not expect (the process would die), or when a
 * device access fails fatally (the QP goes to the error state).
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
import { vmMunmap } from "../mm/mmap.ts";
import { mmgrab, mmdrop, mmput, type MmStruct } from "../mm/mmStruct.ts";
import { doMprotect } from "../mm/mprotect.ts";
import { MREMAP_MAYMOVE, doMremap } from "../mm/mremap.ts";
import { oomReapTask } from "../mm/oomReaper.ts";
import { exitMm, forkProcess, getTaskMm } from "../mm/process.ts";
import { IB_UVERBS_ADVISE_MR_FLAG_FLUSH, type IbAdviseMrAdvice } from "../rdma/core/ibVerbs.ts";
import { ibvAdviseMr, ibvDeregMr } from "../rdma/core/verbs.ts";
import { mlx5DeviceDma } from "../rdma/mlx5/deviceDma.ts";
import { compareBytes, hasBytes, specBytes, type ByteSpec } from "./data.ts";
import { toOp, type Op, type ThreadKind } from "./opSpec.ts";
import { SCENARIO_PAGE_SIZE as PAGE, type ThreadSpec } from "./schema.ts";
import { protBits } from "./setup.ts";
import {
  newProcessRt,
  opPart,
  threadPart,
  type BufferRt,
  type MrRt,
  type ProcessRt,
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
  k.event(`${op.name}:begin`, { process: site.p.name, ...fieldsOf(args) });
  const result = yield* perform(site, op);
  k.event(`${op.name}:end`, { ret: result.ret });
  return result.next;
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
  if (op.name === "dma_read" || op.name === "dma_write") return yield* deviceAccess(site, op);
  if (op.name === "oom_reap") return yield* oomReap(site);
  const mm = site.p.proc.mm;
  if (mm === null) {
    site.world.k.event("thread stops: its process has exited", { process: site.p.name });
    return { ret: "exited", next: "stop" };
  }
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
    case "fork":
      return yield* fork(site, op.args.child);
    case "exit":
      yield* exitMm(site.p.proc);
      return { ret: 0, next: "stop" };
    case "dereg_mr":
      return yield* deregMr(site, op.args.mr);
    case "advise_mr":
      return yield* adviseMr(site, op.args);
  }
}

function bufferOf(site: Site, name: string): BufferRt {
  const buf = site.p.buffers.get(name);
  if (buf === undefined) throw new Error(`validated scenario lost buffer ${name}`);
  return buf;
}

function mrOf(site: Site, name: string): MrRt {
  const mr = site.p.mrs.get(name);
  if (mr === undefined) throw new Error(`validated scenario lost MR ${name}`);
  return mr;
}

function where(site: Site): string {
  return `${site.p.name}/${site.thread} op ${site.index}`;
}

function* cpuAccess(
  site: Site,
  mm: MmStruct,
  op: Extract<Op, { name: "cpu_read" | "cpu_write" }>,
): KGen<Outcome> {
  const buf = bufferOf(site, op.args.buffer);
  const addr = buf.addr + (op.args.offset ?? 0);
  const expect: ByteSpec & { signal?: string | undefined } = op.args.expect ?? {};
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
        process: site.p.name,
      });
    }
    return ok;
  }
  const details = { process: site.p.name, signal: fault.signal, addr: fault.addr };
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
    process: site.p.name,
  });
}

function* rangeSyscall(
  site: Site,
  mm: MmStruct,
  op: Extract<Op, { name: "munmap" | "mprotect" | "madvise" | "migrate" }>,
): KGen<Outcome> {
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
  world.procs.set(childName, rt);
  spawnThreads(world, rt);
  return { ret: child.pid, next: "continue" };
}

function* deregMr(site: Site, name: string): KGen<Outcome> {
  const mr = mrOf(site, name);
  // The handle is gone after the first dereg: uverbs would not find it again.
  if (mr.deregistered) return done(EINVAL);
  mr.deregistered = true;
  return done(yield* ibvDeregMr(mr.mr));
}

function* adviseMr(site: Site, args: Extract<Op, { name: "advise_mr" }>["args"]): KGen<Outcome> {
  const mr = mrOf(site, args.mr);
  const offset = args.offset ?? 0;
  const length = args.bytes ?? mr.mr.length - offset;
  const advice = ADVISE_MR[args.advice ?? "prefetch_write"] ?? "PREFETCH_WRITE";
  const flags = args.flush === true ? IB_UVERBS_ADVISE_MR_FLAG_FLUSH : 0;
  const sge = { addr: mr.mr.iova + offset, length, lkey: mr.mr.lkey };
  return done(yield* ibvAdviseMr(mr.pd, advice, flags, [sge]));
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
  const mr = mrOf(site, op.args.mr);
  const offset = op.args.offset ?? 0;
  const base = op.args.buffer === undefined ? mr.mr.iova : bufferOf(site, op.args.buffer).addr;
  const write = op.name === "dma_write";
  const buf = write ? specBytes(op.args) : new Uint8Array(op.args.bytes);
  const dev = site.p.host.dev;
  const ret = yield* mlx5DeviceDma(dev, site.world.design, {
    key: mr.mr.lkey,
    va: base + offset,
    buf,
    write,
  });
  if (ret < 0) {
    site.world.k.event("QP error: the access failed", { ret: errnoName(ret) });
    return done(ret, "stop");
  }
  if (op.name === "dma_read" && op.args.expect !== undefined) {
    checkData(site, "dma_read", op.args.expect, buf);
  }
  return ok;
}
