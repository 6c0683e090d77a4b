// Unmapping: zaps (unmap_vmas, zap_page_range_single), free_pgtables with the kernel's
// floor/ceiling rules (mm/memory.c free_pgd_range … free_pte_range), and munmap itself
// (do_vmi_align_munmap: split at both ends, zap with ZAP_FLAG_DROP_MARKER, free the tables no
// remaining VMA needs, remove the VMAs).

import type { LevelGeometry } from '../arch/profile';
import type { TablePage } from '../model/table';
import { walkRange } from '../walk';
import { zapOps, type ZapState } from '../walk-ops/zap-ops';
import { pmdSize, type Task } from './fault';
import { PTE, splitHugePmdAt, userWalk } from './pgtable';
import { userPolicy } from './policy';
import type { Vma } from './vma';

const U64 = 1n << 64n;

/** zap_page_range_single / unmap_single_vma over [start, end) of one VMA. */
export function zapRange(task: Task, start: bigint, end: bigint, options: { dropMarkers: boolean; reclaimPt: boolean }): number {
  if (start >= end) return 0;
  const state: ZapState = { task, dropMarkers: options.dropMarkers, reclaimPt: options.reclaimPt, zapped: 0 };
  walkRange(task.machine, task.mm, start, end, zapOps, state, userWalk(task.machine, task.mm));
  return state.zapped;
}

/**
 * USER_PGTABLES_CEILING: 0 (no ceiling) except on ARM, where TASK_SIZE keeps free_pgtables
 * away from the modules PMD that every LPAE PGD holds.
 */
export function pgtablesCeiling(task: Task): bigint {
  return userPolicy(task.machine).pgtablesCeiling;
}

/**
 * free_pgd_range(addr, end, floor, ceiling): frees the page tables that map only addresses in
 * [floor, ceiling) around [addr, end), bottom-up, each with its pXd_clear and mm_dec_nr_*.
 * A ceiling of 0 means the top of the address space.
 */
export function freePgdRange(task: Task, addr: bigint, end: bigint, floor: bigint, ceiling: bigint): void {
  const size = pmdSize(task.machine);
  addr -= addr % size;
  if (addr < floor) {
    addr += size;
    if (addr >= U64) return;
  }
  if (ceiling !== 0n) {
    ceiling -= ceiling % size;
    if (ceiling === 0n) return;
    if (end - 1n > ceiling - 1n) end -= size;
  }
  if (end === 0n || addr > end - 1n) return;
  freeLevel(task, task.mm.root, addr, end, floor, ceiling);
}

function freeLevel(task: Task, table: TablePage, addr: bigint, end: bigint, floor: bigint, ceiling: bigint): void {
  const { machine } = task;
  const profile = machine.profile;
  const level = profile.entryDepth[table.depth] ?? table.depth;
  const { shiftBig: shift, sizeBig: size } = profile.levels[level] as LevelGeometry;
  const mask = BigInt(table.ptrs - 1);
  for (let a = addr; a < end; ) {
    const base = a - (a % size);
    const next = base + size < end ? base + size : end;
    const i = Number((a >> shift) & mask);
    const child = table.children?.[i];
    if (child) {
      if (child.depth === PTE) {
        // free_pte_range: pmd_clear, pte_free_tlb, mm_dec_nr_ptes.
        machine.unlinkTable(table, i, true);
        machine.freeTable(child);
      } else {
        freeLevel(task, child, a, next, floor, ceiling);
        // The tail of free_pXd_range: the child table goes only if every address its parent
        // entry maps lies in [floor, ceiling).
        const keep = base < floor || (ceiling !== 0n && (ceiling - (ceiling % size) === 0n || next - 1n > ceiling - (ceiling % size) - 1n));
        if (!keep) {
          machine.unlinkTable(table, i, true);
          machine.freeTable(child);
        }
      }
    }
    a = next;
  }
}

/**
 * free_pgtables over VMAs being removed (in address order): nearby ones are gathered into one
 * free_pgd_range as the kernel does, each group bounded by `floor` and the start of the next
 * VMA of the group or `ceiling`.
 */
export function freePgtables(task: Task, removed: readonly { start: bigint; end: bigint }[], floor: bigint, ceiling: bigint): void {
  const size = pmdSize(task.machine);
  for (let i = 0; i < removed.length; ) {
    const first = removed[i] as { start: bigint; end: bigint };
    let last = first;
    i++;
    while (i < removed.length && (removed[i] as { start: bigint }).start <= last.end + size) last = removed[i++] as { start: bigint; end: bigint };
    const next = removed[i];
    freePgdRange(task, first.start, last.end, floor, next ? next.start : ceiling);
  }
}

/**
 * vma_adjust_trans_huge: a VMA boundary that falls inside a huge PMD splits it, so no huge
 * leaf spans two VMAs.
 */
export function splitHugeAtBoundaries(task: Task, cuts: readonly bigint[]): void {
  const size = pmdSize(task.machine);
  for (const cut of cuts) if (cut % size !== 0n) splitHugePmdAt(task.machine, task.mm, cut);
}

/**
 * do_vmi_munmap over [start, end): VMAs are split at the ends, zapped with
 * ZAP_FLAG_DROP_MARKER (guard markers go with the mapping), their tables freed between the
 * neighbours that remain, and removed. Returns the VMAs removed.
 */
export function munmapRange(task: Task, start: bigint, end: bigint): Vma[] {
  const vmas = task.mm.vmas;
  const cuts: bigint[] = [];
  const first = vmas.lookup(start);
  if (first && first.start < start) {
    vmas.split(first, start, true);
    cuts.push(start);
  }
  const last = vmas.lookup(end - 1n);
  if (last && last.end > end) {
    vmas.split(last, end, false);
    cuts.push(end);
  }
  splitHugeAtBoundaries(task, cuts);
  const removed = vmas.overlapping(start, end);
  if (removed.length === 0) return removed;
  const firstIndex = vmas.indexOf(removed[0] as Vma);
  const prev = firstIndex > 0 ? vmas.list[firstIndex - 1] : undefined;
  const next = vmas.list[firstIndex + removed.length];
  for (const vma of removed) zapRange(task, vma.start, vma.end, { dropMarkers: true, reclaimPt: false });
  freePgtables(task, removed, prev ? prev.end : 0n, next ? next.start : pgtablesCeiling(task));
  vmas.list.splice(firstIndex, removed.length);
  return removed;
}

