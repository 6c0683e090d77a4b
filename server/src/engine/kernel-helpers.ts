// Which kernel function each statement models, per architecture family: for step records,
// hovers and the inspector's step list.

import type { ArchProfile } from './arch/profile';
import type { Stmt } from './program';

interface HelperInfo {
  /** The function name, or one per family. */
  name: string | Partial<Record<ArchProfile['family'], string>>;
  /** One line on what it does, in the kernel's terms. */
  doc: string;
}

const HELPERS: Partial<Record<Stmt['kind'], HelperInfo>> = {
  map: {
    name: { arm64: '__create_pgd_mapping', x86: 'kernel_physical_mapping_init', riscv: 'create_pgd_mapping', arm: 'create_mapping' },
    doc: 'Creates a kernel mapping, choosing the largest leaf that the address, the physical address and the remaining size allow (and the contiguous hint where the arch has one).',
  },
  unmap: { name: 'vunmap_range', doc: 'Clears the leaves of a kernel range and flushes the TLB; table pages stay.' },
  vmalloc: {
    name: '__vmalloc_node_range',
    doc: 'Finds a VA range in the vmalloc area and maps fresh pages; with `huge` (VM_ALLOW_HUGE_VMAP) uses PMD/PUD leaves, freeing stale lower tables through pmd_free_pte_page / pud_free_pmd_page.',
  },
  vfree: { name: 'vfree', doc: 'Unmaps a vmalloc area (leaves cleared, tables kept), flushes the TLB and frees the pages.' },
  set_memory: {
    name: { arm64: 'change_memory_common', x86: 'change_page_attr_set_clr', riscv: '__set_memory' },
    doc: 'Changes the permissions of a kernel range: arm64 walks the tables locklessly in lazy MMU mode (EINVAL on a partial block without BBML2); x86 CPA splits large pages.',
  },
  set_memory_valid: { name: 'set_memory_valid', doc: 'Makes a kernel range valid or invalid; no TLB flush when only making valid.' },
  set_direct_map: {
    name: 'set_direct_map_invalid_noflush',
    doc: 'Removes one page from the direct map (invalid) or restores it (default), without a TLB flush.',
  },
  alloc_pgtable_page: { name: 'pagetable_alloc', doc: 'Allocates a page-table page; with write_protect_pgtables its linear-map alias becomes read-only; with pte_mapped_cache it comes from the cache of pte-mapped pages (seed 001).' },
  free_pgtable_page: { name: 'pagetable_free', doc: 'Returns a page-table page to the page allocator (or to the pte-mapped cache), restoring its linear-map alias.' },
  ptdump: { name: 'ptdump_walk_pgd', doc: "Dumps init_mm's tables in the architecture's kernel_page_tables format." },
  check_wx: { name: 'ptdump_check_wx', doc: "Walks the kernel tables and prints the architecture's W+X verdict with its counts." },
  pgtable_alloc: { name: 'p?d_alloc_one', doc: 'Allocates a table page; the ctor runs per the accounting mode unless `noctor` (a kmem_cache/kmalloc path).' },
  pgtable_ctor: { name: 'pagetable_*_ctor', doc: 'Marks the page PageTable and adds it to NR_PAGETABLE (user PTE/PMD tables also get their split ptlock).' },
  pgtable_dtor: { name: 'pagetable_dtor', doc: 'Undoes the ctor: frees the ptlock, clears PageTable, subtracts from NR_PAGETABLE.' },
  pgtable_free: { name: 'p?d_free', doc: 'Frees a table page; the dtor runs per the accounting mode unless `nodtor`.' },
  populate: { name: 'p?d_populate', doc: 'Links a table page into the parent entry that covers the address.' },
  clear: { name: 'p?d_clear', doc: 'Clears an entry.' },
  process: { name: 'mm_alloc / pgd_alloc', doc: 'Creates the mm of a process: its top-level table is allocated (ctor under `series` where it comes from the page allocator).' },
  mmap: { name: 'do_mmap', doc: 'Creates a VMA (MAP_FIXED with `at` replaces what is there); page tables are filled later, on fault, unless `populate`.' },
  munmap: { name: '__do_munmap', doc: 'Removes VMAs, zaps their pages and frees page tables no VMA needs any more (free_pgtables).' },
  mprotect: { name: 'mprotect_fixup', doc: 'Splits or merges VMAs and changes the protection of the present PTEs (change_protection).' },
  madvise: { name: 'madvise_walk_vmas', doc: 'Applies an advice to a range: guard markers, zaps, THP hints, fork behaviour, population.' },
  mremap: { name: 'move_vma', doc: 'Moves or resizes a mapping, moving its page-table entries (guard markers included).' },
  mlock: { name: 'mlock_fixup', doc: 'Sets VM_LOCKED (or VM_LOCKONFAULT) and populates the range.' },
  munlock: { name: 'mlock_fixup', doc: 'Clears VM_LOCKED.' },
  read: { name: 'handle_mm_fault', doc: 'One read access: demand fault (tables allocated on the way), or SIGSEGV.' },
  write: { name: 'handle_mm_fault', doc: 'One write access: demand fault or copy-on-write, or SIGSEGV.' },
  exec: { name: 'handle_mm_fault', doc: 'One instruction fetch, or SIGSEGV.' },
  touch: { name: 'handle_mm_fault', doc: 'One access per page of a range.' },
  fork: { name: 'dup_mmap', doc: 'Copies the VMAs and page tables (copy_page_range), write-protecting private pages for copy-on-write.' },
  exit: { name: 'exit_mmap', doc: 'Tears the mm down (unmap_vmas, free_pgtables, pgd_free), then check_mm runs.' },
  concurrent: { name: 'explorer', doc: 'Explores every interleaving of the threads under sequential consistency.' },
  walk: { name: 'ptdump_walk_pgd', doc: 'A ptdump walk of the kernel tables, every entry load and table dereference its own step.' },
  pud_free_pmd_page: { name: 'pud_free_pmd_page', doc: 'Frees the PMD table (and its PTE tables) under a PUD so a PUD leaf can be installed.' },
  pmd_free_pte_page: { name: 'pmd_free_pte_page', doc: 'Frees the PTE table under a PMD so a PMD leaf can be installed.' },
  lock: { name: 'mmap_read_lock / mmap_write_lock', doc: 'Takes an rw-semaphore.' },
  unlock: { name: 'mmap_read_unlock / mmap_write_unlock', doc: 'Releases an rw-semaphore.' },
  static_branch_enable: { name: 'static_branch_enable', doc: 'Turns a static key on.' },
  static_branch_disable: { name: 'static_branch_disable', doc: 'Turns a static key off.' },
  load: { name: 'READ_ONCE', doc: 'Loads one entry.' },
  rmw: { name: 'read-modify-write', doc: 'Reads an entry, then later writes it back with bits set and cleared: two steps.' },
  let: { name: 'let', doc: 'Binds a name to a number.' },
  expect: { name: 'expect', doc: 'Checks a query.' },
};

/** The kernel function a statement models under this profile. */
export function helperFor(profile: ArchProfile, kind: Stmt['kind']): string {
  const info = HELPERS[kind];
  if (!info) return kind;
  return typeof info.name === 'string' ? info.name : (info.name[profile.family] ?? Object.values(info.name)[0] ?? kind);
}

/** The hover text for a statement keyword: helper name and what it does. */
export function helperDoc(profile: ArchProfile, kind: Stmt['kind']): { name: string; doc: string } | undefined {
  const info = HELPERS[kind];
  if (!info) return undefined;
  return { name: helperFor(profile, kind), doc: info.doc };
}
