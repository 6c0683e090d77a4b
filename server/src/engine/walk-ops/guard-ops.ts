// MADV_GUARD_INSTALL and MADV_GUARD_REMOVE as walks (mm/madvise.c guard_install_walk_ops,
// guard_remove_walk_ops; seed 002).
//
// Install runs with install_pte, so the walker allocates missing tables on the way and calls
// install_pte for every empty PTE. Any populated entry (a huge PUD or PMD, or a present PTE)
// returns 1, which stops the walk; the caller zaps the range and walks again. Existing guard
// markers are counted and left as they are, so a second install changes nothing.
//
// Remove clears guard markers only: huge leaves are skipped with ACTION_CONTINUE (they cannot
// hold markers, and are left unsplit), and every other entry is left alone.

import { ACTION_CONTINUE, type WalkOps } from '../walk';
import type { LeafBits } from '../process/pgtable';

export interface GuardState {
  /** PTEs that hold a guard marker after the walk (nr_pages). */
  pages: number;
  /**
   * The machine's leaf bits, whose guardLo/guardHi are make_pte_marker(PTE_MARKER_GUARD). Read
   * from there, not copied into the state: a marker half past 2^31 copied into a fresh object is
   * a HeapNumber allocated per walk.
   */
  bits: LeafBits;
}

export const guardInstallOps: WalkOps<GuardState> = {
  // pud_trans_huge / pmd_trans_huge: abort the walk so the caller zaps.
  pud_entry: (walk, table, index) => (walk.isLeaf(table, index, 2) ? 1 : 0),
  pmd_entry: (walk, table, index) => (walk.isLeaf(table, index, 3) ? 1 : 0),
  pte_entry(walk, table, index) {
    const bits = walk.state.bits;
    if (table.lo(index) === bits.guardLo && table.hi(index) === bits.guardHi) {
      walk.state.pages++;
      return 0;
    }
    return 1;
  },
  install_pte(walk, table, index) {
    // make_pte_marker(PTE_MARKER_GUARD), then set_pte_at.
    walk.machine.writeEntry(table, index, walk.state.bits.guardLo, walk.state.bits.guardHi);
    walk.state.pages++;
    return 0;
  },
};

export const guardRemoveOps: WalkOps<GuardState> = {
  pud_entry(walk, table, index) {
    if (walk.isLeaf(table, index, 2)) walk.action = ACTION_CONTINUE;
    return 0;
  },
  pmd_entry(walk, table, index) {
    if (walk.isLeaf(table, index, 3)) walk.action = ACTION_CONTINUE;
    return 0;
  },
  pte_entry(walk, table, index) {
    const bits = walk.state.bits;
    if (table.lo(index) === bits.guardLo && table.hi(index) === bits.guardHi) {
      // pte_clear.
      walk.machine.writeEntry(table, index, 0, 0);
      walk.state.pages++;
    }
    return 0;
  },
};
