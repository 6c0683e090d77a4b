// Reading a race counterexample: the tables after any step of its schedule, the step that freed
// each table, and the walker step that dereferenced a freed table. Pure; the explorer view draws
// what these return.

import type { CounterexampleInfo, CounterexampleStepInfo, CounterexampleTable } from '../../server/src/protocol/result';

export interface TableAtStep extends CounterexampleTable {
  /** Entry indices the selected step wrote. */
  written: Set<number>;
  /** The selected step read, wrote or freed this table. */
  touched: boolean;
  /** The schedule step that freed it (1-based), if it is freed by then. */
  freedBy?: number;
}

/**
 * The tables after step `step` of the schedule (0 = as the block began). Mirrors the engine's
 * explore `tablesAtStep`: entries are replayed from the steps' changes.
 */
export function tablesAtStep(cx: CounterexampleInfo, step: number): TableAtStep[] {
  const tables = new Map<number, TableAtStep>(
    cx.tables.map((t) => [t.id, { ...t, entries: t.entries.map((e) => ({ ...e })), written: new Set<number>(), touched: false }]),
  );
  for (const s of cx.steps.slice(0, Math.max(0, step))) {
    for (const change of s.changes) {
      const t = tables.get(change.table);
      if (!t) continue;
      const rest = t.entries.filter((e) => e.index !== change.index);
      if (!/^0x0*$/i.test(change.after) && change.after !== '0') rest.push({ index: change.index, value: change.after });
      t.entries = rest.sort((a, b) => a.index - b.index);
    }
    for (const id of s.freed) {
      const t = tables.get(id);
      if (t) {
        t.freed = true;
        t.freedBy = s.index;
      }
    }
  }
  const current = cx.steps[step - 1];
  if (current) {
    for (const change of current.changes) tables.get(change.table)?.written.add(change.index);
    for (const id of current.touched) {
      const t = tables.get(id);
      if (t) t.touched = true;
    }
  }
  return [...tables.values()].filter((t) => t.createdAt === undefined || t.createdAt <= step);
}

/** The first step that touches a table an earlier step freed: the walker's use after free. */
export function derefStep(cx: CounterexampleInfo): CounterexampleStepInfo | undefined {
  const freedAt = new Map<number, number>();
  for (const s of cx.steps) {
    if (s.touched.some((id) => freedAt.has(id) && !s.freed.includes(id))) return s;
    for (const id of s.freed) if (!freedAt.has(id)) freedAt.set(id, s.index);
  }
  return undefined;
}

/** Steps that freed a table, by 1-based index. */
export function freeingSteps(cx: CounterexampleInfo): Set<number> {
  return new Set(cx.steps.filter((s) => s.freed.length > 0).map((s) => s.index));
}
