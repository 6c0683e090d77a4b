// `ptscn run FILE… [--json]` (spec §11): runs every scenario of every file.

import type { CliCommand } from './command';
import { splitArgs } from './command';
import { describeReadError, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, UsageError, type CliIo } from './io';
import { toJson, toText } from './report';
import { hasErrors, runFile, type FileReport, type Runner } from './run-file';

/** `ptscn run`, running scenarios with `run` (the engine unless a test passes a stand-in). */
export function createRunCommand(run?: Runner): CliCommand {
  return {
    name: 'run',
    synopsis: 'run FILE… [--json]',
    summary: 'run every scenario in each FILE and report diagnostics and outputs',
    help: [
      'Usage: ptscn run FILE… [--json]',
      '',
      'Runs every scenario of each FILE on a fresh simulated machine. Scenarios with syntax,',
      'unknown-name or bad-value errors are reported but not run.',
      '',
      'Options:',
      '  --json    print one JSON object { "files": [ … ] } instead of text',
      '',
      'Exit status: 0 when no scenario has an error diagnostic, 1 when any has,',
      '2 for usage errors or unreadable files.',
    ].join('\n'),
    run(args: readonly string[], io: CliIo): number {
      const { flags, operands } = splitArgs(args);
      let json = false;
      for (const flag of flags) {
        if (flag === '--json') json = true;
        else throw new UsageError(`ptscn run: unknown option '${flag}' (see 'ptscn help run')`);
      }
      if (operands.length === 0) throw new UsageError("ptscn run: no files given (see 'ptscn help run')");
      // Every file is read before anything runs, so an unreadable one fails fast with status 2.
      const texts: string[] = [];
      let unreadable = false;
      for (const file of operands) {
        try {
          // Editors drop a byte-order mark from the text, so columns on line 1 must too.
          texts.push(io.readFile(file).replace(/^\uFEFF/, ''));
        } catch (error) {
          io.err(`ptscn: cannot read '${file}': ${describeReadError(error)}\n`);
          unreadable = true;
        }
      }
      if (unreadable) return EXIT_USAGE;
      const reports: FileReport[] = operands.map((file, i) => runFile(file, texts[i] ?? '', () => io.now(), {}, run));
      if (json) io.out(`${JSON.stringify({ files: reports.map(toJson) }, null, 2)}\n`);
      else for (const report of reports) io.out(toText(report));
      return reports.some(hasErrors) ? EXIT_FINDINGS : EXIT_OK;
    },
  };
}
