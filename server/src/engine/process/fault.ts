// Page faults: handle_mm_fault for user accesses and for the populate paths (MAP_POPULATE,
// MADV_POPULATE_*, mlock), following mm/memory.c and mm/huge_memory.c.
//
// - An anonymous read fault maps the shared zero page read-only (do_anonymous_page); a write
//   fault allocates a page and maps it writable and dirty.
// - A file read fault maps the page-cache page (do_read_fault); a private write fault maps a
//   copy (do_cow_fault); a shared write fault dirties the page-cache page (do_shared_fault).
// - A write to a present read-only PTE is do_wp_page: shared mappings make it writable, an
//   exclusive anonymous page is reused, anything else (zero page, page cache, a page shared
//   after fork) is copied.
// - Where the `thp` policy and the VMA allow, an anonymous fault on an empty PMD maps a huge
//   page (the huge zero page for a read) and deposits a PTE table for a later split.
// - A guard marker is VM_FAULT_SIGSEGV (handle_pte_marker).

import { entrySize, indexAt, pageShiftOf } from '../arch/profile';
import type { Machine } from '../model/machine';
import type { TablePage } from '../model/table';
import { hex16 } from '../u64';
import { PG_ANON, PG_EXCLUSIVE, type UserMemory } from './memory';
import type { Mm } from './mm';
import {
  PMD,
  PTE,
  deposit,
  isHugePmd,
  leafBits,
  pageProt,
  pmdSlot,
  pteAlloc,
  setLeaf,
  splitHugePmd,
  type Slot,
} from './pgtable';
import { userPolicy } from './policy';
import { VM_EXEC, VM_HUGEPAGE, VM_NOHUGEPAGE, VM_READ, VM_SHARED, VM_WRITE, type Vma } from './vma';

export type Access = 'read' | 'write' | 'exec';

/** What one statement's faults share: the machine, the mm and its memory. */
export interface Task {
  machine: Machine;
  mm: Mm;
  memory: UserMemory;
  /** A rwx VMA a fault of this statement mapped a page in (for the wx-mapping warning). */
  mappedWx: Vma | undefined;
}

/**
 * Whether the VMA permits the access before any fault handling (access_error on x86, the
 * vm_flags test of arm64 do_page_fault, riscv's access_error). Writes need VM_WRITE and
 * instruction fetches VM_EXEC everywhere. A read needs VM_READ or VM_WRITE ("write implies
 * read"); x86 also lets an exec-only VMA be read (vma_is_accessible), as its PTEs cannot deny
 * reads, while arm64 is taken to have FEAT_EPAN (exec-only stays unreadable) and riscv checks
 * VM_READ|VM_WRITE.
 */
export function vmaPermits(machine: Machine, vma: Vma, access: Access): boolean {
  if (access === 'write') return (vma.flags & VM_WRITE) !== 0;
  if (access === 'exec') return (vma.flags & VM_EXEC) !== 0;
  const readable = VM_READ | VM_WRITE | (userPolicy(machine).execImpliesRead ? VM_EXEC : 0);
  return (vma.flags & readable) !== 0;
}

/**
 * anon_vma_prepare: gives the VMA an anon_vma before its first anonymous page, reusing a
 * neighbour's when find_mergeable_anon_vma would (adjacent, same file and flags apart from
 * the access bits, contiguous pgoff, and a neighbour whose anon_vma_chain is singular).
 */
export function anonVmaPrepare(task: Task, vma: Vma): void {
  if (vma.anonVma !== 0) return;
  const vmas = task.mm.vmas;
  const pageShift = pageShiftOf(task.machine.profile);
  const compatible = (a: Vma, b: Vma): boolean =>
    a.end === b.start &&
    a.file === b.file &&
    ((a.flags ^ b.flags) & ~(VM_READ | VM_WRITE | VM_EXEC)) === 0 &&
    b.pgoff === a.pgoff + ((b.start - a.start) >> pageShift);
  const next = vmas.nextOf(vma);
  if (next && next.anonVma !== 0 && !next.anonChained && compatible(vma, next)) {
    vma.anonVma = next.anonVma;
    return;
  }
  const prev = vmas.prevOf(vma);
  if (prev && prev.anonVma !== 0 && !prev.anonChained && compatible(prev, vma)) {
    vma.anonVma = prev.anonVma;
    return;
  }
  vma.anonVma = task.memory.newAnonVma();
}

/** Bytes a PMD entry maps (HPAGE_PMD_SIZE). */
export function pmdSize(machine: Machine): bigint {
  return entrySize(machine.profile, PMD);
}

