/**
 * The odpsim command's exit codes, the one place they are defined: 0 clean, 1 a violation
 * was found, 2 bad usage or input.
 *
 * Models no kernel file.
 */
export const EXIT_OK = 0;
export const EXIT_VIOLATION = 1;
export const EXIT_USAGE = 2;

/** How a command's action hands its exit code back to `runCli`. */
export type SetExitCode = (code: number) => void;
