// Zapping user mappings (mm/memory.c unmap_page_range → zap_pmd_range → zap_pte_range) as a
// walk: one pmd_entry per PMD, which handles a huge PMD (zap_huge_pmd, or a split when the
// range covers only part of it) or loops over the PTE table itself, as zap_pte_range does.
//
// Guard markers are dropped only when the caller asks (ZAP_FLAG_DROP_MARKER: munmap, exit,
// MAP_FIXED); MADV_DONTNEED and the zap of MADV_GUARD_INSTALL keep them. MADV_DONTNEED also
// frees a PTE table it emptied completely (PT_RECLAIM: reclaim_pt with a range covering the
// whole table and nothing skipped).

import { ACTION_CONTINUE, type WalkOps } from '../walk';
import type { Task } from '../process/fault';
import { isHugePmdEntry, leafBits, PTE, splitHugePmd, wholePmd, zapDeposited } from '../process/pgtable';
import type { TablePage } from '../model/table';

export interface ZapState {
  task: Task;
  /** ZAP_FLAG_DROP_MARKER. */
  dropMarkers: boolean;
  /** zap_details.reclaim_pt (MADV_DONTNEED). */
  reclaimPt: boolean;
  /** Pages whose mapping was removed. */
  zapped: number;
}

function zapPteRange(state: ZapState, pmdTable: TablePage, pmdIndex: number, table: TablePage, first: number, last: number, wholeTable: boolean): void {
  const { machine, memory } = state.task;
  const codec = machine.profile.codec;
  const bits = leafBits(machine);
  const pageSize = memory.pageSize;
  const zeroPfn = memory.zeroPfn;
  let written = 0;
  let skipped = false;
  // The pages zapped, put in runs of consecutive addresses (UserMemory.put): `runPages` pages
  // from frame `runPfn`. Frame numbers, not addresses: user pages lie below 2^43, so their frame
  // numbers are small integers V8 keeps unboxed, where an address past 2^31 carried from one
  // iteration to the next is a HeapNumber each time (larger frames would only be slower).
  let runPfn = 0;
  let runPages = 0;
  machine.touch(table);
  table.prepareWrites(Math.min(last - first + 1, table.used));
  for (let i = first; i <= last; i++) {
    const lo = table.lo(i);
    const hi = table.hi(i);
    if (lo === 0 && hi === 0) continue;
    if (codec.classify(PTE, lo, hi, true) === 'leaf') {
      const pfn = bits.pfn(lo, hi, pageSize);
      if (pfn !== zeroPfn) {
        if (runPages > 0 && pfn === runPfn + runPages) runPages++;
        else {
          if (runPages > 0) memory.put(runPfn * pageSize, runPages);
          runPfn = pfn;
          runPages = 1;
        }
      }
      table.set(i, 0, 0);
      written++;
      state.zapped++;
      continue;
    }
    // zap_nonpresent_ptes: a guard marker stays unless markers are dropped.
    if (state.dropMarkers) {
      table.set(i, 0, 0);
      written++;
    } else {
      skipped = true;
    }
  }
  if (runPages > 0) memory.put(runPfn * pageSize, runPages);
  machine.countWrites(table, written, false);
  if (state.reclaimPt && wholeTable && !skipped && table.used === 0) {
    // try_get_and_clear_pmd + free_pte: pmd_clear, pte_free_tlb, mm_dec_nr_ptes.
    machine.unlinkTable(pmdTable, pmdIndex, true);
    machine.freeTable(table);
  }
}

/** zap_huge_pmd: the whole huge PMD goes, with its deposited table. */
function zapHugePmd(state: ZapState, table: TablePage, index: number): void {
  const { machine, mm, memory } = state.task;
  const codec = machine.profile.codec;
  const pa = codec.address(table.lo(index), table.hi(index));
  machine.writeEntry(table, index, 0, 0);
  zapDeposited(machine, mm, table);
  if (!memory.isHugeZero(pa)) memory.putFolio(pa);
  state.zapped += memory.hugePages;
}

export const zapOps: WalkOps<ZapState> = {
  pmd_entry(walk, table, index) {
    walk.action = ACTION_CONTINUE;
    const state = walk.state;
    const machine = walk.machine;
    const whole = wholePmd(walk);
    if (isHugePmdEntry(machine, table, index)) {
      if (whole) {
        zapHugePmd(state, table, index);
        return 0;
      }
      splitHugePmd(machine, state.task.mm, { table, index });
    }
    const pte = table.children?.[index];
    if (pte) zapPteRange(state, table, index, pte, walk.firstPte, walk.lastPte, whole);
    return 0;
  },
};
