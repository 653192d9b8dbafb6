/**
 * What one run of a generated program says: about the model, or only about the program.
 *
 * Models no kernel file. A generated program expects nothing of its calls (decode.ts),
 * so a violation of the scenario runtime's kinds (a poll that timed out, a setup step
 * out of memory) is the program's, and so is a deadlock in which every blocked task
 * waits on one of the program's own events (its signaller stopped, or waits on itself)
 * or joins such a task (a `wait` is not killable: a SIGKILL's join of it never returns),
 * or is a QP's requester waiting for an answer with the local ACK timer off: neither is
 * a finding. The last is IBA's `timeout: 0` (an infinite timeout), which the program
 * chose: a requester with a timer sleeps with a deadline and is never in a deadlock, and
 * one without waits for ever once its peer QP is in the error state, which drops what it
 * receives (a peer whose own request timed out behind a responder page fault, say). Every other violation is the model's; an exception of odpsim is
 * an internal error; a run cut off by the step bound judges nothing.
 */
import type { ScenarioRun } from "../../check/scenario.ts";
import { violationPlace } from "../../check/violationPlace.ts";
import { SCENARIO_RUNTIME_KINDS } from "../../check/violationKinds.ts";
import type { Violation } from "../../sim/violation.ts";

export type RunOutcome =
  | { readonly type: "clean" }
  | { readonly type: "program"; readonly violation: Violation }
  | { readonly type: "violation"; readonly violation: Violation; readonly place: string }
  | { readonly type: "internal_error"; readonly message: string }
  | { readonly type: "inconclusive" };

/**
 * The wait channels of the program's own making: the scenario runtime's `wait:`, a join
 * of a task (a SIGKILL waiting for a thread to return to user mode), which ends in
 * another blocked task of the list, and a requester's wait for an answer, which blocks
 * with no deadline only when the program set the QP's ACK timeout to 0 (requester.ts).
 */
const PROGRAM_EVENT = /^(completion event |join of |wait queue ack_wait\(qp \d+\)$)/;

export function outcomeOf(run: ScenarioRun): RunOutcome {
  const { result } = run;
  if (result.status === "internal_error") {
    return { type: "internal_error", message: result.internalError?.message ?? "internal error" };
  }
  const v = run.violations[0];
  if (v !== undefined) {
    if (isProgramViolation(v)) return { type: "program", violation: v };
    return { type: "violation", violation: v, place: violationPlace(v) };
  }
  if (result.status === "step_bound") return { type: "inconclusive" };
  return { type: "clean" };
}

/** A violation of the program's own making (see the file comment). */
export function isProgramViolation(v: Violation): boolean {
  if ((SCENARIO_RUNTIME_KINDS as readonly string[]).includes(v.kind)) return true;
  if (v.kind !== "deadlock") return false;
  const blocked = v.details.blocked;
  return (
    Array.isArray(blocked) &&
    blocked.every((b: { waitsOn?: unknown }) => PROGRAM_EVENT.test(String(b.waitsOn)))
  );
}
