/**
 * A process's setup: its files, its mmap()s (touched from the CPU when asked), and its
 * ODP registrations — what a verbs program does before its threads get going.
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
} from "../rdma/core/ibVerbs.ts";
import { ibvAllocPd, ibvOpenDevice, ibvRegMr } from "../rdma/core/verbs.ts";
import {
  DEFAULT_ACCESS,
  SCENARIO_PAGE_SIZE as PAGE,
  type BufferSpec,
  type FileSpec,
} from "./schema.ts";
import { bufferFlags } from "./validate.ts";
import type { ProcessRt, World } from "./world.ts";

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

function orBits(names: readonly string[], table: Readonly<Record<string, number>>): number {
  return names.reduce((acc, n) => acc | (table[n] ?? 0), 0);
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
  const regs = setup.registrations ?? [];
  if (regs.length === 0) return true;
  const pd = yield* openPd(p);
  if (typeof pd === "string") return fail(world, p, pd);
  for (const r of regs) {
    const buf = p.buffers.get(r.buffer ?? "");
    if (buf === undefined) return fail(world, p, `MR ${r.name}: no buffer`);
    const offset = r.offset ?? 0;
    const bytes = r.bytes ?? buf.bytes - offset;
    const access = orBits(r.access ?? DEFAULT_ACCESS, ACCESS_BITS);
    const mr = yield* ibvRegMr(pd, buf.addr + offset, bytes, access);
    if (typeof mr === "number") return fail(world, p, `reg_mr ${r.name} failed: ${errnoName(mr)}`);
    world.k.event("reg_mr", { process: p.name, mr: r.name, lkey: mr.lkey, iova: mr.iova, bytes });
    p.mrs.set(r.name, { mr, pd, buffer: r.buffer ?? "", offset, deregistered: false });
  }
  return true;
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

function* openPd(p: ProcessRt): KGen<IbPd | string> {
  const mm = p.proc.mm;
  if (mm === null) return "the process has exited";
  const ctx = yield* ibvOpenDevice(p.host.dev, mm, p.proc.pid);
  if (typeof ctx === "number") return `open of ${p.host.dev.name} failed: ${errnoName(ctx)}`;
  const pd = ibvAllocPd(ctx);
  if (typeof pd === "number") return `alloc_pd failed: ${errnoName(pd)}`;
  return pd;
}
