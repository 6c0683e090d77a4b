// The scenario program: the syntax tree the parser builds and the engine runs.
//
// One tree serves both sides. Every node carries the source span it came from, so the engine can
// attach its findings to the statement that caused them and the language server can answer
// hovers, renames and references from the same nodes. Spans are offsets, never line/column.

/** A half-open range of UTF-16 offsets into the document text. */
export interface Span {
  start: number;
  end: number;
}

/** An identifier as written, with where it was written. */
export interface Name {
  text: string;
  span: Span;
}

/** A keyword-like word at a fixed position (an option value, an advice, a level name). */
export interface Word {
  text: string;
  span: Span;
}

// ---------------------------------------------------------------------------------------------
// Expressions

/**
 * Size units written right after a number (spec §1). `K`..`T` and `KiB`..`TiB` are powers of
 * 1024; `p` is pages of the scenario's base page size, so it is resolved at run time.
 */
export type SizeUnit = 'K' | 'M' | 'G' | 'T' | 'p';

/**
 * A literal's `exact` field: its digits when below 2^30, else -1. Evaluation reads it instead of
 * `digits` where it can (exec/context.ts `exactNum`): a small integer is stored inside the node,
 * while a BigInt, or a double past the small-integer range, is an object of its own elsewhere in
 * the heap, one more cache miss per literal of every statement run. Once any literal stored a
 * double there, V8 would store every literal's `exact` that way.
 */
export function exactDigits(digits: bigint): number {
  return digits < 1n << 30n ? Number(digits) : -1;
}

export type Expr = NumberExpr | NameExpr | BinaryExpr | QueryExpr | SymbolExpr;

/** A number literal. `digits` is the exact unsigned value before the unit is applied. */
export interface NumberExpr {
  kind: 'number';
  digits: bigint;
  /** `digits` when below 2^30, else -1 (`exactDigits`). */
  exact: number;
  unit?: SizeUnit;
  span: Span;
}

export interface NameExpr {
  kind: 'name';
  name: Name;
  span: Span;
}

export interface BinaryExpr {
  kind: 'binary';
  op: '+' | '-' | '*';
  left: Expr;
  right: Expr;
  span: Span;
  /**
   * A `+` chain of literals and at most one name (`r + 256M + 12p`), summed when it is parsed
   * (`binary`): the name, the bytes of its plain and K/M/G/T literals, and its count of `p`
   * pages. `sumBytes` is -1 for any other expression, or when a sum reaches 2^30.
   */
  sumName: string | undefined;
  sumBytes: number;
  sumPages: number;
}

/** Small sums only: kept below 2^30, a sum is stored inside its node (see exactDigits). */
const SUM_LIMIT = 2 ** 30;
/** The byte units as Numbers (`p` depends on the profile). */
export const UNIT_BYTES = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 } as const;

/**
 * A binary expression, with its sum worked out when it is a `+` chain of literals and at most
 * one name. Evaluation then reads the one node, not the chain of nodes under it: every small
 * statement evaluates its arguments, and the nodes of a long scenario are rarely in the cache
 * (exec/context.ts `exactNum`). Adding non-negative terms left to right or at once gives the same
 * value, and every partial sum lies below the total, so the sum fails exactly where the chain would.
 */
export function binary(op: BinaryExpr['op'], left: Expr, right: Expr, span: Span): BinaryExpr {
  const expr: BinaryExpr = { kind: 'binary', op, left, right, span, sumName: undefined, sumBytes: -1, sumPages: 0 };
  if (op !== '+') return expr;
  const a = summand(left);
  const b = summand(right);
  if (a === undefined || b === undefined || (a.name !== undefined && b.name !== undefined)) return expr;
  const bytes = a.bytes + b.bytes;
  const pages = a.pages + b.pages;
  if (bytes >= SUM_LIMIT || pages >= SUM_LIMIT) return expr;
  expr.sumName = a.name ?? b.name;
  expr.sumBytes = bytes;
  expr.sumPages = pages;
  return expr;
}

