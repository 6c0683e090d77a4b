// A brute-force reference for the explorer: every schedule of a `concurrent` block, without
// reduction or state hashing, on models small enough to enumerate.

import type { ExecContext } from '../../../server/src/engine/exec/context';
import type { ConcurrentBlock } from '../../../server/src/engine/program';
import { exploreModule, initialState } from '../../../server/src/engine/explore/index';
import { compileBlock, type Thread } from '../../../server/src/engine/explore/compile';
import { stateText, World, type State } from '../../../server/src/engine/explore/model';
import { emptyResult, search } from '../../../server/src/engine/explore/search';
import { exec, type RaceKind } from '../../../server/src/engine/explore/steps';

export interface Enumeration {
  /** Keys of the final states (every thread finished, no violation on the way). */
  finals: Set<string>;
  /** Fewest steps to a violation of each kind. */
  shortest: Map<RaceKind, number>;
  schedules: number;
}

export interface Captured {
  world: World;
  threads: Thread[];
  s0: State;
}

/**
 * Runs `fn`; at the start of the first `concurrent` block, with the machine as the block finds
 * it, calls `inspect` with the explorer's inputs and then puts the machine back, so the block
 * runs as usual. Returns what `inspect` returned.
 */
export function capture<T>(fn: () => void, inspect: (c: Captured) => T): T {
  const original = exploreModule.explore;
  let value: { v: T } | undefined;
  exploreModule.explore = (ctx: ExecContext, block: ConcurrentBlock) => {
    if (!value) {
      const world = new World(ctx.machine, ctx);
      const threads = compileBlock(ctx, world, block);
      world.journal.attach(ctx.machine);
      try {
        value = { v: inspect({ world, threads, s0: initialState(world, threads) }) };
        world.journal.undo(0);
      } finally {
        world.journal.detach(ctx.machine);
      }
    }
    return original(ctx, block);
  };
  try {
    fn();
  } finally {
    exploreModule.explore = original;
  }
  if (!value) throw new Error('no concurrent block ran');
  return value.v;
}

/** Every schedule, depth first, with nothing merged. */
export function enumerate({ world, threads, s0 }: Captured, limit = 2_000_000): Enumeration {
  const result: Enumeration = { finals: new Set(), shortest: new Map(), schedules: 0 };
  const journal = world.journal;
  const visit = (s: State, depth: number): void => {
    let moved = false;
    const mark = journal.length;
    for (let tid = 0; tid < s.threads.length; tid++) {
      const out = exec(world, threads, s, tid, false);
      if (!out) continue;
      moved = true;
      if (out.violation) {
        result.schedules++;
        const best = result.shortest.get(out.violation.kind);
        if (best === undefined || depth + 1 < best) result.shortest.set(out.violation.kind, depth + 1);
      } else visit(out.s, depth + 1);
      journal.undo(mark);
    }
    if (!moved) {
      result.schedules++;
      result.finals.add(stateText(world, s));
    }
    if (result.schedules > limit) throw new Error('model too large to enumerate');
  };
  visit(s0, 0);
  return result;
}

/** The explorer's own final states, through its test hook. */
export function reducedFinals({ world, threads, s0 }: Captured): { finals: Set<string>; states: number } {
  const finals = new Set<string>();
  const result = emptyResult();
  search(world, threads, s0, { states: 1e9, schedules: 1e9, onFinal: (s) => finals.add(stateText(world, s)) }, result);
  return { finals, states: result.states };
}
