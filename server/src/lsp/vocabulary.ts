// What the editor features add to the language's vocabulary: statement signatures and docs for
// signature help and hovers (spec §2, §4, §5, §7, §8, §9), query docs and code explanations.
// Which words exist and where they may stand is the language's list (language/vocabulary.ts).

import { vocabulary } from '../language/index';

/** The kind of block a statement stands in. `file` is outside every scenario. */
export type BlockKind = 'file' | 'scenario' | 'kernel' | 'process' | 'concurrent' | 'thread';

export interface StatementInfo {
  keyword: string;
  /** The statement as spec documents it, e.g. `unmap VA size S`. */
  signature: string;
  /** The argument slots of `signature` after the keyword, for signature help. */
  parameters: string[];
  /** One sentence on what it does. */
  doc: string;
}

function stmt(keyword: string, signature: string, doc: string): StatementInfo {
  const parameters = signature.split(/\s+/).slice(1);
  return { keyword, signature, parameters, doc };
}

/** Signatures and one-line docs; which block takes which statement is the language's list. */
export const STATEMENTS: readonly StatementInfo[] = [
  stmt('scenario', 'scenario "title" {', 'A scenario: runs on a fresh machine.'),
  stmt('arch', 'arch NAME [OPTION=VALUE…]', 'Header: the architecture and its configuration (default `x86_64` with 4 levels).'),
  stmt('feature', 'feature NAME…', 'Header: kernel features such as `bbml2` or `pti`.'),
  stmt('thp', 'thp always|madvise|never', 'Header: when an anonymous fault may install a PMD leaf.'),
  stmt('accounting', 'accounting series|legacy', 'Header: at which levels table pages get ctor/dtor.'),
  stmt('kernel', 'kernel {', 'Statements acting on the kernel address space (init_mm).'),
  stmt('process', 'process NAME {', 'Statements of a process; the first block creates its mm.'),
  stmt('concurrent', 'concurrent {', 'Threads whose steps the engine interleaves in every order.'),
  stmt('fork', 'fork P as C', 'Copies process P into a new process C the way fork does.'),
  stmt('exit', 'exit P', 'Tears process P down and checks its table pages.'),
  stmt('let', 'let NAME = EXPR', 'Binds a number (a query may stand for one).'),
  stmt('expect', 'expect QUERY OP VALUE', 'Asserts a query; `expect race KIND` and `expect diagnostic CODE` at top level.'),
  stmt('thread', 'thread NAME {', 'One thread of a concurrent block.'),
  stmt('map', 'map VA size S phys PA prot P [leaf=auto|pte|pmd|pud] [nocont]', 'Maps kernel VA to PA with the largest leaf alignment allows.'),
  stmt('unmap', 'unmap VA size S', 'Clears leaves; tables stay, as in the kernel.'),
  stmt('vmalloc', 'vmalloc NAME size S [prot P] [huge]', 'Picks a VA in the vmalloc area and maps fresh pages.'),
  stmt('vfree', 'vfree NAME', 'Clears the leaves of a vmalloc allocation; tables stay.'),
  stmt('set_memory_ro', 'set_memory_ro ADDR pages N', 'Makes pages read-only.'),
  stmt('set_memory_rw', 'set_memory_rw ADDR pages N', 'Makes pages writable.'),
  stmt('set_memory_x', 'set_memory_x ADDR pages N', 'Makes pages executable.'),
  stmt('set_memory_nx', 'set_memory_nx ADDR pages N', 'Makes pages non-executable.'),
  stmt('set_memory_valid', 'set_memory_valid ADDR pages N on|off', 'Makes pages valid or invalid; no TLB flush when only making valid.'),
  stmt('set_direct_map_invalid', 'set_direct_map_invalid ADDR', 'Invalidates one page of the linear map.'),
  stmt('set_direct_map_default', 'set_direct_map_default ADDR', 'Restores one page of the linear map.'),
  stmt('alloc_pgtable_page', 'alloc_pgtable_page NAME', 'Takes a page-table page from the page allocator.'),
  stmt('free_pgtable_page', 'free_pgtable_page NAME', 'Returns a page-table page to the page allocator.'),
  stmt('ptdump', 'ptdump [ADDR size S]', "Prints the arch's kernel page-table dump."),
  stmt('check_wx', 'check_wx', 'Prints the kernel W+X check verdict.'),
  stmt('pgtable_alloc', 'pgtable_alloc LEVEL as NAME [noctor]', 'Allocates a table page of LEVEL; ctor per accounting unless `noctor`.'),
  stmt('pgtable_ctor', 'pgtable_ctor NAME', 'Runs the constructor of a table page.'),
  stmt('pgtable_dtor', 'pgtable_dtor NAME', 'Runs the destructor of a table page.'),
  stmt('pgtable_free', 'pgtable_free NAME [nodtor]', 'Frees a table page; dtor per accounting unless `nodtor`.'),
  stmt('populate', 'populate ADDR with NAME', 'Links table NAME into the parent entry covering ADDR.'),
  stmt('clear', 'clear LEVEL ADDR', 'Clears the LEVEL entry covering ADDR.'),
  stmt('mmap', 'mmap NAME [at ADDR] size S prot P [shared] [file] [populate] [locked] [wipeonfork]', 'Maps memory; NAME is bound to the start address.'),
  stmt('munmap', 'munmap ADDR size S', 'Unmaps a range.'),
  stmt('mprotect', 'mprotect ADDR size S prot P', 'Changes protections, splitting and merging VMAs.'),
  stmt('madvise', 'madvise ADDR size S ADVICE', 'Gives advice on a range.'),
  stmt('mremap', 'mremap ADDR size S to ADDR2 [size S2] [dontunmap]', 'Moves or resizes a mapping (MREMAP_MAYMOVE|MREMAP_FIXED).'),
  stmt('mlock', 'mlock ADDR size S [onfault]', 'Locks a range in memory.'),
  stmt('munlock', 'munlock ADDR size S', 'Unlocks a range.'),
  stmt('read', 'read ADDR', 'One read access; demand faults allocate tables on the way.'),
  stmt('write', 'write ADDR [value N]', 'One write access (default value 1).'),
  stmt('exec', 'exec ADDR', 'One instruction fetch.'),
  stmt('touch', 'touch ADDR size S [read|write]', 'One access per page.'),
  stmt('lock', 'lock NAME read|write', 'Takes an rw-semaphore.'),
  stmt('unlock', 'unlock NAME read|write', 'Drops an rw-semaphore.'),
  stmt('static_branch_enable', 'static_branch_enable NAME', 'Turns a static key on.'),
  stmt('static_branch_disable', 'static_branch_disable NAME', 'Turns a static key off.'),
  stmt('if', 'if NAME {', 'Runs its block when the static key is on.'),
  stmt('walk', 'walk kernel [ADDR size S]', 'A ptdump walk: every entry load and table dereference is a step.'),
  stmt('pud_free_pmd_page', 'pud_free_pmd_page ADDR [variant=unpatched|static_key|trylock]', 'Clears a PUD entry, flushes and frees the PMD table below it.'),
  stmt('pmd_free_pte_page', 'pmd_free_pte_page ADDR [variant=unpatched|static_key|trylock]', 'Clears a PMD entry, flushes and frees the PTE table below it.'),
  stmt('load', 'load LEVEL ADDR', 'Reads one entry (one step).'),
  stmt('rmw', 'rmw LEVEL ADDR set BITS clear BITS', 'Reads an entry, then writes it changed (two steps).'),
];