function summand(expr: Expr): { name: string | undefined; bytes: number; pages: number } | undefined {
  switch (expr.kind) {
    case 'name':
      return { name: expr.name.text, bytes: 0, pages: 0 };
    case 'number': {
      if (expr.exact < 0) return undefined;
      if (expr.unit === 'p') return { name: undefined, bytes: 0, pages: expr.exact };
      const bytes = expr.unit === undefined ? expr.exact : expr.exact * UNIT_BYTES[expr.unit];
      return bytes < SUM_LIMIT ? { name: undefined, bytes, pages: 0 } : undefined;
    }
    case 'binary':
      return expr.sumBytes < 0 ? undefined : { name: expr.sumName, bytes: expr.sumBytes, pages: expr.sumPages };
    default:
      return undefined;
  }
}

/**
 * A symbolic value on the right of a comparison with a symbolic query: a leaf kind (`pmd`), a
 * protection (`rw`, `none`) or a boolean (`true`).
 */
export interface SymbolExpr {
  kind: 'symbol';
  text: string;
  span: Span;
}

/** Queries of spec §7. Numeric ones may stand wherever a number can. */
export type QueryName =
  | 'vmas'
  | 'tables'
  | 'pgtables_bytes'
  | 'accounted'
  | 'leaf'
  | 'prot'
  | 'guard'
  | 'value'
  | 'wx_pages'
  | 'nonuxn_pages'
  | 'tlb_flushes'
  | 'barriers'
  | 'direct_map_splits';

/** Queries whose value is a symbol rather than a number. */
export const SYMBOLIC_QUERIES: ReadonlySet<QueryName> = new Set(['leaf', 'prot', 'guard']);

/** Queries that take an address (and, at top level, an address space first). */
export const ADDRESS_QUERIES: ReadonlySet<QueryName> = new Set(['leaf', 'prot', 'guard', 'value']);

/** Queries that take a process name (optional inside a block). */
export const SPACE_QUERIES: ReadonlySet<QueryName> = new Set(['vmas', 'tables', 'pgtables_bytes', 'accounted']);

export interface QueryExpr {
  kind: 'query';
  query: QueryName;
  /** The name as written, for hovers and completion. */
  queryName: Word;
  /**
   * The address space: a process name or `kernel`. Absent when the query was written without it
   * (inside a block, or a global counter).
   */
  space?: Name;
  /** `tables(P, LEVEL)`: the level word. */
  level?: Word;
  /** Address queries: the address. */
  addr?: Expr;
  span: Span;
}

// ---------------------------------------------------------------------------------------------
// Results on a statement (spec §6)

export type ResultSpec =
  | { kind: 'ok'; span: Span }
  | { kind: 'errno'; errno: Word; span: Span }
  | { kind: 'segv'; span: Span }
  | { kind: 'value'; value: Expr; span: Span };

// ---------------------------------------------------------------------------------------------
// Statements

interface StmtBase {
  span: Span;
  /** The statement keyword as written (e.g. `map`), for hovers and semantic tokens. */
  keyword: Word;
  /** `=> RESULT`, when written. */
  result?: ResultSpec;
}

// Header statements (spec §2) -------------------------------------------------------------------

export interface ArchOption {
  key: Word;
  value: Word;
  span: Span;
}

export interface ArchStmt extends StmtBase {
  kind: 'arch';
  arch: Word;
  options: ArchOption[];
}

export interface FeatureStmt extends StmtBase {
  kind: 'feature';
  features: Word[];
}

export interface ThpStmt extends StmtBase {
  kind: 'thp';
  mode: Word;
}

export interface AccountingStmt extends StmtBase {
  kind: 'accounting';
  mode: Word;
}

export type HeaderStmt = ArchStmt | FeatureStmt | ThpStmt | AccountingStmt;

// Statements valid in several places ------------------------------------------------------------

export interface LetStmt extends StmtBase {
  kind: 'let';
  name: Name;
  value: Expr;
}

export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';

export interface ExpectStmt extends StmtBase {
  kind: 'expect';
  left: Expr;
  op: CompareOp;
  right: Expr;
}

// Kernel statements (spec §4) -------------------------------------------------------------------

export type LeafChoice = 'auto' | 'pte' | 'pmd' | 'pud';

export interface MapStmt extends StmtBase {
  kind: 'map';
  va: Expr;
  size: Expr;
  phys: Expr;
  prot: Word;
  leaf?: Word;
  nocont?: Word;
}

export interface UnmapStmt extends StmtBase {
  kind: 'unmap';
  va: Expr;
  size: Expr;
}

export interface VmallocStmt extends StmtBase {
  kind: 'vmalloc';
  name: Name;
  size: Expr;
  prot?: Word;
  huge?: Word;
}

