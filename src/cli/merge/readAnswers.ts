/**
 * `odpsim merge`'s read step: the command line's files and directories to the shards'
 * answers. A directory stands for the `.json` files in it. An empty file is a shard that
 * wrote nothing (killed, out of time): it is skipped with a note, and its shard shows as
 * missing. Anything else that is not an `explore --json` answer is a UsageError naming
 * the file and what is wrong with it.
 *
 * Models no kernel file.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../usageError.ts";
import { exploreAnswerSchema } from "./answerSchema.ts";
import type { ShardAnswer } from "./mergeAnswers.ts";

/** The files `paths` name: each file, and each directory's `.json` files in name order. */
function filesOf(paths: readonly string[]): string[] {
  return paths.flatMap((path) => {
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      throw new UsageError(`merge: no such file or directory: ${path}`);
    }
    if (!isDir) return [path];
    const names = readdirSync(path)
      .filter((f) => f.endsWith(".json"))
      .sort();
    if (names.length === 0) throw new UsageError(`merge: no .json files in ${path}`);
    return names.map((f) => join(path, f));
  });
}

/** One file's answer, or null for an empty file. */
function readAnswer(file: string): ShardAnswer | null {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new UsageError(`${file}: cannot read: ${(error as Error).message}`);
  }
  if (text.trim() === "") return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${file}: not JSON: ${(error as Error).message}`);
  }
  const parsed = exploreAnswerSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where =
      issue === undefined || issue.path.length === 0 ? "" : ` at ${issue.path.join(".")}`;
    throw new UsageError(
      `${file}: not an explore --json answer${where}: ${issue?.message ?? "invalid"}`,
    );
  }
  return { file, answer: parsed.data };
}

export interface ReadAnswers {
  readonly answers: readonly ShardAnswer[];
  /** Files skipped because they are empty. */
  readonly empty: readonly string[];
}

export function readAnswers(paths: readonly string[]): ReadAnswers {
  const answers: ShardAnswer[] = [];
  const empty: string[] = [];
  for (const file of filesOf(paths)) {
    const a = readAnswer(file);
    if (a === null) empty.push(file);
    else answers.push(a);
  }
  if (answers.length === 0) throw new UsageError("merge: every file is empty; no answers to merge");
  return { answers, empty };
}
