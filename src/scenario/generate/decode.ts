/**
 * Genes (genes.ts) → a valid scenario document.
 *
 * Models no kernel file. Each gene's numbers are reduced modulo what exists at that
 * point (buffers, MRs, QPs, room left in a range), so the result always passes the
 * schema and validate.ts. Generated programs judge the model, not themselves: every
 * call expects `error: any`, every CPU access `signal: any`, every completion
 * `status: any` with a timeout, so the violations a run can show are the model's own
 * (lockdep, object lifetimes, device access, teardown leaks, deadlocks) plus the
 * scenario runtime's few checks that no expectation can switch off (a poll that
 * timed out, a setup step that failed), which fuzz.ts sets apart.
 */
import {
  ADVICE,
  ADVISE_MR,
  SCENARIO_PAGE_SIZE as PAGE,
  type BufferSpec,
  type FileSpec,
  type OpSpec,
  type ProcessSpec,
  type RegistrationSpec,
  type ScenarioSpec,
  type ThreadSpec,
} from "../schema.ts";
import { OP_THREAD_KINDS, type OpName, type ThreadKind } from "../opSpec.ts";
import type {
  BufferGene,
  OpGene,
  ProcessGene,
  RegistrationGene,
  ScenarioGene,
  ThreadGene,
} from "./genes.ts";
import type { ResolvedGenerateOptions } from "./options.ts";

/** The most bytes one generated access touches: a few pages, so runs stay short. */
const MAX_ACCESS_BYTES = 4 * PAGE;
/** A hugetlb buffer is one 2 MiB page. */
const HUGE_PAGES = 512;
const EVENTS = ["e0", "e1", "e2"] as const;
const THREAD_KIND_ORDER: readonly ThreadKind[] = ["user", "nic", "kernel"];
const PROTS: readonly (readonly ("read" | "write" | "exec")[])[] = [
  ["read", "write"],
  ["read"],
  ["read", "write", "exec"],
  [],
];

interface Buf {
  readonly name: string;
  readonly bytes: number;
}

interface Mr {
  readonly name: string;
  /** null: implicit. */
  readonly buffer: Buf | null;
  readonly bytes: number;
}

interface Proc {
  readonly name: string;
  readonly buffers: readonly Buf[];
  readonly files: readonly string[];
  /** The setup's MRs, then those its threads' `reg_mr`s register, as they are decoded. */
  readonly mrs: Mr[];
  /** A forked child: it has no device context, so its threads register nothing. */
  readonly forked: boolean;
  readonly qp: string | null;
  readonly mirror: string | null;
  /** The process at the other end of the QP, once connected. */
  peer: Proc | null;
  /** The fork child this process may create (only the first process has one). */
  child: string | null;
}

const any = { error: "any" } as const;

/** The scenario the genes stand for under these options. */
export function decodeScenario(g: ScenarioGene, o: ResolvedGenerateOptions): ScenarioSpec {
  const design = o.designs[g.design % o.designs.length] ?? o.designs[0];
  const hostNames = g.twoHosts && g.processes.length > 1 ? ["host0", "host1"] : ["host0"];
  const procs: Proc[] = [];
  const specs: ProcessSpec[] = g.processes.map((pg, i) => {
    const { spec, proc } = decodeProcess(pg, `p${i}`, hostNames[i % hostNames.length] ?? "host0");
    procs.push(proc);
    return spec;
  });
  connectFirstTwo(procs, specs);
  const first = procs[0];
  const forkPlanned = first !== undefined && g.child !== null && o.ops.has("fork");
  if (forkPlanned) first.child = "child";
  const hugePerHost = hugetlbPerHost(specs, hostNames);
  for (const [i, pg] of g.processes.entries()) {
    const proc = procs[i];
    const spec = specs[i];
    if (proc !== undefined && spec !== undefined) spec.threads = decodeThreads(pg.threads, proc, o);
  }
  if (forkPlanned) {
    const child: Proc = {
      ...first,
      name: "child",
      mrs: [],
      forked: true,
      qp: null,
      mirror: null,
      files: [],
    };
    child.peer = null;
    child.child = null;
    specs.push({ name: "child", forkOf: first.name, threads: decodeThreads(g.child, child, o) });
    if (!specs.some((s) => (s.threads ?? []).some((t) => t.ops.some(isForkOp)))) specs.pop();
  }
  fixWaits(specs);
  const sites = o.faultSites.filter((_, i) => g.faults[i] === true);
  return {
    name: "generated",
    ...(design === undefined ? {} : { design }),
    hosts: hostNames.map((name) => ({
      name,
      frames: g.frames,
      ...(hugePerHost.get(name) ? { hugetlbPages: hugePerHost.get(name) } : {}),
    })),
    processes: specs,
    ...(sites.length === 0 ? {} : { faults: { sites, probability: g.faultProbability } }),
  };
}

