// The race explorer for `concurrent` blocks (spec §9): compiles the threads, explores every
// schedule under sequential consistency, reports each kind of race with its shortest schedule,
// then leaves the machine in the state of one canonical schedule.
//
// Decisions where the spec is silent (README.md has the full list):
// - The kernel state after the block is that of the canonical schedule: the lowest-numbered
//   thread that can run always runs next, so threads run in order unless one waits for a lock.
//   Only that schedule's findings (a kernel statement's own, `=> RESULT`) are reported; what
//   statements report in other schedules is taken back with them.
// - Each block starts with every lock free and every static key off (DEFINE_STATIC_KEY_FALSE).
// - After a violating step a schedule is not continued (the kernel has already gone wrong).
// - `schedules` counts the ends of explored schedules: a final state, a violation, or a state
//   already explored along another schedule (whose continuations are not explored again).

import type { Counterexample, CounterexampleStep, ExploredTable, Exploration, ExploreModule } from '../exec/modules';
import { ok, errno } from '../exec/outcome';
import type { Finding, Related } from '../findings';
import { mapPacked } from '../list';
import { RunStop } from '../model/machine';
import type { TablePage } from '../model/table';
import type { Span } from '../program';
import { hex16 } from '../u64';
import { compileBlock, type Thread } from './compile';
import { World, type State } from './model';
import { canonical, emptyResult, inThreadOrder, reaches, replay, search, shorter, type SearchResult } from './search';
import { startThread, type RaceKind } from './steps';

/** States the search for a shorter counterexample may store. */
const SHORTEST_CAP = 200_000;

/** The race findings of each exploration, so `expect race` can mark them expected. */
const raceFindings = new WeakMap<Exploration, Map<string, Finding>>();

/** The state every thread starts from, the machine as it is. */
export function initialState(world: World, threads: readonly Thread[]): State {
  return { mem: world.memKeys.current(), depth: 0, locks: mapPacked(world.locks, () => ({ writer: -1, readers: [], queue: [] })), keys: 0, threads: mapPacked(threads, startThread) };
}

