/**
 * A process: a pid, its address space and its threads.
 *
 * Models the parts of struct task_struct / kernel/fork.c / kernel/exit.c that later
 * layers need: a process owns one mm (task->mm), its threads are simulation tasks in
 * the process's task group, fork() duplicates the mm (dup_mm), exit drops the task's
 * mm_users reference (exit_mm → mmput, which runs exit_mmap when it was the last), and
 * get_task_mm() takes an mm_users reference for someone else (uverbs, umem).
 *
 * A fatal signal (kernel/signal.c, do_group_exit in kernel/exit.c) kills every thread:
 * each dies at its next return to user mode (`Kernel.exitToUserMode`), and once all are
 * gone the process drops its mm (exit_mm) and closes its files (exit_files), which is
 * where an RDMA device file destroys the MRs the process still held. The model keeps
 * one mm_users reference for the process rather than one per thread, so exit_mm waits
 * for the threads: exit_mmap can never run under a thread that is still in the kernel.
 */
import { KernelGlobal, type Kernel, type TaskFn } from "../sim/kernel.ts";
import type { KGen, Task, TaskGroup } from "../sim/task.ts";
import { fput, type File } from "./file.ts";
import { dupMm } from "./fork.ts";
import { MmStruct, mmget, mmput } from "./mmStruct.ts";
import type { PhysMem } from "./physMem.ts";

const FIRST_PID = 100;
/** The pid allocator (kernel/pid.c), per machine. */
const PIDS = new KernelGlobal("kernel/pid.c", () => ({ next: FIRST_PID }));

function nextPid(k: Kernel): number {
  return k.global(PIDS).next++;
}

export class Process {
  readonly pid: number;
  readonly group: TaskGroup;
  /** task->mm: null once the process has exited. */
  mm: MmStruct | null;
  readonly threads: Task[] = [];
  /** The file table: each holds one reference, dropped at exit (exit_files). */
  readonly files: File[] = [];
  /** A fatal signal has been delivered: new threads die before they run. */
  exiting = false;

  constructor(
    readonly k: Kernel,
    readonly phys: PhysMem,
    mm?: MmStruct,
  ) {
    this.pid = nextPid(k);
    this.group = { kind: "process", name: `pid ${this.pid}` };
    this.mm = mm ?? new MmStruct(k, phys, `pid${this.pid}`);
  }

  /** A new thread of this process running `fn` (a simulation task in its group). */
  spawnThread(name: string, fn: TaskFn): Task {
    const task = this.k.spawn(name, this.group, fn);
    this.threads.push(task);
    if (this.exiting) this.k.kill(task);
    return task;
  }
}

/** get_task_mm(): the process's mm with an mm_users reference, or null if exited. */
export function getTaskMm(p: Process): MmStruct | null {
  const mm = p.mm;
  if (mm === null) return null;
  mmget(mm);
  return mm;
}

/** fork(): a child process with a copy of the address space, or -ENOMEM. */
export function* forkProcess(parent: Process): KGen<Process | number> {
  if (parent.mm === null) throw new Error(`pid ${parent.pid} forks after exit`);
  const mm = yield* dupMm(parent.mm);
  if (typeof mm === "number") return mm;
  return new Process(parent.k, parent.phys, mm);
}

/** exit_mm(): the process lets go of its address space. */
export function* exitMm(p: Process): KGen {
  const mm = p.mm;
  if (mm === null) return;
  p.mm = null;
  yield* mmput(mm);
}

/** exit_files(): drops the file table's reference on each file, newest first. */
export function* exitFiles(p: Process): KGen {
  for (const file of p.files.splice(0).reverse()) yield* fput(file);
}

/**
 * SIGKILL to the whole process (do_group_exit): every thread dies at its next return to
 * user mode; the last one out runs exit_mm and exit_files. Sent by another task, that
 * task waits for the threads and tears down; sent by one of the process's own threads
 * (kill(getpid(), SIGKILL), exit_group), the sender is the last one out: it waits for
 * the others, tears down, then dies on its own way back to user mode.
 */
export function* killProcess(p: Process): KGen {
  const k = p.k;
  const sender = k.currentTask();
  p.exiting = true;
  for (const t of p.threads) k.kill(t);
  for (const t of p.threads) if (t !== sender) yield* k.join(t);
  yield* exitMm(p);
  yield* exitFiles(p);
}
