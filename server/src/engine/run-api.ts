// The engine's run interface: budgets, options and what a run returns.
//
// This file fixes the shape callers (the CLI, the language server, tests) depend on; runner.ts
// implements it.

import type { Finding, Output } from './findings';
import type { Scenario } from './program';
import type { RunState } from './inspect';

/** Limits on one scenario run. Crossing one ends the run with a `resource-limit` finding. */
export interface Budget {
  /** Live table pages across all address spaces. */
  tablePages: number;
  /** Page-table entries written by the whole run. */
  entries: number;
  /** Statements executed (each loop of `touch` counts its pages). */
  steps: number;
  /** Schedules the race explorer may complete per `concurrent` block. */
  schedules: number;
  /** Distinct states the race explorer may visit per `concurrent` block. */
  states: number;
}

export const DEFAULT_BUDGET: Budget = {
  tablePages: 1 << 17,
  entries: 50_000_000,
  steps: 1_000_000,
  schedules: 200_000,
  states: 2_000_000,
};

export interface RunOptions {
  budget?: Partial<Budget>;
  /** Keep per-statement change records and table versions for the inspector (default true). */
  history?: boolean;
  /** Polled between steps; returning true stops the run with `cancelled`. */
  shouldStop?: () => boolean;
}

export interface RunStats {
  /** Statements executed, plus explorer steps. */
  steps: number;
  /** Schedules the explorer completed. */
  schedules: number;
  /** Distinct states the explorer visited. */
  states: number;
}

export interface ScenarioRun {
  scenario: Scenario;
  findings: Finding[];
  outputs: Output[];
  stats: RunStats;
  /** False when any finding has error severity. */
  ok: boolean;
  /** Why the run ended early, if it did. */
  stopped?: 'budget' | 'cancelled';
  /** The machine after the run, readable at every step (inspect.ts). */
  state: RunState;
}
