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
// States are stored (hashed, so each is expanded once) where the search branches, right after
// a branch, and at every CHECKPOINT-th depth. Along a chain of states where the choice is forced
// (one thread can run, or one step is independent of everything the others may still do) the
// other states are not stored, only looked up when a cheap hash says they may have been. This
// loses no outcome: storing a state only prevents expanding it twice, and a chain state has
// exactly one successor, which is explored whenever the chain is; a chain reached along two
// paths is followed twice, until it meets a stored state. A walk over a big PTE-mapped range,
// whose loads are invisible to the other threads, stores one state per CHECKPOINT loads.

import { RunStop } from '../model/machine';
import { ALL_DEPTHS, READ, anyConflict, anyConflictButFree, isRead, slotAccess, type Access } from './footprint';
import type { Thread } from './compile';
import { StateMap, memOf, quickHash, sameLocks, sameThread, threadHash, type Frame, type LockState, type State, type ThreadState, type World } from './model';
import { exec, frameUnits, runnable, type RaceKind, type StepOut } from './steps';
import { mapPacked, truncate } from '../list';

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
const CHECKPOINT = 64;

/** The footprint of everything a thread may still do. */
function futureOf(world: World, threads: readonly Thread[], ts: ThreadState, tid: number): Access[] {
  if (ts.future) return ts.future;
  const thread = threads[tid] as Thread;
  let fp: Access[];
  if (ts.done) fp = [];
  else {
    const instr = thread.instrs[ts.pc];
    const m = ts.m;
    if (instr?.op === 'walk' && m?.kind === 'walk') fp = [...walkFuture(world, m.frames, instr.lo, instr.hi), ...(thread.suffix[ts.pc + 1] ?? [])];
    else fp = thread.suffix[ts.pc] ?? [];
  }
  ts.future = fp;
  return fp;
}

/**
 * What a walk may still read. A walk only moves forward, and it reaches a table only through an
 * entry above it that it has not loaded yet. So at the depth of each of its frames it reads the
 * entries from the frame's next one on, and deeper than its deepest frame, from that frame's
 * next entry on; an entry it has loaded already, such as the PMD entry above the PTE table it
 * is in, is not read again. (A depth between two frames, folded away on this machine, gets the
 * shallower frame's start.)
 */
function walkFuture(world: World, frames: readonly Frame[], lo: number, hi: number): Access[] {
  if (frames.length === 0) return [slotAccess(READ, ALL_DEPTHS, lo, hi)];
  const out: Access[] = [];
  for (let k = 0; k < frames.length; k++) {
    const f = frames[k] as Frame;
    const below = frames[k + 1];
    // Depth bits from this frame's depth to the next frame's (or to the last depth).
    const depths = (below === undefined ? ALL_DEPTHS : (1 << below.depth) - 1) & ~((1 << f.depth) - 1);
    if (depths !== 0) out.push(slotAccess(READ, depths, frameUnits(world, f), hi));
  }
  return out;
}

function independent(world: World, threads: readonly Thread[], s: State, tid: number, acc: Access[], exceptFrees: boolean): boolean {
  if (acc.length === 0) return true;
  for (let u = 0; u < s.threads.length; u++) {
    if (u === tid) continue;
    const ts = s.threads[u] as ThreadState;
    if (ts.done) continue;
    if (exceptFrees ? anyConflictButFree(acc, futureOf(world, threads, ts, u)) : anyConflict(acc, futureOf(world, threads, ts, u))) return false;
  }
  return true;
}

/**
 * Whether the search may take a step alone: it goes wrong nowhere, wakes nobody, and commutes
 * with what every other thread may still do — except, for a walk load in the middle of a table
 * (`StepOut.midTable`), with a free of that table: a schedule that frees the table before this
 * load (a use-after-free here) is matched by one that frees it right after, and the walk's next
 * load of the same table is then the use-after-free, on the same statement. Schedules that free
 * it first end there, so no final state or other violation is lost.
 */
