/**
 * The data checks of a scenario's `expect`: after a clean run, what a process would read
 * from its buffer, compared with what the scenario expects.
 *
 * Models no kernel file. The read is a peek, not a simulated load: it walks the page
 * tables after the run, taking no locks and faulting nothing in, so it cannot change
 * the run it judges. A page with no PTE reads as the CPU's next load would see it: the
 * file's data for a file mapping, zeros for anonymous memory.
 */
import type { RunResult } from "../sim/kernel.ts";
import type { Violation } from "../sim/violation.ts";
import { kernelRead } from "../mm/file.ts";
import { vmaLookup, type MmStruct } from "../mm/mmStruct.ts";
import { PAGE_SIZE } from "../mm/page.ts";
import { pteWalkPfn, walkPte } from "../mm/pageTable.ts";
import { linearPageIndex } from "../mm/vma.ts";
import { compareBytes, specBytes } from "./data.ts";
import type { DataCheckSpec } from "./schema.ts";
import type { World } from "./world.ts";

export type DataCheckStatus = "passed" | "failed" | "not_run";

export interface DataCheckResult {
  readonly process: string;
  readonly buffer: string;
  readonly offset: number;
  readonly bytes: number;
  readonly status: DataCheckStatus;
  /** Why it failed or did not run; empty when it passed. */
  readonly message: string;
}

/** The bytes at [addr, addr + len) as the process would load them, or why it cannot. */
export function peekUser(mm: MmStruct, addr: number, len: number): Uint8Array | string {
  const out = new Uint8Array(len);
  let done = 0;
  while (done < len) {
    const at = addr + done;
    const n = Math.min(len - done, PAGE_SIZE - (at % PAGE_SIZE));
    const vma = vmaLookup(mm, at);
    if (vma === null) return `0x${at.toString(16)} is not mapped`;
    const walk = walkPte(mm, at);
    const inode = vma.vmFile?.inode ?? null;
    if (walk !== null) {
      mm.phys.readBytes(pteWalkPfn(walk, at), at % PAGE_SIZE, out, done, n);
    } else if (inode !== null) {
      const pos = linearPageIndex(vma, at) * PAGE_SIZE + (at % PAGE_SIZE);
      out.set(kernelRead(inode, pos, n), done);
    }
    done += n;
  }
  return out;
}

/** Runs the checks against the finished run (not run when the run did not end cleanly). */
export function runDataChecks(
  world: World,
  checks: readonly DataCheckSpec[],
  result: RunResult,
): DataCheckResult[] {
  const first = world.spec.processes[0]?.name ?? "";
  return checks.map((c) => {
    const process = c.process ?? first;
    const offset = c.offset ?? 0;
    const want = specBytes(c, c.bytes);
    const base = { process, buffer: c.buffer, offset, bytes: want.length };
    if (result.status !== "ok") {
      return { ...base, status: "not_run", message: `the run ended ${result.status}` };
    }
    const p = world.procs.get(process);
    const mm = p?.proc.mm ?? null;
    const buf = p?.buffers.get(c.buffer);
    if (mm === null || buf === undefined) {
      const message = p === undefined ? "the process was never created" : "the process has exited";
      return { ...base, status: "failed", message };
    }
    const got = peekUser(mm, buf.addr + offset, want.length);
    if (typeof got === "string") return { ...base, status: "failed", message: got };
    const mismatch = compareBytes(c, want, got);
    return mismatch === null
      ? { ...base, status: "passed", message: "" }
      : { ...base, status: "failed", message: mismatch };
  });
}

/** Failed checks as post-run violations. */
export function dataCheckViolations(
  results: readonly DataCheckResult[],
  result: RunResult,
): Violation[] {
  return results
    .filter((r) => r.status === "failed")
    .map((r) => {
      const range = `${r.process} ${r.buffer}[${r.offset}, ${r.offset + r.bytes})`;
      return {
        kind: "data_mismatch",
        message: `${range}: ${r.message}`,
        step: result.steps,
        timeNs: result.timeNs,
        task: null,
        details: {
          site: `data check ${range}`,
          process: r.process,
          buffer: r.buffer,
          offset: r.offset,
          bytes: r.bytes,
        },
      };
    });
}
