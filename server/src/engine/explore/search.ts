// The search: every schedule of a block under sequential consistency, with a partial-order
// reduction and state hashing, and the shortest schedule to each kind of violation.
//
// The machine is shared by every state: the search is depth first, runs each step on the
// machine and takes it back with the undo log (undo.ts) when it backtracks.
//
// Reduction (ample sets, as in SPIN's static partial-order reduction): in a state where some
// thread's next step conflicts with nothing any other thread may still do (footprint.ts), only
// that step is explored; otherwise every enabled step is. Thread programs have no loops, so the
// state graph is acyclic and the cycle proviso holds trivially; a step that violates a property,
// or unlocks a lock others wait for, is never taken alone. Such a reduction reaches every
// terminal state (every distinct outcome and every deadlock) and every violating step the full
// graph has: any full schedule is a prefix, up to swapping independent steps, of an explored
// one.
//
// States are stored (hashed, so each is expanded once) only where the search branches. Along a
// chain of states where the choice is forced (one thread can run, or one step is independent of
// everything the others may still do) nothing is stored: the chain is followed to its end, where
// the state is stored if it branches. This loses no outcome: storing a state only prevents
// expanding it twice, and a chain state has exactly one successor, which is explored whenever
// the chain is; a chain reached along two paths is just followed twice. A walk over a big
// PTE-mapped range, whose loads are invisible to the other threads, stores no state per load.

import { RunStop } from '../model/machine';
import { ALL_DEPTHS, READ, anyConflict, slotAccess, type Access } from './footprint';
import type { Thread } from './compile';
import { stateKey, type State, type ThreadState, type World } from './model';
import { exec, frameUnits, runnable, type RaceKind, type StepOut } from './steps';

export interface Limits {
  states: number;
  schedules: number;
  shouldStop?: (() => boolean) | undefined;
  /** Called once for every final state (every thread finished), for tests of the reduction. */
  onFinal?: (s: State) => void;
}

/** The best schedule found to one kind of violation. */
export interface Witness {
  kind: RaceKind;
  /** Thread of each step, in order; the last step is the violation. */
  tids: number[];
  /** The schedule as the search found it, before trimming. */
  raw: number[];
}

export interface SearchResult {
  states: number;
  schedules: number;
  transitions: number;
  complete: boolean;
  /** Which budget cut the search short. */
  stoppedBy?: 'states' | 'schedules' | 'cancelled';
  /** Kinds in the order first found, with the shortest schedule seen for each. */
  witnesses: Map<RaceKind, Witness>;
  /** Unlocks of locks not held, by statement offset. */
  misuses: Map<number, StepOut>;
}

export function emptyResult(): SearchResult {
  return { states: 0, schedules: 0, transitions: 0, complete: true, witnesses: new Map(), misuses: new Map() };
}

/** Trims of counterexamples computed per kind before settling for the best so far. */
const TRIMS_PER_KIND = 16;
const POLL_EVERY = 2048;
/**
 * Along a forced chain, a state is stored when its depth is a multiple of this: a schedule that
 * joins a chain explored before meets a stored state within that many steps and ends there.
 */
const CHECKPOINT = 32;

/** The footprint of everything a thread may still do. */
function futureOf(world: World, threads: readonly Thread[], ts: ThreadState, tid: number): Access[] {
  if (ts.future) return ts.future;
  const thread = threads[tid] as Thread;
  let fp: Access[];
  if (ts.done) fp = [];
  else {
    const instr = thread.instrs[ts.pc];
    const m = ts.m;
    if (instr?.op === 'walk' && m?.kind === 'walk') {
      // A walk only moves forward: it reads nothing below the address it has reached.
      const top = m.frames[m.frames.length - 1];
      const from = top ? frameUnits(world, top) : instr.lo;
      fp = [slotAccess(READ, ALL_DEPTHS, from, instr.hi), ...(thread.suffix[ts.pc + 1] ?? [])];
    } else fp = thread.suffix[ts.pc] ?? [];
  }
  ts.future = fp;
  return fp;
}

function independent(world: World, threads: readonly Thread[], s: State, tid: number, acc: Access[]): boolean {
  if (acc.length === 0) return true;
  for (let u = 0; u < s.threads.length; u++) {
    if (u === tid) continue;
    const ts = s.threads[u] as ThreadState;
    if (ts.done) continue;
    if (anyConflict(acc, futureOf(world, threads, ts, u))) return false;
  }
  return true;
}

/**
 * The steps to explore from `s` (the machine in state `s`): a step whose choice is forced, taken
 * (the machine left after it), or the threads to branch on (the machine left in `s`).
 */
