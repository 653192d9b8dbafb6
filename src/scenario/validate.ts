/**
 * The rules of the scenario language that the schema cannot say: names refer to things
 * that exist, offsets and lengths stay inside their mapping or MR, operations run in a
 * thread of the right kind, forks have their child, QPs have one peer each, HMM test
 * device commands name an open mirror and whole pages, and the design and defects are
 * ones the model has.
 *
 * Models no kernel file. Each problem carries the path of the YAML node at fault, so the
 * error points at it. Checks that the kernel itself would make at run time (an mmap of
 * a file beyond EOF, an mprotect above the file's mode) are left to the run: they are
 * part of what a scenario may explore.
 */
import { CATALOG } from "../check/catalog/catalog.ts";
import { DEFAULT_MLX5_ODP_DESIGN, userMlx5OdpDesign } from "../rdma/mlx5/odp/designs.ts";
import { scenarioDesignProblem } from "./designs.ts";
import type { PathProblem, SpecPath } from "./errors.ts";
import { isKnownViolationKind, VIOLATION_KINDS } from "../check/violationKinds.ts";
import { closest } from "./closest.ts";
import { OP_THREAD_KINDS, opNames, toOp, type Op } from "./opSpec.ts";
import { checkEvents } from "./validateEvents.ts";
import {
  DEFAULT_ACCESS,
  SCENARIO_PAGE_SIZE as PAGE,
  type BufferSpec,
  type OpSpec,
  type ProcessSpec,
  type RegistrationSpec,
  type ScenarioSpec,
  type ThreadSpec,
} from "./schema.ts";

/** 2 MiB in 4 KiB pages: a hugetlb buffer is made of whole huge pages. */
const HUGE_PAGES = 512;

interface BufferInfo {
  readonly bytes: number;
}

interface MrInfo {
  readonly buffer: string;
  readonly offset: number;
  readonly bytes: number;
  /** Implicit: the whole address space, addressed through the process's buffers. */
  readonly implicit: boolean;
}

interface Scope {
  readonly process: string;
  readonly buffers: ReadonlyMap<string, BufferInfo>;
  readonly mrs: ReadonlyMap<string, MrInfo>;
  /** The process's QPs, each with the process its peer belongs to (null: unconnected). */
  readonly qps: Map<string, string | null>;
  /** The HMM test device files of the setup. */
  readonly mirrors: ReadonlyMap<string, true>;
  /** The uverbs mappings its threads make (`uverbs_mmap`), or its parent's for a child. */
  readonly mappings: ReadonlyMap<string, BufferInfo>;
  /** The files of the setup (setup.files). */
  readonly files: ReadonlyMap<string, true>;
  readonly forked: boolean;
  /** Every process's scope, for the peer side of RDMA operations. */
  readonly all: ReadonlyMap<string, Scope>;
}

class Problems {
  readonly list: PathProblem[] = [];
  add(path: SpecPath, message: string): void {
    this.list.push({ path, message });
  }
}

/** Every problem of `spec` beyond its shape; empty when the scenario is sound. */
export function validateSpec(spec: ScenarioSpec): PathProblem[] {
  const p = new Problems();
  checkDesign(spec, p);
  checkHosts(spec, p);
  const procs = spec.processes;
  unique(
    procs.map((x) => x.name),
    (i) => ["processes", i, "name"],
    "process",
    p,
  );
  const scopes = new Map<string, Scope>();
  procs.forEach((proc, i) => {
    if (proc.forkOf === undefined) {
      scopes.set(proc.name, setupScope(proc, ["processes", i], scopes, p));
    }
  });
  checkConnections(spec, scopes, p);
  procs.forEach((proc, i) => {
    if (proc.forkOf !== undefined) checkForkedProcess(spec, proc, i, scopes, p);
  });
  procs.forEach((proc, i) => {
    const scope = scopes.get(proc.name);
    if (scope !== undefined) checkThreads(spec, proc, ["processes", i], scope, p);
  });
  checkExpect(spec, scopes, p);
  for (const problem of checkEvents(spec)) p.add(problem.path, problem.message);
  return p.list;
}

function unique(
  names: readonly string[],
  pathOf: (i: number) => SpecPath,
  what: string,
  p: Problems,
): void {
  const seen = new Set<string>();
  names.forEach((name, i) => {
    if (seen.has(name)) p.add(pathOf(i), `${what} "${name}" is defined twice`);
    seen.add(name);
  });
}

function checkDesign(spec: ScenarioSpec, p: Problems): void {
  const design = spec.design ?? DEFAULT_MLX5_ODP_DESIGN;
  const problem = scenarioDesignProblem(design);
  if (problem !== null) p.add(["design"], problem);
  (spec.defects ?? []).forEach((id, i) => {
    const problem = defectProblem(id, design);
    if (problem !== null) p.add(["defects", i], problem);
  });
}

/**
 * Why catalog defect `id` cannot be switched on under `design`, or null: it must exist and
 * be a defect of that design. A scenario file's `defects:` and `--defect` are held to this
 * alike.
 */
