/**
 * Replay tokens: one URL-safe string that carries everything needed to reproduce a
 * failing run byte for byte (`odpsim replay TOKEN`).
 *
 * Models no kernel file. A token is `odp2.` followed by the base64url of a JSON object:
 *
 *     { v: 2, sc: scenario name, h: scenario hash, de: design or null, df: [defects],
 *       st: strategy that found it, sd: seed, tm: timing ("nominal" | "free"),
 *       s: schedule,
 *       f: fault plan { s: [sites], p: probability, x: [suppressed numbers] } (optional),
 *       o: [scenario parts the run leaves out] (optional),
 *       fl: the scenario file, for a scenario loaded from one (optional),
 *       mh: the hash of that module's source (optional),
 *       dh: the hash of the design module's source, for a user's design (optional) }
 *
 * The schedule is run-length encoded, `task*count` runs joined by commas (`0*17,1*4,0`),
 * since a shrunk schedule is mostly long runs of one task; a timer step (free timing) is
 * `t` (`0*17,t,1*4`). Version 1 tokens, made before timing was recorded, decode as
 * nominal timing. The hash is the first 16 hex
 * digits of the SHA-256 of the scenario's description, so a token recorded against a
 * different version of the scenario is refused rather than replayed into nonsense.
 * Every way a token can be malformed is a `TokenError` with a `reason` and a message
 * that says what is wrong; decoding never throws anything else.
 */
import { createHash } from "node:crypto";
import { userMlx5OdpDesign } from "../rdma/mlx5/odp/designs.ts";
import { TIMER_ID } from "../sim/strategy.ts";
import { isTiming, type Timing } from "../sim/timing.ts";
import { FAULT_SITES, hasFaults, type FaultPlan, type FaultSite } from "./faults.ts";
import { replayRecorded, type Replayed } from "./replay.ts";
import type { Scenario } from "./scenario.ts";

export const TOKEN_VERSION = 2;
/** Versions decoded: 1 lacks the timing (nominal). */
const VERSIONS = [1, 2];
const PREFIX = `odp${TOKEN_VERSION}.`;
/** Longest schedule a token may expand to: a bound against hostile run lengths. */
export const MAX_TOKEN_STEPS = 10_000_000;

export interface ReplayTokenData {
  readonly version: number;
  readonly scenario: string;
  readonly scenarioHash: string;
  readonly design: string | null;
  readonly defects: readonly string[];
  readonly strategy: string;
  readonly seed: number;
  /** The timing the run was made under. */
  readonly timing: Timing;
  /** The complete executed schedule. */
  readonly schedule: Uint32Array;
  /** The fault plan of the run, or null when it injected none. */
  readonly faults: FaultPlan | null;
  /** The scenario parts the run leaves out (shrinking's doing). */
  readonly omit: readonly string[];
  /** The scenario file to load the scenario from, or null for a built-in scenario. */
  readonly file: string | null;
  /** The hash of the module source the scenario came from (Scenario.sourceHash), or null. */
  readonly sourceHash: string | null;
  /** The hash of the user's design module the run was made under, or null. */
  readonly designHash: string | null;
}

export type TokenErrorReason =
  | "prefix"
  | "encoding"
  | "json"
  | "field"
  | "version"
  | "schedule"
  | "unknown_scenario"
  | "scenario_changed"
  | "diverged";

export class TokenError extends Error {
  constructor(
    readonly reason: TokenErrorReason,
    message: string,
  ) {
    super(`bad replay token: ${message}`);
    this.name = "TokenError";
  }
}

/** The hash a token records for `scenario`. */
export function scenarioHash(scenario: Scenario): string {
  return createHash("sha256").update(scenario.description).digest("hex").slice(0, 16);
}

/** `0*17,t,1*4,0`: runs of one task id, `t` for timer steps. */
export function encodeSchedule(schedule: ArrayLike<number>): string {
  const runs: string[] = [];
  for (let i = 0; i < schedule.length;) {
    const id = schedule[i] as number;
    let j = i + 1;
    while (j < schedule.length && schedule[j] === id) j++;
    const name = id === TIMER_ID ? "t" : String(id);
    runs.push(j - i === 1 ? name : `${name}*${j - i}`);
    i = j;
  }
  return runs.join(",");
}

const RUN = /^(t|0|[1-9][0-9]{0,9})(?:\*([1-9][0-9]{0,9}))?$/;

