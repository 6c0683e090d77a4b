// The words of the language: statement keywords per block and the closed value sets of the spec.
//
// The parser, the checker, the formatter and the language server's completion all read these
// lists, so a new statement or value is added in one place.

import type { FindingCode, QueryName } from '../engine/index';

/** Where a statement stands: a scenario's top level or the body of one kind of block. */
export type BlockContext = 'top' | 'kernel' | 'process' | 'thread';

/** Header statements (spec §2); they come first in a scenario. */
export const HEADER_KEYWORDS = ['arch', 'feature', 'thp', 'accounting'] as const;

/** Statements valid at top level and in `kernel`/`process` blocks (spec §3, §7). */
export const COMMON_KEYWORDS = ['let', 'expect'] as const;

/** Kernel statements of spec §4, valid in `kernel { }` and in threads. */
export const KERNEL_KEYWORDS = [
  'map',
  'unmap',
  'vmalloc',
  'vfree',
  'set_memory_ro',
  'set_memory_rw',
  'set_memory_x',
  'set_memory_nx',
  'set_memory_valid',
  'set_direct_map_invalid',
  'set_direct_map_default',
  'alloc_pgtable_page',
  'free_pgtable_page',
  'ptdump',
  'check_wx',
] as const;

/** Table-page statements of spec §8, valid in kernel, process and thread blocks. */
export const TABLE_KEYWORDS = ['pgtable_alloc', 'pgtable_ctor', 'pgtable_dtor', 'pgtable_free', 'populate', 'clear'] as const;

/** Process statements of spec §5. */
export const PROCESS_KEYWORDS = [
  'mmap',
  'munmap',
  'mprotect',
  'madvise',
  'mremap',
  'mlock',
  'munlock',
  'read',
  'write',
  'exec',
  'touch',
] as const;

/** Thread-only statements of spec §9. */
export const THREAD_KEYWORDS = [
  'lock',
  'unlock',
  'static_branch_enable',
  'static_branch_disable',
  'if',
  'walk',
  'pud_free_pmd_page',
  'pmd_free_pte_page',
  'load',
  'rmw',
] as const;

/** Statements and blocks valid only at a scenario's top level. */
export const TOP_KEYWORDS = ['kernel', 'process', 'concurrent', 'fork', 'exit'] as const;

/** Every keyword that may start a statement in each context (for completion and docs). */
export const KEYWORDS_BY_CONTEXT: Readonly<Record<BlockContext, readonly string[]>> = {
  top: [...HEADER_KEYWORDS, ...TOP_KEYWORDS, ...COMMON_KEYWORDS],
  kernel: [...KERNEL_KEYWORDS, ...TABLE_KEYWORDS, ...COMMON_KEYWORDS],
  process: [...PROCESS_KEYWORDS, ...TABLE_KEYWORDS, ...COMMON_KEYWORDS],
  thread: [...KERNEL_KEYWORDS, ...TABLE_KEYWORDS, ...THREAD_KEYWORDS],
};

/** Architectures and their options (spec §2). An empty map means the arch takes no options. */
export const ARCHES: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>> = new Map([
  ['x86_64', new Map([['levels', ['4', '5']]])],
  [
    'arm64',
    new Map([
      ['granule', ['4k', '16k', '64k']],
      ['va', ['36', '39', '42', '47', '48', '52']],
    ]),
  ],
  ['riscv64', new Map([['mode', ['sv39', 'sv48', 'sv57']]])],
  ['x86_pae', new Map<string, readonly string[]>()],
  ['arm_lpae', new Map<string, readonly string[]>()],
]);

/** VA sizes the arm64 kernel supports per granule (kernel-notes/geometry.md, arch/arm64/Kconfig). */
export const ARM64_VA_BY_GRANULE: ReadonlyMap<string, readonly string[]> = new Map([
  ['4k', ['39', '48', '52']],
  ['16k', ['36', '47', '48', '52']],
  ['64k', ['42', '48', '52']],
]);

/** Base page size in bytes per arm64 granule; every other configuration uses 4 KiB pages. */
export const GRANULE_PAGE_SIZE: ReadonlyMap<string, bigint> = new Map([
  ['4k', 4096n],
  ['16k', 16384n],
  ['64k', 65536n],
]);

/** `feature` names (spec §2). */
export const FEATURES = ['bbml2', 'pti', 'no_block_mappings', 'no_cont_mappings', 'pte_mapped_cache', 'write_protect_pgtables'] as const;
/** `thp` modes (spec §2). */
export const THP_MODES = ['always', 'madvise', 'never'] as const;
/** `accounting` modes (spec §2). */
export const ACCOUNTING_MODES = ['series', 'legacy'] as const;

/** `madvise` advices (spec §5). */
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
] as const;

/** Table levels, as Linux names them (spec §7, §8). */
export const LEVELS = ['pgd', 'p4d', 'pud', 'pmd', 'pte'] as const;
/** `map … leaf=` choices (spec §4). */
export const LEAF_CHOICES = ['auto', 'pte', 'pmd', 'pud'] as const;
/** What `leaf(ADDR)` can be (spec §7). */
export const LEAF_KINDS = ['none', 'pte', 'cont_pte', 'pmd', 'cont_pmd', 'pud'] as const;
/** What `guard(ADDR)` can be (spec §7). */
export const BOOLEANS = ['true', 'false'] as const;
/** Errno names a result may expect (spec §6). */
export const ERRNOS = ['EINVAL', 'ENOMEM', 'EFAULT', 'EPERM'] as const;
/** `expect race` kinds (spec §9). */
export const RACE_KINDS = ['none', 'use_after_free', 'lost_update', 'deadlock'] as const;
/** Table-freeing variants (spec §9). */
export const VARIANTS = ['unpatched', 'static_key', 'trylock'] as const;
/** Optional `mmap` flags (spec §5). */
export const MMAP_FLAGS = ['shared', 'file', 'populate', 'locked', 'wipeonfork'] as const;
/** rw-semaphore modes of `lock`/`unlock` (spec §9). */
export const LOCK_MODES = ['read', 'write'] as const;
/** `set_memory_valid` states (spec §4). */
export const VALID_STATES = ['on', 'off'] as const;
/** Locks that exist without being declared: init_mm's mmap lock (spec §9). */
export const PREDEFINED_LOCKS = ['init_mm'] as const;