export const exploreModule: ExploreModule = {
  explore(ctx, block) {
    const machine = ctx.machine;
    const world = new World(machine, ctx);
    const threads = compileBlock(ctx, world, block);
    const result = emptyResult();
    const exploration: Exploration = {
      span: block.span,
      schedules: 0,
      states: 0,
      races: [],
      complete: false,
      summary: '',
      transitions: 0,
      threads: threads.map((t) => t.name),
      counterexamples: [],
    };
    const counts = (): void => {
      exploration.schedules = result.schedules;
      exploration.states = result.states;
      exploration.transitions = result.transitions;
      exploration.complete = result.complete;
    };
    world.journal.attach(machine);
    const saved = machine.span;
    /** Whether the canonical schedule runs (until then the machine goes back on a stop). */
    let final = false;
    try {
      const s0 = initialState(world, threads);
      try {
        search(world, threads, s0, { states: machine.budget.states, schedules: machine.budget.schedules, shouldStop: ctx.shouldStop }, result);
      } catch (e) {
        if (e instanceof RunStop) {
          // Budgets and cancellation stop the scenario here (spec §10), with the machine as it
          // was before the block and what the exploration counted in the result.
          world.journal.undo(0);
          machine.span = block.span;
          result.complete = false;
          counts();
          exploration.summary = `stopped after ${result.states} states and ${result.schedules} schedules`;
          e.exploration = exploration;
        }
        throw e;
      }
      counts();
      exploration.races = [...result.witnesses.keys()];
      for (const out of result.misuses.values()) machine.report('statement-failed', 'warning', out.misuse ?? '', { span: out.span });

      const findings = new Map<string, Finding>();
      for (const witness of result.witnesses.values()) {
        let tids = reaches(world, threads, s0, witness.tids, witness.kind) ? witness.tids : witness.raw;
        const found = shorter(world, threads, s0, witness.kind, tids.length, Math.min(SHORTEST_CAP, machine.budget.states));
        if (found.path) tids = found.path;
        tids = inThreadOrder(world, threads, s0, tids, witness.kind);
        const cx = counterexample(world, threads, s0, witness.kind, tids, found.proven);
        if (!cx) continue;
        exploration.counterexamples?.push(cx);
        findings.set(witness.kind, machine.report('race', 'error', `${cx.kind}: ${cx.message}`, { span: cx.span, related: related(cx) }));
      }
      raceFindings.set(exploration, findings);

      // The machine after the block: the canonical schedule, with its statements' own findings.
      final = true;
      for (const out of canonical(world, threads, s0)) {
        const run = out.kernel;
        if (run?.outcome) ctx.settle?.(run.stmt, run.outcome, run.fresh);
      }
    } catch (e) {
      if (e instanceof RunStop && !e.exploration) {
        if (!final) {
          world.journal.undo(0);
          machine.span = block.span;
        }
        counts();
        e.exploration = exploration;
      }
      throw e;
    } finally {
      world.journal.detach(machine);
    }
    machine.span = saved;
    exploration.summary = summary(result, exploration);
    machine.output('explore', outputText(exploration, result));
    return exploration;
  },

  expectRace(ctx, stmt, last) {
    const machine = ctx.machine;
    if (!last) return errno('EINVAL', '`expect race` needs a `concurrent` block before it');
    const kind = stmt.race.text;
    const counts = `${last.states} states, ${last.schedules} schedules`;
    if (kind === 'none') {
      if (last.races.length === 0) return ok(`holds: no race is reachable (${counts})`);
      const first = raceFindings.get(last)?.values().next().value;
      machine.report('expectation-failed', 'error', `expected no race, but ${last.races.join(' and ')} ${last.races.length === 1 ? 'is' : 'are'} reachable`, {
        span: stmt.span,
        ...(first ? { related: [{ span: first.span, message: first.message }] } : {}),
      });
      return ok(`does not hold: ${last.races.join(', ')}`);
    }
    const finding = raceFindings.get(last)?.get(kind);
    if (finding) {
      finding.expected = true;
      if (finding.severity === 'error' || finding.severity === 'warning') finding.severity = 'information';
      return ok(`holds: ${kind} is reachable`);
    }
    machine.report('expectation-failed', 'error', `expected a ${kind} race, but none is reachable in ${counts}`, { span: stmt.span });
    return ok(`does not hold: no ${kind}`);
  },
};

/** Replays a schedule with descriptions and builds what the inspector shows. */
function counterexample(world: World, threads: readonly Thread[], s0: State, kind: RaceKind, tids: number[], shortest: boolean): Counterexample | undefined {
  const journal = world.journal;
  const mark = journal.length;
  const outs = replay(world, threads, s0, tids, true);
  const last = outs[outs.length - 1];
  const violation = last?.violation;
  // Every table the schedule touches, with where it sits (known now, while it is linked).
  const seen = new Map<TablePage, { createdAt?: number; va: string }>();
  const note = (table: TablePage, createdAt?: number): void => {
    if (seen.has(table)) return;
    const u = world.entryUnits(table, 0);
    seen.set(table, { ...(createdAt !== undefined ? { createdAt } : {}), va: u === undefined ? '?' : hex16(BigInt(u) << 12n) });
  };
  outs.forEach((out, k) => {
    for (const t of out.allocated ?? []) note(t, k + 1);
    for (const t of out.tables) note(t);
  });
  const steps: CounterexampleStep[] = outs.map((out, k) => ({
    index: k + 1,
    thread: threads[out.tid]?.name ?? '?',
    span: out.span,
    action: out.text,
    changes: (out.changes ?? []).map((c) => ({ table: c.table.id, index: c.index, before: hex16(c.before), after: hex16(c.after) })),
    freed: (out.freed ?? []).map((t) => t.id),
    touched: out.tables.map((t) => t.id),
  }));
  journal.undo(mark);
  if (!last || !violation || violation.kind !== kind) return undefined;
  // The tables as they were when the block began (the machine is back there).
  const tables: ExploredTable[] = [...seen.entries()]
    .sort((a, b) => a[0].id - b[0].id)
    .map(([table, info]) => {
      const entries: { index: number; value: string }[] = [];
      if (info.createdAt === undefined) {
        for (let i = 0; i < table.ptrs; i++) {
          const v = table.value(i);
          if (v !== 0n) entries.push({ index: i, value: hex16(v) });
        }
      }
      const view: ExploredTable = {
        id: table.id,
        level: world.profile.levels[table.depth]?.name ?? '?',
        va: info.va,
        pa: '0x' + table.pa.toString(16),
        freed: info.createdAt === undefined && table.freed,
        entries,
      };
      if (info.createdAt !== undefined) view.createdAt = info.createdAt;
      return view;
    });
  return { kind, message: violation.message, span: violation.span, shortest, tables, steps };
}

