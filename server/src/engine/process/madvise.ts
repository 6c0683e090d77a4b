// madvise (mm/madvise.c): the VMA walk with its "holes are ENOMEM but the mapped parts are
// still processed" rule (madvise_walk_vmas), every advice of spec §5, and the population
// advices, which go through get_user_pages instead (madvise_populate).

import type { ExecContext } from '../exec/context';
import { errno, ok, type Outcome } from '../exec/outcome';
import type { MadviseStmt } from '../program';
import { hex16 } from '../u64';
import { walkRange } from '../walk';
import { lruOps, type LruState } from '../walk-ops/lru-ops';
import { populateRange, pmdSize, type Task } from './fault';
import { guardInstall, guardRemove } from './guard';
import { reportMapped } from './mmap';
import { PG_ANON, PG_EXCLUSIVE } from './memory';
import { PMD, PTE, deposit, isHugePmd, pageProt, pmdSlot, setLeaf, userWalk } from './pgtable';
import { rangeArgs, taskOf } from './syscall';
import { splitHugeAtBoundaries, zapRange } from './unmap';
import {
  VM_DONTCOPY,
  VM_HUGEPAGE,
  VM_LOCKED,
  VM_NOHUGEPAGE,
  VM_READ,
  VM_SHARED,
  VM_SPECIAL,
  VM_WIPEONFORK,
  VM_WRITE,
  isAnonymous,
  type Vma,
} from './vma';

type Advice = MadviseStmt['advice']['text'];

/** The outcome of most calls, made once: outcomes other than errno ones are never changed. */
const ADVISED_ONE = ok('1 VMA advised');

/** The result of an advice on one VMA: the VMA that now covers the range, or an errno. */
/** The VMA the advice leaves covering the range's start (split or merged), or the error. */
type VmaResult = Vma | { error: Outcome };

export function execMadvise(ctx: ExecContext, stmt: MadviseStmt): Outcome {
  const advice: Advice = stmt.advice.text;
  const args = rangeArgs(ctx, 'madvise', stmt.addr, stmt.size, advice);
  if ('error' in args) return args.error;
  if (args.empty) return ok('madvise: empty range, nothing to do');
  const task = taskOf(ctx);
  const outcome = advice === 'populate_read' || advice === 'populate_write' ? madvisePopulate(task, args.start, args.end, advice === 'populate_write') : walkVmas(task, advice, args.start, args.end);
  reportMapped(ctx, task);
  return outcome;
}

/**
 * madvise_walk_vmas: the advice runs on each VMA piece of [start, end); a gap makes the result
 * ENOMEM but the walk goes on, while an error from an advice ends it at once.
 */
function walkVmas(task: Task, advice: Advice, start: bigint, end: bigint): Outcome {
  const vmas = task.mm.vmas;
  let unmapped = false;
  let done = 0;
  let addr = start;
  for (;;) {
    const vma = vmas.list[vmas.firstEndingAfter(addr)];
    if (!vma || vma.start >= end) {
      if (addr < end) unmapped = true;
      break;
    }
    if (addr < vma.start) {
      unmapped = true;
      addr = vma.start;
    }
    const rangeEnd = vma.end < end ? vma.end : end;
    const result = adviseVma(task, advice, vma, addr, rangeEnd);
    if ('error' in result) return result.error;
    done++;
    addr = result.end > rangeEnd ? result.end : rangeEnd;
    if (addr >= end) break;
  }
  if (unmapped) return errno('ENOMEM', `madvise ${advice}: part of ${hex16(start)}-${hex16(end)} is not mapped (the mapped parts were advised)`);
  return done === 1 ? ADVISED_ONE : ok(`${done} VMAs advised`);
}

/** An advice the VMA does not take: EINVAL. */
function refuse(advice: Advice, message: string): VmaResult {
  return { error: errno('EINVAL', `madvise ${advice}: ${message}`) };
}

