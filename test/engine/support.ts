// Helpers for engine tests: run scenario text through the real parser and engine, and assert on
// what a user would see (findings by code and line, outputs, queries after the run).

import assert from 'node:assert/strict';
import { analyze } from '../../server/src/language/index';
import { runScenario, type Finding, type RunOptions, type ScenarioRun } from '../../server/src/engine/index';

export interface TextRun {
  text: string;
  runs: ScenarioRun[];
}

/** 1-based line of an offset, for readable assertions. */
export function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Parses and runs every scenario; fails the test on any static problem. */
export function run(text: string, options: RunOptions = {}): TextRun {
  const { program, problems } = analyze(text);
  assert.deepEqual(
    problems.map((p) => `${lineOf(text, p.span.start)}: ${p.code} ${p.message}`),
    [],
    'the scenario text has static problems',
  );
  return { text, runs: program.scenarios.map((s) => runScenario(s, options)) };
}

/** The single scenario of a text run. */
export function only(result: TextRun): ScenarioRun {
  assert.equal(result.runs.length, 1, 'expected exactly one scenario');
  return result.runs[0] as ScenarioRun;
}

/** Findings as `line: code` strings (with severity when asked), sorted by line. */
export function findingLines(result: TextRun, scenario = 0, withSeverity = false): string[] {
  const findings: Finding[] = result.runs[scenario]?.findings ?? [];
  return findings.map((f) => `${lineOf(result.text, f.span.start)}: ${withSeverity ? `${f.severity} ` : ''}${f.code}`);
}

/** Asserts that the scenario ran with no error and no warning finding. */
export function assertClean(result: TextRun, scenario = 0): void {
  const findings = result.runs[scenario]?.findings ?? [];
  const bad = findings.filter((f) => f.severity === 'error' || f.severity === 'warning');
  assert.deepEqual(
    bad.map((f) => `${lineOf(result.text, f.span.start)}: ${f.severity} ${f.code}: ${f.message}`),
    [],
    'expected no errors or warnings',
  );
}

/** The text of every output of a kind, in order. */
export function outputs(result: TextRun, kind: string, scenario = 0): string[] {
  return (result.runs[scenario]?.outputs ?? []).filter((o) => o.kind === kind).map((o) => o.text);
}
