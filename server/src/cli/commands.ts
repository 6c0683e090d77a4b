// Every `ptscn` subcommand, in the order `ptscn --help` lists them. A new subcommand (such as
// `accounting`) is a new file exporting a CliCommand and one line here.

import type { CliCommand } from './command';
import { createAccountingCommand } from './accounting-command';
import { createRunCommand } from './run-command';

export const COMMANDS: readonly CliCommand[] = [createRunCommand(), createAccountingCommand()];
