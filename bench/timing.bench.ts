/**
 * Whether a race is found whatever the scenario's timing (issue 13's measure).
 *
 * explore.timing_offsets_found: one scenario family — a NIC thread hammering an explicit
 * ODP MR under classic with classic-no-retry-check, a thread that madvise(DONTNEED)s part
 * of the buffer after `sleep_us: N`, two noise threads — for N = 0..40 us in steps of 1;
 * how many of the 41 uniform random exploration finds within 20,000 schedules each, under
 * free timing (the default) and, beside it in the same run, under nominal timing.
 *
 * explore.timing_free_vs_nominal: exploration throughput on every catalog scenario (its
 * entry's fixed design, 2,000 schedules), free timing against nominal, measured
 * alternately in one process; the ratio of the medians.
 */
import type { BenchResult } from "./result.ts";
import { CATALOG, entryDefects } from "../src/check/catalog/catalog.ts";
import { explore } from "../src/check/explore.ts";
import { compileScenario } from "../src/scenario/compile.ts";
import { parseScenarioText } from "../src/scenario/parse.ts";
import type { Timing } from "../src/sim/timing.ts";

const OFFSETS = 41;
const BUDGET = 20_000;
const THROUGHPUT_SCHEDULES = 2_000;

/** The family's member with the discarding thread asleep for `us` first. */
export function noisyScenario(us: number) {
  const text = `
name: noisy-${us}
description: a NIC hammers an explicit ODP MR while a thread discards part of it after ${us} us
design: classic
defects: [classic-no-retry-check]
processes:
  - name: app
    setup:
      buffers:
        - { name: buf, pages: 4, fill: 0x11 }
        - { name: scratch, pages: 2, fill: 0x22 }
      registrations:
        - { name: mr, buffer: buf }
    threads:
      - name: nic
        kind: nic
        repeat: 4
        ops:
          - dma_write: { mr: mr, offset: 0, bytes: 64, pattern: 0xa0 }
          - dma_read: { mr: mr, offset: 4096, bytes: 64 }
      - name: zap
        ops:
          - sleep_us: ${us}
          - madvise: { buffer: buf, offset: 0, pages: 2, advice: dontneed }
      - name: noise1
        repeat: 3
        ops:
          - cpu_write: { buffer: scratch, offset: 0, bytes: 8, pattern: 0x33 }
          - sleep_us: 3
      - name: noise2
        repeat: 3
        ops:
          - cpu_read: { buffer: scratch, offset: 4096, bytes: 8 }
          - sleep_us: 7
expect:
  violation: device_use_after_free
`;
  return compileScenario(parseScenarioText(text, `noisy-${us}.yaml`));
}

/** How many members of the family the explorer finds the race in. */
function offsetsFound(timing: Timing): number {
  let found = 0;
  for (let us = 0; us < OFFSETS; us++) {
    const scenario = noisyScenario(us);
    const r = explore(scenario, {
      strategy: "random",
      schedules: BUDGET,
      design: "classic",
      defects: ["classic-no-retry-check"],
      timing,
    });
    if (r.firstFailure?.violation.kind === "device_use_after_free") found++;
  }
  return found;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** Schedules per second on one catalog scenario under `timing`. */
function rate(entry: (typeof CATALOG)[number], timing: Timing): number {
  const t0 = performance.now();
  const r = explore(entry.scenario, {
    strategy: "random",
    schedules: THROUGHPUT_SCHEDULES,
    design: entry.design,
    defects: entryDefects(entry, true),
    stopAtFirst: false,
    timing,
  });
  return r.schedulesRun / ((performance.now() - t0) / 1000);
}

function throughput(): { free: number; nominal: number } {
  const free: number[] = [];
  const nominal: number[] = [];
  const seen = new Set<string>();
  for (const entry of CATALOG) {
    if (seen.has(entry.scenario.name)) continue;
    seen.add(entry.scenario.name);
    rate(entry, "free"); // warm-up
    nominal.push(rate(entry, "nominal"));
    free.push(rate(entry, "free"));
  }
  return { free: median(free), nominal: median(nominal) };
}

export async function timingBenchmarks(): Promise<BenchResult[]> {
  const free = offsetsFound("free");
  const nominal = offsetsFound("nominal");
  const t = throughput();
  return Promise.resolve([
    {
      id: "explore.timing_offsets_found",
      value: free,
      unit: `of ${OFFSETS}`,
      baseline: nominal,
      ratio: nominal > 0 ? free / nominal : free,
    },
    { id: "explore.timing_offsets_found.nominal", value: nominal, unit: `of ${OFFSETS}` },
    { id: "explore.timing.catalog_schedules_per_sec.free", value: t.free, unit: "schedules/s" },
    {
      id: "explore.timing.catalog_schedules_per_sec.nominal",
      value: t.nominal,
      unit: "schedules/s",
    },
    {
      id: "explore.timing_free_vs_nominal",
      value: t.free / t.nominal,
      unit: "x",
      baseline: 1,
      ratio: t.free / t.nominal,
    },
  ]);
}