export function defectProblem(id: string, design: string): string | null {
  // A user's design accepts its own defects and those of the generation it builds on.
  const user = userMlx5OdpDesign(design);
  if (user?.defects.includes(id) === true) return null;
  const entry = CATALOG.find((e) => e.id === id);
  if (entry === undefined) return `unknown defect "${id}" (odpsim catalog lists them)`;
  if (entry.design !== design && entry.design !== user?.design.core.name) {
    return `defect "${id}" belongs to design ${entry.design}, not ${design}`;
  }
  return null;
}

function checkHosts(spec: ScenarioSpec, p: Problems): void {
  const hosts = spec.hosts ?? [];
  unique(
    hosts.map((h) => h.name),
    (i) => ["hosts", i, "name"],
    "host",
    p,
  );
  const names = new Set(hosts.length === 0 ? ["host0"] : hosts.map((h) => h.name));
  spec.processes.forEach((proc, i) => {
    if (proc.host !== undefined && !names.has(proc.host)) {
      p.add(["processes", i, "host"], `no host "${proc.host}" (hosts: ${[...names].join(", ")})`);
    }
  });
}

/** The buffers and MRs a process's setup creates. */
function setupScope(
  proc: ProcessSpec,
  at: SpecPath,
  all: ReadonlyMap<string, Scope>,
  p: Problems,
): Scope {
  const setup = proc.setup ?? {};
  const files = setup.files ?? [];
  unique(
    files.map((f) => f.name),
    (i) => [...at, "setup", "files", i, "name"],
    "file",
    p,
  );
  const fileNames = new Set(files.map((f) => f.name));
  const buffers = new Map<string, BufferInfo>();
  const grown = mremapSizes(proc);
  (setup.buffers ?? []).forEach((buf, i) => {
    const path = [...at, "setup", "buffers", i];
    if (buffers.has(buf.name)) p.add([...path, "name"], `buffer "${buf.name}" is defined twice`);
    checkBuffer(buf, path, fileNames, p);
    const pages = Math.max(buf.pages, grown.get(buf.name) ?? 0);
    buffers.set(buf.name, { bytes: pages * PAGE });
  });
  const mrs = new Map<string, MrInfo>();
  (setup.registrations ?? []).forEach((reg, i) => {
    const path = [...at, "setup", "registrations", i];
    if (mrs.has(reg.name)) p.add([...path, "name"], `MR "${reg.name}" is defined twice`);
    const info = checkRegistration(reg, path, proc.name, buffers, p);
    if (info !== null) mrs.set(reg.name, info);
  });
  threadRegistrations(proc).forEach(({ reg, ti, oi }) => {
    const path = [...at, "threads", ti, "ops", oi, "reg_mr"];
    if (mrs.has(reg.name)) p.add([...path, "name"], `MR "${reg.name}" is defined twice`);
    const info = checkRegistration(reg, path, proc.name, buffers, p);
    if (info !== null) mrs.set(reg.name, info);
  });
  const qps = new Map<string, string | null>();
  (setup.qps ?? []).forEach((qp, i) => {
    if (qps.has(qp.name)) {
      p.add([...at, "setup", "qps", i, "name"], `QP "${qp.name}" is defined twice`);
    }
    qps.set(qp.name, null);
  });
  const mirrors = new Map<string, true>();
  (setup.mirrors ?? []).forEach((m, i) => {
    if (mirrors.has(m.name)) {
      p.add([...at, "setup", "mirrors", i, "name"], `mirror "${m.name}" is defined twice`);
    }
    mirrors.set(m.name, true);
  });
  checkUserptrs(proc, at, p);
  const fileScope = new Map(files.map((f) => [f.name, true] as const));
  const mappings = new Map<string, BufferInfo>();
  threadMappings(proc).forEach(({ name, ti, oi }) => {
    if (buffers.has(name) || mappings.has(name)) {
      p.add(
        [...at, "threads", ti, "ops", oi, "uverbs_mmap", "name"],
        `buffer "${name}" is defined twice (a uverbs mapping is a buffer of the process)`,
      );
    }
    mappings.set(name, { bytes: PAGE });
  });
  return {
    process: proc.name,
    buffers,
    mrs,
    qps,
    mirrors,
    mappings,
    files: fileScope,
    forked: false,
    all,
  };
}

/** The uverbs mappings the process's threads make, with where each is. */
function threadMappings(proc: ProcessSpec): { name: string; ti: number; oi: number }[] {
  return (proc.threads ?? []).flatMap((thread, ti) =>
    thread.ops.flatMap((op, oi) =>
      typeof op === "string" || op.uverbs_mmap === undefined
        ? []
        : [{ name: op.uverbs_mmap.name, ti, oi }],
    ),
  );
}

/**
 * Each i915 userptr object has a name of its own and covers whole pages of one of the
 * process's buffers (i915_gem_userptr_ioctl refuses a pointer or size that is not), as
 * the buffer is at setup (before any mremap of a thread grows it).
 */