function isForkOp(op: OpSpec): boolean {
  return typeof op !== "string" && op.fork !== undefined;
}

function decodeProcess(
  g: ProcessGene,
  name: string,
  host: string,
): { spec: ProcessSpec; proc: Proc } {
  const files: FileSpec[] = [];
  const buffers = g.buffers.map((b, i) => decodeBuffer(b, `b${i}`, files));
  const bufs: Buf[] = buffers.map((b) => ({ name: b.name, bytes: b.pages * PAGE }));
  const registrations = g.registrations.map((r, i) => decodeRegistration(r, `mr${i}`, bufs));
  const mrs: Mr[] = registrations.map((r) => {
    const buf = bufs.find((b) => b.name === r.buffer) ?? null;
    return { name: r.name, buffer: buf, bytes: r.bytes ?? buf?.bytes ?? 0 };
  });
  const spec: ProcessSpec = {
    name,
    host,
    setup: {
      ...(files.length === 0 ? {} : { files }),
      buffers,
      ...(registrations.length === 0 ? {} : { registrations }),
      ...(g.qp ? { qps: [{ name: "qp", timeout: g.qpTimeout }] } : {}),
      ...(g.mirror ? { mirrors: [{ name: "mirror" }] } : {}),
    },
  };
  const proc: Proc = {
    name,
    buffers: bufs,
    files: files.map((f) => f.name),
    mrs,
    forked: false,
    qp: g.qp ? "qp" : null,
    mirror: g.mirror ? "mirror" : null,
    peer: null,
    child: null,
  };
  return { spec, proc };
}

function decodeBuffer(g: BufferGene, name: string, files: FileSpec[]): BufferSpec {
  const prot = PROTS[g.prot % PROTS.length] ?? ["read", "write"];
  const fill = g.fill !== null && prot.includes("write") ? { fill: g.fill } : {};
  switch (g.mapping % 5) {
    case 1:
    case 2:
    case 3: {
      const file = `f${files.length}`;
      const shmem = g.mapping % 5 === 3;
      files.push({ name: file, pages: g.pages, ...(shmem ? { shmem: true } : {}) });
      const share = g.mapping % 5 === 2 ? "private" : "shared";
      return { name, pages: g.pages, prot: [...prot], flags: [share, "file"], file, ...fill };
    }
    case 4:
      return { name, pages: HUGE_PAGES, flags: ["private", "anonymous", "hugetlb"] };
    default:
      return { name, pages: g.pages, prot: [...prot], ...fill };
  }
}

function decodeRegistration(g: RegistrationGene, name: string, bufs: readonly Buf[]) {
  const access = accessOf(g.access);
  const buf = g.buffer === null ? undefined : bufs[g.buffer % bufs.length];
  if (buf === undefined) return { name, implicit: true, ...access } as RegistrationSpec;
  const offset = g.offset % buf.bytes;
  const bytes = 1 + (g.bytes % (buf.bytes - offset));
  return { name, buffer: buf.name, offset, bytes, ...access } as RegistrationSpec;
}