function alone(world: World, threads: readonly Thread[], s: State, out: StepOut): boolean {
  return commutable(out) && independent(world, threads, s, out.tid, out.acc, out.midTable);
}

/** Whether a step commutes with everything the other threads may still do, frees included. */
function commutesWithAll(world: World, threads: readonly Thread[], s: State, out: StepOut): boolean {
  return commutable(out) && independent(world, threads, s, out.tid, out.acc, false);
}

/**
 * Whether a step may commute with other threads' steps at all: it goes wrong nowhere (a
 * violation, an unlock of a lock not held) and hands no lock over. Then only its accesses decide.
 */
function commutable(out: StepOut): boolean {
  return !out.violation && !out.misuse && out.woke.length === 0;
}

/**
 * The steps `expand` ran and could not take alone, with everything a step's outcome depends on:
 * the thread's own state, the locks, the static keys, which threads have finished or wait, and
 * the machine's content. While a walk loads the entries of a table another thread is about to
 * clear or free, that thread's next step is the same in every state along the walk, and again
 * in every branch where it took the same steps before; knowing its outcome, `expand` does not
 * run it and take it back in each of them only to find again that it cannot go alone. Kernel
 * statements are not kept: they run whole handlers, and are rare in such chains.
 */
class KnownSteps {
  private readonly byHash = new Map<number, KnownStep[]>();

  /** The outcome of thread `tid`'s step in `s` (whose machine id is `content`), when it was run in the same situation. */
  get(s: State, tid: number, content: number): StepOut | undefined {
    const ts = s.threads[tid] as ThreadState;
    const list = this.byHash.get(knownHash(ts, content, s.keys));
    if (list === undefined) return undefined;
    const others = othersOf(s, tid);
    for (const k of list) {
      // By value: the same step of the thread reached along another path is another object.
      if (k.content === content && k.keys === s.keys && k.others === others && k.out.tid === tid && sameThread(k.ts, ts) && sameLocks(k.locks, s.locks)) return k.out;
    }
    return undefined;
  }

  /** Keeps `out`, thread `tid`'s step run in `s`, whose machine id is `content`. */
  set(s: State, tid: number, content: number, out: StepOut): void {
    if (out.kernel !== undefined || s.threads.length > 15) return;
    const ts = s.threads[tid] as ThreadState;
    const h = knownHash(ts, content, s.keys);
    const known: KnownStep = { ts, content, locks: s.locks, keys: s.keys, others: othersOf(s, tid), out };
    const list = this.byHash.get(h);
    if (list === undefined) this.byHash.set(h, [known]);
    else list.push(known);
  }
}

interface KnownStep {
  ts: ThreadState;
  content: number;
  locks: readonly LockState[];
  keys: number;
  others: number;
  out: StepOut;
}

function knownHash(ts: ThreadState, content: number, keys: number): number {
  return (Math.imul(threadHash(ts) ^ keys, 0x9e3779b1) + content) | 0;
}

/** Two bits per other thread, finished and waiting: a step that leaves no thread able to run is a deadlock. */
function othersOf(s: State, tid: number): number {
  let bits = 0;
  for (let u = 0; u < s.threads.length; u++) {
    if (u === tid) continue;
    const ts = s.threads[u] as ThreadState;
    bits |= ((ts.done ? 1 : 0) | (ts.blocked ? 2 : 0)) << (2 * u);
  }
  return bits;
}

/**
 * A step to branch on: taken already when it did not change the machine, else its thread.
 * `Branches.live` is one that changed the machine and is still on it (explore it first).
 */
export type Candidate = StepOut | number;

export interface Branches {
  cands: Candidate[];
  live: StepOut | undefined;
}

/**
 * The steps to explore from `s` (the machine in state `s`): a step whose choice is forced, taken
 * (the machine left after it), or the steps to branch on (the machine left in `s`, or after
 * `live`).
 */