function checkUserptrs(proc: ProcessSpec, at: SpecPath, p: Problems): void {
  const buffers = new Map<string, BufferInfo>(
    (proc.setup?.buffers ?? []).map((b) => [b.name, { bytes: b.pages * PAGE }]),
  );
  const names = new Set<string>();
  (proc.setup?.userptrs ?? []).forEach((u, i) => {
    const path = [...at, "setup", "userptrs", i];
    if (names.has(u.name)) p.add([...path, "name"], `userptr "${u.name}" is defined twice`);
    names.add(u.name);
    const buf = buffers.get(u.buffer);
    if (buf === undefined) {
      p.add([...path, "buffer"], noSuch("buffer", u.buffer, proc.name, buffers));
      return;
    }
    const offset = u.offset ?? 0;
    if (offset % PAGE !== 0) {
      p.add([...path, "offset"], `offset ${offset} is not page-aligned (a multiple of 4096)`);
      return;
    }
    const bytes = u.pages === undefined ? buf.bytes - offset : u.pages * PAGE;
    if (!inside(offset, bytes, buf.bytes)) {
      p.add(
        [...path, u.pages === undefined ? "offset" : "pages"],
        outside("userptr", offset, bytes, u.buffer, buf.bytes),
      );
    }
  });
}

/**
 * The MRs the process's threads register (`reg_mr`), with where each is: they share the
 * setup's namespace, and any operation of the process may name them (before the
 * registration returns, such an operation fails with -EINVAL: threads.ts).
 */
function threadRegistrations(
  proc: ProcessSpec,
): { reg: RegistrationSpec; ti: number; oi: number }[] {
  return (proc.threads ?? []).flatMap((thread, ti) =>
    thread.ops.flatMap((op, oi) =>
      typeof op === "string" || op.reg_mr === undefined ? [] : [{ reg: op.reg_mr, ti, oi }],
    ),
  );
}

/** Each `connect` names an existing QP of a process with a setup, and no QP has two peers. */
function checkConnections(spec: ScenarioSpec, scopes: Map<string, Scope>, p: Problems): void {
  spec.processes.forEach((proc, i) => {
    const scope = scopes.get(proc.name);
    (proc.setup?.qps ?? []).forEach((qp, j) => {
      const c = qp.connect;
      if (scope === undefined || c === undefined) return;
      const path = ["processes", i, "setup", "qps", j, "connect"];
      const peer = scopes.get(c.process);
      if (peer === undefined) {
        p.add([...path, "process"], `no process "${c.process}" with a setup (QPs live there)`);
        return;
      }
      if (!peer.qps.has(c.qp)) {
        p.add([...path, "qp"], noSuch("QP", c.qp, c.process, peer.qps));
        return;
      }
      if (c.process === proc.name && c.qp === qp.name) {
        p.add([...path, "qp"], `QP "${qp.name}" cannot connect to itself`);
        return;
      }
      const mine = scope.qps.get(qp.name);
      const theirs = peer.qps.get(c.qp);
      const mutual = mine === c.process && theirs === proc.name;
      if (!mutual && (mine !== null || theirs !== null)) {
        p.add(path, `QP "${qp.name}" or "${c.process}/${c.qp}" is already connected elsewhere`);
        return;
      }
      scope.qps.set(qp.name, c.process);
      peer.qps.set(c.qp, proc.name);
    });
  });
}

/** The largest size any mremap of each buffer asks for. */
function mremapSizes(proc: ProcessSpec): Map<string, number> {
  const sizes = new Map<string, number>();
  for (const thread of proc.threads ?? []) {
    for (const op of thread.ops) {
      if (typeof op === "string" || op.mremap === undefined) continue;
      const { buffer, pages } = op.mremap;
      sizes.set(buffer, Math.max(sizes.get(buffer) ?? 0, pages));
    }
  }
  return sizes;
}

/** The effective MAP_* flags: explicit, or private plus anonymous / file. */
export function bufferFlags(buf: BufferSpec): readonly string[] {
  return buf.flags ?? ["private", buf.file === undefined ? "anonymous" : "file"];
}

function checkBuffer(buf: BufferSpec, path: SpecPath, files: Set<string>, p: Problems): void {
  const flags = new Set(bufferFlags(buf));
  const fpath = [...path, buf.flags === undefined ? "name" : "flags"];
  const kind = (flags.has("private") ? 1 : 0) + (flags.has("shared") ? 1 : 0);
  if (kind !== 1) p.add(fpath, `buffer "${buf.name}": flags need exactly one of private, shared`);
  if (flags.has("anonymous") && flags.has("file")) {
    p.add(fpath, `buffer "${buf.name}": flags anonymous and file exclude each other`);
  } else if (!flags.has("anonymous") && !flags.has("file")) {
    p.add(fpath, `buffer "${buf.name}": flags need anonymous or file`);
  }
  if (flags.has("file") && buf.file === undefined) {
    p.add(fpath, `buffer "${buf.name}": the file flag needs a "file" key naming the file`);
  }
  if (buf.file !== undefined) {
    if (flags.has("anonymous"))
      p.add([...path, "file"], `buffer "${buf.name}" is anonymous but names a file`);
    else if (!files.has(buf.file)) {
      p.add([...path, "file"], `no file "${buf.file}" in this process's setup.files`);
    }
  }
  if (buf.fileOffset !== undefined) {
    if (buf.file === undefined) p.add([...path, "fileOffset"], "fileOffset without a file");
    else if (buf.fileOffset % PAGE !== 0) {
      p.add([...path, "fileOffset"], `fileOffset ${buf.fileOffset} is not a multiple of 4096`);
    }
  }
  const prot = buf.prot ?? ["read", "write"];
  if (buf.fill !== undefined && !prot.includes("write")) {
    p.add([...path, "fill"], `buffer "${buf.name}": fill is a CPU store and needs prot write`);
  }
  if (flags.has("hugetlb")) {
    if (!flags.has("private") || !flags.has("anonymous")) {
      p.add(fpath, `buffer "${buf.name}": the model has private anonymous hugetlb mappings only`);
    }
    if (buf.pages % HUGE_PAGES !== 0) {
      p.add(
        [...path, "pages"],
        `a hugetlb buffer is whole 2 MiB pages: pages must be a multiple of 512, got ${buf.pages}`,
      );
    }
  }
}

