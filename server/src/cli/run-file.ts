// Analyses one file and runs its scenarios: the one place the command line calls the engine.
//
// Static problems are attributed to the scenario whose text holds them; a scenario with a static
// error is not run (its structure or values are not trustworthy), the others run normally.

import { isError, runScenario, type Finding, type Output, type RunOptions, type Scenario, type ScenarioRun, type Span } from '../engine/index';
import { analyze } from '../language/index';

export interface ScenarioReport {
  title: string;
  /** The `scenario "title"` head, where scenario-level messages point. */
  headSpan: Span;
  /** False when static errors kept the scenario from running. */
  ran: boolean;
  /** True when no finding has error severity. */
  ok: boolean;
  /** Static problems, or the run's findings, in document order. */
  findings: Finding[];
  outputs: Output[];
  stats: { steps: number; schedules: number; states: number; ms: number };
  stopped?: 'budget' | 'cancelled';
}

export interface FileReport {
  file: string;
  text: string;
  /** Problems outside every scenario (text between scenarios that is not one). */
  problems: Finding[];
  scenarios: ScenarioReport[];
}

/** Whether anything in the report has error severity (the exit status 1 condition). */
export function hasErrors(report: FileReport): boolean {
  return report.problems.some(isError) || report.scenarios.some((s) => !s.ok);
}

/** What the command line needs from a run: the engine's runScenario, or a stand-in in tests. */
export type Runner = (scenario: Scenario, options: RunOptions) => Pick<ScenarioRun, 'findings' | 'outputs' | 'stats' | 'stopped'>;

/**
 * Analyses `text` and runs each scenario that has no static error with `run` (the engine by
 * default). `now` times the runs.
 */
export function runFile(file: string, text: string, now: () => number, options: RunOptions = {}, run: Runner = runScenario): FileReport {
  const { program, problems } = analyze(text);
  const byScenario = program.scenarios.map((): Finding[] => []);
  const outside: Finding[] = [];
  for (const problem of problems) {
    const index = program.scenarios.findIndex((s) => s.span.start <= problem.span.start && problem.span.start <= s.span.end);
    const owner = index >= 0 ? byScenario[index] : undefined;
    if (owner) owner.push(problem);
    else outside.push(problem);
  }
  const scenarios = program.scenarios.map((scenario, index): ScenarioReport => {
    const statics = byScenario[index] ?? [];
    const base = { title: scenario.title, headSpan: scenario.headSpan };
    if (statics.some(isError)) {
      return { ...base, ran: false, ok: false, findings: statics, outputs: [], stats: { steps: 0, schedules: 0, states: 0, ms: 0 } };
    }
    const started = now();
    const result = run(scenario, options);
    const ms = Math.round(now() - started);
    const findings = [...statics, ...result.findings].sort((a, b) => a.span.start - b.span.start || a.span.end - b.span.end);
    return {
      ...base,
      ran: true,
      ok: !findings.some(isError),
      findings,
      outputs: [...result.outputs].sort((a, b) => a.span.start - b.span.start),
      stats: { steps: result.stats.steps, schedules: result.stats.schedules, states: result.stats.states, ms },
      ...(result.stopped && { stopped: result.stopped }),
    };
  });
  return { file, text, problems: outside, scenarios };
}
