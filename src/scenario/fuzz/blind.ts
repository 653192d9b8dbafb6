/**
 * Blind generation: every program a fresh swarm draw, whatever came before.
 *
 * Models no kernel file. Program i is run 0 of fast-check's generator from its seed
 * (checkProgram.ts), shrunk by fast-check; it ignores observations, so any split of the
 * indices makes the same programs.
 */
import { programGeneArbitrary, type SwarmOptions } from "../generate/programGene.ts";
import { checkProgram } from "./checkProgram.ts";
import type { DrawnProgram, FuzzStrategy } from "./strategy.ts";

export class BlindStrategy implements FuzzStrategy {
  readonly name = "blind";
  readonly wantsCoverage = false;
  private readonly arb;

  constructor(swarm: SwarmOptions) {
    this.arb = programGeneArbitrary(swarm);
  }

  program(...[, seed, judge, maxShrinks, alreadyShrunk]: Parameters<FuzzStrategy["program"]>) {
    const drawn: DrawnProgram = {
      ...checkProgram(this.arb, seed, judge, maxShrinks, alreadyShrunk),
      origin: "fresh",
    };
    return drawn;
  }

  observe(): void {
    // Blind: what a program reached changes nothing.
  }
}