function checkRegistration(
  reg: RegistrationSpec,
  path: SpecPath,
  process: string,
  buffers: ReadonlyMap<string, BufferInfo>,
  p: Problems,
): MrInfo | null {
  const access = new Set(reg.access ?? DEFAULT_ACCESS);
  if (!access.has("ON_DEMAND")) {
    p.add(
      [...path, reg.access === undefined ? "name" : "access"],
      "only ODP MRs are modelled: access needs ON_DEMAND",
    );
  }
  const remoteWrite = access.has("REMOTE_WRITE") || access.has("REMOTE_ATOMIC");
  if (remoteWrite && !access.has("LOCAL_WRITE")) {
    p.add(
      [...path, "access"],
      "REMOTE_WRITE / REMOTE_ATOMIC need LOCAL_WRITE (reg_mr returns -EINVAL)",
    );
  }
  if (reg.implicit === true) {
    const extra = (["buffer", "offset", "bytes"] as const).find((f) => reg[f] !== undefined);
    if (extra !== undefined) {
      p.add([...path, extra], `an implicit MR covers the whole address space: drop "${extra}"`);
      return null;
    }
    return { buffer: "", offset: 0, bytes: Infinity, implicit: true };
  }
  if (reg.buffer === undefined) {
    p.add(path, `MR "${reg.name}" needs a buffer (or implicit: true)`);
    return null;
  }
  const buf = buffers.get(reg.buffer);
  if (buf === undefined) {
    p.add([...path, "buffer"], noSuch("buffer", reg.buffer, process, buffers));
    return null;
  }
  const offset = reg.offset ?? 0;
  const bytes = reg.bytes ?? buf.bytes - offset;
  if (!inside(offset, bytes, buf.bytes)) {
    p.add(
      [...path, reg.offset === undefined ? "bytes" : "offset"],
      outside("MR", offset, bytes, reg.buffer, buf.bytes),
    );
    return null;
  }
  return { buffer: reg.buffer, offset, bytes, implicit: false };
}

function noSuch(
  what: string,
  name: string,
  process: string,
  have: ReadonlyMap<string, unknown>,
): string {
  const list = have.size === 0 ? "none" : [...have.keys()].join(", ");
  return `no ${what} "${name}" in process "${process}" (${what}s: ${list})`;
}

function inside(offset: number, bytes: number, size: number): boolean {
  return bytes > 0 && offset + bytes <= size;
}

function outside(
  what: string,
  offset: number,
  bytes: number,
  buffer: string,
  size: number,
): string {
  return `${what} [${offset}, ${offset + bytes}) is outside buffer "${buffer}" (${size} bytes)`;
}

function checkForkedProcess(
  spec: ScenarioSpec,
  proc: ProcessSpec,
  i: number,
  scopes: Map<string, Scope>,
  p: Problems,
): void {
  const at: SpecPath = ["processes", i];
  if (proc.setup !== undefined) {
    p.add([...at, "setup"], "a forked process inherits its parent's memory: it has no setup");
  }
  // Follow forkOf to the process with a setup; the child inherits its buffers, not MRs.
  let parent = proc.forkOf;
  const seen = new Set([proc.name]);
  while (parent !== undefined) {
    const name: string = parent;
    const parentSpec = spec.processes.find((x) => x.name === name);
    if (parentSpec === undefined || seen.has(name)) {
      p.add(
        [...at, "forkOf"],
        parentSpec === undefined ? `no process "${name}"` : "forkOf goes round in a circle",
      );
      return;
    }
    seen.add(name);
    const root = scopes.get(name);
    if (root !== undefined) {
      scopes.set(proc.name, {
        process: proc.name,
        buffers: root.buffers,
        mrs: new Map(),
        qps: new Map(),
        mirrors: new Map(),
        mappings: root.mappings,
        files: new Map(),
        forked: true,
        all: scopes,
      });
      break;
    }
    parent = parentSpec.forkOf;
  }
  const forks = spec.processes
    .filter((x) => x.name === proc.forkOf)
    .flatMap((x) => (x.threads ?? []).flatMap((t) => t.ops))
    .filter((op) => typeof op !== "string" && op.fork?.child === proc.name);
  if (forks.length === 0) {
    p.add(
      [...at, "forkOf"],
      `no fork op of process "${proc.forkOf}" creates "${proc.name}" (add - fork: {child: ${proc.name}})`,
    );
  }
}