export function decodeSchedule(text: string): Uint32Array {
  if (text === "") return new Uint32Array(0);
  const ids: number[] = [];
  const counts: number[] = [];
  let total = 0;
  for (const run of text.split(",")) {
    const m = RUN.exec(run);
    if (m === null) {
      throw new TokenError(
        "schedule",
        `schedule run "${run.slice(0, 20)}" is not TASK, t or TASK*COUNT`,
      );
    }
    const id = m[1] === "t" ? TIMER_ID : Number(m[1]);
    const count = m[2] === undefined ? 1 : Number(m[2]);
    if (m[1] !== "t" && id >= TIMER_ID) {
      throw new TokenError("schedule", `task id ${id} is out of range`);
    }
    total += count;
    if (total > MAX_TOKEN_STEPS) {
      throw new TokenError("schedule", `schedule is longer than ${MAX_TOKEN_STEPS} steps`);
    }
    ids.push(id);
    counts.push(count);
  }
  const out = new Uint32Array(total);
  let at = 0;
  ids.forEach((id, i) => {
    const count = counts[i] as number;
    out.fill(id, at, at + count);
    at += count;
  });
  return out;
}

export interface TokenInput {
  readonly seed: number;
  /** The complete executed schedule of the run (e.g. `ShrinkResult.executed`). */
  readonly schedule: ArrayLike<number>;
  readonly strategy: string;
  /** Default nominal. */
  readonly timing?: Timing;
  readonly design?: string;
  readonly defects?: readonly string[];
  readonly faults?: FaultPlan;
  readonly omit?: readonly string[];
}

export function encodeToken(scenario: Scenario, input: TokenInput): string {
  const body = {
    v: TOKEN_VERSION,
    sc: scenario.name,
    h: scenarioHash(scenario),
    de: input.design ?? null,
    df: [...(input.defects ?? [])],
    st: input.strategy,
    sd: input.seed,
    tm: input.timing ?? "nominal",
    s: encodeSchedule(input.schedule),
    ...(hasFaults(input.faults) ? { f: encodeFaults(input.faults) } : {}),
    ...(input.omit === undefined || input.omit.length === 0 ? {} : { o: [...input.omit] }),
    ...(scenario.file === undefined ? {} : { fl: scenario.file }),
    ...(scenario.sourceHash === undefined ? {} : { mh: scenario.sourceHash }),
    ...designHashField(input.design),
  };
  return PREFIX + Buffer.from(JSON.stringify(body), "utf8").toString("base64url");
}

/** A user's design is recorded with its source's hash, so a changed module is refused. */
function designHashField(design: string | undefined): { dh?: string } {
  const hash = design === undefined ? null : (userMlx5OdpDesign(design)?.sourceHash ?? null);
  return hash === null ? {} : { dh: hash };
}

function field<T>(
  body: Record<string, unknown>,
  key: string,
  what: string,
  ok: (v: unknown) => v is T,
): T {
  const value = body[key];
  if (!ok(value)) throw new TokenError("field", `field "${key}" (${what}) is missing or malformed`);
  return value;
}

function encodeFaults(plan: FaultPlan): Record<string, unknown> {
  return {
    s: [...plan.sites],
    ...(plan.probability === undefined ? {} : { p: plan.probability }),
    ...(plan.suppressed === undefined || plan.suppressed.length === 0
      ? {}
      : { x: [...plan.suppressed] }),
  };
}

function decodeFaults(value: unknown): FaultPlan | null {
  if (value === undefined) return null;
  const bad = (what: string) => new TokenError("field", `field "f" (fault plan): ${what}`);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw bad("not an object");
  }
  const f = value as Record<string, unknown>;
  const known = new Set<string>(FAULT_SITES);
  if (!isStrings(f.s) || !f.s.every((s) => known.has(s))) {
    throw bad(`"s" must list fault sites (${FAULT_SITES.join(", ")})`);
  }
  const p = f.p;
  if (p !== undefined && !(typeof p === "number" && p > 0 && p <= 1)) {
    throw bad(`"p" must be a probability in (0, 1]`);
  }
  const x = f.x;
  if (x !== undefined && !(Array.isArray(x) && x.every((n) => isSeed(n) && n >= 0))) {
    throw bad(`"x" must list fault numbers`);
  }
  return {
    sites: f.s as FaultSite[],
    ...(p === undefined ? {} : { probability: p }),
    ...(x === undefined ? {} : { suppressed: x as number[] }),
  };
}

const isString = (v: unknown): v is string => typeof v === "string";
const isSeed = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);
const isDesign = (v: unknown): v is string | null => v === null || typeof v === "string";
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);