/**
 * Whether an anonymous fault at `va` may map a PMD-sized THP (thp_vma_allowable_order with
 * the sysfs policy, thp_vma_suitable_order): a private anonymous VMA that covers the whole
 * aligned PMD range, not VM_NOHUGEPAGE, and `thp always`, or `thp madvise` with VM_HUGEPAGE.
 * Shmem THP and mTHP orders are not modelled.
 */
export function thpAllowed(machine: Machine, vma: Vma, va: bigint): boolean {
  if (vma.file || (vma.flags & VM_SHARED) !== 0 || (vma.flags & VM_NOHUGEPAGE) !== 0) return false;
  if (machine.thp === 'never' || (machine.thp === 'madvise' && (vma.flags & VM_HUGEPAGE) === 0)) return false;
  if (!machine.profile.levels[PMD]?.leaf) return false;
  const size = pmdSize(machine);
  const haddr = va - (va % size);
  return haddr >= vma.start && haddr + size <= vma.end;
}

function noteMapped(task: Task, vma: Vma): void {
  if ((vma.flags & (VM_READ | VM_WRITE | VM_EXEC)) === (VM_READ | VM_WRITE | VM_EXEC)) task.mappedWx ??= vma;
}

/** The page offset in the VMA's file of `va`. */
export function filePgoff(task: Task, vma: Vma, va: bigint): number {
  return Number(vma.pgoff + ((va - vma.start) >> pageShiftOf(task.machine.profile)));
}

/**
 * do_huge_pmd_anonymous_page: a read maps the huge zero page, a write a fresh THP; either way
 * a PTE table is deposited (and counted in pgtables_bytes).
 */
function hugeFault(task: Task, vma: Vma, slot: Slot, access: Access): void {
  const { machine, mm, memory } = task;
  deposit(machine, mm, slot.table);
  if (access === 'write') {
    anonVmaPrepare(task, vma);
    const pa = memory.allocHuge(PG_ANON | PG_EXCLUSIVE);
    setLeaf(machine, slot.table, slot.index, pa, pageProt(vma) | VM_WRITE, true, true);
  } else {
    setLeaf(machine, slot.table, slot.index, memory.hugeZeroPage(), pageProt(vma), false, true);
  }
  noteMapped(task, vma);
}

/**
 * A write to a huge PMD that is not writable (do_huge_pmd_wp_page): an exclusive anonymous
 * THP is reused; the huge zero page and shared THPs are split and the write is handled at
 * the PTE level (the kernel has copied only the faulting 4K page since 5.8).
 */
function hugeWriteProtectFault(task: Task, vma: Vma, slot: Slot): TablePage | undefined {
  const { machine, mm, memory } = task;
  const lo = slot.table.lo(slot.index);
  const hi = slot.table.hi(slot.index);
  const codec = machine.profile.codec;
  const pa = codec.address(lo, hi);
  if (!memory.isHugeZero(pa) && (memory.flags(pa) & PG_ANON) !== 0 && memory.refs(pa) === 1 && (vma.flags & VM_SHARED) === 0) {
    memory.setFlags(pa, PG_ANON | PG_EXCLUSIVE, memory.hugePages);
    setLeaf(machine, slot.table, slot.index, pa, pageProt(vma) | VM_WRITE, true, true);
    return undefined;
  }
  return splitHugePmd(machine, mm, slot);
}

/**
 * Handles an access to the PTE `table[index]` at `va` (handle_pte_fault). Returns undefined
 * when the access may proceed (the PTE now maps a page it may use), or why it is SIGSEGV.
 */
export function faultPte(task: Task, vma: Vma, table: TablePage, index: number, va: bigint, access: Access): string | undefined {
  const { machine } = task;
  const codec = machine.profile.codec;
  const lo = table.lo(index);
  const hi = table.hi(index);
  if (lo === 0 && hi === 0) {
    doFault(task, vma, table, index, va, access);
    return undefined;
  }
  const kind = codec.classify(PTE, lo, hi, true);
  if (kind === 'nonpresent') {
    if (codec.isMarker(lo, hi, 'guard')) return `the PTE of ${hex16(va)} holds a guard marker (handle_pte_marker: VM_FAULT_SIGSEGV)`;
    return `the PTE of ${hex16(va)} is a non-present entry the model does not know`;
  }
  const prot = codec.leafProt(lo, hi);
  const pa = codec.address(lo, hi);
  if (!prot.valid) {
    // A PROT_NONE PTE in a VMA that allows the access: restore vm_page_prot (do_numa_page).
    setLeaf(machine, table, index, pa, pageProt(vma), prot.dirty, false);
    return undefined;
  }
  if (access !== 'write') {
    if (!prot.young) setLeaf(machine, table, index, pa, protBits(prot), prot.dirty, false);
    return undefined;
  }
  if (prot.logicalWrite) {
    // The CPU sets the dirty (and accessed) state of a writable PTE itself.
    if (!prot.dirty || !prot.young) setLeaf(machine, table, index, pa, protBits(prot), true, false);
    return undefined;
  }
  doWpPage(task, vma, table, index, pa);
  return undefined;
}

