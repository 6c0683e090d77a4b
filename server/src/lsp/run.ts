// Running scenarios for the server: budgets and time limit from the settings, cancellation, and
// the conversion of a run into the protocol's RunResult.
//
// The engine runs a scenario as a generator that yields after every statement
// (runScenarioSteps). The host drives it and, every few milliseconds, yields to the event loop
// so new edits and `$/cancelRequest` are read; a stale run is stopped through `shouldStop`.

import type { TextDocument } from 'vscode-languageserver-textdocument';
import { headerOptions, resolveProfile, runScenarioSteps, type ArchProfile, type Budget, type Counterexample, type Finding, type RunOptions, type Scenario, type ScenarioRun } from '../engine/index';
import type { ServerSettings } from '../protocol/lsp-ext';
import type { CounterexampleInfo, ExplorerResult, RunResult, StepSummary } from '../protocol/result';
import { sortFindings, toRange, toRunDiagnostic } from './diagnostics';

/** The engine's stepwise entry point; tests inject their own. */
export type RunStepsFn = (scenario: Scenario, options: RunOptions) => Generator<void, ScenarioRun, void>;

export const engineRunSteps: RunStepsFn = runScenarioSteps;

/** Milliseconds of engine work between two yields to the event loop. */
const SLICE_MS = 8;

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

export interface TimedRun {
  /** Undefined when the run was cancelled before it produced anything. */
  run: ScenarioRun | undefined;
  ms: number;
  /** True when the caller stopped the run (stale or cancelled), not a budget. */
  isCancelled: boolean;
}

/**
 * Runs one scenario, yielding to the event loop every SLICE_MS. `isStale` is polled between
 * slices and by the engine between steps; the time limit of the settings becomes a
 * `resource-limit` finding on the scenario head, like the engine's own budgets.
 */
export async function runOne(runSteps: RunStepsFn, scenario: Scenario, settings: ServerSettings, isStale: () => boolean, now: () => number): Promise<TimedRun> {
  const started = now();
  const deadline = started + settings.run.timeLimit;
  let isTimedOut = false;
  let isCancelled = false;
  const shouldStop = (): boolean => {
    if (isStale()) isCancelled = true;
    else if (now() > deadline) isTimedOut = true;
    return isCancelled || isTimedOut;
  };
  const steps = runSteps(scenario, { budget: budgetFrom(settings), history: true, shouldStop });
  let run: ScenarioRun | undefined;
  let sliceStart = now();
  for (;;) {
    const next = steps.next();
    if (next.done) {
      run = next.value;
      break;
    }
    if (now() - sliceStart >= SLICE_MS) {
      await yieldToEventLoop();
      sliceStart = now();
    }
  }
  const ms = now() - started;
  if (isCancelled) return { run, ms, isCancelled: true };
  if (isTimedOut) {
    const limit: Finding = {
      code: 'resource-limit',
      severity: 'error',
      span: scenario.headSpan,
      message: `the run took longer than ${settings.run.timeLimit} ms (ptscn.run.timeLimit) and stopped after ${run.stats.steps} steps`,
    };
    const findings = run.findings.filter((f) => f.code !== 'resource-limit' || f.span !== scenario.headSpan);
    return { run: { ...run, findings: [...findings, limit], ok: false, stopped: 'budget' }, ms, isCancelled: false };
  }
  return { run, ms, isCancelled: false };
}

/** The architecture profile a scenario's header selects; undefined when the header is broken. */
export function profileOf(scenario: Scenario | undefined): ArchProfile | undefined {
  if (!scenario) return undefined;
  try {
    return resolveProfile(headerOptions(scenario).arch);
  } catch {
    return undefined;
  }
}

/** A short architecture label for the status item: `arm64 4K 48-bit`. */
export function archLabel(scenario: Scenario | undefined): string {
  const arch = scenario?.body.find((s) => s.kind === 'arch');
  if (!arch || arch.kind !== 'arch') return 'x86_64';
  return [arch.arch.text, ...arch.options.map((o) => `${o.key.text}=${o.value.text}`)].join(' ');
}

function stepsOf(document: TextDocument, run: ScenarioRun): StepSummary[] {
  return run.state.steps().map((step) => ({
    index: step.index,
    range: toRange(document, step.span),
    space: step.space,
    helper: step.helper,
    summary: step.summary,
    result: step.result,
    tablesAllocated: step.tablesAllocated.length,
    tablesFreed: step.tablesFreed.length,
    entriesWritten: step.entriesWritten,
    levels: step.levelsTouched,
    counters: { tlb_flushes: step.counters.tlbFlushes, barriers: step.counters.barriers, direct_map_splits: step.counters.directMapSplits },
  }));
}

function counterexampleOf(document: TextDocument, cx: Counterexample): CounterexampleInfo {
  return {
    kind: cx.kind,
    message: cx.message,
    range: toRange(document, cx.span),
    shortest: cx.shortest,
    tables: cx.tables.map((t) => ({ ...t, entries: t.entries.map((e) => ({ ...e })) })),
    steps: cx.steps.map((s) => ({
      index: s.index,
      thread: s.thread,
      range: toRange(document, s.span),
      action: s.action,
      changes: s.changes.map((c) => ({ ...c })),
      freed: [...s.freed],
      touched: [...s.touched],
    })),
  };
}

function explorerOf(document: TextDocument, run: ScenarioRun): ExplorerResult[] {
  return run.state.explorations.map((e) => {
    const result: ExplorerResult = {
      range: toRange(document, e.span),
      schedules: e.schedules,
      states: e.states,
      races: e.races,
      complete: e.complete,
      summary: e.summary,
    };
    // The inspector shows each race's schedule step by step, with the tables at every step.
    if (e.threads) result.threads = [...e.threads];
    if (e.counterexamples && e.counterexamples.length > 0) result.counterexamples = e.counterexamples.map((cx) => counterexampleOf(document, cx));
    return result;
  });
}

/** The protocol's view of a scenario: its static findings, and the run when there was one. */
export function toRunResult(
  document: TextDocument,
  scenarioIndex: number,
  scenario: Scenario,
  staticFindings: Finding[],
  timed: TimedRun | undefined,
  withPtdump = false,
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
  const result: RunResult = {
    uri: document.uri,
    version: document.version,
    scenarioIndex,
    title: scenario.title,
    range: toRange(document, scenario.headSpan),
    arch: run?.state.profile.label ?? profileOf(scenario)?.label ?? archLabel(scenario),
    ok: status !== 'cancelled' && !diagnostics.some((d) => d.severity === 'error'),
    status,
    diagnostics,
    outputs: (run?.outputs ?? []).map((o) => ({ range: toRange(document, o.span), kind: o.kind, text: o.text })),
    stats: { steps: run?.stats.steps ?? 0, schedules: run?.stats.schedules ?? 0, states: run?.stats.states ?? 0, ms: Math.round(timed?.ms ?? 0) },
    steps: run && !timed?.isCancelled ? stepsOf(document, run) : [],
    explorer: run && !timed?.isCancelled ? explorerOf(document, run) : [],
  };
  if (withPtdump && run && !timed?.isCancelled) result.ptdump = run.state.ptdumpAt(run.state.stepCount - 1);
  return result;
}
