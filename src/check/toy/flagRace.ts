/**
 * Toy scenario, a depth-2 bug: task A works a while, sets a flag, then clears it; task
 * B works a little and checks the flag once. B seeing the flag set needs A preempted
 * exactly between its set and its clear, after B has been held back long enough, while
 * noise tasks add steps. Uniform random rarely lines this up (B usually checks long
 * before A gets there); PCT does it with probability about 1/(2k).
 *
 * Models no kernel file.
 */
import type { Kernel } from "../../sim/kernel.ts";
import type { KGen } from "../../sim/task.ts";
import type { Scenario } from "../scenario.ts";
import { toyGroup, toyKernel } from "./common.ts";

export interface FlagRaceOptions {
  /** Unlabelled steps A takes before setting the flag. */
  readonly setterWork?: number;
  /** Unlabelled steps B takes before checking. */
  readonly checkerWork?: number;
  /** Tasks that only take steps. */
  readonly noiseTasks?: number;
  readonly noiseWork?: number;
}

export function flagRaceScenario(options: FlagRaceOptions = {}): Scenario {
  const setterWork = options.setterWork ?? 16;
  const checkerWork = options.checkerWork ?? 4;
  const noiseTasks = options.noiseTasks ?? 2;
  const noiseWork = options.noiseWork ?? 8;
  return {
    name: "flag-race",
    description:
      `toy flag-race v1: setter ${setterWork} steps, set, clear; checker ${checkerWork} ` +
      `steps, check; ${noiseTasks} noise tasks x ${noiseWork} steps`,
    build(ctx) {
      const k = toyKernel(ctx);
      const shared: Flag = { flag: false };
      k.spawn("setter", toyGroup, () => setter(shared, setterWork));
      k.spawn("checker", toyGroup, () => checker(k, shared, checkerWork));
      for (let n = 0; n < noiseTasks; n++) k.spawn(`noise${n}`, toyGroup, () => work(noiseWork));
      return k;
    },
  };
}

interface Flag {
  flag: boolean;
}

/** `steps` unlabelled steps. */
function* work(steps: number): KGen {
  for (let i = 0; i < steps; i++) yield;
}

function* setter(shared: Flag, steps: number): KGen {
  yield* work(steps);
  shared.flag = true;
  yield "flag = 1";
  shared.flag = false;
  yield "flag = 0";
}

function* checker(k: Kernel, shared: Flag, steps: number): KGen {
  yield* work(steps);
  if (shared.flag) k.report("flag_race", "checker saw the setter's transient flag");
  yield "if (flag)";
}

export const flagRace = flagRaceScenario();