export function expand(world: World, threads: readonly Thread[], s: State): StepOut | number[] {
  const cands: number[] = [];
  for (let tid = 0; tid < s.threads.length; tid++) if (runnable(s, tid)) cands.push(tid);
  if (cands.length === 0) return cands;
  if (cands.length === 1) return exec(world, threads, s, cands[0] as number, false) ?? [];
  const mark = world.journal.length;
  for (const tid of cands) {
    const out = exec(world, threads, s, tid, false);
    if (out && !out.violation && !out.misuse && out.woke.length === 0 && independent(world, threads, s, tid, out.acc)) return out;
    world.journal.undo(mark);
  }
  return cands;
}

/**
 * Explores every schedule (reduced) from `s0`, with the machine in state `s0`, and leaves it
 * there. Counts go into `result` as it goes; a crossed budget or a cancellation throws RunStop
 * (the machine is then wherever the search was).
 */
export function search(world: World, threads: readonly Thread[], s0: State, limits: Limits, result: SearchResult): void {
  const journal = world.journal;
  const root = journal.length;
  const trims = new Map<RaceKind, number>();
  const visited = new Set<string>([stateKey(world, s0)]);
  result.states = 1;
  interface Node {
    s: State;
    mark: number;
    cands: number[];
    k: number;
    /** The steps from the previous node to this one. */
    via: StepOut[];
  }
  const stack: Node[] = [];
  const schedule = (): void => {
    result.schedules++;
    if (result.schedules > limits.schedules) {
      result.complete = false;
      result.stoppedBy = 'schedules';
      throw new RunStop('budget', `the exploration of this concurrent block would go beyond ${limits.schedules} schedules; it stopped after ${result.states} states and ${limits.schedules} schedules, so it proves nothing about the rest`);
    }
  };
  const witness = (chain: StepOut[], last: StepOut): void => {
    const kind = (last.violation as NonNullable<StepOut['violation']>).kind;
    const count = trims.get(kind) ?? 0;
    if (count >= TRIMS_PER_KIND) return;
    trims.set(kind, count + 1);
    const path: StepOut[] = [];
    for (const node of stack) path.push(...node.via);
    path.push(...chain);
    const tids = trim(threads, path);
    const best = result.witnesses.get(kind);
    if (!best || tids.length < best.tids.length) result.witnesses.set(kind, { kind, tids, raw: path.map((st) => st.tid) });
  };
  /** Stores `s` (the machine in `s`); false, and the schedule ends there, when it was stored before. */
  const store = (s: State): boolean => {
    const key = stateKey(world, s);
    if (visited.has(key)) {
      schedule();
      return false;
    }
    visited.add(key);
    result.states++;
    if (result.states > limits.states) {
      result.complete = false;
      result.stoppedBy = 'states';
      throw new RunStop('budget', `the exploration of this concurrent block would go beyond ${limits.states} states; it stopped after ${limits.states} states and ${result.schedules} schedules, so it proves nothing about the rest`);
    }
    return true;
  };
  /** Follows a schedule from the step `first` to its next branching state, or to its end. */
  const follow = (first: StepOut): Node | undefined => {
    const chain: StepOut[] = [];
    let out = first;
    for (;;) {
      chain.push(out);
      result.transitions++;
      if (result.transitions % POLL_EVERY === 0 && limits.shouldStop?.()) {
        result.complete = false;
        result.stoppedBy = 'cancelled';
        throw new RunStop('cancelled', 'the run was cancelled');
      }
      if (out.misuse && !result.misuses.has(out.span.start)) result.misuses.set(out.span.start, out);
      if (out.violation) {
        witness(chain, out);
        schedule();
        return undefined;
      }
      const s = out.s;
      // A chain state is stored only at every CHECKPOINT-th depth; see the file comment.
      const stored = s.depth % CHECKPOINT === 0;
      if (stored && !store(s)) return undefined;
      const mark = journal.length;
      const next = expand(world, threads, s);
      if (!Array.isArray(next)) {
        out = next;
        continue;
      }
      if (next.length === 0) {
        limits.onFinal?.(s);
        schedule();
        return undefined;
      }
      if (!stored && !store(s)) return undefined;
      return { s, mark, cands: next, k: 0, via: chain };
    }
  };

  const first = expand(world, threads, s0);
  if (!Array.isArray(first)) {
    const node = follow(first);
    if (node) stack.push(node);
  } else if (first.length === 0) {
    limits.onFinal?.(s0);
    schedule();
  } else stack.push({ s: s0, mark: root, cands: first, k: 0, via: [] });

  while (stack.length > 0) {
    const top = stack[stack.length - 1] as Node;
    const tid = top.cands[top.k++];
    if (tid === undefined) {
      stack.pop();
      continue;
    }
    journal.undo(top.mark);
    const out = exec(world, threads, top.s, tid, false);
    if (!out) continue;
    const node = follow(out);
    if (node) stack.push(node);
  }
  journal.undo(root);
}

