// The pageattr walks: changing the attribute bits of every leaf in a kernel range with set and
// clear masks, as arch/arm64/mm/pageattr.c (seed 003) and arch/riscv/mm/pageattr.c do it.
//
// arm64's pageattr_ops (7.x: pud, pmd and pte callbacks) change a block in place only when the
// walked range covers it whole; a block the range enters part-way stops the walk with -EINVAL
// (WARN_ON_ONCE in the kernel), leaving the entries already changed as they are. riscv's ops have
// no such check: a block is changed whole whatever part of it the range covers. Both rewrite
// every PTE in the range, empty ones included (walk_pte_range calls pte_entry for each).

import { entrySize, type Depth } from '../arch/profile';
import type { Machine } from '../model/machine';
import type { TablePage } from '../model/table';
import { ACTION_CONTINUE, EINVAL, walkRange, type Walk, type WalkOps } from '../walk';

/** Set and clear masks as 32-bit halves; the clear mask is applied first (set_pageattr_masks). */
export interface Masks {
  setLo: number;
  setHi: number;
  clrLo: number;
  clrHi: number;
}

/** A leaf the walk met, with the part of it the walked range covered. */
export interface LeafHit {
  table: TablePage;
  index: number;
  /** The level of the leaf (the deepest level its slot aliases). */
  depth: Depth;
  /** First address and end of the whole leaf. */
  blockStart: bigint;
  blockEnd: bigint;
}

export interface PageattrState {
  masks: Masks;
  /** arm64: the block that stopped the walk with -EINVAL. */
  partial: LeafHit | undefined;
  /** riscv: blocks the range covered only in part and that were changed whole. */
  overchanged: LeafHit[];
  /** PTEs written (unchanged values included: __set_pte writes them anyway). */
  ptes: number;
  /** PTEs that were none before and are not any more. */
  emptyRewritten: number;
  /** Leaves above the PTE level written. */
  blocks: number;
  /** The PTE table whose writes are not yet accounted, and its counts (bulk accounting). */
  table: TablePage | undefined;
  validWrites: number;
  invalidWrites: number;
}

export function newPageattrState(masks: Masks): PageattrState {
  return { masks, partial: undefined, overchanged: [], ptes: 0, emptyRewritten: 0, blocks: 0, table: undefined, validWrites: 0, invalidWrites: 0 };
}

/** Accounts the pending PTE writes of the current table with `Machine.countWrites`. */
function settle(machine: Machine, st: PageattrState): void {
  const table = st.table;
  if (!table) return;
  if (st.validWrites > 0) machine.countWrites(table, st.validWrites, true);
  if (st.invalidWrites > 0) machine.countWrites(table, st.invalidWrites, false);
  st.table = undefined;
  st.validWrites = 0;
  st.invalidWrites = 0;
}

/** pageattr_pte_entry (both architectures): clear, then set, then __set_pte/set_pte. */
function pteEntry(walk: Walk<PageattrState>, table: TablePage, index: number): number {
  const st = walk.state;
  if (st.table !== table) {
    settle(walk.machine, st);
    walk.machine.touch(table);
    st.table = table;
  }
  const e = table.e;
  // int32 arithmetic: values with bit 31 set stay small integers in the hot loop.
  const lo = (e[2 * index] ?? 0) | 0;
  const hi = (e[2 * index + 1] ?? 0) | 0;
  const m = st.masks;
  const nlo = (lo & ~m.clrLo) | m.setLo;
  const nhi = (hi & ~m.clrHi) | m.setHi;
  table.set(index, nlo, nhi);
  if ((nlo & 1) !== 0) st.validWrites++;
  else st.invalidWrites++;
  if (lo === 0 && hi === 0 && (nlo !== 0 || nhi !== 0)) st.emptyRewritten++;
  st.ptes++;
  return 0;
}

function applyToLeaf(walk: Walk<PageattrState>, table: TablePage, index: number): void {
  const m = walk.state.masks;
  const nlo = ((table.lo(index) & ~m.clrLo) | m.setLo) >>> 0;
  const nhi = ((table.hi(index) & ~m.clrHi) | m.setHi) >>> 0;
  walk.machine.writeEntry(table, index, nlo, nhi);
  walk.state.blocks++;
}

function hit(walk: Walk<PageattrState>, table: TablePage, index: number, depth: Depth, start: bigint): LeafHit {
  const size = entrySize(walk.machine.profile, depth);
  const blockStart = start - (start & (size - 1n));
  return { table, index, depth, blockStart, blockEnd: blockStart + size };
}

/**
 * arm64 pageattr_pud_entry / pageattr_pmd_entry: a leaf covered whole is changed in place and
 * its (absent) subtree skipped; a leaf covered in part is -EINVAL.
 */
function arm64Leaf(depth: Depth) {
  return (walk: Walk<PageattrState>, table: TablePage, index: number, start: bigint, end: bigint): number => {
    if (!walk.isLeaf(table, index, depth)) return 0;
    const size = entrySize(walk.machine.profile, depth);
    if (end - start !== size) {
      walk.state.partial = hit(walk, table, index, depth, start);
      return -EINVAL;
    }
    applyToLeaf(walk, table, index);
    walk.action = ACTION_CONTINUE;
    return 0;
  };
}

/** riscv pageattr_{p4d,pud,pmd}_entry: a leaf is changed whole, whatever part the range covers. */
function riscvLeaf(depth: Depth) {
  return (walk: Walk<PageattrState>, table: TablePage, index: number, start: bigint, end: bigint): number => {
    if (!walk.isLeaf(table, index, depth)) return 0;
    const size = entrySize(walk.machine.profile, depth);
    if (end - start !== size) walk.state.overchanged.push(hit(walk, table, index, depth, start));
    applyToLeaf(walk, table, index);
    return 0;
  };
}

/** arm64 pageattr_ops as of 7.x (pud, pmd, pte; no pgd/p4d leaves on arm64). */
export const arm64PageattrOps: WalkOps<PageattrState> = {
  pud_entry: arm64Leaf(2),
  pmd_entry: arm64Leaf(3),
  pte_entry: pteEntry,
};

/** riscv pageattr_ops (p4d, pud, pmd, pte, and a pte_hole that does nothing). */
export const riscvPageattrOps: WalkOps<PageattrState> = {
  p4d_entry: riscvLeaf(1),
  pud_entry: riscvLeaf(2),
  pmd_entry: riscvLeaf(3),
  pte_entry: pteEntry,
  pte_hole: () => 0,
};

/**
 * Runs one pageattr walk of [start, end) of init_mm and accounts its writes. Returns the walk's
 * result (0 or a negative errno) and what it did. The caller brackets it with lazy MMU mode
 * where the architecture does.
 */
export function pageattrWalk(machine: Machine, start: bigint, end: bigint, ops: WalkOps<PageattrState>, masks: Masks): { ret: number; state: PageattrState } {
  const state = newPageattrState(masks);
  let ret: number;
  try {
    ret = walkRange(machine, machine.kernel, start, end, ops, state, { mode: 'kernel' });
  } finally {
    settle(machine, state);
  }
  return { ret, state };
}