export function expand(world: World, threads: readonly Thread[], s: State, known: KnownSteps): StepOut | Branches {
  let enabled = 0;
  let only = -1;
  for (let tid = 0; tid < s.threads.length; tid++) {
    if (!runnable(s, tid)) continue;
    enabled++;
    only = tid;
  }
  if (enabled === 0) return { cands: [], live: undefined };
  if (enabled === 1) return exec(world, threads, s, only, false) ?? { cands: [], live: undefined };
  const mark = world.journal.length;
  // The machine's id in `s`, taken while the machine is in `s` (a live step may be on it later).
  const content = memOf(world, s);
  const cands: Candidate[] = [];
  let live: StepOut | undefined;
  // Threads are tried from the last to the first, so that the step left on the machine (live)
  // is the first thread's, which the search explores first anyway.
  for (let tid = s.threads.length - 1; tid >= 0; tid--) {
    if (!runnable(s, tid)) continue;
    const seen = known.get(s, tid, content);
    const skip = seen !== undefined && !alone(world, threads, s, seen);
    if (live) {
      // The machine must be in `s` again to try the next thread: the live step goes back. (A
      // known step is not run, but the live one still goes back: the branches keep their order.)
      world.journal.undo(mark);
      cands.push(live.tid);
      live = undefined;
    }
    if (skip) {
      cands.push(tid);
      continue;
    }
    const out = exec(world, threads, s, tid, false);
    if (!out) continue;
    if (alone(world, threads, s, out)) return out;
    known.set(s, tid, content, out);
    if (out.changed) live = out;
    else cands.push(out);
  }
  cands.reverse();
  return { cands, live };
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
  const visited = new StateMap<true>(world);
  visited.set(s0, true);
  const known = new KnownSteps();
  result.states = 1;
  const seen = new Set<number>([quickHash(world, s0)]);
  interface Node {
    s: State;
    mark: number;
    cands: Candidate[];
    k: number;
    /** The steps from the previous node to this one. */
    via: StepOut[];
    /** The first candidate is a step still on the machine. */
    live: boolean;
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
    if (!best || tids.length < best.tids.length) result.witnesses.set(kind, { kind, tids, raw: mapPacked(path, (st) => st.tid) });
  };
  /** Stores `s` (the machine in `s`); false, and the schedule ends there, when it was stored before. */
  const store = (s: State): boolean => {
    if (visited.get(s)) {
      schedule();
      return false;
    }
    visited.set(s, true);
    seen.add(quickHash(world, s));
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
      // Stored: the first state after a branch, and every CHECKPOINT-th depth along a chain;
      // other chain states are only looked up, when their quick hash says they may be stored.
      const stored = chain.length === 1 || s.depth % CHECKPOINT === 0;
      if (stored) {
        if (!store(s)) return undefined;
      } else if (seen.has(quickHash(world, s)) && visited.get(s)) {
        schedule();
        return undefined;
      }
      const mark = journal.length;
      const next = expand(world, threads, s, known);
      if (!('cands' in next)) {
        out = next;
        continue;
      }
      if (next.cands.length === 0 && !next.live) {
        limits.onFinal?.(s);
        schedule();
        return undefined;
      }
      if (!stored) {
        // The key needs the machine in `s`: a live step goes back and is taken again later.
        if (next.live) {
          journal.undo(mark);
          next.cands.push(next.live.tid);
          next.live = undefined;
        }
        if (!store(s)) return undefined;
      }
      if (next.live) next.cands.unshift(next.live);
      return { s, mark, cands: next.cands, k: 0, via: chain, live: next.live !== undefined };
    }
  };

  const first = expand(world, threads, s0, known);
  if (!('cands' in first)) {
    const node = follow(first);
    if (node) stack.push(node);
  } else if (first.cands.length === 0 && !first.live) {
    limits.onFinal?.(s0);
    schedule();
  } else {
    if (first.live) first.cands.unshift(first.live);
    stack.push({ s: s0, mark: root, cands: first.cands, k: 0, via: [], live: first.live !== undefined });
  }

  while (stack.length > 0) {
    const top = stack[stack.length - 1] as Node;
    const cand = top.cands[top.k++];
    if (cand === undefined) {
      stack.pop();
      continue;
    }
    // The first candidate of a node may still be on the machine (see `expand`).
    if (top.live && top.k === 1) top.live = false;
    else journal.undo(top.mark);
    const out = typeof cand === 'number' ? exec(world, threads, top.s, cand, false) : cand;
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
    for (const a of acc) (isRead(a) ? neededReads : neededOther).push(a);
  };
  add(last.acc);
  for (let j = n - 2; j >= 0; j--) {
    const st = path[j] as StepOut;
    let need = needThread[st.tid] === true || st.woke.some((w) => needThread[w]);
    if (!need) {
      const writes = st.acc.some((a) => !isRead(a));
      need = anyConflict(st.acc, neededOther) || (writes && anyConflict(st.acc, neededReads));
    }
    if (!need) continue;
    keep[j] = true;
    needThread[st.tid] = true;
    add(st.acc);
  }
  return mapPacked(path.filter((_, j) => keep[j]), (st) => st.tid);
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

