// What the editor features know about the language's words: which statements each block takes,
// their argument shapes (spec §2, §4, §5, §7, §8, §9) and the kernel helper each one models. The
// parser stays the authority on syntax; this table only feeds completion, signature help and
// hovers.

/** The kind of block a statement stands in. `file` is outside every scenario. */
export type BlockKind = 'file' | 'scenario' | 'kernel' | 'process' | 'concurrent' | 'thread';

export interface StatementInfo {
  keyword: string;
  /** The statement as spec documents it, e.g. `unmap VA size S`. */
  signature: string;
  /** The argument slots of `signature` after the keyword, for signature help. */
  parameters: string[];
  /** The kernel function(s) it models, e.g. `__create_pgd_mapping`. */
  helper: string;
  /** One sentence on what it does. */
  doc: string;
  blocks: BlockKind[];
}

const KERNEL: BlockKind[] = ['kernel', 'thread'];
const TABLES: BlockKind[] = ['kernel', 'process', 'thread'];
const PROCESS: BlockKind[] = ['process'];
const THREAD: BlockKind[] = ['thread'];
const ANY_BODY: BlockKind[] = ['scenario', 'kernel', 'process'];

function stmt(keyword: string, signature: string, helper: string, doc: string, blocks: BlockKind[]): StatementInfo {
  const parameters = signature.split(/\s+/).slice(1);
  return { keyword, signature, parameters, helper, doc, blocks };
}