function accessOf(access: number): Pick<RegistrationSpec, "access"> {
  switch (access % 4) {
    case 1:
      return { access: ["LOCAL_WRITE", "ON_DEMAND"] };
    case 2:
      return { access: ["REMOTE_READ", "ON_DEMAND"] };
    case 3:
      return { access: ["LOCAL_WRITE", "REMOTE_WRITE", "REMOTE_READ", "ON_DEMAND", "HUGETLB"] };
    default:
      return {};
  }
}

/** The second process's QP connects to the first's, when both have one. */
function connectFirstTwo(procs: Proc[], specs: ProcessSpec[]): void {
  const [a, b] = procs;
  const qps = specs[1]?.setup?.qps;
  if (a?.qp == null || b?.qp == null || qps === undefined) return;
  const [qp] = qps;
  if (qp === undefined) return;
  qps[0] = { ...qp, connect: { process: a.name, qp: a.qp } };
  a.peer = b;
  b.peer = a;
}

function hugetlbPerHost(specs: readonly ProcessSpec[], hosts: readonly string[]) {
  const count = new Map<string, number>();
  for (const s of specs) {
    const huge = (s.setup?.buffers ?? []).filter((b) => b.flags?.includes("hugetlb")).length;
    const host = s.host ?? hosts[0] ?? "host0";
    if (huge > 0) count.set(host, (count.get(host) ?? 0) + huge + 1);
  }
  return count;
}

function decodeThreads(
  genes: readonly ThreadGene[],
  proc: Proc,
  o: ResolvedGenerateOptions,
): ThreadSpec[] {
  return genes.map((t, i) => {
    const kind = THREAD_KIND_ORDER[t.kind % 3] ?? "user";
    const ctx: ThreadCtx = { proc, kind, repeats: t.repeat > 1, o };
    const ops = t.ops.map((g) => decodeOp(g, ctx));
    return {
      name: `t${i}`,
      ...(kind === "user" ? {} : { kind }),
      ...(t.repeat > 1 ? { repeat: t.repeat } : {}),
      ops,
    };
  });
}

interface ThreadCtx {
  readonly proc: Proc;
  readonly kind: ThreadKind;
  readonly repeats: boolean;
  readonly o: ResolvedGenerateOptions;
}

/** The operation kinds this thread could run now, in opSpec.ts's order. */
function candidates(ctx: ThreadCtx): OpName[] {
  const { proc } = ctx;
  const has: Partial<Record<OpName, boolean>> = {
    writeback: proc.files.length > 0,
    drop_caches: proc.files.length > 0,
    fork: proc.child !== null && !ctx.repeats,
    reg_mr: !proc.forked && !ctx.repeats,
    dereg_mr: proc.mrs.length > 0,
    advise_mr: proc.mrs.length > 0,
    dma_read: proc.mrs.length > 0,
    dma_write: proc.mrs.length > 0,
    destroy_qp: proc.qp !== null,
    poll_cq: proc.qp !== null,
    post_recv: proc.qp !== null && proc.mrs.length > 0,
    post_send: proc.qp !== null && proc.mrs.length > 0,
    mirror_read: proc.mirror !== null,
    mirror_write: proc.mirror !== null,
    mirror_snapshot: proc.mirror !== null,
    mirror_close: proc.mirror !== null,
    uverbs_mmap: false, // not generated, even when asked for (options.ts)
  };
  return (Object.keys(OP_THREAD_KINDS) as OpName[]).filter(
    (name) =>
      (ctx.o.ops.has(name) || name === "signal" || name === "wait") &&
      OP_THREAD_KINDS[name].includes(ctx.kind) &&
      has[name] !== false,
  );
}

function decodeOp(g: OpGene, ctx: ThreadCtx): OpSpec {
  const names = candidates(ctx);
  const name = names[g.pick % names.length] ?? "signal";
  const op = buildOp(name, g, ctx);
  if (name === "fork") ctx.proc.child = null;
  return op;
}