/**
 * The same schedule with lower-numbered threads first wherever two neighbouring steps commute
 * (the last step, the violation, stays last): schedules read in thread order where the order
 * does not matter. Returns `tids` itself when the result would not replay to the same kind.
 */
export function inThreadOrder(world: World, threads: readonly Thread[], s0: State, tids: readonly number[], kind: RaceKind): number[] {
  const mark = world.journal.length;
  const outs = replay(world, threads, s0, tids, false);
  world.journal.undo(mark);
  if (outs.length !== tids.length) return [...tids];
  const steps = outs.slice();
  for (let changed = true; changed; ) {
    changed = false;
    for (let k = 0; k + 2 < steps.length; k++) {
      const a = steps[k] as StepOut;
      const b = steps[k + 1] as StepOut;
      if (b.tid < a.tid && commute(a, b.acc) && commute(b, a.acc)) {
        steps[k] = b;
        steps[k + 1] = a;
        changed = true;
      }
    }
  }
  const ordered = mapPacked(steps, (st) => st.tid);
  return reaches(world, threads, s0, ordered, kind) ? ordered : [...tids];
}

/** Whether a schedule replays to a violation of `kind`; the machine is taken back to `s0`. */
export function reaches(world: World, threads: readonly Thread[], s0: State, tids: readonly number[], kind: RaceKind): boolean {
  const mark = world.journal.length;
  const replayed = replay(world, threads, s0, tids, false);
  world.journal.undo(mark);
  const end = replayed[replayed.length - 1];
  return replayed.length === tids.length && end?.violation?.kind === kind;
}

/** A step that changed the machine, on the way to a state of the breadth-first search. */
interface Mutation {
  /** The state the step was taken from, and its thread. */
  s: State;
  tid: number;
  prev: Mutation | undefined;
  /** The machine content after it (memOf): two paths whose mutations agree so far leave the same machine. */
  mem: number;
}

/** A thread put to sleep: its next step, known to lead where a sibling's path already leads. */
interface Sleeper {
  tid: number;
  acc: Access[];
}

/** Whether two steps of different threads commute (neither hands a lock over or goes wrong). */
function commute(a: StepOut, acc: Access[]): boolean {
  return commutable(a) && !anyConflict(a.acc, acc);
}

/**
 * A schedule to a `kind` violation with fewer than `bound` steps in the unreduced graph, by a
 * breadth-first search (so the first found is a shortest), with sleep sets: a step that commutes
 * with the step a state was reached by, and was already taken from the state before it, is not
 * taken again (the state it leads to is reached, at the same depth, the other way round). Sleep
 * sets of one state reached several ways at one depth are intersected before it is expanded.
 *
 * A state of the search is put back on the machine by replaying only the steps on its way that
 * changed the machine (the others change nothing there), from the state each was taken in, and
 * only from the first of them whose machine content differs from the steps already replayed.
 * `proven` says the search finished within `cap` stored states: then `path` is a shortest
 * schedule, or null when `bound` steps are the fewest. The machine is in `s0` before and after.
 */
