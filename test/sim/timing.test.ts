/**
 * Free timing: firing the earliest armed timer is one more scheduling choice. Under
 * nominal timing a sleeper wakes only when nothing else can run; under free timing its
 * timer may fire before work that is still runnable, the pick is recorded and replays
 * exactly, and a timed wait's timeout path becomes reachable.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Kernel } from "../../src/sim/kernel.ts";
import { FirstRunnable } from "../../src/sim/strategies/firstRunnable.ts";
import { ReplaySchedule } from "../../src/sim/strategies/replay.ts";
import { UniformRandom } from "../../src/sim/strategies/uniformRandom.ts";
import { TIMER, TIMER_ID, type Strategy } from "../../src/sim/strategy.ts";
import { Completion } from "../../src/sim/sync/completion.ts";
import type { KGen } from "../../src/sim/task.ts";
import type { Timing } from "../../src/sim/timing.ts";

const group = { kind: "process", name: "t" } as const;

/** A worker of `steps` zero-time steps and a sleeper of 10 us; `order` records who went when. */
function sleeperVsWorker(seed: number, timing: Timing, strategy: Strategy = new UniformRandom()) {
  const k = new Kernel({ seed, timing, strategy, trace: true });
  const order: string[] = [];
  function* worker(): KGen {
    for (let i = 0; i < 5; i++) {
      order.push(`w${i}`);
      yield "work";
    }
  }
  function* sleeper(): KGen {
    yield* k.sleep(10_000);
    order.push(`s@${k.clock.now()}`);
  }
  k.spawn("worker", group, () => worker());
  k.spawn("sleeper", group, () => sleeper());
  return { k, order, result: k.run() };
}

test("nominal timing: a sleeper wakes only once nothing else can run", () => {
  for (let seed = 0; seed < 50; seed++) {
    const { order, result } = sleeperVsWorker(seed, "nominal");
    assert.equal(order.at(-1), "s@10000", `seed ${seed}: ${order.join(" ")}`);
    assert.equal(result.schedule.includes(TIMER_ID), false);
  }
});

test("free timing: the sleeper's timer fires before the worker is done on some seeds", () => {
  let early = 0;
  for (let seed = 0; seed < 50; seed++) {
    const { order, result } = sleeperVsWorker(seed, "free");
    assert.ok(order.includes("s@10000"), `seed ${seed}: the sleep is still a lower bound`);
    if (order.at(-1) !== "s@10000") {
      early++;
      assert.ok(result.schedule.includes(TIMER_ID), `seed ${seed}: an early wake is a timer pick`);
    }
  }
  assert.ok(early > 10, `only ${early} of 50 seeds woke the sleeper early`);
});

test("a schedule with timer steps replays byte for byte; its timer steps are traced", () => {
  const first = sleeperVsWorker(3, "free");
  const timerSteps = first.result.trace?.entries.filter((e) => e.task === -1) ?? [];
  assert.ok(timerSteps.length > 0);
  assert.ok(timerSteps.every((e) => e.kind === "step" && e.label === "timer"));
  const again = sleeperVsWorker(0, "free", new ReplaySchedule(first.result.schedule));
  assert.equal(again.result.trace?.hash(), first.result.trace?.hash());
});

test("time stays monotone and a timer step moves it to the earliest deadline", () => {
  for (let seed = 0; seed < 30; seed++) {
    const entries = sleeperVsWorker(seed, "free").result.trace?.entries ?? [];
    for (let i = 1; i < entries.length; i++) {
      assert.ok((entries[i]?.timeNs ?? 0) >= (entries[i - 1]?.timeNs ?? 0), `seed ${seed}`);
    }
  }
});

test("FirstRunnable never fires a timer early, whatever the timing", () => {
  const { order } = sleeperVsWorker(0, "free", new FirstRunnable());
  assert.equal(order.at(-1), "s@10000");
});

test("a strategy that fires a timer it was not offered is an odpsim internal error", () => {
  const rogue: Strategy = { name: "rogue", start() {}, pick: () => TIMER };
  const { result } = sleeperVsWorker(0, "nominal", rogue);
  assert.equal(result.status, "internal_error");
  assert.match(result.internalError?.message ?? "", /fired a timer not offered/);
});

test("free timing makes a timed wait's timeout path reachable; nominal never takes it", () => {
  const outcome = (seed: number, timing: Timing) => {
    const k = new Kernel({ seed, timing });
    const done = new Completion(k, "done");
    let left = -1;
    function* waiter(): KGen {
      left = yield* done.waitTimeout(1_000_000_000);
    }
    function* completer(): KGen {
      for (let i = 0; i < 3; i++) yield "work";
      done.complete();
    }
    k.spawn("waiter", group, () => waiter());
    k.spawn("completer", group, () => completer());
    k.run();
    return left === 0 ? "timed out" : "completed";
  };
  const seeds = Array.from({ length: 60 }, (_, i) => i);
  assert.ok(seeds.every((s) => outcome(s, "nominal") === "completed"));
  const free = seeds.map((s) => outcome(s, "free"));
  assert.ok(free.includes("timed out") && free.includes("completed"), free.join(" "));
});
