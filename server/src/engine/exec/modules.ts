// The contracts between the runner and the statement families it dispatches to: processes
// (process/), the race explorer (explore/). Kernel statements are plain functions.

import type { AddressSpace } from '../model/machine';
import type { ConcurrentBlock, ExpectRaceStmt, ForkStmt, Name, ProcessOnlyStmt, Span } from '../program';
import type { ExecContext, ProcessQueries } from './context';
import type { Outcome } from './outcome';

export interface ProcessModule {
  queries: ProcessQueries;
  /**
   * `process NAME {`: the first block creates the mm (pgd_alloc, ctor per accounting); later
   * blocks continue it. Returns the address space to run the block in, or an outcome when the
   * process cannot be entered (it has exited).
   */
  enter(ctx: ExecContext, name: Name): AddressSpace | Outcome;
  /** A process statement in the current process (`ctx.space`). */
  exec(ctx: ExecContext, stmt: ProcessOnlyStmt): Outcome;
  /** `fork P as C`. */
  fork(ctx: ExecContext, stmt: ForkStmt): Outcome;
  /**
   * Tears the mm down as exit_mmap + pgd_free do, then runs the exit checks
   * (`Machine.checkExit`). Used by `exit P` and at the end of the scenario.
   */
  exit(ctx: ExecContext, space: AddressSpace, span: Span): Outcome;
}

/** What exploring one `concurrent` block found. */
export interface Exploration {
  span: Span;
  schedules: number;
  states: number;
  /** Race kinds found, in the order first found. */
  races: string[];
  /**
   * False when a budget or cancellation cut the exploration short; the scenario then stops
   * there, and this exploration (with what it counted) is the run's last.
   */
  complete: boolean;
  summary: string;
  /** Thread steps the explorer executed (added to the run's step count). */
  transitions?: number;
  /** The threads, in block order. */
  threads?: string[];
  /** For each race found, its shortest schedule with the tables at every step (the inspector). */
  counterexamples?: Counterexample[];
}

/** One kernel table as the explorer saw it: only entries that are not none. */
export interface ExploredTable {
  /** The table's ledger id (RunState.table). */
  id: number;
  level: string;
  /** Virtual address of its first entry. */
  va: string;
  pa: string;
  freed: boolean;
  entries: { index: number; value: string }[];
  /** For a table a step of the schedule allocated: that step (1-based); it does not exist before. */
  createdAt?: number;
}

/** One step of a counterexample schedule. */
export interface CounterexampleStep {
  /** 1-based position in the schedule. */
  index: number;
  thread: string;
  /** The statement the thread was executing. */
  span: Span;
  /** What it did, in the kernel's words. */
  action: string;
  /** Entries it wrote (table id, index, value before and after). */
  changes: { table: number; index: number; before: string; after: string }[];
  /** Ledger ids of the tables it freed. */
  freed: number[];
  /** Ledger ids of the tables it read, wrote or freed. */
  touched: number[];
}

/** The shortest schedule to one race. */
export interface Counterexample {
  kind: string;
  message: string;
  /** The statement where the violation happens. */
  span: Span;
  /** False when the search budget ran out before a shorter schedule could be ruled out. */
  shortest: boolean;
  /** The tables the schedule touches, as they were when the block began. */
  tables: ExploredTable[];
  steps: CounterexampleStep[];
}

export interface ExploreModule {
  /**
   * Explores every interleaving of the block's threads, reports its findings and leaves the
   * machine in the state of the canonical schedule. A crossed budget or a cancellation throws
   * RunStop with `exploration` set to the partial result and the machine as before the block.
   */
  explore(ctx: ExecContext, block: ConcurrentBlock): Exploration;
  /** `expect race KIND` against the most recent exploration. */
  expectRace(ctx: ExecContext, stmt: ExpectRaceStmt, last: Exploration | undefined): Outcome;
}