export interface VfreeStmt extends StmtBase {
  kind: 'vfree';
  name: Name;
}

export type SetMemoryOp = 'ro' | 'rw' | 'x' | 'nx';

export interface SetMemoryStmt extends StmtBase {
  kind: 'set_memory';
  op: SetMemoryOp;
  addr: Expr;
  pages: Expr;
}

export interface SetMemoryValidStmt extends StmtBase {
  kind: 'set_memory_valid';
  addr: Expr;
  pages: Expr;
  /** `on` or `off`. */
  valid: Word;
}

export interface SetDirectMapStmt extends StmtBase {
  kind: 'set_direct_map';
  op: 'invalid' | 'default';
  addr: Expr;
}

export interface AllocPgtablePageStmt extends StmtBase {
  kind: 'alloc_pgtable_page';
  name: Name;
}

export interface FreePgtablePageStmt extends StmtBase {
  kind: 'free_pgtable_page';
  name: Name;
}

export interface PtdumpStmt extends StmtBase {
  kind: 'ptdump';
  addr?: Expr;
  size?: Expr;
}

export interface CheckWxStmt extends StmtBase {
  kind: 'check_wx';
}

// Table-page statements (spec §8), valid in kernel and process blocks -------------------------

export type LevelName = 'pgd' | 'p4d' | 'pud' | 'pmd' | 'pte';

export interface PgtableAllocStmt extends StmtBase {
  kind: 'pgtable_alloc';
  level: Word;
  name: Name;
  noctor?: Word;
}

export interface PgtableCtorStmt extends StmtBase {
  kind: 'pgtable_ctor' | 'pgtable_dtor';
  name: Name;
}

export interface PgtableFreeStmt extends StmtBase {
  kind: 'pgtable_free';
  name: Name;
  nodtor?: Word;
}

export interface PopulateStmt extends StmtBase {
  kind: 'populate';
  addr: Expr;
  name: Name;
}

export interface ClearStmt extends StmtBase {
  kind: 'clear';
  level: Word;
  addr: Expr;
}

// Process statements (spec §5) ------------------------------------------------------------------

export interface MmapStmt extends StmtBase {
  kind: 'mmap';
  name: Name;
  at?: Expr;
  size: Expr;
  prot: Word;
  /** Flags as written: `shared`, `file`, `populate`, `locked`, `wipeonfork`. */
  flags: Word[];
}

export interface MunmapStmt extends StmtBase {
  kind: 'munmap';
  addr: Expr;
  size: Expr;
}

export interface MprotectStmt extends StmtBase {
  kind: 'mprotect';
  addr: Expr;
  size: Expr;
  prot: Word;
}

export type Advice =
  | 'guard_install'
  | 'guard_remove'
  | 'dontneed'
  | 'free'
  | 'cold'
  | 'pageout'
  | 'hugepage'
  | 'nohugepage'
  | 'collapse'
  | 'wipeonfork'
  | 'keeponfork'
  | 'dontfork'
  | 'dofork'
  | 'populate_read'
  | 'populate_write';

export interface MadviseStmt extends StmtBase {
  kind: 'madvise';
  addr: Expr;
  size: Expr;
  advice: Word;
}

export interface MremapStmt extends StmtBase {
  kind: 'mremap';
  addr: Expr;
  size: Expr;
  to: Expr;
  newSize?: Expr;
  dontunmap?: Word;
}

export interface MlockStmt extends StmtBase {
  kind: 'mlock';
  addr: Expr;
  size: Expr;
  onfault?: Word;
}

export interface MunlockStmt extends StmtBase {
  kind: 'munlock';
  addr: Expr;
  size: Expr;
}

export interface AccessStmt extends StmtBase {
  kind: 'read' | 'write' | 'exec';
  addr: Expr;
  /** `write ADDR value N`. */
  value?: Expr;
}

export interface TouchStmt extends StmtBase {
  kind: 'touch';
  addr: Expr;
  size: Expr;
  /** `read` (default) or `write`. */
  access?: Word;
}

// Thread statements (spec §9) -------------------------------------------------------------------

export interface LockStmt extends StmtBase {
  kind: 'lock' | 'unlock';
  lock: Name;
  /** `read` or `write`. */
  mode: Word;
}

export interface StaticBranchStmt extends StmtBase {
  kind: 'static_branch_enable' | 'static_branch_disable';
  key: Name;
}