/**
 * The steps of `path` the violation at its end depends on: program order, conflicting accesses
 * and lock hand-overs, taken backwards. Any schedule of just those steps, in their order, ends in
 * the same violation (the caller checks with `reaches`, and keeps `raw` when it does not).
 */
function trim(threads: readonly Thread[], path: StepOut[]): number[] {
  const n = path.length;
  const keep = new Array<boolean>(n).fill(false);
  const needThread = new Array<boolean>(threads.length).fill(false);
  const last = path[n - 1] as StepOut;
  keep[n - 1] = true;
  needThread[last.tid] = true;
  const neededReads: Access[] = [];
  const neededOther: Access[] = [];
  const add = (acc: Access[]): void => {
    for (const a of acc) (a.k === READ ? neededReads : neededOther).push(a);
  };
  add(last.acc);
  for (let j = n - 2; j >= 0; j--) {
    const st = path[j] as StepOut;
    let need = needThread[st.tid] === true || st.woke.some((w) => needThread[w]);
    if (!need) {
      const writes = st.acc.some((a) => a.k !== READ);
      need = anyConflict(st.acc, neededOther) || (writes && anyConflict(st.acc, neededReads));
    }
    if (!need) continue;
    keep[j] = true;
    needThread[st.tid] = true;
    add(st.acc);
  }
  return path.filter((_, j) => keep[j]).map((st) => st.tid);
}

/** Runs a schedule from `s0` (the machine in `s0`); stops early if a thread in it cannot run. */
export function replay(world: World, threads: readonly Thread[], s0: State, tids: readonly number[], verbose: boolean): StepOut[] {
  const outs: StepOut[] = [];
  let s = s0;
  for (const tid of tids) {
    const out = exec(world, threads, s, tid, verbose);
    if (!out) break;
    outs.push(out);
    s = out.s;
  }
  return outs;
}

/** Whether a schedule replays to a violation of `kind`; the machine is taken back to `s0`. */
export function reaches(world: World, threads: readonly Thread[], s0: State, tids: readonly number[], kind: RaceKind): boolean {
  const mark = world.journal.length;
  const replayed = replay(world, threads, s0, tids, false);
  world.journal.undo(mark);
  const end = replayed[replayed.length - 1];
  return replayed.length === tids.length && end?.violation?.kind === kind;
}

/**
 * A schedule to a `kind` violation with fewer than `bound` steps in the unreduced graph, by a
 * depth-bounded search that stores each state with the fewest steps it was reached in (and
 * expands it again when reached in fewer). `proven` says the search finished within `cap`
 * stored states: then `path` is a shortest schedule, or null when `bound` steps are the fewest.
 * The machine is in `s0` before and after.
 */
export function shorter(world: World, threads: readonly Thread[], s0: State, kind: RaceKind, bound: number, cap: number): { path: number[] | null; proven: boolean } {
  const journal = world.journal;
  let best = bound;
  let found: number[] | null = null;
  let aborted = false;
  const depthOf = new Map<string, number>([[stateKey(world, s0), 0]]);
  const path: number[] = [];
  const dfs = (s: State, depth: number): void => {
    const mark = journal.length;
    for (let tid = 0; tid < s.threads.length && !aborted; tid++) {
      if (depth + 1 >= best) return;
      if (!runnable(s, tid)) continue;
      const out = exec(world, threads, s, tid, false);
      if (!out) continue;
      if (out.violation) {
        if (out.violation.kind === kind && depth + 1 < best) {
          best = depth + 1;
          found = [...path, tid];
        }
        journal.undo(mark);
        continue;
      }
      if (depth + 2 >= best) {
        journal.undo(mark);
        continue;
      }
      const key = stateKey(world, out.s);
      const seen = depthOf.get(key);
      if (seen === undefined || seen > depth + 1) {
        depthOf.set(key, depth + 1);
        if (depthOf.size > cap) aborted = true;
        else {
          path.push(tid);
          dfs(out.s, depth + 1);
          path.pop();
        }
      }
      journal.undo(mark);
    }
  };
  dfs(s0, 0);
  return { path: found, proven: !aborted };
}

/**
 * The canonical schedule: always the lowest-numbered thread that can run. Runs on the machine
 * and leaves it in the final state.
 */
export function canonical(world: World, threads: readonly Thread[], s0: State): StepOut[] {
  const outs: StepOut[] = [];
  let s = s0;
  for (let guard = 0; guard < 10_000_000; guard++) {
    let out: StepOut | undefined;
    for (let tid = 0; tid < s.threads.length && !out; tid++) out = exec(world, threads, s, tid, false);
    if (!out) break;
    outs.push(out);
    s = out.s;
  }
  return outs;
}
