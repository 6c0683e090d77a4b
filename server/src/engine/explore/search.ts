// The search: every schedule of a block under sequential consistency, with a partial-order
// reduction and state hashing, and the shortest schedule to each kind of violation.
//
// Reduction (ample sets, as in SPIN's static partial-order reduction): in a state where some
// thread's next step conflicts with nothing any other thread may still do (footprint.ts), only
// that step is explored; otherwise every enabled step is. Thread programs have no loops, so the
// state graph is acyclic and the cycle proviso holds trivially; a step that violates a property,
// or unlocks a lock others wait for, is never taken alone. Such a reduction reaches every
// terminal state (every distinct outcome and every deadlock) and every violating step the full
// graph has: any full schedule is a prefix, up to swapping independent steps, of an explored
// one. States are hashed, so each is expanded once.

import { RunStop } from '../model/machine';
import { ALL_DEPTHS, READ, anyConflict, slotAccess, type Access } from './footprint';
import type { Thread } from './compile';
import { stateKey, type State, type ThreadState, type World } from './model';
import { exec, type RaceKind, type StepOut } from './steps';

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
  stoppedBy?: 'states' | 'schedules';
  /** Kinds in the order first found, with the shortest schedule seen for each. */
  witnesses: Map<RaceKind, Witness>;
  /** Unlocks of locks not held, by statement offset. */
  misuses: Map<number, StepOut>;
}

/** Trims of counterexamples computed per kind before settling for the best so far. */
const TRIMS_PER_KIND = 100;
const POLL_EVERY = 2048;

/** The footprint of everything a thread may still do. */
function futureOf(threads: readonly Thread[], ts: ThreadState, tid: number): Access[] {
  if (ts.future) return ts.future;
  const thread = threads[tid] as Thread;
  let fp: Access[];
  if (ts.done) fp = [];
  else {
    const instr = thread.instrs[ts.pc];
    if (instr?.op === 'walk' && ts.m?.kind === 'walk') {
      // A walk only moves forward: it reads nothing below the address it has reached.
      const top = ts.m.frames[ts.m.frames.length - 1];
      fp = [slotAccess(READ, ALL_DEPTHS, top?.a ?? instr.lo, instr.hi), ...(thread.suffix[ts.pc + 1] ?? [])];
    } else fp = thread.suffix[ts.pc] ?? [];
  }
  ts.future = fp;
  return fp;
}

/** The steps to explore from `s`: one independent step when there is one, else all of them. */
export function expand(world: World, threads: readonly Thread[], s: State, reduce: boolean): StepOut[] {
  const outs: StepOut[] = [];
  for (let tid = 0; tid < s.threads.length; tid++) {
    const out = exec(world, threads, s, tid, false);
    if (!out) continue;
    if (reduce && !out.violation && !out.misuse && out.woke.length === 0 && independent(threads, s, tid, out.acc)) return [out];
    outs.push(out);
  }
  return outs;
}

function independent(threads: readonly Thread[], s: State, tid: number, acc: Access[]): boolean {
  if (acc.length === 0) return true;
  for (let u = 0; u < s.threads.length; u++) {
    if (u === tid) continue;
    const ts = s.threads[u] as ThreadState;
    if (ts.done) continue;
    if (anyConflict(acc, futureOf(threads, ts, u))) return false;
  }
  return true;
}

