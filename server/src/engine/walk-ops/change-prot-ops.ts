// change_protection (mm/mprotect.c change_pmd_range → change_pte_range) as a walk: every
// present PTE (PROT_NONE ones included) gets the VMA's new vm_page_prot through pte_modify,
// keeping its address, dirty and young state; non-present entries, guard markers among them,
// are left alone. With MM_CP_TRY_CHANGE_WRITABLE a PTE is made writable at once where the
// write fault would only do that anyway (can_change_pte_writable).

import { ACTION_CONTINUE, type WalkOps } from '../walk';
import type { Task } from '../process/fault';
import { isHugePmd, leafBits, PTE, splitHugePmd, wholePmd } from '../process/pgtable';
import { PG_ANON, PG_EXCLUSIVE } from '../process/memory';
import type { TablePage } from '../model/table';
import { VM_SHARED, VM_WRITE, type Vma } from '../process/vma';

export interface ChangeProtState {
  task: Task;
  vma: Vma;
  /** vm_page_prot of the VMA after the change, as protection bits. */
  prot: number;
  /** MM_CP_TRY_CHANGE_WRITABLE (vma_wants_manual_pte_write_upgrade). */
  tryWritable: boolean;
  changed: number;
}

const out = new Uint32Array(2);

/** can_change_pte_writable(): exclusive anonymous pages (private) or dirty ones (shared). */
function canChangeWritable(state: ChangeProtState, lo: number, hi: number, pa: number): boolean {
  if (!(state.vma.flags & VM_WRITE)) return false;
  const bits = leafBits(state.task.machine);
  if ((state.vma.flags & VM_SHARED) !== 0) return bits.isDirty(lo, hi);
  const memory = state.task.memory;
  return (memory.flags(pa) & (PG_ANON | PG_EXCLUSIVE)) === (PG_ANON | PG_EXCLUSIVE);
}

function changePteRange(state: ChangeProtState, table: TablePage, first: number, last: number): void {
  const machine = state.task.machine;
  const codec = machine.profile.codec;
  const bits = leafBits(machine);
  const prot = state.prot;
  const upgrade = state.tryWritable && (prot & VM_WRITE) === 0;
  // The four templates a PTE can get: clean or dirty, with or without the write upgrade.
  const clean = bits.template(prot, false, false);
  const dirty = bits.template(prot, true, false);
  const cleanW = bits.template(prot | VM_WRITE, false, false);
  const dirtyW = bits.template(prot | VM_WRITE, true, false);
  const addrLo = bits.addrLo;
  const addrHi = bits.addrHi;
  let written = 0;
  machine.touch(table);
  for (let i = first; i <= last; i++) {
    const lo = table.lo(i);
    const hi = table.hi(i);
    if (lo === 0 && hi === 0) continue;
    if (codec.classify(PTE, lo, hi, true) !== 'leaf') continue;
    // pte_modify: the new protection, the old address, dirty and young state.
    const isDirty = bits.isDirty(lo, hi);
    const writable = upgrade && canChangeWritable(state, lo, hi, bits.pa(lo, hi));
    const key = writable ? (isDirty ? dirtyW : cleanW) : isDirty ? dirty : clean;
    let nlo = (lo & addrLo) | bits.lo(key);
    let nhi = (hi & addrHi) | bits.hi(key);
    if (isDirty) {
      nlo |= bits.dirtyLo;
      nhi |= bits.dirtyHi;
    }
    if (!bits.isYoung(lo, hi)) {
      nlo &= ~bits.youngLo;
      nhi &= ~bits.youngHi;
    }
    nlo >>>= 0;
    nhi >>>= 0;
    if (nlo === lo && nhi === hi) continue;
    table.set(i, nlo, nhi);
    written++;
  }
  machine.countWrites(table, written, false);
  state.changed += written;
}

export const changeProtOps: WalkOps<ChangeProtState> = {
  pmd_entry(walk, table, index) {
    walk.action = ACTION_CONTINUE;
    const state = walk.state;
    const machine = walk.machine;
    const slot = { table, index };
    if (isHugePmd(machine, slot)) {
      if (wholePmd(walk)) {
        // change_huge_pmd on the whole huge PMD.
        const lo = table.lo(index);
        const hi = table.hi(index);
        let p = state.prot;
        if (state.tryWritable && (p & VM_WRITE) === 0 && canChangeWritable(state, lo, hi, leafBits(machine).pa(lo, hi))) p |= VM_WRITE;
        leafBits(machine).modify(lo, hi, p, true, out);
        if (out[0] !== lo || out[1] !== hi) {
          machine.writeEntry(table, index, out[0] ?? 0, out[1] ?? 0);
          state.changed++;
        }
        return 0;
      }
      splitHugePmd(machine, state.task.mm, slot);
    }
    const pte = table.children?.[index];
    if (pte) changePteRange(state, pte, walk.firstPte, walk.lastPte);
    return 0;
  },
};
