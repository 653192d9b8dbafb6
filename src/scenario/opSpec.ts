/**
 * Operations as the compiler and validator see them: a name and its arguments, plus
 * which kind of thread may run each.
 *
 * Models no kernel file. A user thread is a thread of the process (loads, stores,
 * syscalls, verbs); a nic thread is the host's NIC acting through the process's MRs (a
 * device task); a kernel thread is a kernel daemon acting on the process (the OOM
 * reaper, NUMA balancing) or on its host (hot unplug of the NIC). The HMM test device's
 * commands are ioctls of the process, so user threads issue them.
 */
import type { OpObject, OpSpec } from "./schema.ts";

export type OpName = keyof OpObject;

/** The arguments of each operation (none for exit, oom_reap and device_remove). */
type ArgsOf<K extends OpName> = K extends "exit" | "oom_reap" | "device_remove"
  ? Record<string, never>
  : NonNullable<OpObject[K]>;

/** One operation with exactly one name. */
export type Op = {
  [K in OpName]: { readonly name: K; readonly args: ArgsOf<K> };
}[OpName];

/** The operation's keys: `- exit` is ["exit"], `- cpu_read: {...}` is ["cpu_read"]. */
export function opNames(op: OpSpec): OpName[] {
  if (typeof op === "string") return [op];
  return (Object.keys(op) as OpName[]).filter((k) => op[k] !== undefined);
}

/** The operation, once validation has made sure it has exactly one name. */
export function toOp(op: OpSpec): Op {
  if (typeof op === "string") return { name: op, args: {} };
  const name = opNames(op)[0];
  if (name === undefined) throw new Error("toOp on an empty operation");
  return { name, args: op[name] ?? {} } as Op;
}

export type ThreadKind = "user" | "nic" | "kernel";

/** Which thread kinds may run each operation. */
export const OP_THREAD_KINDS: Readonly<Record<OpName, readonly ThreadKind[]>> = {
  cpu_read: ["user"],
  cpu_write: ["user"],
  munmap: ["user"],
  mprotect: ["user"],
  madvise: ["user"],
  mremap: ["user"],
  mmap: ["user"],
  writeback: ["user", "kernel"],
  drop_caches: ["user", "kernel"],
  migrate: ["user", "kernel"],
  fork: ["user"],
  exit: ["user"],
  sleep_us: ["user", "nic", "kernel"],
  signal: ["user", "nic", "kernel"],
  wait: ["user", "nic", "kernel"],
  reg_mr: ["user"],
  dereg_mr: ["user"],
  destroy_qp: ["user"],
  advise_mr: ["user"],
  oom_reap: ["kernel"],
  post_recv: ["user"],
  post_send: ["user"],
  poll_cq: ["user"],
  device_remove: ["kernel"],
  uverbs_mmap: ["user"],
  mirror_read: ["user"],
  mirror_write: ["user"],
  mirror_snapshot: ["user"],
  mirror_close: ["user"],
  dma_read: ["nic"],
  dma_write: ["nic"],
};