// No closures here: a variable a closure captures is allocated on every call, and a single-page
// guard install is the issue-5 benchmark's whole statement.
function adviseVma(task: Task, advice: Advice, vma: Vma, start: bigint, end: bigint): VmaResult {
  switch (advice) {
    case 'guard_install': {
      const error = guardInstall(task, vma, start, end);
      return error ? { error } : vma;
    }
    case 'guard_remove': {
      const error = guardRemove(task, vma, start, end);
      return error ? { error } : vma;
    }
    case 'dontneed':
      // madvise_dontneed_free_valid_vma: not on VM_LOCKED or VM_PFNMAP.
      if ((vma.flags & (VM_LOCKED | VM_SPECIAL)) !== 0) return refuse(advice, `the VMA at ${hex16(vma.start)} is mlocked`);
      zapRange(task, start, end, { dropMarkers: false, reclaimPt: true });
      return vma;
    case 'free':
      if ((vma.flags & (VM_LOCKED | VM_SPECIAL)) !== 0) return refuse(advice, `the VMA at ${hex16(vma.start)} is mlocked`);
      // madvise_free_single_vma: "MADV_FREE works for only anon vma at the moment".
      if (!isAnonymous(vma)) return refuse(advice, `the VMA at ${hex16(vma.start)} is not anonymous`);
      lruWalk(task, vma, start, end, 'free');
      return vma;
    case 'cold':
    case 'pageout':
      // can_madv_lru_vma: not VM_LOCKED, VM_PFNMAP or hugetlb.
      if ((vma.flags & (VM_LOCKED | VM_SPECIAL)) !== 0) return refuse(advice, `the VMA at ${hex16(vma.start)} is mlocked`);
      lruWalk(task, vma, start, end, advice);
      return vma;
    case 'hugepage':
      return updateFlags(task, vma, start, end, (vma.flags & ~VM_NOHUGEPAGE) | VM_HUGEPAGE);
    case 'nohugepage':
      return updateFlags(task, vma, start, end, (vma.flags & ~VM_HUGEPAGE) | VM_NOHUGEPAGE);
    case 'wipeonfork':
      if (vma.file || (vma.flags & VM_SHARED) !== 0) return refuse(advice, 'MADV_WIPEONFORK is only supported on private anonymous memory');
      return updateFlags(task, vma, start, end, vma.flags | VM_WIPEONFORK);
    case 'keeponfork':
      return updateFlags(task, vma, start, end, vma.flags & ~VM_WIPEONFORK);
    case 'dontfork':
      return updateFlags(task, vma, start, end, vma.flags | VM_DONTCOPY);
    case 'dofork':
      if ((vma.flags & VM_SPECIAL) !== 0) return refuse(advice, `the VMA at ${hex16(vma.start)} is a special mapping`);
      return updateFlags(task, vma, start, end, vma.flags & ~VM_DONTCOPY);
    case 'collapse':
      return collapse(task, vma, start, end);
    default:
      return refuse(advice, 'unknown advice');
  }
}

/** madvise_update_vma: split or merge so [start, end) carries the new flags. */
function updateFlags(task: Task, vma: Vma, start: bigint, end: bigint, flags: number): VmaResult {
  if (flags === vma.flags) return vma;
  const cuts: bigint[] = [];
  const result = task.mm.vmas.modify(vma, start, end, flags, cuts);
  splitHugeAtBoundaries(task, cuts);
  return result;
}

function lruWalk(task: Task, vma: Vma, start: bigint, end: bigint, advice: LruState['advice']): void {
  const state: LruState = { task, vma, advice, touched: 0 };
  walkRange(task.machine, task.mm, start, end, lruOps, state, userWalk(task.machine, task.mm));
}

/**
 * madvise_populate → faultin_page_range: a VMA must contain each next address (ENOMEM),
 * allow the access (check_vma_flags: EINVAL), and every page must fault in; a guard marker is
 * VM_FAULT_SIGSEGV, which population reports as EFAULT. Pages before the failure stay
 * populated.
 */
function madvisePopulate(task: Task, start: bigint, end: bigint, write: boolean): Outcome {
  const name = write ? 'populate_write' : 'populate_read';
  let addr = start;
  while (addr < end) {
    const vma = task.mm.vmas.lookup(addr);
    if (!vma) return errno('ENOMEM', `madvise ${name}: no VMA covers ${hex16(addr)}`);
    if ((vma.flags & VM_SPECIAL) !== 0 || (vma.flags & (write ? VM_WRITE : VM_READ)) === 0) {
      return errno('EINVAL', `madvise ${name}: the VMA at ${hex16(vma.start)} does not allow ${write ? 'writing' : 'reading'} (check_vma_flags)`);
    }
    const to = vma.end < end ? vma.end : end;
    const failure = populateRange(task, vma, addr, to, write);
    if (failure) return errno('EFAULT', `madvise ${name}: ${failure.reason}`);
    addr = to;
  }
  return ok(`madvise ${name}: ${hex16(start)}-${hex16(end)} populated`);
}

