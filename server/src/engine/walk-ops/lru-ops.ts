// MADV_COLD, MADV_PAGEOUT and MADV_FREE as walks (mm/madvise.c
// madvise_cold_or_pageout_pte_range, madvise_free_pte_range): pmd_entry callbacks that handle a
// huge PMD covered whole, split one covered in part, and loop over the PTEs themselves.
//
// Only pages this mm maps alone are touched (folio_maybe_mapped_shared), never the zero page,
// and never a non-present entry, so guard markers stay. COLD clears the young bit; PAGEOUT
// reclaims what reclaim can without swap: page-cache pages of regular files are unmapped (the
// page cache keeps them; the model has no eviction), anonymous and shmem pages stay; FREE
// makes exclusive anonymous pages old and clean (lazyfree: nothing is discarded without memory
// pressure, so their values survive).

import { ACTION_CONTINUE, type WalkOps } from '../walk';
import type { Task } from '../process/fault';
import { isHugePmd, leafBits, PTE, splitHugePmd, wholePmd } from '../process/pgtable';
import { PG_ANON } from '../process/memory';
import type { TablePage } from '../model/table';
import { VM_EXEC, VM_READ, VM_WRITE, type Vma } from '../process/vma';

export interface LruState {
  task: Task;
  vma: Vma;
  advice: 'cold' | 'pageout' | 'free';
  touched: number;
}

const out = new Uint32Array(2);

/** The mappings of a page: its references minus the page cache's own. */
function mapcount(task: Task, pa: number): number {
  const { memory } = task;
  return memory.refs(pa) - ((memory.flags(pa) & PG_ANON) !== 0 ? 0 : 1);
}

function protBits(task: Task, lo: number, hi: number): number {
  const p = task.machine.profile.codec.leafProt(lo, hi);
  return (p.read ? VM_READ : 0) | (p.logicalWrite ? VM_WRITE : 0) | (p.uexec ? VM_EXEC : 0);
}

function lruPteRange(state: LruState, table: TablePage, first: number, last: number): void {
  const { task } = state;
  const { machine, memory } = task;
  const codec = machine.profile.codec;
  const bits = leafBits(machine);
  let written = 0;
  machine.touch(table);
  for (let i = first; i <= last; i++) {
    const lo = table.lo(i);
    const hi = table.hi(i);
    if (lo === 0 && hi === 0) continue;
    if (codec.classify(PTE, lo, hi, true) !== 'leaf') continue;
    const pa = codec.address(lo, hi);
    if (memory.isZeroPage(pa) || mapcount(task, pa) !== 1) continue;
    const anon = (memory.flags(pa) & PG_ANON) !== 0;
    if (state.advice === 'pageout') {
      if (anon || state.vma.file?.shmem) continue;
      // shrink_folio_list → try_to_unmap: the PTE goes, the page cache keeps the page.
      memory.put(pa);
      table.set(i, 0, 0);
    } else if (state.advice === 'cold') {
      if (!bits.isYoung(lo, hi)) continue;
      bits.modify(lo, hi, protBits(task, lo, hi), false, out, undefined, true);
      table.set(i, out[0] ?? 0, out[1] ?? 0);
    } else {
      if (!anon) continue;
      bits.modify(lo, hi, protBits(task, lo, hi), false, out, false, true);
      if (out[0] === lo && out[1] === hi) continue;
      table.set(i, out[0] ?? 0, out[1] ?? 0);
    }
    written++;
    state.touched++;
  }
  machine.countWrites(table, written, false);
}

export const lruOps: WalkOps<LruState> = {
  pmd_entry(walk, table, index) {
    walk.action = ACTION_CONTINUE;
    const state = walk.state;
    const machine = walk.machine;
    const slot = { table, index };
    if (isHugePmd(machine, slot)) {
      const lo = table.lo(index);
      const hi = table.hi(index);
      const pa = machine.profile.codec.address(lo, hi);
      const { memory } = state.task;
      if (memory.isHugeZero(pa) || mapcount(state.task, pa) !== 1) return 0;
      if (wholePmd(walk)) {
        // A whole huge PMD: COLD and FREE age (and clean) it; PAGEOUT of an anonymous THP
        // needs swap.
        if (state.advice === 'pageout') return 0;
        leafBits(machine).modify(lo, hi, protBits(state.task, lo, hi), true, out, state.advice === 'free' ? false : undefined, true);
        if (out[0] !== lo || out[1] !== hi) machine.writeEntry(table, index, out[0] ?? 0, out[1] ?? 0);
        return 0;
      }
      splitHugePmd(machine, state.task.mm, slot);
    }
    const pte = table.children?.[index];
    if (pte) lruPteRange(state, pte, walk.firstPte, walk.lastPte);
    return 0;
  },
};
