// The race explorer for `concurrent` blocks (spec §9): compiles the threads, explores every
// schedule under sequential consistency, reports each kind of race with its shortest schedule,
// then leaves the machine in the state of one canonical schedule.
//
// Decisions where the spec is silent (docs/explorer.md has the full list):
// - The kernel state after the block is that of the canonical schedule: the lowest-numbered
//   thread that can run always runs next, so threads run in order unless one waits for a lock.
// - Each block starts with every lock free and every static key off (DEFINE_STATIC_KEY_FALSE).
// - After a violating step a schedule is not continued (the kernel has already gone wrong).
// - `schedules` counts the ends of explored schedules: a final state, a violation, or a state
//   already explored along another schedule (whose continuations are not explored again).

import type { ExecContext } from '../exec/context';
import type { Counterexample, CounterexampleStep, ExploredTable, Exploration, ExploreModule } from '../exec/modules';
import { ok, errno } from '../exec/outcome';
import type { Finding, Related } from '../findings';
import type { Machine } from '../model/machine';
import type { ConcurrentBlock, Span } from '../program';
import { hex16 } from '../u64';
import { compileBlock, type Skipped, type Thread } from './compile';
import { startThread, type RaceKind, type StepOut } from './steps';
import { canonical, reaches, replay, search, shorter, type SearchResult } from './search';
import { World, type State } from './model';

/** States the breadth-first search for a shorter counterexample may visit. */
const SHORTEST_CAP = 200_000;

/** The race findings of each exploration, so `expect race` can mark them expected. */
const raceFindings = new WeakMap<Exploration, Map<string, Finding>>();

export const exploreModule: ExploreModule = {
  explore(ctx, block) {
    const machine = ctx.machine;
    const world = new World(machine, machine.profile);
    const skipped: Skipped[] = [];
    const threads = compileBlock(ctx, world, block, skipped);
    for (const s of skipped) {
      machine.report('statement-failed', 'warning', `\`${s.text}\` inside a thread is not explored step by step yet; the explorer skips it`, { span: s.span });
    }
    const s0: State = { mem: new Map(), freed: [], locks: world.locks.map(() => ({ writer: -1, readers: [], queue: [] })), keys: 0, threads: threads.map(startThread) };
    const result = search(world, threads, s0, { states: machine.budget.states, schedules: machine.budget.schedules, shouldStop: ctx.shouldStop });
    for (const out of result.misuses.values()) machine.report('statement-failed', 'warning', out.misuse ?? '', { span: out.span });

    const exploration: Exploration = {
      span: block.span,
      schedules: result.schedules,
      states: result.states,
      races: [...result.witnesses.keys()],
      complete: result.complete,
      summary: '',
      transitions: result.transitions,
      threads: threads.map((t) => t.name),
      counterexamples: [],
    };
    const findings = new Map<string, Finding>();
    for (const witness of result.witnesses.values()) {
      let tids = reaches(world, threads, s0, witness.tids, witness.kind) ? witness.tids : witness.raw;
      const found = shorter(world, threads, s0, witness.kind, tids.length, Math.min(SHORTEST_CAP, machine.budget.states));
      if (found) tids = found;
      const cx = counterexample(world, threads, s0, witness.kind, tids, found !== undefined);
      if (!cx) continue;
      exploration.counterexamples?.push(cx);
      findings.set(witness.kind, machine.report('race', 'error', `${cx.kind}: ${cx.message}`, { span: cx.span, related: related(machine, cx) }));
    }
    raceFindings.set(exploration, findings);

    if (!result.complete) {
      const what = result.stoppedBy === 'schedules' ? `${machine.budget.schedules} schedules` : `${machine.budget.states} states`;
      machine.report('resource-limit', 'error', `the exploration would go beyond ${what}; it stopped after ${result.states} states and ${result.schedules} schedules, so it proves nothing about the rest (raise the budget in settings or with --budget)`, { span: block.keyword.span });
    }

    const saved = machine.span;
    applyCanonical(machine, world, canonical(world, threads, s0));
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
      if (last.races.length === 0) return ok(last.complete ? `holds: no race is reachable (${counts})` : `not proven: the exploration was cut short (${counts})`);
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
    const cut = last.complete ? '' : ' (the exploration was cut short by its budget)';
    machine.report('expectation-failed', 'error', `expected a ${kind} race, but none is reachable in ${counts}${cut}`, { span: stmt.span });
    return ok(`does not hold: no ${kind}`);
  },
};

