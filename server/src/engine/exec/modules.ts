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
  /** Whether the exploration was cut short by a budget or cancellation. */
  complete: boolean;
  summary: string;
}

export interface ExploreModule {
  /** Explores every interleaving of the block's threads and reports its findings. */
  explore(ctx: ExecContext, block: ConcurrentBlock): Exploration;
  /** `expect race KIND` against the most recent exploration. */
  expectRace(ctx: ExecContext, stmt: ExpectRaceStmt, last: Exploration | undefined): Outcome;
}