function pick<T>(list: readonly T[], n: number): T {
  const item = list[n % list.length];
  if (item === undefined) throw new RangeError("pick from an empty list");
  return item;
}

/** A byte range [offset, offset + bytes) inside `size` bytes, at most MAX_ACCESS_BYTES. */
function byteRange(size: number, a: number, b: number): { offset: number; bytes: number } {
  const offset = a % size;
  const room = Math.min(size - offset, MAX_ACCESS_BYTES);
  return { offset, bytes: 1 + (b % room) };
}

/** A range of whole pages inside the buffer. */
function pageRange(buf: Buf, a: number, b: number): { offset: number; pages: number } {
  const total = buf.bytes / PAGE;
  const first = a % total;
  return { offset: first * PAGE, pages: 1 + (b % (total - first)) };
}

/** A range of an MR: relative to the MR, or for an implicit one to one of the buffers. */
function mrRange(mr: Mr, proc: Proc, g: OpGene) {
  if (mr.buffer === null) {
    const buf = pick(proc.buffers, g.c);
    return { mr: mr.name, buffer: buf.name, ...byteRange(buf.bytes, g.a, g.b) };
  }
  return { mr: mr.name, ...byteRange(mr.bytes, g.a, g.b) };
}

function buildOp(name: OpName, g: OpGene, ctx: ThreadCtx): OpSpec {
  const { proc } = ctx;
  const buf = pick(proc.buffers, g.c);
  const pages = { buffer: buf.name, ...pageRange(buf, g.a, g.b), expect: any };
  switch (name) {
    case "cpu_read":
      return {
        cpu_read: {
          buffer: buf.name,
          ...byteRange(buf.bytes, g.a, g.b),
          expect: { signal: "any" },
        },
      };
    case "cpu_write":
      return {
        cpu_write: {
          buffer: buf.name,
          ...byteRange(buf.bytes, g.a, g.b),
          pattern: g.d,
          expect: { signal: "any" },
        },
      };
    case "munmap":
      return { munmap: pages };
    case "migrate":
      return { migrate: pages };
    case "mprotect":
      return { mprotect: { ...pages, prot: [...pick(PROTS, g.d)] } };
    case "madvise":
      return { madvise: { ...pages, advice: pick(ADVICE, g.d) } };
    case "mremap":
      return { mremap: { buffer: buf.name, pages: 1 + (g.a % 16), maymove: !g.flag, expect: any } };
    case "mmap":
      return { mmap: mmapArgs(pages, g, proc) };
    case "writeback":
      return { writeback: { file: pick(proc.files, g.a), expect: any } };
    case "drop_caches":
      return { drop_caches: { file: pick(proc.files, g.a), expect: any } };
    case "fork":
      return { fork: { child: proc.child ?? "child", expect: any } };
    case "exit":
      return "exit";
    case "oom_reap":
      return "oom_reap";
    case "device_remove":
      return "device_remove";
    case "sleep_us":
      return { sleep_us: g.a % 200 };
    case "signal":
      return { signal: pick(EVENTS, g.a) };
    case "wait":
      return { wait: pick(EVENTS, g.a) };
    case "reg_mr":
      return { reg_mr: { ...threadRegistration(g, proc), expect: any } };
    case "dereg_mr":
      return { dereg_mr: { mr: pick(proc.mrs, g.d).name, expect: any } };
    case "destroy_qp":
      return { destroy_qp: { qp: proc.qp ?? "qp", expect: any } };
    case "advise_mr":
      return {
        advise_mr: {
          ...mrRange(pick(proc.mrs, g.d), proc, g),
          advice: pick(ADVISE_MR, g.d),
          flush: g.flag,
          expect: any,
        },
      };
    case "post_recv":
      return {
        post_recv: { qp: proc.qp ?? "qp", ...mrRange(pick(proc.mrs, g.d), proc, g), expect: any },
      };
    case "post_send":
      return { post_send: postSend(g, proc) };
    case "poll_cq":
      return {
        poll_cq: {
          qp: proc.qp ?? "qp",
          count: 1 + (g.a % 2),
          status: "any",
          timeout_us: 1 + (g.b % 2000),
        },
      };
    case "mirror_read":
      return { mirror_read: { mirror: proc.mirror ?? "mirror", ...pages } };
    case "mirror_snapshot":
      return { mirror_snapshot: { mirror: proc.mirror ?? "mirror", ...pages } };
    case "mirror_write":
      return { mirror_write: { mirror: proc.mirror ?? "mirror", ...pages, pattern: g.d } };
    case "mirror_close":
      return { mirror_close: { mirror: proc.mirror ?? "mirror" } };
    case "dma_read":
      return { dma_read: { ...mrRange(pick(proc.mrs, g.d), proc, g), expect: any } };
    case "dma_write":
      return { dma_write: { ...mrRange(pick(proc.mrs, g.d), proc, g), pattern: g.d, expect: any } };
    case "uverbs_mmap":
      // Never a candidate (options.ts, NOT_GENERATED_OPS).
      throw new RangeError("generate: uverbs_mmap is not in the generator's vocabulary");
  }
}