/** Replays a schedule with descriptions and builds what the inspector shows. */
function counterexample(world: World, threads: readonly Thread[], s0: State, kind: RaceKind, tids: number[], shortest: boolean): Counterexample | undefined {
  const outs = replay(world, threads, s0, tids, true);
  const last = outs[outs.length - 1];
  const violation = last?.violation;
  if (!last || !violation || violation.kind !== kind) return undefined;
  const touched = new Set<number>();
  for (const out of outs) for (const t of out.tables) touched.add(t);
  const tables: ExploredTable[] = [...touched].sort((a, b) => a - b).map((t) => tableView(world, s0, t));
  const steps: CounterexampleStep[] = outs.map((out, k) => ({
    index: k + 1,
    thread: threads[out.tid]?.name ?? '?',
    span: out.span,
    action: out.text,
    changes: out.effects.flatMap((e) =>
      e.k === 'write' ? [{ table: world.tables[e.t]?.page.id ?? -1, index: e.i, before: hex16(join(e.blo, e.bhi)), after: hex16(join(e.lo, e.hi)) }] : [],
    ),
    freed: out.effects.flatMap((e) => (e.k === 'free' ? [world.tables[e.t]?.page.id ?? -1] : [])),
    touched: out.tables.map((t) => world.tables[t]?.page.id ?? -1),
  }));
  return { kind, message: violation.message, span: violation.span, shortest, tables, steps };
}

function join(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

function tableView(world: World, s: State, t: number): ExploredTable {
  const table = world.tables[t];
  const entries: { index: number; value: string }[] = [];
  for (let i = 0; i < (table?.ptrs ?? 0); i++) {
    const [lo, hi] = world.entry(s, t, i);
    if (lo !== 0 || hi !== 0) entries.push({ index: i, value: hex16(join(lo, hi)) });
  }
  return {
    id: table?.page.id ?? -1,
    level: world.profile.levels[table?.depth ?? 0]?.name ?? '?',
    va: hex16(world.vaOf(t, 0)),
    pa: '0x' + (table?.page.pa ?? 0).toString(16),
    freed: s.freed.includes(t),
    entries,
  };
}

/**
 * The schedule as related information: one item per run of steps a thread made on one
 * statement (a walk is hundreds of loads), each saying what the last of them did.
 */
function related(machine: Machine, cx: Counterexample): Related[] {
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
  void machine;
  return out;
}

/** Puts the canonical schedule's writes, frees and flushes on the machine. */
function applyCanonical(machine: Machine, world: World, outs: StepOut[]): void {
  for (const out of outs) {
    machine.span = out.span;
    for (const e of out.effects) {
      if (e.k === 'flush') {
        machine.flushTlb();
        continue;
      }
      const page = world.tables[e.t]?.page;
      if (!page || page.freed) continue;
      if (e.k === 'free') {
        machine.freeTable(page);
        continue;
      }
      if (e.lo === 0 && e.hi === 0 && page.children?.[e.i]) machine.unlinkTable(page, e.i, false);
      else machine.writeEntry(page, e.i, e.lo, e.hi);
    }
  }
}

function summary(result: SearchResult, exploration: Exploration): string {
  const counts = `${result.states} states, ${result.schedules} schedules`;
  const cut = result.complete ? '' : ' (cut short by the budget)';
  if (exploration.races.length === 0) return `no race in ${counts}${cut}`;
  const found = (exploration.counterexamples ?? []).map((cx) => `${cx.kind} (shortest schedule: ${cx.steps.length} steps)`);
  return `${found.join(', ')} in ${counts}${cut}`;
}

function outputText(exploration: Exploration, result: SearchResult): string {
  const lines = [`explored ${result.states} states and ${result.schedules} schedules of ${exploration.threads?.join(', ')}${result.complete ? '' : ' (incomplete: budget)'}`];
  if (exploration.races.length === 0) lines.push(result.complete ? 'no use-after-free, lost update or deadlock is reachable' : 'no race found before the budget ran out');
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
  return [...tables.values()];
}

export type { Span };