export const STATEMENTS: readonly StatementInfo[] = [
  stmt('scenario', 'scenario "title" {', '', 'A scenario: runs on a fresh machine.', ['file']),
  stmt('arch', 'arch NAME [OPTION=VALUE…]', '', 'Header: the architecture and its configuration (default `x86_64` with 4 levels).', ['scenario']),
  stmt('feature', 'feature NAME…', '', 'Header: kernel features such as `bbml2` or `pti`.', ['scenario']),
  stmt('thp', 'thp always|madvise|never', '', 'Header: when an anonymous fault may install a PMD leaf.', ['scenario']),
  stmt('accounting', 'accounting series|legacy', '', 'Header: at which levels table pages get ctor/dtor.', ['scenario']),
  stmt('kernel', 'kernel {', 'init_mm', 'Statements acting on the kernel address space (init_mm).', ['scenario']),
  stmt('process', 'process NAME {', 'mm_alloc / pgd_alloc', 'Statements of a process; the first block creates its mm.', ['scenario']),
  stmt('concurrent', 'concurrent {', '', 'Threads whose steps the engine interleaves in every order.', ['scenario']),
  stmt('fork', 'fork P as C', 'dup_mm → copy_page_range', 'Copies process P into a new process C the way fork does.', ['scenario']),
  stmt('exit', 'exit P', 'exit_mmap → free_pgtables, check_mm', 'Tears process P down and checks its table pages.', ['scenario']),
  stmt('let', 'let NAME = EXPR', '', 'Binds a number (a query may stand for one).', ANY_BODY),
  stmt('expect', 'expect QUERY OP VALUE', '', 'Asserts a query; `expect race KIND` and `expect diagnostic CODE` at top level.', ANY_BODY),
  stmt('thread', 'thread NAME {', '', 'One thread of a concurrent block.', ['concurrent']),

  stmt('map', 'map VA size S phys PA prot P [leaf=auto|pte|pmd|pud] [nocont]', '__create_pgd_mapping', 'Maps kernel VA to PA with the largest leaf alignment allows.', KERNEL),
  stmt('unmap', 'unmap VA size S', 'vunmap_range', 'Clears leaves; tables stay, as in the kernel.', KERNEL),
  stmt('vmalloc', 'vmalloc NAME size S [prot P] [huge]', 'vmalloc / vmalloc_huge → vmap_pages_range', 'Picks a VA in the vmalloc area and maps fresh pages.', KERNEL),
  stmt('vfree', 'vfree NAME', 'vfree → vunmap', 'Clears the leaves of a vmalloc allocation; tables stay.', KERNEL),
  stmt('set_memory_ro', 'set_memory_ro ADDR pages N', 'set_memory_ro → __change_memory_common (arm64) / change_page_attr_set_clr (x86)', 'Makes pages read-only.', KERNEL),
  stmt('set_memory_rw', 'set_memory_rw ADDR pages N', 'set_memory_rw → __change_memory_common (arm64) / change_page_attr_set_clr (x86)', 'Makes pages writable.', KERNEL),
  stmt('set_memory_x', 'set_memory_x ADDR pages N', 'set_memory_x → __change_memory_common (arm64) / change_page_attr_set_clr (x86)', 'Makes pages executable.', KERNEL),
  stmt('set_memory_nx', 'set_memory_nx ADDR pages N', 'set_memory_nx → __change_memory_common (arm64) / change_page_attr_set_clr (x86)', 'Makes pages non-executable.', KERNEL),
  stmt('set_memory_valid', 'set_memory_valid ADDR pages N on|off', 'set_memory_valid (arm64)', 'Makes pages valid or invalid; no TLB flush when only making valid.', KERNEL),
  stmt('set_direct_map_invalid', 'set_direct_map_invalid ADDR', 'set_direct_map_invalid_noflush', 'Invalidates one page of the linear map.', KERNEL),
  stmt('set_direct_map_default', 'set_direct_map_default ADDR', 'set_direct_map_default_noflush', 'Restores one page of the linear map.', KERNEL),
  stmt('alloc_pgtable_page', 'alloc_pgtable_page NAME', 'pagetable_alloc', 'Takes a page-table page from the page allocator.', KERNEL),
  stmt('free_pgtable_page', 'free_pgtable_page NAME', 'pagetable_free', 'Returns a page-table page to the page allocator.', KERNEL),
  stmt('ptdump', 'ptdump [ADDR size S]', 'ptdump_walk_pgd (kernel_page_tables)', "Prints the arch's kernel page-table dump.", KERNEL),
  stmt('check_wx', 'check_wx', 'ptdump_check_wx', 'Prints the kernel W+X check verdict.', KERNEL),

  stmt('pgtable_alloc', 'pgtable_alloc LEVEL as NAME [noctor]', 'pXd_alloc_one', 'Allocates a table page of LEVEL; ctor per accounting unless `noctor`.', TABLES),
  stmt('pgtable_ctor', 'pgtable_ctor NAME', 'pagetable_pXd_ctor', 'Runs the constructor of a table page.', TABLES),
  stmt('pgtable_dtor', 'pgtable_dtor NAME', 'pagetable_dtor', 'Runs the destructor of a table page.', TABLES),
  stmt('pgtable_free', 'pgtable_free NAME [nodtor]', 'pXd_free', 'Frees a table page; dtor per accounting unless `nodtor`.', TABLES),
  stmt('populate', 'populate ADDR with NAME', 'pXd_populate', 'Links table NAME into the parent entry covering ADDR.', TABLES),
  stmt('clear', 'clear LEVEL ADDR', 'pXd_clear', 'Clears the LEVEL entry covering ADDR.', TABLES),

  stmt('mmap', 'mmap NAME [at ADDR] size S prot P [shared] [file] [populate] [locked] [wipeonfork]', 'do_mmap', 'Maps memory; NAME is bound to the start address.', PROCESS),
  stmt('munmap', 'munmap ADDR size S', 'do_vmi_munmap', 'Unmaps a range.', PROCESS),
  stmt('mprotect', 'mprotect ADDR size S prot P', 'mprotect_fixup', 'Changes protections, splitting and merging VMAs.', PROCESS),
  stmt('madvise', 'madvise ADDR size S ADVICE', 'madvise_walk_vmas (guard: madvise_guard_install / madvise_guard_remove)', 'Gives advice on a range.', PROCESS),
  stmt('mremap', 'mremap ADDR size S to ADDR2 [size S2] [dontunmap]', 'mremap → move_page_tables', 'Moves or resizes a mapping (MREMAP_MAYMOVE|MREMAP_FIXED).', PROCESS),
  stmt('mlock', 'mlock ADDR size S [onfault]', 'mlock_fixup', 'Locks a range in memory.', PROCESS),
  stmt('munlock', 'munlock ADDR size S', 'mlock_fixup', 'Unlocks a range.', PROCESS),
  stmt('read', 'read ADDR', 'handle_mm_fault (read)', 'One read access; demand faults allocate tables on the way.', PROCESS),
  stmt('write', 'write ADDR [value N]', 'handle_mm_fault (write)', 'One write access (default value 1).', PROCESS),
  stmt('exec', 'exec ADDR', 'handle_mm_fault (instruction fetch)', 'One instruction fetch.', PROCESS),
  stmt('touch', 'touch ADDR size S [read|write]', 'handle_mm_fault per page', 'One access per page.', PROCESS),

  stmt('lock', 'lock NAME read|write', 'mmap_read_lock / mmap_write_lock', 'Takes an rw-semaphore.', THREAD),
  stmt('unlock', 'unlock NAME read|write', 'mmap_read_unlock / mmap_write_unlock', 'Drops an rw-semaphore.', THREAD),
  stmt('static_branch_enable', 'static_branch_enable NAME', 'static_branch_enable', 'Turns a static key on.', THREAD),
  stmt('static_branch_disable', 'static_branch_disable NAME', 'static_branch_disable', 'Turns a static key off.', THREAD),
  stmt('if', 'if NAME {', 'static_branch_unlikely', 'Runs its block when the static key is on.', THREAD),
  stmt('walk', 'walk kernel [ADDR size S]', 'ptdump_walk_pgd → walk_page_range_debug', 'A ptdump walk: every entry load and table dereference is a step.', THREAD),
  stmt('pud_free_pmd_page', 'pud_free_pmd_page ADDR [variant=unpatched|static_key|trylock]', 'pud_free_pmd_page', 'Clears a PUD entry, flushes and frees the PMD table below it.', THREAD),
  stmt('pmd_free_pte_page', 'pmd_free_pte_page ADDR [variant=unpatched|static_key|trylock]', 'pmd_free_pte_page', 'Clears a PMD entry, flushes and frees the PTE table below it.', THREAD),
  stmt('load', 'load LEVEL ADDR', 'READ_ONCE(*pXdp)', 'Reads one entry (one step).', THREAD),
  stmt('rmw', 'rmw LEVEL ADDR set BITS clear BITS', 'pXdp_get + set_pXd (read-modify-write)', 'Reads an entry, then writes it changed (two steps).', THREAD),
];