const BY_KEYWORD = new Map(STATEMENTS.map((s) => [s.keyword, s]));

export function statementInfo(keyword: string): StatementInfo | undefined {
  return BY_KEYWORD.get(keyword);
}

const CONTEXT_KEYWORDS: Record<BlockKind, readonly string[]> = {
  file: ['scenario'],
  scenario: vocabulary.KEYWORDS_BY_CONTEXT.top,
  kernel: vocabulary.KEYWORDS_BY_CONTEXT.kernel,
  process: vocabulary.KEYWORDS_BY_CONTEXT.process,
  concurrent: ['thread'],
  thread: vocabulary.KEYWORDS_BY_CONTEXT.thread,
};

/** Statements a block takes, in the language's order. */
export function statementsFor(block: BlockKind): StatementInfo[] {
  return CONTEXT_KEYWORDS[block].map((keyword) => statementInfo(keyword) ?? stmt(keyword, keyword, ''));
}

/** `arch` names with their `key=value` options, from the language's table. */
export const ARCHES: readonly { name: string; options: string[] }[] = [...vocabulary.ARCHES].map(([name, options]) => ({
  name,
  options: [...options].flatMap(([key, values]) => values.map((value) => `${key}=${value}`)),
}));

export const FEATURES: readonly string[] = vocabulary.FEATURES;
export const THP_MODES: readonly string[] = vocabulary.THP_MODES;
export const ACCOUNTING_MODES: readonly string[] = vocabulary.ACCOUNTING_MODES;
export const PROTECTIONS = ['r', 'rw', 'rx', 'rwx', 'none'];
export const ADVICES: readonly string[] = vocabulary.ADVICES;
export const MMAP_FLAGS: readonly string[] = vocabulary.MMAP_FLAGS;
export const LEVELS: readonly string[] = vocabulary.LEVELS;
export const RESULTS: readonly string[] = ['ok', ...vocabulary.ERRNOS, 'segv', 'value'];
export const RACES: readonly string[] = vocabulary.RACE_KINDS;
export const VARIANTS: readonly string[] = vocabulary.VARIANTS.map((v) => `variant=${v}`);
export const DIAGNOSTIC_CODES: readonly string[] = vocabulary.DIAGNOSTIC_CODES;
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