function protBits(prot: { read: boolean; logicalWrite: boolean; uexec: boolean }): number {
  return (prot.read ? VM_READ : 0) | (prot.logicalWrite ? VM_WRITE : 0) | (prot.uexec ? VM_EXEC : 0);
}

/** do_anonymous_page / do_read_fault / do_cow_fault / do_shared_fault on an empty PTE. */
function doFault(task: Task, vma: Vma, table: TablePage, index: number, va: bigint, access: Access): void {
  const { machine, memory } = task;
  const write = access === 'write';
  const prot = pageProt(vma);
  if (!vma.file) {
    if (!write) {
      setLeaf(machine, table, index, memory.zeroPage(), prot, false, false);
    } else {
      anonVmaPrepare(task, vma);
      setLeaf(machine, table, index, memory.allocPage(PG_ANON | PG_EXCLUSIVE), prot | VM_WRITE, true, false);
    }
    noteMapped(task, vma);
    return;
  }
  const cached = memory.pageCache(vma.file, filePgoff(task, vma, va));
  if (write && (vma.flags & VM_SHARED) === 0) {
    anonVmaPrepare(task, vma);
    const copy = memory.allocPage(PG_ANON | PG_EXCLUSIVE);
    memory.setValue(copy, memory.value(cached));
    setLeaf(machine, table, index, copy, prot | VM_WRITE, true, false);
  } else {
    memory.get(cached);
    setLeaf(machine, table, index, cached, write ? prot | VM_WRITE : prot, write, false);
  }
  noteMapped(task, vma);
}

/** do_wp_page on a present read-only PTE of a writable VMA. */
function doWpPage(task: Task, vma: Vma, table: TablePage, index: number, pa: number): void {
  const { machine, memory } = task;
  const prot = pageProt(vma) | VM_WRITE;
  if ((vma.flags & VM_SHARED) !== 0) {
    // wp_page_shared: page_mkwrite, then the PTE becomes writable and dirty.
    setLeaf(machine, table, index, pa, prot, true, false);
    return;
  }
  const flags = memory.isZeroPage(pa) ? 0 : memory.flags(pa);
  if ((flags & PG_ANON) !== 0 && ((flags & PG_EXCLUSIVE) !== 0 || memory.refs(pa) === 1)) {
    // wp_page_reuse: nobody else maps it.
    memory.setFlags(pa, PG_ANON | PG_EXCLUSIVE);
    setLeaf(machine, table, index, pa, prot, true, false);
    return;
  }
  // wp_page_copy: the zero page, a page-cache page or a page shared after fork.
  anonVmaPrepare(task, vma);
  const copy = memory.allocPage(PG_ANON | PG_EXCLUSIVE);
  memory.setValue(copy, memory.value(pa));
  if (!memory.isZeroPage(pa)) memory.put(pa);
  setLeaf(machine, table, index, copy, prot, true, false);
  noteMapped(task, vma);
}

/** The result of resolving a PMD entry for an access: a PTE table to go on with, or done. */
type PmdOutcome = { table: TablePage } | { done: true };

/** The PMD step of __handle_mm_fault: THP fault, huge write-protect fault or pte_alloc. */
function faultPmd(task: Task, vma: Vma, va: bigint, access: Access): PmdOutcome {
  const { machine, mm } = task;
  const slot = pmdSlot(machine, mm, va, true) as Slot;
  if (slot.table.isNone(slot.index) && thpAllowed(machine, vma, va)) {
    hugeFault(task, vma, slot, access);
    return { done: true };
  }
  if (isHugePmd(machine, slot)) {
    const lo = slot.table.lo(slot.index);
    const hi = slot.table.hi(slot.index);
    const prot = machine.profile.codec.leafProt(lo, hi);
    if (access !== 'write') return { done: true };
    if (prot.logicalWrite) {
      if (!prot.dirty) setLeaf(machine, slot.table, slot.index, machine.profile.codec.address(lo, hi), protBits(prot), true, true);
      return { done: true };
    }
    const split = hugeWriteProtectFault(task, vma, slot);
    return split ? { table: split } : { done: true };
  }
  return { table: pteAlloc(machine, mm, slot) };
}