/** Decodes a token without replaying it. */
export function decodeToken(token: string): ReplayTokenData {
  const text = token.trim();
  if (!text.startsWith("odp")) {
    throw new TokenError("prefix", `it should start with "${PREFIX}"`);
  }
  const prefixVersion = /^odp([0-9]+)\./.exec(text)?.[1];
  if (prefixVersion === undefined)
    throw new TokenError("prefix", `it should start with "${PREFIX}"`);
  if (!VERSIONS.includes(Number(prefixVersion))) {
    throw new TokenError(
      "version",
      `token version ${prefixVersion} is not supported (only ${VERSIONS.join(", ")})`,
    );
  }
  const payload = text.slice(`odp${prefixVersion}.`.length);
  if (!/^[A-Za-z0-9_-]+$/.test(payload)) {
    throw new TokenError(
      "encoding",
      "the part after the prefix is not base64url (A-Z a-z 0-9 - _)",
    );
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    throw new TokenError("json", "the payload does not decode to JSON (truncated or mistyped?)");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new TokenError("json", "the payload is not a JSON object");
  }
  const b = body as Record<string, unknown>;
  const version = field(b, "v", "version", isSeed);
  if (version !== Number(prefixVersion)) {
    throw new TokenError(
      "version",
      `payload version ${version} does not match the prefix's (${prefixVersion})`,
    );
  }
  return {
    version,
    scenario: field(b, "sc", "scenario name", isString),
    scenarioHash: field(b, "h", "scenario hash", isString),
    design: field(b, "de", "design", isDesign),
    defects: field(b, "df", "defects", isStrings),
    strategy: field(b, "st", "strategy", isString),
    seed: field(b, "sd", "seed", isSeed),
    timing: version === 1 ? "nominal" : field(b, "tm", "timing", isTiming),
    schedule: decodeSchedule(field(b, "s", "schedule", isString)),
    faults: decodeFaults(b.f),
    omit: b.o === undefined ? [] : field(b, "o", "parts left out", isStrings),
    file: b.fl === undefined ? null : field(b, "fl", "scenario file", isString),
    sourceHash: b.mh === undefined ? null : field(b, "mh", "module source hash", isString),
    designHash: b.dh === undefined ? null : field(b, "dh", "design source hash", isString),
  };
}

export type ScenarioLookup =
  ReadonlyMap<string, Scenario> | ((name: string) => Scenario | undefined);

export interface TokenReplay {
  readonly token: ReplayTokenData;
  readonly scenario: Scenario;
  readonly run: Replayed;
  /** SHA-256 of the replayed trace. */
  readonly traceHash: string;
}

/** Decodes `token`, finds its scenario and replays the run exactly, with the trace on. */
export function replayToken(token: string, lookup: ScenarioLookup): TokenReplay {
  const data = decodeToken(token);
  const scenario = typeof lookup === "function" ? lookup(data.scenario) : lookup.get(data.scenario);
  if (scenario === undefined) {
    throw new TokenError("unknown_scenario", `no scenario named "${data.scenario}"`);
  }
  if (data.sourceHash !== null && scenario.sourceHash !== data.sourceHash) {
    throw new TokenError(
      "scenario_changed",
      `module ${data.file ?? data.scenario} has changed since the token was made ` +
        `(source hash ${data.sourceHash}, now ${scenario.sourceHash ?? "none"})`,
    );
  }
  if (data.designHash !== null) {
    const now = userMlx5OdpDesign(data.design ?? "")?.sourceHash ?? "none";
    if (now !== data.designHash) {
      throw new TokenError(
        "scenario_changed",
        `design module ${data.design ?? ""} has changed since the token was made ` +
          `(source hash ${data.designHash}, now ${now})`,
      );
    }
  }
  const hash = scenarioHash(scenario);
  if (hash !== data.scenarioHash) {
    throw new TokenError(
      "scenario_changed",
      `scenario "${data.scenario}" has changed since the token was made ` +
        `(hash ${data.scenarioHash}, now ${hash})`,
    );
  }
  const run = replayRecorded(scenario, {
    seed: data.seed,
    schedule: data.schedule,
    timing: data.timing,
    ...(data.design === null ? {} : { design: data.design }),
    defects: data.defects,
    ...(data.faults === null ? {} : { faults: data.faults }),
    omit: data.omit,
  });
  if (run.divergence >= 0) {
    throw new TokenError(
      "diverged",
      `the run left the recorded schedule at step ${run.divergence} of ${data.schedule.length}`,
    );
  }
  return { token: data, scenario, run, traceHash: run.result.trace?.hash() ?? "" };
}