/** A registration a thread makes: named after the MRs before it, later ops may use it. */
function threadRegistration(g: OpGene, proc: Proc): RegistrationSpec {
  const gene = { buffer: g.flag ? null : g.c, offset: g.a, bytes: g.b, access: g.d };
  const spec = decodeRegistration(gene, `mr${proc.mrs.length}`, proc.buffers);
  const buf = proc.buffers.find((b) => b.name === spec.buffer) ?? null;
  proc.mrs.push({ name: spec.name, buffer: buf, bytes: spec.bytes ?? buf?.bytes ?? 0 });
  return spec;
}

function mmapArgs(
  pages: { buffer: string; offset: number; pages: number; expect: typeof any },
  g: OpGene,
  proc: Proc,
) {
  const file = proc.files[g.d % Math.max(1, proc.files.length)];
  if (g.flag && file !== undefined)
    return { ...pages, flags: ["shared" as const, "file" as const], file };
  return { ...pages, prot: [...pick(PROTS, g.d)] };
}

/** A send, or an RDMA write/read into the peer's MR when the QP is connected. */
function postSend(g: OpGene, proc: Proc) {
  const local = mrRange(pick(proc.mrs, g.d), proc, g);
  const peer = proc.peer;
  const base = { qp: proc.qp ?? "qp", expect: any };
  if (peer === null || peer.mrs.length === 0 || g.d % 3 === 0) return { ...base, ...local };
  const rmr = pick(peer.mrs, g.c);
  const rbuf = rmr.buffer ?? pick(peer.buffers, g.a);
  const room = rmr.buffer === null ? rbuf.bytes : rmr.bytes;
  const bytes = Math.min(local.bytes, room);
  const offset = g.b % (room - bytes + 1);
  const remote =
    rmr.buffer === null ? { mr: rmr.name, buffer: rbuf.name, offset } : { mr: rmr.name, offset };
  const opcode = g.d % 3 === 1 ? ("rdma_write" as const) : ("rdma_read" as const);
  return { ...base, ...local, bytes, opcode, remote };
}

/** A wait on an event no thread signals becomes a signal of it (validate.ts requires one). */
function fixWaits(specs: ProcessSpec[]): void {
  const ops = specs.flatMap((s) => (s.threads ?? []).flatMap((t) => t.ops));
  const signalled = new Set(
    ops.flatMap((op) => (typeof op !== "string" && op.signal !== undefined ? [op.signal] : [])),
  );
  for (const s of specs) {
    for (const t of s.threads ?? []) {
      t.ops = t.ops.map((op) => {
        if (typeof op === "string" || op.wait === undefined || signalled.has(op.wait)) return op;
        return { signal: op.wait };
      });
    }
  }
}
