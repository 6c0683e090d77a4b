// mremap (mm/mremap.c): `mremap A size S to B [size S2] [dontunmap]` is
// MREMAP_MAYMOVE|MREMAP_FIXED to B (plus MREMAP_DONTUNMAP), and B equal to A resizes in place
// (flags 0: shrink by unmapping the tail, grow only where the VMA can be expanded).
//
// A move copies the VMA (copy_vma, which may merge at the new place) and moves the page-table
// entries (move_page_tables): whole PTE tables or PMD tables are relinked when both addresses
// are aligned to the level and the destination entry is empty (move_normal_pmd/pud), huge PMDs
// move as a whole, and everything else moves entry by entry (move_ptes), guard markers
// included. Then the old range is unmapped, unless MREMAP_DONTUNMAP keeps its (now empty) VMA.
// A pure move of several VMAs (same length, MREMAP_FIXED) moves each one (remap_move, 6.17+).

import { entrySize, indexAt, pageShiftOf, type Depth } from '../arch/profile';
import type { ExecContext } from '../exec/context';
import { errno, ok, type Outcome } from '../exec/outcome';
import type { TablePage } from '../model/table';
import type { MremapStmt } from '../program';
import { hex16 } from '../u64';
import { pmdSize, type Task } from './fault';
import { mmPopulate, reportMapped } from './mmap';
import { deposit, isHugePmd, pmdSlot, PTE, pteAlloc, splitHugePmd, withdraw, type Slot } from './pgtable';
import { userPolicy } from './policy';
import { taskOf } from './syscall';
import { munmapRange } from './unmap';
import { VM_LOCKED, VM_LOCKONFAULT, VM_SPECIAL, isAnonymous, type Vma } from './vma';

export function execMremap(ctx: ExecContext, stmt: MremapStmt): Outcome {
  const task = taskOf(ctx);
  const { machine } = task;
  const page = machine.profile.pageSize;
  const addr = ctx.num(stmt.addr);
  const target = ctx.num(stmt.to);
  const align = (n: bigint): bigint => (n + page - 1n) - ((n + page - 1n) % page);
  const oldLenIn = ctx.num(stmt.size);
  const newLenIn = stmt.newSize ? ctx.num(stmt.newSize) : oldLenIn;
  const dontunmap = stmt.dontunmap !== undefined;
  const inPlace = target === addr;
  // MREMAP_DONTUNMAP is always a move, of the same length.
  if (dontunmap && (inPlace || align(oldLenIn) !== align(newLenIn))) {
    return errno('EINVAL', 'mremap: MREMAP_DONTUNMAP needs a move (MREMAP_MAYMOVE) to a new address with the same length');
  }
  if (addr % page !== 0n) return errno('EINVAL', `mremap: ${hex16(addr)} is not page-aligned`);
  const oldLen = align(oldLenIn);
  const newLen = align(newLenIn);
  if (newLen === 0n) return errno('EINVAL', 'mremap: the new length is 0');
  const vma = task.mm.vmas.lookup(addr);
  if (!vma) return errno('EFAULT', `mremap: no VMA covers ${hex16(addr)}`);
  let outcome: Outcome;
  if (!inPlace) outcome = mremapTo(task, vma, addr, oldLen, target, newLen, dontunmap);
  else outcome = resizeInPlace(task, vma, addr, oldLen, newLen);
  reportMapped(ctx, task);
  return outcome;
}

