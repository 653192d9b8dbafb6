import assert from "node:assert/strict";
import { test } from "node:test";
import { explore } from "../../src/check/explore.ts";
import { buildRaceReport } from "../../src/check/report.ts";
import { runScenario, type Scenario } from "../../src/check/scenario.ts";
import { shrink } from "../../src/check/shrink.ts";
import { Pct } from "../../src/check/strategies/pct.ts";
import {
  decodeSchedule,
  decodeToken,
  encodeSchedule,
  encodeToken,
  replayToken,
  scenarioHash,
  TokenError,
  type TokenErrorReason,
} from "../../src/check/token.ts";
import { publishFree, toyScenarios } from "../../src/check/toy/index.ts";
import { TIMER_ID } from "../../src/sim/strategy.ts";

test("schedules are run-length encoded and decode back", () => {
  const schedule = [0, 0, 0, 1, 2, 2, 0];
  assert.equal(encodeSchedule(schedule), "0*3,1,2*2,0");
  assert.deepEqual([...decodeSchedule("0*3,1,2*2,0")], schedule);
  assert.deepEqual([...decodeSchedule("")], []);
});

test("timer steps are written t and decode to TIMER_ID", () => {
  const schedule = [0, TIMER_ID, TIMER_ID, 1, TIMER_ID, 0];
  assert.equal(encodeSchedule(schedule), "0,t*2,1,t,0");
  assert.deepEqual([...decodeSchedule("0,t*2,1,t,0")], schedule);
  assert.equal(
    reasonOf(() => decodeSchedule(String(TIMER_ID))),
    "schedule",
  );
});

test("a token records its timing; a version 1 token decodes as nominal timing", () => {
  const free = encodeToken(publishFree, {
    seed: 1,
    schedule: [0],
    strategy: "random",
    timing: "free",
  });
  assert.equal(decodeToken(free).timing, "free");
  const v1: Record<string, unknown> = { ...body, v: 1 };
  delete v1.tm;
  const old = `odp1.${Buffer.from(JSON.stringify(v1)).toString("base64url")}`;
  assert.equal(decodeToken(old).timing, "nominal");
  assert.equal(decodeToken(old).seed, 1);
});

test("a token round-trips every field and is URL-safe", () => {
  const token = encodeToken(publishFree, {
    seed: 42,
    schedule: [0, 0, 1, 0],
    strategy: "pct",
    design: "classic",
    defects: ["no-retry-check"],
  });
  assert.match(token, /^odp2\.[A-Za-z0-9_-]+$/);
  const data = decodeToken(token);
  assert.equal(data.scenario, "publish-free");
  assert.equal(data.scenarioHash, scenarioHash(publishFree));
  assert.equal(data.design, "classic");
  assert.deepEqual(data.defects, ["no-retry-check"]);
  assert.equal(data.strategy, "pct");
  assert.equal(data.seed, 42);
  assert.deepEqual([...data.schedule], [0, 0, 1, 0]);
  assert.equal(data.timing, "nominal");
  assert.equal(data.faults, null);
});

test("a token carries the fault plan, with the faults shrinking suppressed", () => {
  const faults = { sites: ["umr", "process_kill"] as const, probability: 0.25, suppressed: [0, 3] };
  const token = encodeToken(publishFree, {
    seed: 1,
    schedule: [0],
    strategy: "random",
    faults: { ...faults, sites: [...faults.sites] },
  });
  assert.deepEqual(decodeToken(token).faults, { ...faults, sites: [...faults.sites] });
});

test("a token carries the scenario parts a shrunk run leaves out", () => {
  const omit = ["app/cpu[2]", "app/nic"];
  const token = encodeToken(publishFree, { seed: 1, schedule: [0], strategy: "random", omit });
  assert.deepEqual(decodeToken(token).omit, omit);
});