export function shorter(world: World, threads: readonly Thread[], s0: State, kind: RaceKind, bound: number, cap: number): { path: number[] | null; proven: boolean } {
  const journal = world.journal;
  const mark = journal.length;
  // The independent prefix: steps of one thread, each commuting with everything the others may
  // still do, that leave it able to run. Write d(s) for the fewest steps from s to a violation,
  // and d₋A(s) for the fewest without a step of thread A. For such a step r of A:
  // d(s) = min(1 + d(s·r), d₋A(s)), because a schedule with a step of A has r first up to
  // swapping, and d₋A(s·r) = d₋A(s), because r changes nothing the others see and leaves A
  // runnable (so no state without A's steps becomes a deadlock). Over k such steps:
  // d(s0) = min(k + d(sₖ), d₋A(sₖ)). A walk's loads outside the ranges the other threads touch
  // are such a prefix, and searching from its end saves a level per load.
  let s = s0;
  /** Thread `tid`'s step in `s`, taken when it belongs to the prefix, else taken back. */
  const independentStep = (tid: number): StepOut | undefined => {
    if (!runnable(s, tid)) return undefined;
    const at = journal.length;
    const out = exec(world, threads, s, tid, false);
    if (out && commutesWithAll(world, threads, s, out) && runnable(out.s, tid)) return out;
    journal.undo(at);
    return undefined;
  };
  const prefix: number[] = [];
  let a = -1;
  // A path from the prefix's end takes at least one step, and must stay below `bound`.
  while (prefix.length + 2 < bound) {
    let taken: StepOut | undefined;
    if (a >= 0) taken = independentStep(a);
    else for (let tid = 0; tid < s.threads.length && !taken; tid++) taken = independentStep(tid);
    if (!taken) break;
    a = taken.tid;
    prefix.push(a);
    s = taken.s;
  }
  if (prefix.length === 0) return levels(world, threads, s0, kind, bound, cap, -1);
  const along = levels(world, threads, s, kind, bound - prefix.length, cap, -1);
  let path = along.path ? [...prefix, ...along.path] : null;
  const without = levels(world, threads, s, kind, path ? path.length : bound, cap, a);
  if (without.path) path = without.path;
  journal.undo(mark);
  return { path, proven: along.proven && without.proven };
}

/**
 * `shorter` from `s0` (the machine in `s0`), level by level; a thread `frozen` (if not -1) takes
 * no step.
 */