/**
 * The diagnostic codes of spec §10, as the engine's FindingCode lists them. The language layer
 * imports only types from the engine, so it holds its own copy; the type below fails to compile
 * if the two lists ever differ.
 */
export const DIAGNOSTIC_CODES = [
  'syntax',
  'unknown-name',
  'bad-value',
  'partial-block-overlap',
  'wx-mapping',
  'ctor-dtor-leak',
  'expectation-failed',
  'statement-failed',
  'race',
  'resource-limit',
] as const satisfies readonly FindingCode[];

/** Compiles only while DIAGNOSTIC_CODES covers every FindingCode. */
export type DiagnosticCodesComplete = Exclude<FindingCode, (typeof DIAGNOSTIC_CODES)[number]> extends never ? true : never;
const diagnosticCodesComplete: DiagnosticCodesComplete = true;
void diagnosticCodesComplete;

/** Queries whose value is a symbol (spec §7), as the engine's SYMBOLIC_QUERIES lists them. */
export const SYMBOLIC_QUERY_NAMES: ReadonlySet<QueryName> = new Set<QueryName>(['leaf', 'prot', 'guard']);

/** Diagnostic codes found before a run; `expect diagnostic` cannot name them. */
export const STATIC_CODES: ReadonlySet<string> = new Set<FindingCode>(['syntax', 'unknown-name', 'bad-value']);

/** Queries written without parentheses: the kernel counters (spec §7). */
export const COUNTER_QUERIES: ReadonlySet<QueryName> = new Set<QueryName>([
  'wx_pages',
  'nonuxn_pages',
  'tlb_flushes',
  'barriers',
  'direct_map_splits',
]);

/** Every query of spec §7. */
export const QUERY_NAMES: ReadonlySet<string> = new Set<QueryName>([
  'vmas',
  'tables',
  'pgtables_bytes',
  'accounted',
  'leaf',
  'prot',
  'guard',
  'value',
  'wx_pages',
  'nonuxn_pages',
  'tlb_flushes',
  'barriers',
  'direct_map_splits',
]);

/**
 * Query words that stand bare in an expression: spelled alone they are always the query, so a
 * name spelled like one could never be read back.
 */
export const BARE_QUERY_WORDS: ReadonlySet<string> = new Set(['vmas', 'tables', 'pgtables_bytes', 'accounted', ...COUNTER_QUERIES]);

/** Whether `word` is a protection: `r`, `w`, `x` in that order (at least one), or `none`. */
export function isProtection(word: string): boolean {
  if (word === 'none') return true;
  let i = 0;
  if (word[i] === 'r') i++;
  if (word[i] === 'w') i++;
  if (word[i] === 'x') i++;
  return i > 0 && i === word.length;
}

/** The unit multipliers of spec §1, except `p`, whose size depends on the scenario's granule. */
export const UNIT_BYTES: Readonly<Record<'K' | 'M' | 'G' | 'T', bigint>> = {
  K: 1n << 10n,
  M: 1n << 20n,
  G: 1n << 30n,
  T: 1n << 40n,
};

/** The largest value a number may have: values are unsigned 64-bit (spec §1). */
export const U64_MAX = (1n << 64n) - 1n;

/**
 * Every word the language itself spells, each as its one interned string. The lexer gives a word
 * token this string instead of a fresh slice of the text, so the engine compares statement words
 * (`advice === 'guard_install'`, its switches on advices, protections and modes) by pointer
 * instead of character by character, and a long scenario holds one copy of each keyword.
 */
export const WORDS: ReadonlyMap<string, string> = new Map(
  [
    ...HEADER_KEYWORDS,
    ...COMMON_KEYWORDS,
    ...KERNEL_KEYWORDS,
    ...TABLE_KEYWORDS,
    ...PROCESS_KEYWORDS,
    ...THREAD_KEYWORDS,
    ...TOP_KEYWORDS,
    ...[...ARCHES].flatMap(([arch, options]) => [arch, ...[...options].flatMap(([key, values]) => [key, ...values])]),
    ...FEATURES,
    ...THP_MODES,
    ...ACCOUNTING_MODES,
    ...ADVICES,
    ...LEVELS,
    ...LEAF_CHOICES,
    ...LEAF_KINDS,
    ...BOOLEANS,
    ...ERRNOS,
    ...RACE_KINDS,
    ...VARIANTS,
    ...MMAP_FLAGS,
    ...LOCK_MODES,
    ...VALID_STATES,
    ...PREDEFINED_LOCKS,
    ...QUERY_NAMES,
    // Protections, and the words that join a statement's parts.
    ...['r', 'w', 'x', 'rw', 'rx', 'wx', 'rwx'],
    ...['as', 'at', 'diagnostic', 'dontunmap', 'else', 'huge', 'leaf', 'nocont', 'noctor', 'nodtor', 'onfault', 'pages', 'phys'],
    ...['prot', 'race', 'scenario', 'set', 'size', 'thread', 'to', 'value', 'variant', 'with'],
  ].map((word) => [word, word]),
);
