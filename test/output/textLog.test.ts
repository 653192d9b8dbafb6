import assert from "node:assert/strict";
import { test } from "node:test";
import { formatNs, toTextLog } from "../../src/output/textLog.ts";
import { Kernel } from "../../src/sim/kernel.ts";
import type { KGen } from "../../src/sim/task.ts";
import { staleRace } from "./fixtures/staleRace.ts";

test("one line per step and event, with the task's name and group", () => {
  const { run } = staleRace();
  const lines = toTextLog(run, run.violations).trimEnd().split("\n");
  assert.equal(lines.length, run.entries.length);
  assert.equal(
    lines[0],
    `0 0ns device host0/mlx5_0 | mlx5_pf#0 event page_fault:begin {"flow":"pf1","flowPhase":"start","va":${run.entries[0]?.fields?.va}}`,
  );
  assert.ok(lines.includes("2 0ns process host0/pid 100 | app#1 step mmap_write_lock"));
  assert.ok(lines.includes("7 200ns host host0 | kworker/0:1#2 step flush"));
});

test("the violation line is marked !! and carries the kind and message", () => {
  const { run } = staleRace();
  const marked = toTextLog(run, run.violations)
    .split("\n")
    .filter((l) => l.startsWith("!! "));
  assert.equal(marked.length, 1);
  assert.match(marked[0] ?? "", /^!! 10 500ns device host0\/mlx5_0 \| mlx5_pf#0 event violation /);
  assert.match(marked[0] ?? "", /"kind":"stale_device_translation"/);
  assert.match(marked[0] ?? "", /mr0 maps pfn 0x42 at 0x7f0000002000/);
});

test("a multi-line message stays on one line; violations with no event are appended", () => {
  const k = new Kernel({ trace: true });
  k.spawn("stuck", { kind: "process", name: "p" }, function* (): KGen {
    k.block({ describe: () => "nothing" });
    yield "wait";
  });
  const result = k.run();
  assert.ok(result.trace);
  const extra = {
    ...result.violations[0],
    kind: "late",
    message: "a\nb",
  } as (typeof result.violations)[0];
  const lines = toTextLog(result.trace, [...result.violations, extra])
    .trimEnd()
    .split("\n");
  assert.equal(lines.length, result.trace.entries.length + 1);
  const deadlock = lines.find((l) => l.includes("deadlock"));
  assert.match(deadlock ?? "", /^!! \d+ 0ns odpsim scheduler \| -#-1 event violation .*\\n/);
  assert.match(lines.at(-1) ?? "", /^!! .* event violation \{"kind":"late","message":"a\\nb"\}$/);
});

test("times print as the sum they stand for, not its binary rounding", () => {
  const k = new Kernel({ trace: true });
  k.spawn("costly", { kind: "process", name: "p" }, function* (): KGen {
    for (let i = 0; i < 3; i++) {
      k.clock.advance(0.1);
      yield "charged 0.1ns";
    }
  });
  const result = k.run();
  assert.ok(result.trace);
  assert.equal(0.1 + 0.1 + 0.1, 0.30000000000000004);
  const times = toTextLog(result.trace)
    .trimEnd()
    .split("\n")
    .map((l) => l.split(" ")[1]);
  assert.ok(times.includes("0.3ns"), times.join(" "));
  assert.ok(!times.some((t) => /\d{6,}ns$/.test(t ?? "")), times.join(" "));
});

test("formatNs keeps picoseconds and integers as they are", () => {
  assert.equal(formatNs(66033.59999999999), "66033.6");
  assert.equal(formatNs(22007.199999999997), "22007.2");
  assert.equal(formatNs(1500), "1500");
  assert.equal(formatNs(0.125), "0.125");
});