const BY_KEYWORD = new Map(STATEMENTS.map((s) => [s.keyword, s]));

export function statementInfo(keyword: string): StatementInfo | undefined {
  return BY_KEYWORD.get(keyword);
}

/** Statements a block takes. Threads also take every kernel statement except `ptdump` options. */
export function statementsFor(block: BlockKind): StatementInfo[] {
  return STATEMENTS.filter((s) => s.blocks.includes(block));
}

export const ARCHES: readonly { name: string; options: string[]; doc: string }[] = [
  { name: 'x86_64', options: ['levels=4', 'levels=5'], doc: '4-level (48-bit VA) or 5-level (LA57, 57-bit VA)' },
  { name: 'arm64', options: ['granule=4k', 'granule=16k', 'granule=64k', 'va=39', 'va=42', 'va=47', 'va=48', 'va=52'], doc: 'default 4k granule, 48-bit VA' },
  { name: 'riscv64', options: ['mode=sv39', 'mode=sv48', 'mode=sv57'], doc: 'default sv48' },
  { name: 'x86_pae', options: [], doc: '32-bit 3-level' },
  { name: 'arm_lpae', options: [], doc: '32-bit 3-level' },
];

export const FEATURES = ['bbml2', 'pti', 'no_block_mappings', 'no_cont_mappings', 'pte_mapped_cache', 'write_protect_pgtables'];
export const THP_MODES = ['always', 'madvise', 'never'];
export const ACCOUNTING_MODES = ['series', 'legacy'];
export const PROTECTIONS = ['r', 'rw', 'rx', 'rwx', 'none'];
export const ADVICES = [
  'guard_install',
  'guard_remove',
  'dontneed',
  'free',
  'cold',
  'pageout',
  'hugepage',
  'nohugepage',
  'collapse',
  'wipeonfork',
  'keeponfork',
  'dontfork',
  'dofork',
  'populate_read',
  'populate_write',
];
export const MMAP_FLAGS = ['shared', 'file', 'populate', 'locked', 'wipeonfork'];
export const LEVELS = ['pgd', 'p4d', 'pud', 'pmd', 'pte'];
export const RESULTS = ['ok', 'EINVAL', 'ENOMEM', 'EFAULT', 'EPERM', 'segv', 'value'];
export const RACES = ['none', 'use_after_free', 'lost_update', 'deadlock'];
export const VARIANTS = ['variant=unpatched', 'variant=static_key', 'variant=trylock'];