function resizeInPlace(task: Task, vma: Vma, addr: bigint, oldLen: bigint, newLen: bigint): Outcome {
  if (oldLen >= newLen) {
    if (oldLen > newLen) munmapRange(task, addr + newLen, addr + oldLen);
    return ok(`mremap: ${hex16(addr)} is now ${newLen} bytes`);
  }
  if (oldLen === 0n && !vma.file) return errno('EINVAL', 'mremap: a zero old length duplicates only shared mappings');
  if (oldLen > vma.end - addr) return errno('EFAULT', `mremap: ${hex16(addr)} + ${oldLen} crosses the end of its VMA`);
  if ((vma.flags & VM_SPECIAL) !== 0) return errno('EFAULT', 'mremap: the VMA cannot be expanded (VM_DONTEXPAND/VM_PFNMAP)');
  const delta = newLen - oldLen;
  // vma_expandable: the VMA ends where the old range ends and nothing follows within delta.
  if (oldLen === vma.end - addr && vma.end + delta <= task.machine.profile.userEnd && task.mm.vmas.overlapping(vma.end, vma.end + delta).length === 0) {
    const from = vma.end;
    const pages = (vma.end - vma.start) >> pageShiftOf(task.machine.profile);
    task.mm.vmas.addRange({ start: from, end: from + delta, flags: vma.flags, file: vma.file, pgoff: vma.pgoff + pages, anonVma: vma.anonVma });
    if ((vma.flags & VM_LOCKED) !== 0) mmPopulate(task, from, from + delta);
    return ok(`mremap: ${hex16(addr)} grew in place to ${newLen} bytes`);
  }
  return errno('ENOMEM', `mremap: ${hex16(addr)} cannot grow in place and MREMAP_MAYMOVE was not given`);
}

function mremapTo(task: Task, vma: Vma, addr: bigint, oldLen: bigint, newAddr: bigint, newLen: bigint, dontunmap: boolean): Outcome {
  const profile = task.machine.profile;
  if (newAddr % profile.pageSize !== 0n) return errno('EINVAL', `mremap: the new address ${hex16(newAddr)} is not page-aligned`);
  if (newLen > profile.userEnd || newAddr > profile.userEnd - newLen) return errno('EINVAL', 'mremap: the new range ends above TASK_SIZE');
  if (addr + oldLen > newAddr && newAddr + newLen > addr) return errno('EINVAL', 'mremap: the old and new ranges overlap');
  // remap_move: a pure move may span several VMAs, each moved to the same offset.
  if (oldLen === newLen && !dontunmap && addr + oldLen > vma.end) {
    const pieces = task.mm.vmas.overlapping(addr, addr + oldLen);
    for (const piece of pieces) {
      if (piece.file) return errno('EFAULT', `mremap: the file-backed VMA at ${hex16(piece.start)} cannot be moved with others (it has its own get_unmapped_area)`);
    }
    const plan = pieces.map((p) => ({ from: p.start > addr ? p.start : addr, to: p.end < addr + oldLen ? p.end : addr + oldLen }));
    for (const { from, to } of plan) {
      const current = task.mm.vmas.lookup(from);
      if (!current) continue;
      moveVma(task, current, from, to - from, newAddr + (from - addr), to - from, false);
    }
    return ok(`mremap: ${plan.length} VMAs moved to ${hex16(newAddr)}`);
  }
  munmapRange(task, newAddr, newAddr + newLen);
  if (oldLen > newLen) {
    munmapRange(task, addr + newLen, addr + oldLen);
    oldLen = newLen;
  }
  const current = task.mm.vmas.lookup(addr);
  if (!current) return errno('EFAULT', `mremap: no VMA covers ${hex16(addr)}`);
  if (oldLen > current.end - addr) return errno('EFAULT', `mremap: ${hex16(addr)} + ${oldLen} crosses the end of its VMA`);
  if ((current.flags & VM_SPECIAL) !== 0 && (dontunmap || newLen > oldLen)) return errno('EINVAL', 'mremap: the VMA cannot be moved this way');
  moveVma(task, current, addr, oldLen, newAddr, newLen, dontunmap);
  if ((current.flags & VM_LOCKED) !== 0 && newLen > oldLen) mmPopulate(task, newAddr + oldLen, newAddr + newLen);
  return ok(`mremap: moved to ${hex16(newAddr)}${dontunmap ? ' (the old VMA stays, empty)' : ''}`);
}