function checkThreads(
  spec: ScenarioSpec,
  proc: ProcessSpec,
  at: SpecPath,
  scope: Scope,
  p: Problems,
): void {
  const threads = proc.threads ?? [];
  unique(
    threads.map((t) => t.name),
    (i) => [...at, "threads", i, "name"],
    "thread",
    p,
  );
  const forked = new Set<string>();
  threads.forEach((thread, ti) => {
    thread.ops.forEach((op, oi) => {
      const path = [...at, "threads", ti, "ops", oi];
      const names = opNames(op);
      if (names.length !== 1) {
        p.add(
          path,
          names.length === 0
            ? "an operation needs a name (cpu_read, munmap, ...)"
            : `one operation per list item, got ${names.join(" and ")}`,
        );
        return;
      }
      checkOp(
        spec,
        toOp(op),
        op,
        thread,
        [...path, ...(typeof op === "string" ? [] : [names[0] ?? ""])],
        scope,
        forked,
        p,
      );
    });
  });
}

function checkOp(
  spec: ScenarioSpec,
  op: Op,
  raw: OpSpec,
  thread: ThreadSpec,
  path: SpecPath,
  scope: Scope,
  forked: Set<string>,
  p: Problems,
): void {
  const kind = thread.kind ?? "user";
  const allowed = OP_THREAD_KINDS[op.name];
  if (!allowed.includes(kind)) {
    const where = allowed.map((k) => `kind: ${k}`).join(" or ");
    p.add(
      typeof raw === "string" ? path : path.slice(0, -1).concat(op.name),
      `${op.name} cannot run in a ${kind} thread: put it in a thread with ${where}`,
    );
    return;
  }
  switch (op.name) {
    case "cpu_read":
      checkRead(op.args, path, scope, p);
      return;
    case "cpu_write":
      checkWrite(op.args, path, scope, p);
      return;
    case "munmap":
      checkRange(op.args, path, scope, p, MAPPING_OK);
      return;
    case "madvise":
    case "mprotect":
    case "migrate":
      checkRange(op.args, path, scope, p);
      return;
    case "mremap":
      bufferOf(op.args.buffer, [...path, "buffer"], scope, p);
      return;
    case "mmap":
      checkMmapFixed(op.args, path, scope, p);
      return;
    case "writeback":
    case "drop_caches":
      fileOf(op.args.file, [...path, "file"], scope, p);
      return;
    case "destroy_qp":
      qpOf(op.args.qp, [...path, "qp"], scope, p);
      return;
    case "fork":
      checkFork(spec, op.args.child, thread, path, scope, forked, p);
      return;
    case "reg_mr":
      checkThreadRegistration(thread, path, scope, p);
      return;
    case "dereg_mr":
      mrOf(op.args.mr, [...path, "mr"], scope, p);
      return;
    case "advise_mr":
      checkAdvise(op.args, path, scope, p);
      return;
    case "dma_read":
    case "dma_write":
      checkDma(op.name, op.args, path, scope, p);
      return;
    case "post_recv":
    case "post_send":
      checkPost(op, path, scope, p);
      return;
    case "poll_cq":
      qpOf(op.args.qp, [...path, "qp"], scope, p);
      return;
    case "mirror_read":
    case "mirror_write":
    case "mirror_snapshot":
      checkMirrorCommand(op, path, scope, p);
      return;
    case "mirror_close":
      mirrorOf(op.args.mirror, [...path, "mirror"], scope, p);
      return;
    case "uverbs_mmap":
      checkUverbsMmap(thread, path, scope, p);
      return;
    case "exit":
    case "oom_reap":
    case "device_remove":
    case "sleep_us":
    case "signal":
    case "wait":
      return;
  }
}

/**
 * A `reg_mr` of a thread (its registration was checked with the setup's): once per run,
 * in a process with a device context of its own.
 */
function checkThreadRegistration(
  thread: ThreadSpec,
  path: SpecPath,
  scope: Scope,
  p: Problems,
): void {
  if (scope.forked) {
    p.add(
      path,
      `process "${scope.process}" is a forked child with no device context: reg_mr belongs in a process with a setup`,
    );
  } else if ((thread.repeat ?? 1) > 1) {
    p.add([...path, "name"], "reg_mr in a thread that repeats: each MR is registered once");
  }
}

/**
 * A `uverbs_mmap` (its name was checked with the setup's buffers): in a process with a
 * uverbs file of its own, once per run.
 */
function checkUverbsMmap(thread: ThreadSpec, path: SpecPath, scope: Scope, p: Problems): void {
  if (scope.forked) {
    p.add(
      path,
      `process "${scope.process}" is a forked child with no uverbs file of its own: uverbs_mmap belongs in its parent (a child inherits its parent's mappings)`,
    );
  } else if ((thread.repeat ?? 1) > 1) {
    p.add([...path, "name"], "uverbs_mmap in a thread that repeats: each mapping is made once");
  }
}

/** The operations that may name a uverbs mapping as their buffer. */
const MAPPING_OPS = "cpu_read, cpu_write and munmap";

/** bufferOf's flag: the operation may name a uverbs mapping too. */
const MAPPING_OK = true;

function bufferOf(
  name: string,
  path: SpecPath,
  scope: Scope,
  p: Problems,
  mappingOk = false,
): BufferInfo | null {
  const buf = scope.buffers.get(name) ?? (mappingOk ? scope.mappings.get(name) : undefined);
  if (buf !== undefined) return buf;
  p.add(
    path,
    scope.mappings.has(name)
      ? `buffer "${name}" is a uverbs mapping, which only ${MAPPING_OPS} may name`
      : noSuch("buffer", name, scope.process, scope.buffers),
  );
  return null;
}

