// Running scenarios for the server: budgets and time limit from the settings, cancellation
// through the engine's `shouldStop`, and the conversion of a run into the protocol's RunResult.
//
// The engine's runScenario is synchronous; the host keeps the server responsive by running one
// scenario per event-loop turn (`yieldToEventLoop`) and by polling staleness in `shouldStop`.

import type { TextDocument } from 'vscode-languageserver-textdocument';
import * as engine from '../engine/index';
import type { Budget, Finding, RunOptions, Scenario, ScenarioRun } from '../engine/index';
import type { ServerSettings } from '../protocol/lsp-ext';
import type { ExplorerResult, RunResult, StepSummary } from '../protocol/result';
import { sortFindings, toRange, toRunDiagnostic } from './diagnostics';

/** The engine's entry point; tests inject their own. */
export type RunScenarioFn = (scenario: Scenario, options: RunOptions) => ScenarioRun;

/**
 * The engine's entry point, when the engine has one. FIXME(#8): read `engine.runScenario`
 * directly once engine/index.ts exports it; until then scenarios only get static diagnostics.
 */
export function engineRunner(): RunScenarioFn | undefined {
  const candidate = (engine as unknown as { runScenario?: unknown }).runScenario;
  return typeof candidate === 'function' ? (candidate as RunScenarioFn) : undefined;
}

/**
 * Resolves after pending I/O (new messages, cancellations) has been handled. Two turns: the
 * JSON-RPC connection dispatches each message it has read from a setImmediate of its own.
 */
export async function yieldToEventLoop(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
}

export function budgetFrom(settings: ServerSettings): Budget {
  return {
    steps: settings.run.maxSteps,
    tablePages: settings.run.maxTablePages,
    entries: settings.run.maxEntries,
    schedules: settings.run.maxSchedules,
    states: settings.run.maxStates,
  };
}

/** A run and its wall-clock time; `run` is undefined when the engine cannot run yet. */
export interface TimedRun {
  run: ScenarioRun | undefined;
  ms: number;
  /** True when the run was stopped by the caller (stale or cancelled), not by a budget. */
  isCancelled: boolean;
}

/**
 * Runs one scenario. `isStale` is polled by the engine between steps; the time limit of the
 * settings becomes a `resource-limit` finding on the scenario head, like the engine's budgets.
 */
export function runOne(
  runner: RunScenarioFn | undefined,
  scenario: Scenario,
  settings: ServerSettings,
  isStale: () => boolean,
  now: () => number,
  history: boolean,
): TimedRun {
  if (!runner) return { run: undefined, ms: 0, isCancelled: false };
  const started = now();
  const deadline = started + settings.run.timeLimit;
  let isTimedOut = false;
  let isCancelled = false;
  const shouldStop = (): boolean => {
    if (isStale()) {
      isCancelled = true;
      return true;
    }
    if (now() > deadline) {
      isTimedOut = true;
      return true;
    }
    return false;
  };
  const run = runner(scenario, { budget: budgetFrom(settings), history, shouldStop });
  const ms = now() - started;
  if (isTimedOut && !isCancelled) {
    const limit: Finding = {
      code: 'resource-limit',
      severity: 'error',
      span: scenario.headSpan,
      message: `the run took longer than ${settings.run.timeLimit} ms (ptscn.run.timeLimit) and was stopped after ${run.stats.steps} steps`,
    };
    return { run: { ...run, findings: [...run.findings, limit], ok: false, stopped: 'budget' }, ms, isCancelled: false };
  }
  return { run, ms, isCancelled };
}

/** The architecture a scenario's header names, as a short label. */
export function archLabel(scenario: Scenario | undefined): string {
  const arch = scenario?.body.find((s): s is engine.ArchStmt => s.kind === 'arch');
  if (!arch) return 'x86_64';
  const options = arch.options.map((o) => `${o.key.text}=${o.value.text}`);
  return [arch.arch.text, ...options].join(' ');
}

/**
 * The steps of a run. FIXME(#8): map the engine's per-statement records (span, space, helper,
 * summary, tables allocated/freed, entries written, levels, counters) once ScenarioRun has
 * `steps`; until then a run reports none.
 */
function stepsOf(_document: TextDocument, _run: ScenarioRun): StepSummary[] {
  return [];
}

/**
 * The explorer results of a run. FIXME(#8): fill from the engine's explorer record once
 * ScenarioRun exposes one; race findings already carry the schedule as related information.
 */
function explorerOf(_document: TextDocument, _run: ScenarioRun): ExplorerResult[] {
  return [];
}

/** The protocol's view of a scenario: its static findings, and the run when there was one. */
export function toRunResult(
  document: TextDocument,
  scenarioIndex: number,
  scenario: Scenario,
  staticFindings: Finding[],
  timed: TimedRun | undefined,
): RunResult {
  const run = timed?.run;
  const findings = sortFindings([...staticFindings, ...(run?.findings ?? [])]);
  const diagnostics = findings.map((f) => toRunDiagnostic(document, f));
  const hasStaticErrors = staticFindings.some((f) => f.severity === 'error');
  const status: RunResult['status'] = hasStaticErrors
    ? 'static-errors'
    : timed?.isCancelled || run?.stopped === 'cancelled'
      ? 'cancelled'
      : run?.stopped === 'budget'
        ? 'budget'
        : 'completed';
  return {
    uri: document.uri,
    version: document.version,
    scenarioIndex,
    title: scenario.title,
    range: toRange(document, scenario.headSpan),
    arch: archLabel(scenario),
    ok: status !== 'cancelled' && !diagnostics.some((d) => d.severity === 'error'),
    status,
    diagnostics,
    outputs: (run?.outputs ?? []).map((o) => ({ range: toRange(document, o.span), kind: o.kind, text: o.text })),
    stats: { steps: run?.stats.steps ?? 0, schedules: run?.stats.schedules ?? 0, states: run?.stats.states ?? 0, ms: Math.round(timed?.ms ?? 0) },
    steps: run ? stepsOf(document, run) : [],
    explorer: run ? explorerOf(document, run) : [],
  };
}
