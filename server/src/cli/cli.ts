// The `ptscn` dispatcher: help, subcommand lookup and the usage-error boundary.

import type { CliCommand } from './command';
import { COMMANDS } from './commands';
import { EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, UsageError, type CliIo } from './io';

function mainHelp(commands: readonly CliCommand[]): string {
  const width = Math.max(...commands.map((c) => c.synopsis.length), 'help [COMMAND]'.length);
  const rows = [...commands.map((c) => [c.synopsis, c.summary] as const), ['help [COMMAND]', 'show this help, or the help of COMMAND'] as const];
  return [
    'ptscn: run .ptscn page-table scenarios on a simulated MMU',
    '',
    'Usage: ptscn COMMAND [ARGS…]',
    '',
    'Commands:',
    ...rows.map(([synopsis, summary]) => `  ${synopsis.padEnd(width)}  ${summary}`),
    '',
    'Exit status: 0 success, 1 a scenario has an error diagnostic, 2 usage error or',
    'unreadable file, 3 internal error.',
    '',
  ].join('\n');
}

/**
 * Runs one `ptscn` invocation with `argv` (the arguments after the program name) and returns
 * its exit status. Never throws: usage errors print one line on stderr (status 2) and bugs print
 * one line too (status 3), never a stack trace.
 */
export function runCli(argv: readonly string[], io: CliIo, commands: readonly CliCommand[] = COMMANDS): number {
  try {
    const [name, ...rest] = argv;
    if (name === undefined) {
      io.err(mainHelp(commands));
      return EXIT_USAGE;
    }
    if (name === '--help' || name === '-h' || name === 'help') {
      const topic = name === 'help' ? rest[0] : undefined;
      if (topic === undefined) {
        io.out(mainHelp(commands));
        return EXIT_OK;
      }
      const command = commands.find((c) => c.name === topic);
      if (!command) throw new UsageError(`ptscn: no help for unknown command '${topic}' (see 'ptscn --help')`);
      io.out(`${command.help}\n`);
      return EXIT_OK;
    }
    const command = commands.find((c) => c.name === name);
    if (!command) throw new UsageError(`ptscn: unknown command '${name}' (see 'ptscn --help')`);
    if (rest.includes('--help') || rest.includes('-h')) {
      io.out(`${command.help}\n`);
      return EXIT_OK;
    }
    return command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${error.message}\n`);
      return EXIT_USAGE;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.err(`ptscn: internal error: ${message.split('\n')[0] ?? ''}\n`);
    return EXIT_INTERNAL;
  }
}