function mrOf(name: string, path: SpecPath, scope: Scope, p: Problems): MrInfo | null {
  const mr = scope.mrs.get(name);
  if (mr === undefined) {
    const note = scope.forked ? " (a forked child inherits no MRs)" : "";
    p.add(path, noSuch("MR", name, scope.process, scope.mrs) + note);
  }
  return mr ?? null;
}

function mirrorOf(name: string, path: SpecPath, scope: Scope, p: Problems): boolean {
  if (scope.mirrors.has(name)) return true;
  const note = scope.forked ? " (a forked child inherits no mirrors)" : "";
  p.add(path, noSuch("mirror", name, scope.process, scope.mirrors) + note);
  return false;
}

/**
 * A dmirror command: its mirror exists, its range is whole pages of a buffer, and what
 * it expects fits the command (one permission per page; a snapshot makes no faults).
 */
function checkMirrorCommand(
  op: Extract<Op, { name: "mirror_read" | "mirror_write" | "mirror_snapshot" }>,
  path: SpecPath,
  scope: Scope,
  p: Problems,
): void {
  const args = op.args;
  mirrorOf(args.mirror, [...path, "mirror"], scope, p);
  checkRange(args, path, scope, p);
  const buf = scope.buffers.get(args.buffer);
  if (buf === undefined) return;
  const offset = args.offset ?? 0;
  const pages = args.pages ?? Math.floor((buf.bytes - offset) / PAGE);
  if (op.name === "mirror_snapshot" && op.args.expect?.prot !== undefined) {
    const n = op.args.expect.prot.length;
    if (n !== pages) {
      p.add(
        [...path, "expect", "prot"],
        `prot has ${n} entries but the snapshot covers ${pages} pages (one entry per page)`,
      );
    }
  }
  if (op.name === "mirror_read" && op.args.expect !== undefined) {
    const e = op.args.expect;
    // Only when it names bytes at all: an expect may be only error / cpages / faults.
    if (e.pattern !== undefined || e.text !== undefined || e.hex !== undefined) {
      matchLength(e, [...path, "expect"], p);
    }
  }
  const faults = op.args.expect?.faults ?? 0;
  if (op.name === "mirror_snapshot" && faults !== 0) {
    p.add([...path, "expect", "faults"], "a snapshot does not fault: faults is always 0");
  }
}

interface DataMatchArgs {
  readonly pattern?: number | undefined;
  readonly text?: string | undefined;
  readonly hex?: string | undefined;
}

/** The length of the expected bytes, or null when it is a pattern (any length). */
function matchLength(m: DataMatchArgs, path: SpecPath, p: Problems): number | null {
  const given = [m.pattern, m.text, m.hex].filter((x) => x !== undefined).length;
  if (given !== 1) {
    p.add(path, "give exactly one of pattern, text, hex");
    return null;
  }
  if (m.text !== undefined) return Buffer.byteLength(m.text, "utf8");
  if (m.hex !== undefined) return m.hex.replace(/\s+/g, "").length / 2;
  return null;
}

function checkRead(
  args: {
    buffer: string;
    offset?: number | undefined;
    bytes: number;
    expect?: (DataMatchArgs & { signal?: string | undefined }) | undefined;
  },
  path: SpecPath,
  scope: Scope,
  p: Problems,
): void {
  const buf = bufferOf(args.buffer, [...path, "buffer"], scope, p, MAPPING_OK);
  const offset = args.offset ?? 0;
  if (buf !== null && !inside(offset, args.bytes, buf.bytes)) {
    p.add(
      [...path, "offset" in args ? "offset" : "bytes"],
      outside("the read", offset, args.bytes, args.buffer, buf.bytes),
    );
  }
  const e = args.expect;
  if (e === undefined) return;
  const hasData = e.pattern !== undefined || e.text !== undefined || e.hex !== undefined;
  if (!hasData) return;
  const len = matchLength(e, [...path, "expect"], p);
  if (len !== null && len !== args.bytes) {
    p.add([...path, "expect"], `the expected bytes are ${len} long but the read is ${args.bytes}`);
  }
}

interface WriteArgs {
  readonly bytes?: number | undefined;
  readonly pattern?: number | undefined;
  readonly text?: string | undefined;
}

/** The number of bytes a write stores, or null after reporting why it is unclear. */
export function writeLength(args: WriteArgs): number | null {
  if (args.text !== undefined) return Buffer.byteLength(args.text, "utf8");
  if (args.pattern !== undefined) return args.bytes ?? null;
  return null;
}

function checkWriteData(args: WriteArgs, path: SpecPath, p: Problems): number | null {
  if ((args.text === undefined) === (args.pattern === undefined)) {
    p.add(path, "a write needs exactly one of pattern (with bytes) or text");
    return null;
  }
  if (args.text !== undefined && args.bytes !== undefined) {
    p.add([...path, "bytes"], "bytes goes with pattern; a text write stores the text's bytes");
    return null;
  }
  if (args.pattern !== undefined && args.bytes === undefined) {
    p.add(path, "a pattern write needs bytes (how many)");
    return null;
  }
  return writeLength(args);
}