/**
 * MADV_COLLAPSE (mm/khugepaged.c madvise_collapse) for private anonymous VMAs: each
 * PMD-aligned range inside the VMA becomes a THP unless its scan fails. The scan rejects a
 * range without a PTE table, with a guard marker (SCAN_PTE_NON_PRESENT), or with no writable
 * page (SCAN_PAGE_RO); such ranges are skipped and the call returns EINVAL
 * (madvise_collapse_errno). A range that is already a huge PMD counts as collapsed. Collapse
 * ignores the sysfs policy but not VM_NOHUGEPAGE. File and shmem collapse are not modelled.
 */
function collapse(task: Task, vma: Vma, start: bigint, end: bigint): VmaResult {
  const { machine, mm, memory } = task;
  const fail = (message: string): VmaResult => ({ error: errno('EINVAL', `madvise collapse: ${message}`) });
  if (vma.file || (vma.flags & VM_SHARED) !== 0) return fail(`the VMA at ${hex16(vma.start)} is not private anonymous memory (file and shmem collapse are not modelled)`);
  if ((vma.flags & VM_NOHUGEPAGE) !== 0) return fail(`the VMA at ${hex16(vma.start)} is MADV_NOHUGEPAGE`);
  if (!machine.profile.levels[PMD]?.leaf) return fail('this configuration has no PMD leaves');
  const size = pmdSize(machine);
  // thp_vma_allowable_order without TVA_ENFORCE_SYSFS: an anon_vma and room for one aligned THP.
  if (vma.anonVma === 0) return fail(`the VMA at ${hex16(vma.start)} has no anon_vma yet (nothing was written)`);
  const lastHuge = vma.end - (vma.end % size) - size;
  if (lastHuge < vma.start) return fail(`the VMA at ${hex16(vma.start)} cannot hold an aligned huge page`);
  const hstart = ((start + size - 1n) / size) * size;
  const hend = (end / size) * size;
  const codec = machine.profile.codec;
  let collapsed = 0;
  let lastFail: string | undefined;
  for (let addr = hstart; addr < hend; addr += size) {
    const slot = pmdSlot(machine, mm, addr, false);
    if (slot && isHugePmd(machine, slot)) {
      collapsed++;
      continue;
    }
    const table = slot?.table.children?.[slot.index];
    if (!slot || !table) {
      lastFail = `no PTE table maps ${hex16(addr)} (SCAN_PMD_NULL)`;
      continue;
    }
    let writable = false;
    let marker: number | undefined;
    for (let i = 0; i < table.ptrs; i++) {
      const lo = table.lo(i);
      const hi = table.hi(i);
      if (lo === 0 && hi === 0) continue;
      const kind = codec.classify(PTE, lo, hi, true);
      if (kind !== 'leaf') {
        marker = i;
        break;
      }
      if (codec.leafProt(lo, hi).logicalWrite) writable = true;
    }
    if (marker !== undefined) {
      lastFail = `a guard marker at ${hex16(addr + BigInt(marker) * machine.profile.pageSize)} (SCAN_PTE_NON_PRESENT)`;
      continue;
    }
    if (!writable) return fail(lastFail ?? `no writable page in ${hex16(addr)}-${hex16(addr + size)} (SCAN_PAGE_RO)`);
    // collapse_huge_page: copy into a new THP, free the small pages, and keep the old PTE table
    // as the deposit of the new huge PMD (nr_ptes is unchanged).
    const huge = memory.allocHuge(PG_ANON | PG_EXCLUSIVE);
    for (let i = 0; i < table.ptrs; i++) {
      const lo = table.lo(i);
      const hi = table.hi(i);
      if (lo === 0 && hi === 0) continue;
      const pa = codec.address(lo, hi);
      if (memory.isZeroPage(pa)) continue;
      memory.setValue(huge + i * memory.pageSize, memory.value(pa));
      memory.put(pa);
    }
    machine.touch(table);
    let cleared = 0;
    for (let i = 0; i < table.ptrs; i++) {
      if (table.isNone(i)) continue;
      table.set(i, 0, 0);
      cleared++;
    }
    machine.countWrites(table, cleared, false);
    machine.unlinkTable(slot.table, slot.index, false);
    deposit(machine, mm, slot.table, table);
    setLeaf(machine, slot.table, slot.index, huge, pageProt(vma) | (vma.flags & VM_WRITE), true, true);
    collapsed++;
  }
  if (collapsed === Number((hend - hstart) / size) || hend <= hstart) return vma;
  return fail(lastFail ?? 'a range could not be collapsed');
}
