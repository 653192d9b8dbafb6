/**
 * Bad usage or input found after the flags parsed (an unknown scenario, design, defect or
 * fault site, a bad token): `runCli` prints its message as one line and exits with
 * EXIT_USAGE.
 *
 * Models no kernel file.
 */
export class UsageError extends Error {}
