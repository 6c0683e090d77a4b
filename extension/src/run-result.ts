// Pure readings of a RunResult for the client: which step the cursor is on, what a failed test
// reports. No `vscode` import, so they are unit-tested.

import type { Range, RunResult } from '../../server/src/protocol/result';

/** The index of the last step whose range contains `position`, or -1. */
export function stepAt(result: RunResult, position: { line: number; character: number }): number {
  const before = (a: { line: number; character: number }, b: { line: number; character: number }): boolean =>
    a.line < b.line || (a.line === b.line && a.character <= b.character);
  let found = -1;
  for (const step of result.steps) {
    if (before(step.range.start, position) && before(position, step.range.end)) found = step.index;
  }
  return found;
}

/** The messages a failed run reports: one per error diagnostic, failed expectations first. */
export function failureMessages(result: RunResult): { message: string; range: Range; code: string }[] {
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  const rank = (code: string): number => (code === 'expectation-failed' ? 0 : 1);
  return errors
    .slice()
    .sort((a, b) => rank(a.code) - rank(b.code) || a.range.start.line - b.range.start.line)
    .map((d) => ({ message: `${d.code}: ${d.message}`, range: d.range, code: d.code }));
}
