/**
 * `odpsim merge`'s render step: the merged answer as text or as one JSON line (the
 * shape of `explore --json`, plus `merge`).
 *
 * Models no kernel file.
 */
import { out } from "../output.ts";
import type { ExploreAnswer } from "./answerSchema.ts";
import type { MergedAnswer } from "./mergeAnswers.ts";

export function renderMerged(merged: MergedAnswer, json: boolean): void {
  if (json) {
    out(JSON.stringify(merged.answer));
    return;
  }
  const a = merged.answer as unknown as ExploreAnswer & MergedAnswer["answer"];
  const { merge } = a;
  const error = a.internalError;
  if (merged.verdict === "internal_error" && error !== undefined) {
    out(`odpsim internal error in schedule ${error.index} (seed ${error.seed}): ${error.message}`);
    out("This is a bug in odpsim, not a finding about the design; the search stops here.");
    out(`replay: odpsim replay ${error.token}`);
  } else if (a.found && a.report !== undefined && a.token !== undefined) {
    out(a.report);
    out();
    out(`replay: odpsim replay ${a.token}`);
  } else {
    out(
      `no violation in ${a.schedulesRun} schedules (${a.search.strategy}, ${a.search.timing} timing)`,
    );
  }
  if (a.inconclusive > 0) {
    out(
      `note: ${a.inconclusive} runs hit the step bound and judge nothing (the first: schedule ` +
        `${a.inconclusiveIndices[0] ?? 0})`,
    );
  }
  for (const e of merge.internalErrors) {
    if (e.index === error?.index) continue;
    out(
      `note: shard ${e.shard} also stopped at an odpsim internal error, schedule ${e.index}: odpsim replay ${e.token}`,
    );
  }
  out(
    `merged ${merge.present.length} of ${merge.shards} shards; they ran ${merge.schedulesRunByShards} schedules`,
  );
  if (merge.missing.length > 0) {
    out(
      `missing shards: ${merge.missing.join(", ")}` +
        (merge.complete
          ? " (none of their schedules lies below the answer)"
          : "; their schedules are unsearched, so this answer is incomplete"),
    );
  }
}