/** move_vma: copy_vma, move_page_tables, then unmap the old range (or keep it, DONTUNMAP). */
function moveVma(task: Task, vma: Vma, oldAddr: bigint, oldLen: bigint, newAddr: bigint, newLen: bigint, dontunmap: boolean): void {
  const { machine, mm } = task;
  const vmas = mm.vmas;
  const shift = pageShiftOf(machine.profile);
  // DONTUNMAP of an mlocked VMA splits it first so the locked part is accounted exactly.
  if (dontunmap && (vma.flags & VM_LOCKED) !== 0) {
    if (vma.start < oldAddr) vmas.split(vma, oldAddr, true);
    if (vma.end > oldAddr + oldLen) vmas.split(vma, oldAddr + oldLen, false);
  }
  let pgoff = vma.pgoff + ((oldAddr - vma.start) >> shift);
  // copy_vma: an anonymous VMA never faulted takes the offset of its new place, to merge there.
  if (isAnonymous(vma) && vma.anonVma === 0) pgoff = newAddr >> shift;
  const moved = vmas.addRange({ start: newAddr, end: newAddr + newLen, flags: vma.flags, file: vma.file, pgoff, anonVma: vma.anonVma });
  moved.anonChained = vma.anonChained;
  if (vma.protSpan && !moved.protSpan) moved.protSpan = vma.protSpan;
  movePageTables(task, vma, oldAddr, moved, newAddr, oldLen);
  if (dontunmap) {
    vma.flags &= ~(VM_LOCKED | VM_LOCKONFAULT);
    if (vma.start === oldAddr && vma.end === oldAddr + oldLen) {
      // unlink_anon_vmas: the old VMA is unfaulted again.
      vma.anonVma = 0;
      if (isAnonymous(vma)) vma.pgoff = vma.start >> shift;
    }
    return;
  }
  munmapRange(task, oldAddr, oldAddr + oldLen);
}

/** arch_supports_page_table_move: HAVE_MOVE_PMD/PUD (x86, arm64, riscv; not 32-bit ARM). */
function canMoveTables(task: Task): boolean {
  return userPolicy(task.machine).movesTables;
}

/**
 * move_page_tables from [oldAddr, oldAddr + len) of `vma` to `newAddr` of `newVma`, extent by
 * extent (get_extent), with the realignment try_realign_addr does when both VMAs start at
 * mutually PMD-aligned addresses with free space below.
 */
