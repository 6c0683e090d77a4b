// The mm of a process: its address space (the ledger's view), its VMAs, the page tables THP
// deposits, and the architecture's pgd_alloc/pgd_free.
//
// pgd_alloc follows each architecture: x86_64 takes one page (two with PTI, the user copy in
// the second) from the page allocator; arm64 takes a page when the PGD is page-sized and a
// kmem_cache object otherwise; x86 PAE takes its 32-byte PGD from a kmem_cache and
// preallocates the PMDs of the user PGD entries (counted in pgtables_bytes,
// arch/x86/mm/pgtable.c preallocate_pmds); ARM LPAE kmallocs its PGD and allocates the PMD
// that covers MODULES_VADDR (arch/arm/mm/pgd.c). The kernel half of a user PGD (the entries
// pgd_ctor copies from swapper_pg_dir) is not modelled: it shares kernel tables.

import { pageShiftOf, type Depth } from '../arch/profile';
import { AddressSpace, type Machine } from '../model/machine';
import type { TablePage } from '../model/table';
import type { WalkOptions } from '../walk';
import { userMemory, type UserMemory } from './memory';
import { userPolicy } from './policy';
import { VmaTree } from './vma';

export class Mm extends AddressSpace {
  readonly vmas: VmaTree;
  /**
   * Page tables deposited for huge PMDs (pgtable_trans_huge_deposit), per PMD table page, as
   * the kernel keeps them on the PMD page's pmd_huge_pte list.
   */
  readonly deposits = new Map<TablePage, TablePage[]>();
  /** The options of user walks over this mm (pgtable.ts userWalk), made once. */
  walkOptions: WalkOptions | undefined;
  /** The machine's user memory, which every statement's task carries (syscall.ts taskOf). */
  readonly memory: UserMemory;

  constructor(
    name: string,
    /** The machine, for the queries that only get the address space. */
    readonly machineRef: Machine,
  ) {
    super(name, false, machineRef.kernel.root);
    this.vmas = new VmaTree(pageShiftOf(machineRef.profile));
    this.memory = userMemory(machineRef);
  }
}

/** mm_alloc + pgd_alloc: a new mm with its top-level table (and the arch's preallocations). */
export function mmCreate(machine: Machine, name: string): Mm {
  const mm = new Mm(name, machine);
  machine.spaces.set(name, mm);
  mm.root = machine.allocTable(mm, 0);
  for (const slot of userPolicy(machine).preallocatedPmds) {
    const pmd = machine.allocTable(mm, 3 as Depth);
    // preallocate_pmds / __pmd_alloc count each one: mm_inc_nr_pmds.
    machine.linkTable(mm.root, slot, pmd, true);
  }
  return mm;
}

/**
 * pgd_free: the PMDs x86 PAE and ARM LPAE still hold in the PGD are freed with
 * mm_dec_nr_pmds (pgd_mop_up_pmds, the LPAE loop in pgd_free), then the PGD itself. On other
 * architectures anything still linked below the PGD is leaked, as in the kernel.
 */
export function pgdFree(machine: Machine, mm: Mm): void {
  for (const slot of userPolicy(machine).preallocatedPmds) {
    const pmd = mm.root.children?.[slot];
    if (!pmd) continue;
    machine.unlinkTable(mm.root, slot, true);
    machine.freeTable(pmd);
  }
  machine.freeTable(mm.root);
}
