/**
 * Coverage-guided generation: programs that reached something no earlier program did
 * (coverage.ts: a new pair of interleaving operations on a lock, a new lock-order edge)
 * are kept as a corpus, and most programs are mutants of it (mutate.ts) instead of
 * fresh draws, as syzkaller and AFL keep inputs that reach new signal.
 *
 * Models no kernel file. Program i is a fresh swarm draw (the blind strategy's program
 * i) while the corpus is empty and with probability FRESH after; otherwise a mutant of
 * a corpus program, with a donor program for splices, all chosen by a generator seeded
 * from the program's seed. The corpus program i sees holds exactly the programs below
 * batchStart(i) that brought new coverage, added in index order (strategy.ts), so
 * program i depends on the seed and on programs below its batch alone. A fresh draw is
 * shrunk by fast-check, a mutant by shrinkGene.ts.
 */
import { seedFor } from "../../check/seedFor.ts";
import { Prng } from "../../sim/rng.ts";
import { ALL_FAULT_SITES, ALL_OP_NAMES, resolveGenerateOptions } from "../generate/options.ts";
import {
  programGeneArbitrary,
  type ProgramGene,
  type SwarmOptions,
} from "../generate/programGene.ts";
import { checkProgram } from "./checkProgram.ts";
import { mutateProgram, type MutationBounds } from "./mutate.ts";
import { shrinkGene } from "./shrinkGene.ts";
import { batchStart, type DrawnProgram, type FuzzStrategy } from "./strategy.ts";

/** The share of programs drawn fresh once the corpus has programs. */
const FRESH = 0.25;
/** Salt of the mutation generator's seed (apart from fast-check's use of the seed). */
const MUTATION_SALT = 0x6d757461;

interface Observation {
  readonly index: number;
  readonly gene: ProgramGene;
  readonly coverage: readonly string[];
}

interface CorpusEntry {
  readonly index: number;
  readonly gene: ProgramGene;
}

export class FeedbackStrategy implements FuzzStrategy {
  readonly name = "feedback";
  readonly wantsCoverage = true;
  private readonly arb;
  private readonly bounds: MutationBounds;
  private readonly seen = new Set<string>();
  private readonly corpus: CorpusEntry[] = [];
  private pending: Observation[] = [];

  constructor(swarm: SwarmOptions) {
    this.arb = programGeneArbitrary(swarm);
    const { maxThreads, maxOps } = resolveGenerateOptions(swarm);
    this.bounds = {
      maxThreads,
      maxOps,
      opNames: swarm.ops ?? ALL_OP_NAMES,
      faultSites: swarm.faultSites ?? ALL_FAULT_SITES,
    };
  }

  /** Programs kept so far (for reports and tests). */
  get corpusSize(): number {
    return this.corpus.length;
  }

  program(...[i, seed, judge, maxShrinks, alreadyShrunk]: Parameters<FuzzStrategy["program"]>) {
    this.settle(batchStart(i));
    const rng = new Prng(seedFor(seed, MUTATION_SALT));
    const parent = this.corpus.length === 0 || rng.chance(FRESH) ? undefined : this.pick(rng);
    if (parent === undefined) {
      const drawn: DrawnProgram = {
        ...checkProgram(this.arb, seed, judge, maxShrinks, alreadyShrunk),
        origin: "fresh",
      };
      return drawn;
    }
    const donor = this.pick(rng) ?? parent;
    const gene = mutateProgram(parent.gene, donor.gene, rng, this.bounds);
    const key = judge(gene);
    const shrink =
      key === null || alreadyShrunk?.(key) === true
        ? { shrunk: gene, shrinkRuns: 0 }
        : shrinkGene(gene, key, judge, maxShrinks);
    const drawn: DrawnProgram = {
      original: gene,
      key,
      ...shrink,
      origin: `mutant of program ${parent.index}`,
    };
    return drawn;
  }

  observe(index: number, gene: ProgramGene, coverage: ReadonlySet<string>): void {
    this.pending.push({ index, gene, coverage: [...coverage] });
  }

  /** Takes in the observations of every program below `start`, in index order. */
  private settle(start: number): void {
    const ready = this.pending.filter((o) => o.index < start).sort((a, b) => a.index - b.index);
    if (ready.length === 0) return;
    this.pending = this.pending.filter((o) => o.index >= start);
    for (const o of ready) {
      const fresh = o.coverage.filter((e) => !this.seen.has(e));
      if (fresh.length === 0) continue;
      for (const e of fresh) this.seen.add(e);
      this.corpus.push({ index: o.index, gene: o.gene });
    }
  }

  private pick(rng: Prng): CorpusEntry | undefined {
    return this.corpus[rng.nextInt(Math.max(1, this.corpus.length))];
  }
}