function levels(world: World, threads: readonly Thread[], s0: State, kind: RaceKind, bound: number, cap: number, frozen: number): { path: number[] | null; proven: boolean } {
  const journal = world.journal;
  const root = journal.length;
  interface Node {
    s: State;
    parent: Node | undefined;
    tid: number;
    muts: Mutation | undefined;
    sleep: Sleeper[];
    depth: number;
    /** Position in its level, in the order a level-by-level search would take them. */
    rank: number;
    /** Where its parent's step to it comes in the parent's level: parent rank, then thread. */
    key: number;
  }
  const visited = new StateMap<Node>(world);
  const first: Node = { s: s0, parent: undefined, tid: -1, muts: undefined, sleep: [], depth: 0, rank: 0, key: 0 };
  visited.set(s0, first);
  const applied: { mut: Mutation; mark: number }[] = [];
  /** Puts the machine in the state reached through `muts`. */
  const goTo = (muts: Mutation | undefined): void => {
    const list: Mutation[] = [];
    for (let m = muts; m; m = m.prev) list.push(m);
    list.reverse();
    let k = 0;
    while (k < applied.length && k < list.length && applied[k]?.mut.mem === list[k]?.mem) k++;
    if (k < applied.length) {
      journal.undo((applied[k] as { mark: number }).mark);
      truncate(applied, k);
    }
    for (; k < list.length; k++) {
      const m = list[k] as Mutation;
      const mark = journal.length;
      exec(world, threads, m.s, m.tid, false);
      applied.push({ mut: m, mark });
    }
  };
  const mutation = (node: Node, tid: number, after: State): Mutation => ({ s: node.s, tid, prev: node.muts, mem: memOf(world, after) });
  const pathOf = (node: Node, tid: number): number[] => {
    const tids = [tid];
    for (let n: Node | undefined = node; n && n.tid >= 0; n = n.parent) tids.push(n.tid);
    return tids.reverse();
  };
  const done = (path: number[] | null, proven: boolean): { path: number[] | null; proven: boolean } => {
    journal.undo(root);
    return { path, proven };
  };
  let frontier: Node[] = [first];
  // A state at `depth` can end in a violation at depth + 1, which must stay below `bound`.
  for (let depth = 0; depth + 1 < bound && frontier.length > 0; depth++) {
    // The level is taken in order of machine content, so that states with one content (the
    // same id) follow each other and need no replay between them; which parent, which path and
    // which violation win is decided by `key` instead, as if the level were taken in order.
    for (let r = 0; r < frontier.length; r++) (frontier[r] as Node).rank = r;
    const order = frontier.slice().sort((a, b) => (a.s.mem ?? -1) - (b.s.mem ?? -1) || a.rank - b.rank);
    const next: Node[] = [];
    let found: { node: Node; tid: number } | undefined;
    let at = -1;
    for (const node of order) {
      if (found && node.rank > found.node.rank) continue;
      const mem = node.s.mem ?? -2;
      if (mem !== at || mem < 0) goTo(node.muts);
      at = mem;
      const mark = journal.length;
      const taken: Sleeper[] = [];
      for (let tid = 0; tid < node.s.threads.length; tid++) {
        if (tid === frozen || !runnable(node.s, tid) || node.sleep.some((z) => z.tid === tid)) continue;
        const out = exec(world, threads, node.s, tid, false);
        if (!out) continue;
        const key = node.rank * threads.length + tid;
        if (out.violation) {
          if (out.violation.kind === kind && (!found || node.rank < found.node.rank)) found = { node, tid };
        } else if (depth + 2 < bound) {
          const sleep: Sleeper[] = [];
          for (const z of node.sleep) if (commute(out, z.acc)) sleep.push(z);
          for (const z of taken) if (commute(out, z.acc)) sleep.push(z);
          const seen = visited.get(out.s);
          if (!seen) {
            const child: Node = { s: out.s, parent: node, tid, muts: out.changed ? mutation(node, tid, out.s) : node.muts, sleep, depth: depth + 1, rank: 0, key };
            visited.set(out.s, child);
            if (visited.size > cap) return done(null, false);
            next.push(child);
          } else if (seen.depth === depth + 1) {
            seen.sleep = seen.sleep.filter((z) => sleep.some((y) => y.tid === z.tid));
            if (key < seen.key) {
              // Found first in level order from here: this is the path a schedule takes to it.
              seen.parent = node;
              seen.tid = tid;
              seen.muts = out.changed ? mutation(node, tid, out.s) : node.muts;
              seen.key = key;
            }
          }
        }
        if (commutable(out)) taken.push({ tid, acc: out.acc });
        journal.undo(mark);
        // Found in this node, at its lowest thread: nothing later in it can come first.
        if (found?.node === node) break;
      }
    }
    if (found) return done(pathOf(found.node, found.tid), true);
    // In level order, so that among the shortest schedules the one found takes the
    // lowest-numbered thread first.
    frontier = next.sort((a, b) => a.key - b.key);
  }
  return done(null, true);
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
