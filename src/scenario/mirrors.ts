/**
 * The HMM test device in scenarios: opening a dmirror in a process's setup, and the
 * operations mirror_read / mirror_write / mirror_snapshot / mirror_close, with their
 * expectations (the error, cpages, faults, the data read, the permission bytes).
 *
 * Models no kernel file: it is the user side of tools/testing/selftests/mm/hmm-tests.c
 * (open the device, fill struct hmm_dmirror_cmd, ioctl, check the result) over the
 * model of lib/test_hmm.c in src/dmirror/. The open file goes into the process's file
 * table with a release that is dmirror_fops_release(), so the process's exit (or a
 * SIGKILL) closes it as the kernel's exit_files would.
 */
import { EBADF, errnoName } from "../sim/errno.ts";
import type { KGen } from "../sim/task.ts";
import type { TraceFieldValue } from "../sim/trace.ts";
import { File, fput, getFile } from "../mm/file.ts";
import { dmirrorFopsOpen, dmirrorFopsRelease, Dmirror } from "../dmirror/dmirror.ts";
import {
  HMM_DMIRROR_PROT_ERROR,
  HMM_DMIRROR_PROT_NONE,
  HMM_DMIRROR_PROT_PMD,
  HMM_DMIRROR_PROT_PUD,
  HMM_DMIRROR_PROT_READ,
  HMM_DMIRROR_PROT_WRITE,
  HMM_DMIRROR_PROT_ZERO,
  dmirrorFopsUnlockedIoctl,
  type HmmDmirrorCmd,
  type HmmDmirrorCommand,
} from "../dmirror/dmirrorCommands.ts";
import { compareBytes, hasBytes, specBytes } from "./data.ts";
import type { Op } from "./opSpec.ts";
import { SCENARIO_PAGE_SIZE as PAGE } from "./schema.ts";
import type { MirrorRt, ProcessRt, World } from "./world.ts";

/** struct file_operations of the device, as far as the model needs: ->release. */
const dmirrorFops = {
  *release(file: File): KGen {
    const dmirror = file.privateData;
    if (!(dmirror instanceof Dmirror)) throw new Error("dmirror file without its dmirror");
    yield* dmirrorFopsRelease(dmirror);
  },
};

/** open("/dev/hmm_dmirror0"): the file goes into `p`'s file table. Error text or null. */
export function* openMirror(p: ProcessRt, name: string): KGen<string | null> {
  const mm = p.proc.mm;
  if (mm === null) return "the process has exited";
  const dmirror = yield* dmirrorFopsOpen(p.host.mdevice, mm);
  if (typeof dmirror === "number")
    return `open of ${p.host.mdevice.name} failed: ${errnoName(dmirror)}`;
  const file = new File(p.proc.k, null, dmirrorFops, { read: true, write: true }, "hmm_dmirror");
  file.privateData = dmirror;
  p.proc.files.push(file);
  p.mirrors.set(name, { file, dmirror, closed: false });
  return null;
}

/** Where an operation sits, and what it ran on. */
export interface MirrorSite {
  readonly world: World;
  readonly p: ProcessRt;
  /** "process/thread op N", for messages. */
  readonly where: string;
}

export interface MirrorOutcome {
  readonly ret: TraceFieldValue;
  readonly next: "continue" | "stop";
}

type MirrorCommandOp = Extract<Op, { name: "mirror_read" | "mirror_write" | "mirror_snapshot" }>;

const COMMANDS: Readonly<Record<MirrorCommandOp["name"], HmmDmirrorCommand>> = {
  mirror_read: "READ",
  mirror_write: "WRITE",
  mirror_snapshot: "SNAPSHOT",
};

function mirrorOf(p: ProcessRt, name: string): MirrorRt {
  const m = p.mirrors.get(name);
  if (m === undefined) throw new Error(`validated scenario lost mirror ${name}`);
  return m;
}

/** The command struct for `op`: the range from its buffer, the caller's buffer sized. */
function commandOf(site: MirrorSite, op: MirrorCommandOp): HmmDmirrorCmd {
  const buf = site.p.buffers.get(op.args.buffer);
  if (buf === undefined) throw new Error(`validated scenario lost buffer ${op.args.buffer}`);
  const offset = op.args.offset ?? 0;
  const npages = op.args.pages ?? Math.floor((buf.bytes - offset) / PAGE);
  const ptr =
    op.name === "mirror_snapshot"
      ? new Uint8Array(npages)
      : new Uint8Array(npages * PAGE).fill(op.name === "mirror_write" ? op.args.pattern : 0);
  return { addr: buf.addr + offset, ptr, npages, cpages: 0, faults: 0 };
}

