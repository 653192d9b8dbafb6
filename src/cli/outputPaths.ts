/**
 * Where odpsim writes files the user named (`--trace FILE`, `--out DIR`): checked before
 * the work starts, so a path that cannot be written is one line and exit 2 up front, not
 * a stack trace after a long search; and written so that a failure then is the same one
 * line.
 *
 * Models no kernel file. The check is a real write: access(2) says yes to root for
 * anything, and /proc takes no new files though it looks writable, so a probe file is
 * created (and removed) where the output will go. Directories are made one level at a
 * time: node's recursive mkdir spins forever on a /proc path.
 */
import { closeSync, mkdirSync, openSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { UsageError } from "./usageError.ts";

const REASONS: Readonly<Record<string, string>> = {
  ENOENT: "no such file or directory",
  ENOTDIR: "a part of the path is a file, not a directory",
  EISDIR: "it is a directory",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOSPC: "no space left on the device",
  EEXIST: "it exists and is not a directory",
  EIO: "input/output error",
};

/** The errno of a failed file operation in words, e.g. "permission denied (EACCES)". */
export function fileErrorReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === undefined) throw error;
  return `${REASONS[code] ?? "cannot write"} (${code})`;
}

/** `what` failed on `path`: one line naming the path and the reason. */
function cannot(what: string, path: string, error: unknown): UsageError {
  return new UsageError(`cannot ${what} ${path}: ${fileErrorReason(error)}`);
}

/** What is at `path`: a directory, another file, or nothing. */
function kindOf(path: string): "dir" | "file" | "none" {
  try {
    return statSync(path).isDirectory() ? "dir" : "file";
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return "none";
    if (code === "ENOTDIR") return "file";
    throw error;
  }
}

/** The closest existing ancestor of `path` (a missing `path` itself excluded). */
function existingAncestor(path: string): string {
  let dir = dirname(path);
  while (kindOf(dir) === "none" && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/**
 * Why `dir` takes no new files, or null when it does: a probe file is created there and
 * removed, whatever access(2) says.
 */
function probeDir(dir: string): string | null {
  const probe = join(dir, `.odpsim-write-check-${process.pid}`);
  try {
    closeSync(openSync(probe, "wx"));
  } catch (error) {
    return `cannot create files in ${dir}: ${fileErrorReason(error)}`;
  }
  unlinkSync(probe);
  return null;
}

/** Why `flag FILE` cannot be written, or null: its directory must exist and take files. */
function outputFileProblem(path: string): string | null {
  const file = resolve(path);
  const kind = kindOf(file);
  if (kind === "dir") return "it is a directory, not a file";
  const dir = dirname(file);
  const dirKind = kindOf(dir);
  if (dirKind === "none") return `no directory ${dir}`;
  if (dirKind === "file") return `${existingFileOn(dir)} is a file, not a directory`;
  if (kind === "none") return probeDir(dir);
  try {
    closeSync(openSync(file, "r+"));
    return null;
  } catch (error) {
    return `cannot write it: ${fileErrorReason(error)}`;
  }
}

/** Why `flag DIR` cannot be made (if missing) and written into, or null. */
function outputDirProblem(path: string): string | null {
  const dir = resolve(path);
  const kind = kindOf(dir);
  if (kind === "file") return `${existingFileOn(dir)} is a file, not a directory`;
  const base = kind === "dir" ? dir : existingAncestor(dir);
  if (kindOf(base) === "file") return `${existingFileOn(base)} is a file, not a directory`;
  return probeDir(base);
}

/** The first part of `path` that is a file (what makes the rest of it unreachable). */
function existingFileOn(path: string): string {
  let d = path;
  while (dirname(d) !== d && kindOf(dirname(d)) !== "dir") d = dirname(d);
  return d;
}

/** `flag FILE` can be written; else a UsageError naming the path and why. */
export function checkOutputFile(path: string, flag: string): void {
  const problem = outputFileProblem(path);
  if (problem !== null) throw new UsageError(`${flag} ${path}: ${problem}`);
}

/** `flag DIR` can be made (if missing) and written into; else a UsageError. */
export function checkOutputDir(path: string, flag: string): void {
  const problem = outputDirProblem(path);
  if (problem !== null) throw new UsageError(`${flag} ${path}: ${problem}`);
}

/** Makes `dir` and its missing parents, one level at a time. */
export function makeOutputDir(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); kindOf(d) === "none" && dirname(d) !== d; d = dirname(d)) {
    missing.unshift(d);
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (error) {
      throw cannot("create directory", d, error);
    }
  }
  if (kindOf(dir) !== "dir") throw new UsageError(`cannot write into ${dir}: not a directory`);
}

/** Writes `text` to `path`; a failure is one line naming the path. */
export function writeOutputFile(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (error) {
    throw cannot("write", path, error);
  }
}
