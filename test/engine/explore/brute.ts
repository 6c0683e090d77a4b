// A brute-force reference for the explorer: every schedule of a `concurrent` block, without
// reduction or state hashing, on models small enough to enumerate.

import type { ExecContext } from '../../../server/src/engine/exec/context';
import type { ConcurrentBlock } from '../../../server/src/engine/program';
import { exploreModule } from '../../../server/src/engine/explore/index';
import { compileBlock, type Thread } from '../../../server/src/engine/explore/compile';
import { stateKey, World, type State } from '../../../server/src/engine/explore/model';
import { search } from '../../../server/src/engine/explore/search';
import { exec, startThread, type RaceKind } from '../../../server/src/engine/explore/steps';

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

/** Runs `fn` with the explorer's inputs captured at the start of the first `concurrent` block. */
export function capture(fn: () => void): Captured {
  const original = exploreModule.explore;
  let captured: Captured | undefined;
  exploreModule.explore = (ctx: ExecContext, block: ConcurrentBlock) => {
    if (!captured) {
      const world = new World(ctx.machine, ctx.machine.profile);
      const threads = compileBlock(ctx, world, block, []);
      const s0: State = { mem: new Map(), freed: [], locks: world.locks.map(() => ({ writer: -1, readers: [], queue: [] })), keys: 0, threads: threads.map(startThread) };
      captured = { world, threads, s0 };
    }
    return original(ctx, block);
  };
  try {
    fn();
  } finally {
    exploreModule.explore = original;
  }
  if (!captured) throw new Error('no concurrent block ran');
  return captured;
}

/** Every schedule, depth first, with nothing merged. */
export function enumerate({ world, threads, s0 }: Captured, limit = 2_000_000): Enumeration {
  const result: Enumeration = { finals: new Set(), shortest: new Map(), schedules: 0 };
  const visit = (s: State, depth: number): void => {
    let moved = false;
    for (let tid = 0; tid < s.threads.length; tid++) {
      const out = exec(world, threads, s, tid, false);
      if (!out) continue;
      moved = true;
      if (out.violation) {
        result.schedules++;
        const best = result.shortest.get(out.violation.kind);
        if (best === undefined || depth + 1 < best) result.shortest.set(out.violation.kind, depth + 1);
        continue;
      }
      visit(out.s, depth + 1);
    }
    if (!moved) {
      result.schedules++;
      result.finals.add(stateKey(s));
    }
    if (result.schedules > limit) throw new Error('model too large to enumerate');
  };
  visit(s0, 0);
  return result;
}

/** The explorer's own final states, through its test hook. */
export function reducedFinals({ world, threads, s0 }: Captured): { finals: Set<string>; states: number } {
  const finals = new Set<string>();
  const result = search(world, threads, s0, { states: 1e9, schedules: 1e9, onFinal: (s) => finals.add(stateKey(s)) });
  return { finals, states: result.states };
}