function checkWrite(
  args: WriteArgs & { buffer: string; offset?: number | undefined },
  path: SpecPath,
  scope: Scope,
  p: Problems,
): void {
  const buf = bufferOf(args.buffer, [...path, "buffer"], scope, p, MAPPING_OK);
  const len = checkWriteData(args, path, p);
  const offset = args.offset ?? 0;
  if (buf !== null && len !== null && !inside(offset, len, buf.bytes)) {
    p.add(
      [...path, args.offset === undefined ? "buffer" : "offset"],
      outside("the write", offset, len, args.buffer, buf.bytes),
    );
  }
}

function checkRange(
  args: { buffer: string; offset?: number | undefined; pages?: number | undefined },
  path: SpecPath,
  scope: Scope,
  p: Problems,
  mappingOk = false,
): void {
  const buf = bufferOf(args.buffer, [...path, "buffer"], scope, p, mappingOk);
  const offset = args.offset ?? 0;
  if (offset % PAGE !== 0) {
    p.add([...path, "offset"], `offset ${offset} is not page-aligned (a multiple of 4096)`);
    return;
  }
  if (buf === null) return;
  const bytes = args.pages === undefined ? buf.bytes - offset : args.pages * PAGE;
  if (!inside(offset, bytes, buf.bytes)) {
    p.add(
      [...path, args.pages === undefined ? "offset" : "pages"],
      outside("the range", offset, bytes, args.buffer, buf.bytes),
    );
  }
}

function checkFork(
  spec: ScenarioSpec,
  child: string,
  thread: ThreadSpec,
  path: SpecPath,
  scope: Scope,
  forked: Set<string>,
  p: Problems,
): void {
  const target = spec.processes.find((x) => x.name === child);
  if (target === undefined) {
    p.add([...path, "child"], `no process "${child}" (declare it with forkOf: ${scope.process})`);
  } else if (target.forkOf !== scope.process) {
    p.add(
      [...path, "child"],
      `process "${child}" must say forkOf: ${scope.process} to be this fork's child`,
    );
  } else if ((thread.repeat ?? 1) > 1) {
    p.add(
      [...path, "child"],
      `fork of "${child}" in a thread that repeats: each child is created once`,
    );
  } else if (forked.has(child)) {
    p.add([...path, "child"], `process "${child}" is already created by another fork`);
  }
  forked.add(child);
}

function checkAdvise(
  args: {
    mr: string;
    buffer?: string | undefined;
    offset?: number | undefined;
    bytes?: number | undefined;
  },
  path: SpecPath,
  scope: Scope,
  p: Problems,
): void {
  const mr = mrOf(args.mr, [...path, "mr"], scope, p);
  if (mr === null) return;
  const offset = args.offset ?? 0;
  const size =
    args.buffer === undefined ? mr.bytes : (scope.buffers.get(args.buffer)?.bytes ?? mr.bytes);
  const range = { ...args, offset, bytes: args.bytes ?? size - offset };
  checkMrRange(range, mr, path, scope, p);
}

/** A range of a local MR an operation names: mr, buffer (optional), offset, bytes. */
interface MrRange {
  readonly mr: string;
  readonly buffer?: string | undefined;
  readonly offset?: number | undefined;
  readonly bytes: number;
}

/**
 * The range is inside the MR: relative to the MR, or to the named buffer, which must be
 * the MR's own (an implicit MR covers every buffer, and must be addressed through one).
 */
function checkMrRange(args: MrRange, mr: MrInfo, path: SpecPath, scope: Scope, p: Problems): void {
  const offset = args.offset ?? 0;
  const len = args.bytes;
  const at = [...path, args.offset === undefined ? "bytes" : "offset"];
  if (mr.implicit) {
    if (args.buffer === undefined) {
      p.add([...path, "mr"], `MR "${args.mr}" is implicit: say which buffer (buffer: NAME)`);
      return;
    }
    const buf = bufferOf(args.buffer, [...path, "buffer"], scope, p);
    if (buf !== null && !inside(offset, len, buf.bytes)) {
      p.add(at, outside("the range", offset, len, args.buffer, buf.bytes));
    }
    return;
  }
  if (args.buffer !== undefined && args.buffer !== mr.buffer) {
    if (bufferOf(args.buffer, [...path, "buffer"], scope, p) !== null) {
      p.add(
        [...path, "buffer"],
        `MR "${args.mr}" covers buffer "${mr.buffer}", not "${args.buffer}"`,
      );
    }
    return;
  }
  const start = args.buffer === undefined ? offset : offset - mr.offset;
  if (start < 0 || !inside(start, len, mr.bytes)) {
    const base =
      args.buffer === undefined
        ? `MR "${args.mr}"`
        : `the part of buffer "${mr.buffer}" MR "${args.mr}" covers`;
    p.add(at, `[${offset}, ${offset + len}) is outside ${base} (${mr.bytes} bytes)`);
  }
}

function fileOf(name: string, path: SpecPath, scope: Scope, p: Problems): boolean {
  if (scope.files.has(name)) return true;
  const note = scope.forked ? " (files are set up in the parent)" : "";
  p.add(path, noSuch("file", name, scope.process, scope.files) + note);
  return false;
}

