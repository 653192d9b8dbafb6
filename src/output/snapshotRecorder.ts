/**
 * Samples the modelled state into run-file snapshots while a run goes on.
 *
 * Models no kernel file. The model layers (mm, umem_odp, the NIC) know their state; the
 * viewer wants it at the interesting moments. A layer implements `SnapshotSource`; the
 * recorder watches the trace and takes a snapshot right after every event whose label
 * is in a chosen set, and after every violation (the `violation` event `Kernel.report`
 * emits). Several samples in one step keep the last, the state at the end of the step's
 * recorded events.
 */
import type { Trace, TraceEntry } from "../sim/trace.ts";
import type { Snapshot } from "./runFile.ts";

/** A snapshot without its step: what a model layer can say about itself. */
export type SnapshotState = Omit<Snapshot, "step">;

/**
 * Implemented by the model layers (or a composition of them). `snapshot()` returns a
 * fresh value each call, never live state the model will mutate later.
 */
export interface SnapshotSource {
  snapshot(): SnapshotState;
}

/** The label `Kernel.report` gives the event of every violation. */
export const VIOLATION_EVENT = "violation";

export class SnapshotRecorder {
  private readonly taken: Snapshot[] = [];
  private readonly labels: ReadonlySet<string>;

  constructor(
    private readonly source: SnapshotSource,
    labels: Iterable<string>,
  ) {
    this.labels = new Set(labels);
  }

  /** The snapshots so far, by step. */
  get snapshots(): readonly Snapshot[] {
    return this.taken;
  }

  /** Looks at one trace entry as it is recorded; samples if it is one we want. */
  observe(entry: TraceEntry): void {
    if (entry.kind !== "event") return;
    if (entry.label !== VIOLATION_EVENT && !this.labels.has(entry.label)) return;
    this.sample(entry.step);
  }

  /** Takes a snapshot now, attributed to `step` (replacing one already taken there). */
  sample(step: number): void {
    const state = this.source.snapshot();
    const snap: Snapshot = { step, processes: state.processes, mrs: state.mrs };
    const last = this.taken.at(-1);
    if (last?.step === step) this.taken[this.taken.length - 1] = snap;
    else this.taken.push(snap);
  }

  /**
   * Observes every entry recorded into `trace` from now on, synchronously, so the state
   * sampled is the state at that event. Wraps the instance's `record`; returns a
   * function that undoes it.
   */
  attach(trace: Trace): () => void {
    const original = trace.record.bind(trace);
    trace.record = (entry: TraceEntry): void => {
      original(entry);
      this.observe(entry);
    };
    return () => {
      trace.record = original;
    };
  }
}