/**
 * One access at `va` inside `vma` (whose protection permits it): faults the page in as the
 * kernel would and returns undefined, or the SIGSEGV reason.
 */
export function handleFault(task: Task, vma: Vma, va: bigint, access: Access): string | undefined {
  const outcome = faultPmd(task, vma, va, access);
  if ('done' in outcome) return undefined;
  const index = indexAt(task.machine.profile, PTE, va);
  return faultPte(task, vma, outcome.table, index, va, access);
}

/** The physical address of the page that maps `va` now (after a successful fault). */
export function pageAt(task: Task, va: bigint): number | undefined {
  const { machine, mm } = task;
  const slot = pmdSlot(machine, mm, va, false);
  if (!slot || slot.table.isNone(slot.index)) return undefined;
  const codec = machine.profile.codec;
  if (isHugePmd(machine, slot)) {
    const base = codec.address(slot.table.lo(slot.index), slot.table.hi(slot.index));
    const offset = Number((va % pmdSize(machine)) >> pageShiftOf(machine.profile)) * task.memory.pageSize;
    return task.memory.isHugeZero(base) ? task.memory.zeroPage() : base + offset;
  }
  const table = slot.table.children?.[slot.index];
  if (!table) return undefined;
  const index = indexAt(machine.profile, PTE, va);
  const lo = table.lo(index);
  const hi = table.hi(index);
  if (codec.classify(PTE, lo, hi, true) !== 'leaf') return undefined;
  return codec.address(lo, hi);
}

/**
 * Faults in [start, end) of one VMA as get_user_pages does for population (populate_vma_page_range,
 * faultin_page_range): a present PTE that suffices is left alone, anything else is faulted
 * with the access asked for. Stops at the first page that cannot be populated and returns its
 * address with the reason.
 *
 * Empty PTEs of anonymous private memory, the bulk of any population, are filled in one loop
 * per PTE table with the entry template (the zero page for reads, fresh pages for writes),
 * exactly what faultPte would write one call at a time.
 */
export function populateRange(task: Task, vma: Vma, start: bigint, end: bigint, write: boolean): { va: bigint; reason: string } | undefined {
  const { machine, memory } = task;
  const codec = machine.profile.codec;
  const bits = leafBits(machine);
  const pageShift = pageShiftOf(machine.profile);
  const size = pmdSize(machine);
  const access: Access = write ? 'write' : 'read';
  const anon = !vma.file && (vma.flags & VM_SHARED) === 0;
  if (anon && write) anonVmaPrepare(task, vma);
  const key = bits.template(write ? pageProt(vma) | VM_WRITE : pageProt(vma), write, false);
  const tlo = bits.lo(key);
  const thi = bits.hi(key);
  for (let addr = start; addr < end; ) {
    const next = addr - (addr % size) + size < end ? addr - (addr % size) + size : end;
    const outcome = faultPmd(task, vma, addr, access);
    if ('done' in outcome) {
      addr = next;
      continue;
    }
    const table = outcome.table;
    const first = indexAt(machine.profile, PTE, addr);
    const count = Number((next - addr) >> pageShift);
    let filled = 0;
    machine.touch(table);
    for (let k = 0; k < count; k++) {
      const i = first + k;
      const lo = table.lo(i);
      const hi = table.hi(i);
      if (lo === 0 && hi === 0 && anon) {
        const pa = write ? memory.allocPage(PG_ANON | PG_EXCLUSIVE) : memory.zeroPage();
        table.set(i, (bits.paLo(pa) | tlo) >>> 0, (bits.paHi(pa) | thi) >>> 0);
        filled++;
        continue;
      }
      // FOLL_WRITE is satisfied by a writable PTE, a read by any present one.
      if ((lo !== 0 || hi !== 0) && codec.classify(PTE, lo, hi, true) === 'leaf') {
        const prot = codec.leafProt(lo, hi);
        if (write ? prot.logicalWrite : prot.valid) continue;
      }
      const va = addr + (BigInt(k) << pageShift);
      const reason = faultPte(task, vma, table, i, va, access);
      if (reason !== undefined) {
        machine.countWrites(table, filled, false);
        return { va, reason };
      }
    }
    machine.countWrites(table, filled, false);
    if (filled > 0) noteMapped(task, vma);
    addr = next;
  }
  return undefined;
}