function movePageTables(task: Task, vma: Vma, oldAddr: bigint, newVma: Vma, newAddr: bigint, len: bigint): void {
  const { machine, mm } = task;
  const profile = machine.profile;
  const pmd = pmdSize(machine);
  const oldEnd = oldAddr + len;
  if (len >= pmd - (oldAddr % pmd) && oldAddr % pmd !== 0n && oldAddr % pmd === newAddr % pmd) {
    const alignedOld = oldAddr - (oldAddr % pmd);
    const alignedNew = newAddr - (newAddr % pmd);
    const free = (v: Vma, at: bigint, aligned: bigint): boolean => v.start === at && mm.vmas.overlapping(aligned, at).length === 0;
    if (free(vma, oldAddr, alignedOld) && free(newVma, newAddr, alignedNew)) {
      oldAddr = alignedOld;
      newAddr = alignedNew;
    }
  }
  const pud = entrySize(profile, 2);
  for (let extent: bigint; oldAddr < oldEnd; oldAddr += extent, newAddr += extent) {
    // get_extent(NORMAL_PUD); get_old_pud skips the extent when nothing is there, and
    // alloc_new_pud prepares the destination down to the PUD entry.
    extent = minOf(pud - (oldAddr % pud), pud - (newAddr % pud), oldEnd - oldAddr);
    const oldPud = entryHolder(task, oldAddr, 2, false);
    const pudChild = oldPud?.table.children?.[oldPud.index];
    if (!oldPud || !pudChild) continue;
    const newPud = entryHolder(task, newAddr, 2, true) as Slot;
    if (canMoveTables(task) && extent === pud && newPud.table.isNone(newPud.index)) {
      // move_normal_pud: relink the whole table under the PUD entry.
      machine.unlinkTable(oldPud.table, oldPud.index, false);
      machine.linkTable(newPud.table, newPud.index, pudChild, false);
      continue;
    }
    extent = minOf(pmd - (oldAddr % pmd), pmd - (newAddr % pmd), oldEnd - oldAddr);
    const oldSlot = pmdSlot(machine, mm, oldAddr, false);
    if (!oldSlot || oldSlot.table.isNone(oldSlot.index)) continue;
    const newSlot = pmdSlot(machine, mm, newAddr, true);
    if (!newSlot) break;
    if (isHugePmd(machine, oldSlot)) {
      if (extent === pmd && newSlot.table.isNone(newSlot.index)) {
        // move_huge_pmd: the leaf and its deposit move together.
        const lo = oldSlot.table.lo(oldSlot.index);
        const hi = oldSlot.table.hi(oldSlot.index);
        machine.writeEntry(oldSlot.table, oldSlot.index, 0, 0);
        const table = withdraw(mm, oldSlot.table);
        if (table) deposit(machine, mm, newSlot.table, table);
        machine.writeEntry(newSlot.table, newSlot.index, lo, hi);
        continue;
      }
      splitHugePmd(machine, mm, oldSlot);
    } else if (canMoveTables(task) && extent === pmd && newSlot.table.isNone(newSlot.index)) {
      // move_normal_pmd: relink the whole PTE table.
      const table = oldSlot.table.children?.[oldSlot.index];
      if (table) {
        machine.unlinkTable(oldSlot.table, oldSlot.index, false);
        machine.linkTable(newSlot.table, newSlot.index, table, false);
        continue;
      }
    }
    const src = oldSlot.table.children?.[oldSlot.index];
    if (!src) continue;
    const dst = pteAlloc(machine, mm, newSlot);
    movePtes(task, src, oldAddr, dst, newAddr, extent);
  }
}

/**
 * The table holding the entry of `level` for `va` (the PGD itself where upper levels are
 * folded into it), allocating the tables above it when `alloc`.
 */
function entryHolder(task: Task, va: bigint, level: Depth, alloc: boolean): Slot | undefined {
  const { machine, mm } = task;
  let table = mm.root;
  for (;;) {
    const deepest = machine.profile.entryDepth[table.depth] ?? table.depth;
    const index = indexAt(machine.profile, table.depth, va);
    if (deepest >= level) return { table, index };
    let child = table.children?.[index];
    if (!child) {
      if (!alloc) return undefined;
      child = machine.allocTable(mm, (deepest + 1) as Depth);
      machine.linkTable(table, index, child, true);
    }
    table = child;
  }
}

/** move_ptes: every non-none entry moves, present pages and PTE markers alike. */
function movePtes(task: Task, src: TablePage, oldAddr: bigint, dst: TablePage, newAddr: bigint, extent: bigint): void {
  const { machine } = task;
  const shift = pageShiftOf(machine.profile);
  const count = Number(extent >> shift);
  const s = indexAt(machine.profile, PTE, oldAddr);
  const d = indexAt(machine.profile, PTE, newAddr);
  let moved = 0;
  machine.touch(src);
  machine.touch(dst);
  for (let k = 0; k < count; k++) {
    const lo = src.lo(s + k);
    const hi = src.hi(s + k);
    if (lo === 0 && hi === 0) continue;
    src.set(s + k, 0, 0);
    dst.set(d + k, lo, hi);
    moved++;
  }
  if (moved > 0) {
    machine.countWrites(src, moved, false);
    machine.countWrites(dst, moved, false);
  }
}

function minOf(a: bigint, b: bigint, c: bigint): bigint {
  const m = a < b ? a : b;
  return m < c ? m : c;
}

