/**
 * How a fuzz campaign chooses its programs: strategies behind one small interface, as
 * Shuttle's schedulers are (a campaign asks for program i, then tells what it reached).
 *
 * Models no kernel file. A strategy draws program i from its seed and from what it was
 * told about earlier programs, judges it with the campaign's judge, and shrinks a
 * failure. To keep a campaign a function of its seed and budget, program i may depend
 * only on the observations of programs below the start of its batch (`FUZZ_BATCH`
 * indices): the campaign tells them in index order, and any split of the indices over
 * workers that meets at batch boundaries makes the same programs. The registry of
 * strategies and the default live in strategies.ts.
 */
import type { ProgramGene } from "../generate/programGene.ts";
import type { CheckedProgram, Judge } from "./checkProgram.ts";

/** Programs per batch: a program sees the coverage of every earlier batch, no more. */
export const FUZZ_BATCH = 16;

/** The first index of the batch index `i` is in. */
export function batchStart(i: number): number {
  return i - (i % FUZZ_BATCH);
}

/** A program as a strategy drew it, judged, and shrunk if it failed. */
export interface DrawnProgram extends CheckedProgram<ProgramGene> {
  /** How it was made, for a failure's header: `fresh`, or `mutant of program N`. */
  readonly origin: string;
}

export interface FuzzStrategy {
  readonly name: string;
  /** Whether `observe` wants what each program reached (recording it costs time). */
  readonly wantsCoverage: boolean;
  /**
   * Draws program `i` (seed `programSeed`), judges it, and shrinks a failure by at most
   * `maxShrinks` candidates unless `alreadyShrunk(key)`.
   */
  program(
    i: number,
    programSeed: number,
    judge: Judge<ProgramGene>,
    maxShrinks: number,
    alreadyShrunk?: (key: string) => boolean,
  ): DrawnProgram;
  /** What program `i` reached (coverage.ts); told in index order, after `program(i)`. */
  observe(i: number, gene: ProgramGene, coverage: ReadonlySet<string>): void;
}
