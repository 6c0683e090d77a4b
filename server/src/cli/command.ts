// The shape of a `ptscn` subcommand. Each subcommand lives in its own file and is listed once in
// commands.ts; the dispatcher, help and usage errors come for free.

import type { CliIo } from './io';

export interface CliCommand {
  /** The word after `ptscn`. */
  name: string;
  /** The synopsis shown in `ptscn --help`, such as `run FILE… [--json]`. */
  synopsis: string;
  /** One line for the command list. */
  summary: string;
  /** The full text of `ptscn help NAME`. */
  help: string;
  /**
   * Runs the command with the arguments after its name and returns the exit status. Throws
   * `UsageError` for a usage mistake; any other exception is a bug.
   */
  run(args: readonly string[], io: CliIo): number;
}

/** Splits arguments into flags (`--json`) and operands; `--` ends the flags. */
export function splitArgs(args: readonly string[]): { flags: string[]; operands: string[] } {
  const flags: string[] = [];
  const operands: string[] = [];
  let flagsEnded = false;
  for (const arg of args) {
    if (!flagsEnded && arg === '--') flagsEnded = true;
    else if (!flagsEnded && arg.startsWith('-') && arg !== '-') flags.push(arg);
    else operands.push(arg);
  }
  return { flags, operands };
}