/** An ioctl on the mirror, judged against the op's `expect`. */
export function* mirrorCommand(site: MirrorSite, op: MirrorCommandOp): KGen<MirrorOutcome> {
  const m = mirrorOf(site.p, op.args.mirror);
  const cmd = commandOf(site, op);
  const ret = yield* ioctl(site.p, m, COMMANDS[op.name], cmd);
  site.world.k.event("dmirror_cmd", {
    ret: ret < 0 ? errnoName(ret) : ret,
    cpages: cmd.cpages,
    faults: cmd.faults,
  });
  const outcome = { ret: ret < 0 ? errnoName(ret) : ret, next: "continue" } as const;
  if (!judgeError(site, op, ret)) return { ...outcome, next: "stop" };
  if (ret < 0) return outcome;
  const expect = op.args.expect;
  if (expect === undefined) return outcome;
  for (const field of ["cpages", "faults"] as const) {
    const want = expect[field];
    if (want !== undefined && want !== cmd[field]) {
      fail(site, "expectation_failed", `${op.name}: ${field} ${cmd[field]}, expected ${want}`);
    }
  }
  if (op.name === "mirror_read" && op.args.expect !== undefined && hasBytes(op.args.expect)) {
    const spec = op.args.expect;
    const got = spec.pattern !== undefined ? cmd.ptr : cmd.ptr.subarray(0, specBytes(spec).length);
    const mismatch = compareBytes(spec, specBytes(spec, got.length), got);
    if (mismatch !== null) fail(site, "data_mismatch", `mirror_read: ${mismatch}`);
  }
  if (op.name === "mirror_snapshot" && op.args.expect?.prot !== undefined) {
    checkProt(site, op.args.expect.prot, cmd.ptr);
  }
  return outcome;
}

/**
 * The command's return against `expect.error` (default none); false (after reporting)
 * when it differs: like a failed ASSERT in hmm-tests, the thread stops.
 */
function judgeError(site: MirrorSite, op: MirrorCommandOp, ret: number): boolean {
  const want = op.args.expect?.error ?? "none";
  if (want === "any") return true;
  if (want === "none") {
    if (ret >= 0) return true;
    fail(site, "expectation_failed", `${op.name} failed: ${errnoName(ret)}`);
    return false;
  }
  if (ret < 0 && errnoName(ret) === `-${want}`) return true;
  const got = ret < 0 ? errnoName(ret) : "it succeeded";
  fail(site, "expectation_failed", `${op.name}: expected -${want}, ${got}`);
  return false;
}

function fail(site: MirrorSite, kind: string, message: string): void {
  site.world.k.report(kind, `${site.where} ${message}`, { site: site.where, process: site.p.name });
}

const PROT_FLAGS: readonly (readonly [string, number])[] = [
  ["zero", HMM_DMIRROR_PROT_ZERO],
  ["pmd", HMM_DMIRROR_PROT_PMD],
  ["pud", HMM_DMIRROR_PROT_PUD],
];

/** The permission byte a name such as "read+zero" stands for. */
export function mirrorProtByte(name: string): number {
  const [base = "", ...flags] = name.split("+");
  if (base === "error") return HMM_DMIRROR_PROT_ERROR;
  let b =
    base === "write"
      ? HMM_DMIRROR_PROT_WRITE
      : base === "read"
        ? HMM_DMIRROR_PROT_READ
        : HMM_DMIRROR_PROT_NONE;
  for (const [flag, bit] of PROT_FLAGS) if (flags.includes(flag)) b |= bit;
  return b;
}

/** The name of a permission byte, for messages: the inverse of mirrorProtByte. */
export function mirrorProtName(b: number): string {
  if (b === HMM_DMIRROR_PROT_ERROR) return "error";
  const base =
    (b & HMM_DMIRROR_PROT_WRITE) !== 0
      ? "write"
      : (b & HMM_DMIRROR_PROT_READ) !== 0
        ? "read"
        : "none";
  return [base, ...PROT_FLAGS.filter(([, bit]) => (b & bit) !== 0).map(([f]) => f)].join("+");
}

function checkProt(site: MirrorSite, want: readonly string[], got: Uint8Array): void {
  const i = want.findIndex((name, page) => mirrorProtByte(name) !== got[page]);
  if (i < 0) return;
  const message = `mirror_snapshot: page ${i} is ${mirrorProtName(got[i] ?? 0)}, expected ${want[i] ?? ""}`;
  fail(site, "data_mismatch", message);
}

/**
 * ioctl(2) on the mirror's descriptor. A descriptor no longer in the file table (closed,
 * or gone with the process's exit_files) is not found: EBADF, the driver never sees it.
 * The call holds the file while the driver runs, as fdget() does when threads share the
 * table, so a sibling's exit that closes the table cannot release the mirror under it:
 * the release runs at this call's fput.
 */
function* ioctl(
  p: ProcessRt,
  m: MirrorRt,
  command: HmmDmirrorCommand,
  cmd: HmmDmirrorCmd,
): KGen<number> {
  if (m.closed || !p.proc.files.includes(m.file)) return EBADF;
  getFile(m.file);
  const ret = yield* dmirrorFopsUnlockedIoctl(m.dmirror, command, cmd);
  yield* fput(m.file);
  return ret;
}

/** close() of the mirror's descriptor: the file leaves the table, its last fput releases. */
export function* mirrorClose(p: ProcessRt, name: string): KGen<MirrorOutcome> {
  const m = mirrorOf(p, name);
  if (m.closed) return { ret: errnoName(EBADF), next: "continue" };
  m.closed = true;
  const at = p.proc.files.indexOf(m.file);
  // exit_files may have taken it already: then it is closed (and the thread is stopping).
  if (at < 0) return { ret: errnoName(EBADF), next: "continue" };
  p.proc.files.splice(at, 1);
  yield* fput(m.file);
  return { ret: 0, next: "continue" };
}