/**
 * The schedule as related information: one item per run of steps a thread made on one
 * statement (a walk is hundreds of loads), each saying what the last of them did.
 */
function related(cx: Counterexample): Related[] {
  const out: Related[] = [];
  const steps = cx.steps;
  for (let k = 0; k < steps.length; ) {
    const first = steps[k] as CounterexampleStep;
    let j = k;
    while (j + 1 < steps.length && steps[j + 1]?.thread === first.thread && steps[j + 1]?.span.start === first.span.start) j++;
    const lastStep = steps[j] as CounterexampleStep;
    const where = j === k ? `step ${first.index}` : `steps ${first.index}–${lastStep.index}`;
    const many = j === k ? '' : `${j - k + 1} steps, the last: `;
    out.push({ span: first.span, message: `${where}: ${first.thread}: ${many}${lastStep.action}` });
    k = j + 1;
  }
  return out;
}

function summary(result: SearchResult, exploration: Exploration): string {
  const counts = `${result.states} states, ${result.schedules} schedules`;
  if (exploration.races.length === 0) return `no race in ${counts}`;
  const found = (exploration.counterexamples ?? []).map((cx) => `${cx.kind} (shortest schedule: ${cx.steps.length} steps)`);
  return `${found.join(', ')} in ${counts}`;
}

function outputText(exploration: Exploration, result: SearchResult): string {
  const lines = [`explored ${result.states} states and ${result.schedules} schedules of ${exploration.threads?.join(', ')}`];
  if (exploration.races.length === 0) lines.push('no use-after-free, lost update or deadlock is reachable');
  for (const cx of exploration.counterexamples ?? []) {
    lines.push(`${cx.kind}: ${cx.message}`);
    lines.push(`${cx.shortest ? 'shortest' : 'short'} schedule (${cx.steps.length} steps):`);
    for (const step of cx.steps) lines.push(`  ${step.index}. ${step.thread}: ${step.action}`);
  }
  return lines.join('\n');
}

/** The involved tables of a counterexample after step `step` (0 = before the first step). */
export function tablesAtStep(cx: Counterexample, step: number): ExploredTable[] {
  const tables = new Map<number, ExploredTable>(cx.tables.map((t) => [t.id, { ...t, entries: t.entries.map((e) => ({ ...e })) }]));
  for (const s of cx.steps.slice(0, step)) {
    for (const c of s.changes) {
      const t = tables.get(c.table);
      if (!t) continue;
      const rest = t.entries.filter((e) => e.index !== c.index);
      if (BigInt(c.after) !== 0n) rest.push({ index: c.index, value: c.after });
      t.entries = rest.sort((a, b) => a.index - b.index);
    }
    for (const id of s.freed) {
      const t = tables.get(id);
      if (t) t.freed = true;
    }
  }
  return [...tables.values()].filter((t) => t.createdAt === undefined || t.createdAt <= step);
}

export type { Span };
