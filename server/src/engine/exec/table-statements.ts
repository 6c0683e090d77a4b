// The low-level table-page statements of spec §8, for modelling arch code by hand:
// pgtable_alloc, pgtable_ctor, pgtable_dtor, pgtable_free, populate, clear.
//
// These are the kernel primitives and nothing more: `populate` is pXd_populate (it does not
// touch pgtables_bytes; pmd_install does that) and `clear` is pXd_clear (no mm_dec_nr_*). A
// scenario that links a table by hand into a process and lets exit tear it down therefore ends
// with the kernel's "non-zero pgtables_bytes on freeing mm" report, as the kernel would.

import { indexAt, type Depth } from '../arch/profile';
import type { AddressSpace, Machine } from '../model/machine';
import { tableLabel } from '../model/machine';
import type { TablePage } from '../model/table';
import type { ClearStmt, PgtableAllocStmt, PgtableCtorStmt, PgtableFreeStmt, PopulateStmt, Span } from '../program';
import { hex16 } from '../u64';
import { EvalError, levelDepth, type ExecContext } from './context';
import { errno, ok, type Outcome } from './outcome';

function tableNamed(ctx: ExecContext, name: string, span: Span): TablePage {
  const binding = ctx.lookup(name, span);
  if (binding.kind !== 'table') throw new EvalError({ code: 'unknown-name', span, message: `\`${name}\` does not name a table page` });
  return binding.table;
}

function realDepth(ctx: ExecContext, word: { text: string; span: Span }): Depth {
  const depth = levelDepth(word.text);
  const geometry = depth === undefined ? undefined : ctx.machine.profile.levels[depth];
  if (depth === undefined || !geometry) throw new EvalError({ code: 'bad-value', span: word.span, message: `\`${word.text}\` is not a level` });
  if (geometry.folded) {
    throw new EvalError({ code: 'bad-value', span: word.span, message: `the ${word.text.toUpperCase()} level is folded in ${ctx.machine.profile.label}: it has no table pages` });
  }
  return depth;
}

export function execPgtableAlloc(ctx: ExecContext, stmt: PgtableAllocStmt): Outcome {
  const depth = realDepth(ctx, stmt.level);
  const table = ctx.machine.allocTable(ctx.space, depth, { noctor: stmt.noctor !== undefined, name: stmt.name.text });
  ctx.bind(stmt.name.text, { kind: 'table', table, span: stmt.name.span });
  const ctor = table.constructed ? 'ctor ran' : 'no ctor';
  return ok(`${stmt.name.text}: ${stmt.level.text.toUpperCase()} table page at 0x${table.pa.toString(16)} (${ctor})`);
}

export function execPgtableCtor(ctx: ExecContext, stmt: PgtableCtorStmt): Outcome {
  const table = tableNamed(ctx, stmt.name.text, stmt.name.span);
  if (stmt.kind === 'pgtable_ctor') ctx.machine.construct(table);
  else ctx.machine.destruct(table);
  return ok(`${stmt.kind === 'pgtable_ctor' ? 'constructed' : 'destructed'} ${stmt.name.text}`);
}

export function execPgtableFree(ctx: ExecContext, stmt: PgtableFreeStmt): Outcome {
  const table = tableNamed(ctx, stmt.name.text, stmt.name.span);
  ctx.machine.freeTable(table, { nodtor: stmt.nodtor !== undefined });
  return ok(`freed ${stmt.name.text}`);
}

/** The table holding the entry of level `entryDepth` that covers `va`, if the path exists. */
function tableHoldingEntry(machine: Machine, space: AddressSpace, va: bigint, entryDepth: Depth): TablePage | undefined {
  const profile = machine.profile;
  let table: TablePage | undefined = space.root;
  while (table) {
    const deepest = profile.entryDepth[table.depth] ?? table.depth;
    if (entryDepth >= table.depth && entryDepth <= deepest) return table;
    table = table.children?.[indexAt(profile, table.depth, va)];
  }
  return undefined;
}


export function execPopulate(ctx: ExecContext, stmt: PopulateStmt): Outcome {
  const machine = ctx.machine;
  const va = ctx.num(stmt.addr);
  const child = tableNamed(ctx, stmt.name.text, stmt.name.span);
  if (child.freed) return errno('EINVAL', `${stmt.name.text} has been freed`);
  if (child.depth === 0) return errno('EINVAL', 'a PGD is never populated into another table');
  if (child.parent) return errno('EINVAL', `${stmt.name.text} is already linked`);
  // The entry pointing at a table of depth d is the deepest-aliased entry of the real level above.
  let parentEntry = (child.depth - 1) as Depth;
  while (parentEntry > 0 && machine.profile.levels[parentEntry]?.folded) parentEntry = (parentEntry - 1) as Depth;
  const parentEntryDepth = machine.profile.entryDepth[parentEntry] ?? parentEntry;
  const parent = tableHoldingEntry(machine, ctx.space, va, parentEntryDepth);
  if (!parent) {
    const level = machine.profile.levels[parentEntry]?.name.toUpperCase();
    return errno('EINVAL', `no ${level} table covers ${hex16(va)} in ${ctx.space.name}; populate the levels above first`);
  }
  const index = indexAt(machine.profile, parent.depth, va);
  if (!parent.isNone(index)) return errno('EINVAL', `the ${machine.profile.levels[parentEntryDepth]?.name.toUpperCase()} entry covering ${hex16(va)} is not none`);
  machine.linkTable(parent, index, child, false);
  if (!ctx.space.kernel && machine.countsInPgtablesBytes(child.depth)) ctx.space.unaccountedLinks.push(stmt.span);
  return ok(`${machine.profile.levels[parentEntryDepth]?.name}_populate: ${stmt.name.text} linked into ${tableLabel(machine, parent)}, entry ${index}`);
}

export function execClear(ctx: ExecContext, stmt: ClearStmt): Outcome {
  const machine = ctx.machine;
  const depth = realDepth(ctx, stmt.level);
  const va = ctx.num(stmt.addr);
  const entryDepth = machine.profile.entryDepth[depth] ?? depth;
  const table = tableHoldingEntry(machine, ctx.space, va, entryDepth);
  if (!table) return errno('EINVAL', `no table holds the ${stmt.level.text.toUpperCase()} entry of ${hex16(va)}`);
  const index = indexAt(machine.profile, table.depth, va);
  if (table.isNone(index)) return ok(`${stmt.level.text}_clear: the entry was already none`);
  const child = machine.unlinkTable(table, index, false);
  if (child && !ctx.space.kernel && machine.countsInPgtablesBytes(child.depth)) ctx.space.unaccountedLinks.push(stmt.span);
  return ok(`${stmt.level.text}_clear at ${hex16(va)}${child ? `: ${tableLabel(machine, child)} unlinked` : ''}`);
}
