// copy_page_range (mm/memory.c copy_pmd_range → copy_pte_range, mm/huge_memory.c
// copy_huge_pmd) as a walk over the parent's tables: for every PMD the parent has, the child
// gets the tables it needs (pmd_alloc, pte_alloc: ctor and pgtables_bytes in the child) and a
// copy of each entry.
//
// Private pages become copy-on-write: a writable PTE is write-protected in the parent and the
// child (copy_present_ptes), and the page loses PageAnonExclusive. The child's entries are
// old, and clean in shared mappings. Guard markers are copied (copy_pte_marker).

import { ACTION_CONTINUE, type WalkOps } from '../walk';
import type { Task } from '../process/fault';
import { deposit, isHugePmd, leafBits, pmdSlot, PTE, pteAlloc } from '../process/pgtable';
import { PG_ANON } from '../process/memory';
import type { Mm } from '../process/mm';
import type { TablePage } from '../model/table';
import { VM_EXEC, VM_READ, VM_SHARED, VM_WRITE, type Vma } from '../process/vma';

export interface CopyRangeState {
  /** The parent. */
  task: Task;
  child: Mm;
  vma: Vma;
  copied: number;
}

const out = new Uint32Array(2);

function protBitsOf(task: Task, lo: number, hi: number): number {
  const p = task.machine.profile.codec.leafProt(lo, hi);
  return (p.read ? VM_READ : 0) | (p.logicalWrite ? VM_WRITE : 0) | (p.uexec ? VM_EXEC : 0);
}

function copyPteRange(state: CopyRangeState, src: TablePage, dst: TablePage, first: number, last: number): void {
  const { machine, memory } = state.task;
  const codec = machine.profile.codec;
  const bits = leafBits(machine);
  const shared = (state.vma.flags & VM_SHARED) !== 0;
  let srcWritten = 0;
  let dstWritten = 0;
  machine.touch(dst);
  for (let i = first; i <= last; i++) {
    const lo = src.lo(i);
    const hi = src.hi(i);
    if (lo === 0 && hi === 0) continue;
    if (codec.classify(PTE, lo, hi, true) !== 'leaf') {
      // copy_nonpresent_pte: PTE markers (guard) are copied as they are.
      if (codec.isMarker(lo, hi, 'guard')) {
        dst.set(i, lo, hi);
        dstWritten++;
      }
      continue;
    }
    const pa = codec.address(lo, hi);
    let prot = protBitsOf(state.task, lo, hi);
    if (!memory.isZeroPage(pa)) {
      memory.get(pa);
      if ((memory.flags(pa) & PG_ANON) !== 0) memory.setFlags(pa, PG_ANON);
    }
    if (!shared && (prot & VM_WRITE) !== 0) {
      // is_cow_mapping && pte_write: wrprotect_ptes in the parent, pte_wrprotect for the child.
      prot &= ~VM_WRITE;
      if (srcWritten === 0) machine.touch(src);
      bits.modify(lo, hi, prot, false, out);
      src.set(i, out[0] ?? 0, out[1] ?? 0);
      srcWritten++;
    }
    bits.modify(lo, hi, prot, false, out, shared ? false : undefined, true);
    dst.set(i, out[0] ?? 0, out[1] ?? 0);
    dstWritten++;
    state.copied++;
  }
  if (srcWritten > 0) machine.countWrites(src, srcWritten, false);
  machine.countWrites(dst, dstWritten, false);
}

/** copy_huge_pmd: the child shares the huge page (write-protected) and gets its own deposit. */
function copyHugePmd(state: CopyRangeState, src: TablePage, index: number, va: bigint): void {
  const { machine, memory } = state.task;
  const codec = machine.profile.codec;
  const lo = src.lo(index);
  const hi = src.hi(index);
  const pa = codec.address(lo, hi);
  const dstSlot = pmdSlot(machine, state.child, va, true);
  if (!dstSlot) return;
  let prot = protBitsOf(state.task, lo, hi);
  if (!memory.isHugeZero(pa)) {
    memory.get(pa, memory.hugePages);
    memory.setFlags(pa, PG_ANON, memory.hugePages);
    if ((prot & VM_WRITE) !== 0) {
      prot &= ~VM_WRITE;
      leafBits(machine).modify(lo, hi, prot, true, out);
      machine.writeEntry(src, index, out[0] ?? 0, out[1] ?? 0);
    }
  }
  deposit(machine, state.child, dstSlot.table);
  leafBits(machine).modify(lo, hi, prot, true, out, undefined, true);
  machine.writeEntry(dstSlot.table, dstSlot.index, out[0] ?? 0, out[1] ?? 0);
  state.copied += memory.hugePages;
}

export const copyRangeOps: WalkOps<CopyRangeState> = {
  pmd_entry(walk, table, index, start) {
    walk.action = ACTION_CONTINUE;
    const state = walk.state;
    const machine = walk.machine;
    if (isHugePmd(machine, { table, index })) {
      copyHugePmd(state, table, index, start);
      return 0;
    }
    const src = table.children?.[index];
    if (!src) return 0;
    const dstSlot = pmdSlot(machine, state.child, start, true);
    if (!dstSlot) return 0;
    const dst = pteAlloc(machine, state.child, dstSlot);
    copyPteRange(state, src, dst, walk.firstPte, walk.lastPte);
    return 0;
  },
};