/** An mmap(MAP_FIXED) over a buffer's range: the range as for munmap, the mapping as a buffer. */
function checkMmapFixed(
  args: Extract<Op, { name: "mmap" }>["args"],
  path: SpecPath,
  scope: Scope,
  p: Problems,
): void {
  checkRange(args, path, scope, p);
  const buf = scope.buffers.get(args.buffer);
  const rest = buf === undefined ? PAGE : buf.bytes - (args.offset ?? 0);
  const mapping: BufferSpec = {
    name: args.buffer,
    pages: args.pages ?? Math.max(1, Math.floor(rest / PAGE)),
    ...(args.prot === undefined ? {} : { prot: args.prot }),
    ...(args.flags === undefined ? {} : { flags: args.flags }),
    ...(args.file === undefined ? {} : { file: args.file }),
    ...(args.fileOffset === undefined ? {} : { fileOffset: args.fileOffset }),
  };
  checkBuffer(mapping, path, new Set(scope.files.keys()), p);
}

function qpOf(name: string, path: SpecPath, scope: Scope, p: Problems): boolean {
  if (scope.qps.has(name)) return true;
  p.add(path, noSuch("QP", name, scope.process, scope.qps));
  return false;
}

function checkPost(
  op: Extract<Op, { name: "post_recv" | "post_send" }>,
  path: SpecPath,
  scope: Scope,
  p: Problems,
): void {
  const args = op.args;
  if (!qpOf(args.qp, [...path, "qp"], scope, p)) return;
  const mr = mrOf(args.mr, [...path, "mr"], scope, p);
  if (mr !== null) checkMrRange(args, mr, path, scope, p);
  if (op.name === "post_recv") return;
  const opcode = op.args.opcode ?? "send";
  const remote = op.args.remote;
  if (opcode === "send") {
    if (remote !== undefined) p.add([...path, "remote"], "a send has no remote address");
    return;
  }
  if (remote === undefined) {
    p.add(path, `${opcode} needs remote: {mr, offset} in the peer's memory`);
    return;
  }
  const peerName = scope.qps.get(args.qp) ?? null;
  const peer = peerName === null ? undefined : scope.all.get(peerName);
  if (peer === undefined) {
    p.add([...path, "qp"], `QP "${args.qp}" is not connected (give it connect: {process, qp})`);
    return;
  }
  const rpath = [...path, "remote"];
  const rmr = mrOf(remote.mr, [...rpath, "mr"], peer, p);
  if (rmr !== null) checkMrRange({ ...remote, bytes: args.bytes }, rmr, rpath, peer, p);
}

function checkDma(
  name: "dma_read" | "dma_write",
  args: WriteArgs & {
    mr: string;
    buffer?: string | undefined;
    offset?: number | undefined;
    expect?: (DataMatchArgs & { error?: string | undefined }) | undefined;
  },
  path: SpecPath,
  scope: Scope,
  p: Problems,
): void {
  const mr = mrOf(args.mr, [...path, "mr"], scope, p);
  const len = name === "dma_write" ? checkWriteData(args, path, p) : (args.bytes ?? null);
  const expectsData =
    args.expect !== undefined &&
    [args.expect.pattern, args.expect.text, args.expect.hex].some((x) => x !== undefined);
  if (name === "dma_read" && args.expect !== undefined && expectsData) {
    const want = matchLength(args.expect, [...path, "expect"], p);
    if (want !== null && want !== len) {
      p.add([...path, "expect"], `the expected bytes are ${want} long but the read is ${len ?? 0}`);
    }
  }
  if (mr === null || len === null) return;
  checkMrRange({ ...args, bytes: len }, mr, path, scope, p);
}

/** `expect: violation:` names a kind the model reports (or none). */
function checkExpectedKind(spec: ScenarioSpec, p: Problems): void {
  const kind = spec.expect?.violation;
  if (kind === undefined || kind === "none" || isKnownViolationKind(kind)) return;
  const known = Object.keys(VIOLATION_KINDS);
  const guess = closest(kind, known);
  const hint = guess === null ? "" : ` (did you mean ${guess}?)`;
  p.add(
    ["expect", "violation"],
    `unknown violation kind "${kind}"${hint}; known: none, ${known.join(", ")}`,
  );
}

function checkExpect(spec: ScenarioSpec, scopes: Map<string, Scope>, p: Problems): void {
  checkExpectedKind(spec, p);
  const first = spec.processes[0]?.name ?? "";
  (spec.expect?.data ?? []).forEach((check, i) => {
    const path: SpecPath = ["expect", "data", i];
    const name = check.process ?? first;
    const scope = scopes.get(name);
    if (scope === undefined) {
      if (!spec.processes.some((x) => x.name === name))
        p.add([...path, "process"], `no process "${name}"`);
      return;
    }
    const buf = bufferOf(check.buffer, [...path, "buffer"], scope, p);
    const len = matchLength(check, path, p) ?? check.bytes;
    if (check.pattern !== undefined && check.bytes === undefined) {
      p.add(path, "a pattern check needs bytes (how many)");
      return;
    }
    if (check.pattern === undefined && check.bytes !== undefined && len !== check.bytes) {
      p.add(
        [...path, "bytes"],
        `bytes ${check.bytes} does not match the expected ${len ?? 0} bytes`,
      );
      return;
    }
    const offset = check.offset ?? 0;
    if (buf !== null && len !== undefined && !inside(offset, len, buf.bytes)) {
      p.add(
        [...path, check.offset === undefined ? "buffer" : "offset"],
        outside("the check", offset, len, check.buffer, buf.bytes),
      );
    }
  });
}
