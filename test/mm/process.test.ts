import assert from "node:assert/strict";
import { test } from "node:test";
import { cpuWrite } from "../../src/mm/access.ts";
import { File } from "../../src/mm/file.ts";
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, vmMmap } from "../../src/mm/mmap.ts";
import { PAGE_SIZE } from "../../src/mm/page.ts";
import { PhysMem } from "../../src/mm/physMem.ts";
import { Process, killProcess } from "../../src/mm/process.ts";
import { Kernel } from "../../src/sim/kernel.ts";
import { FirstRunnable } from "../../src/sim/strategies/firstRunnable.ts";
import type { KGen } from "../../src/sim/task.ts";

function newProcess(): { k: Kernel; proc: Process } {
  const k = new Kernel({ strategy: new FirstRunnable() });
  return { k, proc: new Process(k, new PhysMem(k, { frames: 64 })) };
}

test("SIGKILL: a thread dies at its next user access; then exit_mm and exit_files run", () => {
  const { k, proc } = newProcess();
  const log: string[] = [];
  let stores = 0;
  proc.files.push(
    new File(k, null, {
      *release(): KGen {
        log.push(`release (mm ${proc.mm === null ? "gone" : "still there"})`);
      },
    }),
  );
  proc.spawnThread("loop", function* (): KGen {
    const mm = proc.mm;
    if (mm === null) return;
    const addr = yield* vmMmap(
      mm,
      0,
      PAGE_SIZE,
      PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS,
    );
    for (let i = 0; i < 100; i++) {
      yield* cpuWrite(mm, addr, new Uint8Array([i]));
      stores++;
      yield* k.sleep(1000);
    }
  });
  k.spawn("killer", { kind: "host", name: "kthreads" }, function* (): KGen {
    yield* k.sleep(3500);
    yield* killProcess(proc);
    log.push("killed");
  });
  const r = k.run();
  assert.equal(r.internalError, null, r.internalError?.message);
  assert.deepEqual(r.violations, []);
  assert.equal(stores, 4, "stores at 0, 1000, 2000, 3000 ns; the one at 4000 ns never runs");
  assert.deepEqual(log, ["release (mm gone)", "killed"]);
  assert.equal(proc.mm, null);
});

test("SIGKILL: exit_mm waits for a thread still inside a system call", () => {
  const { k, proc } = newProcess();
  const order: string[] = [];
  proc.spawnThread("syscall", function* (): KGen {
    const mm = proc.mm;
    if (mm === null) return;
    // A system call in progress when the signal comes finishes before the thread dies.
    yield* k.sleep(2000);
    order.push(`syscall returns (mm ${proc.mm === null ? "gone" : "held"})`);
    yield* cpuWrite(mm, 0, new Uint8Array(1));
    order.push("unreachable: a user store after SIGKILL");
  });
  k.spawn("killer", { kind: "host", name: "kthreads" }, function* (): KGen {
    yield* k.sleep(1000);
    yield* killProcess(proc);
    order.push("exit done");
  });
  const r = k.run();
  assert.equal(r.internalError, null, r.internalError?.message);
  assert.deepEqual(order, ["syscall returns (mm held)", "exit done"]);
});

test("SIGKILL: a thread spawned after the signal never runs", () => {
  const { k, proc } = newProcess();
  let ran = false;
  k.spawn("killer", { kind: "host", name: "kthreads" }, function* (): KGen {
    yield* killProcess(proc);
    proc.spawnThread("late", function* (): KGen {
      yield* k.sleep(1);
      ran = true;
    });
  });
  const r = k.run();
  assert.equal(r.internalError, null, r.internalError?.message);
  assert.equal(ran, false);
});