/** Explores every schedule (reduced), stopping at budgets; throws RunStop when cancelled. */
export function search(world: World, threads: readonly Thread[], s0: State, limits: Limits): SearchResult {
  const result: SearchResult = { states: 1, schedules: 0, transitions: 0, complete: true, witnesses: new Map(), misuses: new Map() };
  const trims = new Map<RaceKind, number>();
  const visited = new Set<string>([stateKey(s0)]);
  interface Node {
    outs: StepOut[];
    k: number;
    via: StepOut | undefined;
  }
  const stack: Node[] = [{ outs: expand(world, threads, s0, true), k: 0, via: undefined }];
  const schedule = (): boolean => {
    result.schedules++;
    if (result.schedules > limits.schedules) {
      result.complete = false;
      result.stoppedBy = 'schedules';
      return false;
    }
    return true;
  };
  if (stack[0]?.outs.length === 0) schedule();
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as Node;
    const out = top.outs[top.k++];
    if (!out) {
      stack.pop();
      continue;
    }
    result.transitions++;
    if (result.transitions % POLL_EVERY === 0 && limits.shouldStop?.()) throw new RunStop('cancelled', 'the run was cancelled');
    if (out.misuse && !result.misuses.has(out.span.start)) result.misuses.set(out.span.start, out);
    if (out.violation) {
      const kind = out.violation.kind;
      const count = trims.get(kind) ?? 0;
      if (count < TRIMS_PER_KIND) {
        trims.set(kind, count + 1);
        const path: StepOut[] = [];
        for (let i = 1; i < stack.length; i++) path.push((stack[i] as Node).via as StepOut);
        path.push(out);
        const tids = trim(threads, path);
        const best = result.witnesses.get(kind);
        if (!best || tids.length < best.tids.length) result.witnesses.set(kind, { kind, tids, raw: path.map((st) => st.tid) });
      }
      if (!schedule()) break;
      continue;
    }
    const key = stateKey(out.s);
    if (visited.has(key)) {
      if (!schedule()) break;
      continue;
    }
    visited.add(key);
    result.states++;
    if (result.states > limits.states) {
      result.complete = false;
      result.stoppedBy = 'states';
      break;
    }
    const outs = expand(world, threads, out.s, true);
    if (outs.length === 0) {
      limits.onFinal?.(out.s);
      if (!schedule()) break;
      continue;
    }
    stack.push({ outs, k: 0, via: out });
  }
  return result;
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

/** Whether a schedule replays to a violation of `kind`. */
export function reaches(world: World, threads: readonly Thread[], s0: State, tids: readonly number[], kind: RaceKind): boolean {
  const replayed = replay(world, threads, s0, tids, false);
  const end = replayed[replayed.length - 1];
  return replayed.length === tids.length && end?.violation?.kind === kind;
}

/** Runs a schedule from `s0`; stops early if a thread in it cannot run. */
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

/**
 * Breadth-first search of the unreduced graph for a schedule to a `kind` violation shorter than
 * `bound` steps. Returns it, `null` when none exists (the bound is the shortest), or `undefined`
 * when `cap` states were not enough to tell.
 */
export function shorter(world: World, threads: readonly Thread[], s0: State, kind: RaceKind, bound: number, cap: number): number[] | null | undefined {
  interface Node {
    s: State;
    parent: Node | undefined;
    tid: number;
  }
  const visited = new Set<string>([stateKey(s0)]);
  let frontier: Node[] = [{ s: s0, parent: undefined, tid: -1 }];
  const pathOf = (node: Node, tid: number): number[] => {
    const tids = [tid];
    for (let n: Node | undefined = node; n && n.tid >= 0; n = n.parent) tids.push(n.tid);
    return tids.reverse();
  };
  for (let depth = 0; depth <= bound - 2; depth++) {
    const nextFrontier: Node[] = [];
    for (const node of frontier) {
      for (let tid = 0; tid < node.s.threads.length; tid++) {
        const out = exec(world, threads, node.s, tid, false);
        if (!out) continue;
        if (out.violation) {
          if (out.violation.kind === kind) return pathOf(node, tid);
          continue;
        }
        if (depth + 1 > bound - 2) continue;
        const key = stateKey(out.s);
        if (visited.has(key)) continue;
        visited.add(key);
        if (visited.size > cap) return undefined;
        nextFrontier.push({ s: out.s, parent: node, tid });
      }
    }
    frontier = nextFrontier;
    if (frontier.length === 0) break;
  }
  return null;
}

/** The canonical schedule: always the lowest-numbered thread that can run. */
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