export const QUERIES: readonly { name: string; signature: string; doc: string }[] = [
  { name: 'vmas', signature: 'vmas(P)', doc: 'number of VMAs' },
  { name: 'tables', signature: 'tables(P, LEVEL)', doc: 'live table pages of that level' },
  { name: 'pgtables_bytes', signature: 'pgtables_bytes(P)', doc: "the mm's page-table byte counter (mm->pgtables_bytes)" },
  { name: 'accounted', signature: 'accounted(P)', doc: 'bytes of table pages whose ctor ran and dtor has not (NR_PAGETABLE share)' },
  { name: 'leaf', signature: 'leaf(ADDR)', doc: '`none pte cont_pte pmd cont_pmd pud`' },
  { name: 'prot', signature: 'prot(ADDR)', doc: 'e.g. `rw`, `rx`, `none` (unmapped or invalid)' },
  { name: 'guard', signature: 'guard(ADDR)', doc: '`true` / `false`' },
  { name: 'value', signature: 'value(ADDR)', doc: 'the last value written at that page, 0 for a fresh page' },
  { name: 'wx_pages', signature: 'wx_pages', doc: 'what check_wx would count now' },
  { name: 'nonuxn_pages', signature: 'nonuxn_pages', doc: 'what check_wx would count now' },
  { name: 'tlb_flushes', signature: 'tlb_flushes', doc: 'TLB flushes of the kernel address space so far' },
  { name: 'barriers', signature: 'barriers', doc: 'barrier pairs the arm64 entry-write path issued so far' },
  { name: 'direct_map_splits', signature: 'direct_map_splits', doc: 'linear-map block splits so far' },
];

/** Explanations of the spec §10 codes, for hovers on diagnostics. */
export const CODE_EXPLANATIONS: Readonly<Record<string, string>> = {
  syntax: 'The text cannot be parsed. The parser recovers at the next line and reports every error.',
  'unknown-name': 'A name is used before it is bound in this scenario. Bind it with `let`, `mmap`, `vmalloc`, `pgtable_alloc … as NAME` or a `process` block first.',
  'bad-value':
    "A size or address is not aligned, not canonical, or outside the architecture's VA range, or a word is not one of the values the statement takes.",
  'partial-block-overlap':
    'A permission change starts or ends inside a block mapping (a PMD or PUD leaf, or a contiguous run). On arm64 without `bbml2` the kernel cannot split a live kernel block and returns `EINVAL`; entries before the block stay changed. With `bbml2`, or on x86 (split_large_page), the block is split first. Fix: align the range to the block, or add `feature bbml2`.',
  'wx-mapping':
    "A mapping is left writable and executable. The kernel's W+X check (ptdump_check_wx) would report it. Fix: drop `x` or `w` from the protection.",
  'ctor-dtor-leak':
    'A table page broke its life cycle: freed without dtor after ctor, dtor without ctor, a second ctor or dtor, freed while linked, left allocated at exit, or pgtables_bytes non-zero when the mm is freed (check_mm). The related information points at the allocation.',
  'expectation-failed': 'An `expect` or a `=> RESULT` does not hold; the message says what was expected and what happened.',
  'statement-failed': 'A statement without `=> RESULT` returned an error or faulted; the scenario went on. Add `=> ERRNO` if that outcome is intended.',
  race: 'The race explorer reached a use-after-free, a lost update or a deadlock. The related information is the shortest schedule that gets there, step by step.',
  'resource-limit': 'The run would exceed a budget (table pages, entries, steps, schedules, states or time; see the `ptscn.run.*` settings). The scenario stopped there; nothing crashed.',
};