test("a token replays a PCT run to the same trace hash", () => {
  const r = explore(publishFree, { strategy: "pct", schedules: 5000, seed: 1 });
  const f = r.firstFailure;
  assert.ok(f !== null && r.pctChoices !== undefined);
  const original = runScenario(publishFree, {
    seed: f.seed,
    strategy: new Pct({ depth: 3, choices: r.pctChoices }),
    trace: true,
  });
  const token = encodeToken(publishFree, { seed: f.seed, schedule: f.schedule, strategy: "pct" });
  const replay = replayToken(token, toyScenarios);
  assert.equal(replay.traceHash, original.result.trace?.hash());
  assert.equal(replay.run.violations[0]?.kind, "use_after_free");
});

test("a token of a shrunk run replays to the report's trace hash", () => {
  const f = explore(publishFree, { strategy: "random", schedules: 5000, seed: 7 }).firstFailure;
  assert.ok(f !== null);
  const s = shrink(publishFree, { seed: f.seed, schedule: f.schedule });
  const report = buildRaceReport(publishFree, { seed: f.seed, schedule: s.executed });
  const token = encodeToken(publishFree, {
    seed: f.seed,
    schedule: s.executed,
    strategy: "random",
  });
  assert.equal(replayToken(token, (name) => toyScenarios.get(name)).traceHash, report.traceHash);
});

function reasonOf(fn: () => unknown): TokenErrorReason {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof TokenError, `not a TokenError: ${String(error)}`);
    assert.match(error.message, /^bad replay token: /);
    return error.reason;
  }
  assert.fail("no error");
}

const b64 = (text: string) => `odp2.${Buffer.from(text).toString("base64url")}`;
const good = encodeToken(publishFree, { seed: 1, schedule: [0, 1], strategy: "random" });
const body = JSON.parse(Buffer.from(good.slice(5), "base64url").toString()) as Record<
  string,
  unknown
>;
const withField = (key: string, value: unknown) => b64(JSON.stringify({ ...body, [key]: value }));

const malformed: [string, string, TokenErrorReason][] = [
  ["empty", "", "prefix"],
  ["another format", "hello", "prefix"],
  ["a future version prefix", "odp9.eyJ2Ijo5fQ", "version"],
  ["characters outside base64url", "odp2.abc+/=", "encoding"],
  ["truncated payload", good.slice(0, 20), "json"],
  ["JSON that is not an object", b64("[1,2]"), "json"],
  ["payload version 1 under an odp2 prefix", withField("v", 1), "version"],
  ["timing neither nominal nor free", withField("tm", "fast"), "field"],
  ["missing timing", withField("tm", undefined), "field"],
  ["missing seed", withField("sd", undefined), "field"],
  ["fractional seed", withField("sd", 1.5), "field"],
  ["defects not a list", withField("df", "x"), "field"],
  ["bad schedule run", withField("s", "0*x"), "schedule"],
  ["zero-length run", withField("s", "0*0"), "schedule"],
  ["huge run", withField("s", "0*99999999999"), "schedule"],
  ["fault plan not an object", withField("f", "umr"), "field"],
  ["unknown fault site", withField("f", { s: ["meteor"] }), "field"],
  ["fault probability above 1", withField("f", { s: ["umr"], p: 2 }), "field"],
  ["negative suppressed fault number", withField("f", { s: ["umr"], x: [-1] }), "field"],
  ["parts left out not a list", withField("o", "app/cpu"), "field"],
];

for (const [what, token, reason] of malformed) {
  test(`a malformed token (${what}) is a TokenError of reason ${reason}`, () => {
    assert.equal(
      reasonOf(() => decodeToken(token)),
      reason,
    );
  });
}

test("replay refuses unknown scenarios, changed scenarios and diverging schedules", () => {
  assert.equal(
    reasonOf(() => replayToken(withField("sc", "nope"), toyScenarios)),
    "unknown_scenario",
  );
  const changed: Scenario = { ...publishFree, description: `${publishFree.description} v2` };
  assert.equal(
    reasonOf(() => replayToken(good, () => changed)),
    "scenario_changed",
  );
  assert.equal(
    reasonOf(() => replayToken(withField("s", "7*3"), toyScenarios)),
    "diverged",
  );
});