export interface IfStmt extends StmtBase {
  kind: 'if';
  key: Name;
  then: ThreadStmt[];
  else?: ThreadStmt[];
  elseKeyword?: Word;
}

export interface WalkStmt extends StmtBase {
  kind: 'walk';
  /** Always `kernel` in v1. */
  space: Word;
  addr?: Expr;
  size?: Expr;
}

export type FreeVariant = 'unpatched' | 'static_key' | 'trylock';

export interface FreeTableStmt extends StmtBase {
  kind: 'pud_free_pmd_page' | 'pmd_free_pte_page';
  addr: Expr;
  variant?: Word;
}

export interface LoadStmt extends StmtBase {
  kind: 'load';
  level: Word;
  addr: Expr;
}

/** One operand of `set`/`clear` in `rmw`: a descriptor bit name or a number. */
export type BitsItem = { kind: 'bit'; name: Word } | { kind: 'value'; value: Expr };

export interface RmwStmt extends StmtBase {
  kind: 'rmw';
  level: Word;
  addr: Expr;
  set: BitsItem[];
  clear: BitsItem[];
}

// Top-level statements --------------------------------------------------------------------------

export interface ForkStmt extends StmtBase {
  kind: 'fork';
  parent: Name;
  child: Name;
}

export interface ExitStmt extends StmtBase {
  kind: 'exit';
  process: Name;
}

export interface ExpectRaceStmt extends StmtBase {
  kind: 'expect_race';
  /** `none`, `use_after_free`, `lost_update` or `deadlock`. */
  race: Word;
}

export interface ExpectDiagnosticStmt extends StmtBase {
  kind: 'expect_diagnostic';
  code: Word;
}

export interface KernelBlock extends StmtBase {
  kind: 'kernel';
  body: KernelStmt[];
  /** Offset of the closing brace, for folding. */
  closeSpan: Span;
}

export interface ProcessBlock extends StmtBase {
  kind: 'process';
  name: Name;
  body: ProcessStmt[];
  closeSpan: Span;
}

export interface ThreadBlock extends StmtBase {
  kind: 'thread';
  name: Name;
  body: ThreadStmt[];
  closeSpan: Span;
}

export interface ConcurrentBlock extends StmtBase {
  kind: 'concurrent';
  threads: ThreadBlock[];
  closeSpan: Span;
}

export type CommonStmt = LetStmt | ExpectStmt;

export type TableStmt = PgtableAllocStmt | PgtableCtorStmt | PgtableFreeStmt | PopulateStmt | ClearStmt;

export type KernelOnlyStmt =
  | MapStmt
  | UnmapStmt
  | VmallocStmt
  | VfreeStmt
  | SetMemoryStmt
  | SetMemoryValidStmt
  | SetDirectMapStmt
  | AllocPgtablePageStmt
  | FreePgtablePageStmt
  | PtdumpStmt
  | CheckWxStmt;

export type KernelStmt = KernelOnlyStmt | TableStmt | CommonStmt;

export type ProcessOnlyStmt =
  | MmapStmt
  | MunmapStmt
  | MprotectStmt
  | MadviseStmt
  | MremapStmt
  | MlockStmt
  | MunlockStmt
  | AccessStmt
  | TouchStmt;

export type ProcessStmt = ProcessOnlyStmt | TableStmt | CommonStmt;

export type ThreadOnlyStmt = LockStmt | StaticBranchStmt | IfStmt | WalkStmt | FreeTableStmt | LoadStmt | RmwStmt;

export type ThreadStmt = ThreadOnlyStmt | KernelOnlyStmt | TableStmt;

export type TopStmt =
  | HeaderStmt
  | KernelBlock
  | ProcessBlock
  | ConcurrentBlock
  | ForkStmt
  | ExitStmt
  | ExpectRaceStmt
  | ExpectDiagnosticStmt
  | CommonStmt;

export type Stmt = TopStmt | KernelStmt | ProcessStmt | ThreadStmt | ThreadBlock;

export interface Scenario {
  title: string;
  titleSpan: Span;
  /** The `scenario` keyword through the closing brace. */
  span: Span;
  /** The `scenario "title"` head, where lenses and scenario-level findings go. */
  headSpan: Span;
  closeSpan: Span;
  body: TopStmt[];
}

export interface Program {
  scenarios: Scenario[];
}
