// The JSON shapes the server returns for runs and the inspector. Imports nothing: the webview
// and the extension read these types, and they cross process boundaries as plain JSON.

/** Bumped when a shape here or in webview.ts changes incompatibly. */
export const PROTOCOL_VERSION = 1;

/** A zero-based line and UTF-16 character, as in LSP. */
export interface Position {
  line: number;
  character: number;
}

/** A half-open range of positions, as in LSP. */
export interface Range {
  start: Position;
  end: Position;
}

export type Severity = 'error' | 'warning' | 'information' | 'hint';

/** Another place involved in a diagnostic (spec §10 "related information"). */
export interface RelatedLocation {
  range: Range;
  message: string;
}

/** One finding of a run, placed in the document (spec §10). */
export interface RunDiagnostic {
  /** The spec §10 code, e.g. `partial-block-overlap`. */
  code: string;
  severity: Severity;
  range: Range;
  message: string;
  related: RelatedLocation[];
  /** True when the scenario expected the finding (spec §6); its severity is already lowered. */
  expected: boolean;
}

/** Text a statement printed: a ptdump, a check_wx verdict, an exploration summary. */
export interface RunOutput {
  range: Range;
  kind: string;
  text: string;
}

export interface RunStats {
  /** Statements executed, plus explorer steps. */
  steps: number;
  /** Schedules the explorer completed. */
  schedules: number;
  /** Distinct states the explorer visited. */
  states: number;
  /** Wall-clock milliseconds of the run, measured by the server. */
  ms: number;
}

/**
 * One executed statement. Counts and lists are empty or zero when the engine keeps no history
 * for the run.
 */
export interface StepSummary {
  /** Position in `RunResult.steps`; what `InspectorTreeParams.step` refers to. */
  index: number;
  range: Range;
  /** `kernel`, or the process or thread the statement ran in. */
  space: string;
  /** The kernel function the statement models, e.g. `__create_pgd_mapping`. */
  helper: string;
  /** One line saying what happened. */
  summary: string;
  /** The statement's outcome as written after `=>` (`ok`, `EINVAL`, `segv`, …). */
  result: string;
  tablesAllocated: number;
  tablesFreed: number;
  entriesWritten: number;
  /** Level names touched, outermost first (`pgd`, `pud`, …). */
  levels: string[];
  /** Counter values after the statement, by query name (`tlb_flushes`, `barriers`, …). */
  counters: Record<string, number>;
}

/**
 * What the race explorer found for one `concurrent` block (spec §9). The shortest schedule to
 * each race is the related information of its `race` diagnostic.
 */
export interface ExplorerResult {
  range: Range;
  schedules: number;
  states: number;
  /** Race kinds reached, e.g. `use_after_free`; empty when none is reachable. */
  races: string[];
  /** False when a budget or cancellation cut the exploration short. */
  complete: boolean;
  summary: string;
  /** The block's threads, in block order. */
  threads?: string[];
  /** For each race found, its shortest schedule with the tables it touches (the inspector). */
  counterexamples?: CounterexampleInfo[];
}

/** A kernel table as the race explorer saw it: only entries that are not none. */
export interface CounterexampleTable {
  /** The table's ledger id. */
  id: number;
  level: string;
  /** Virtual address of its first entry. */
  va: string;
  pa: string;
  freed: boolean;
  entries: { index: number; value: string }[];
  /** For a table a step of the schedule allocated: that step (1-based); it does not exist before. */
  createdAt?: number;
}

/** One atomic step of a counterexample schedule. */
export interface CounterexampleStepInfo {
  /** 1-based position in the schedule. */
  index: number;
  thread: string;
  /** The statement the thread was executing. */
  range: Range;
  /** What it did, in the kernel's words. */
  action: string;
  /** Entries it wrote. */
  changes: { table: number; index: number; before: string; after: string }[];
  /** Ledger ids of the tables it freed. */
  freed: number[];
  /** Ledger ids of the tables it read, wrote or freed. */
  touched: number[];
}

/** The shortest schedule the explorer found to one race. */
export interface CounterexampleInfo {
  /** The race kind, e.g. `use_after_free`. */
  kind: string;
  message: string;
  /** The statement where the violation happens. */
  range: Range;
  /** False when the budget ran out before a shorter schedule could be ruled out. */
  shortest: boolean;
  /** The tables the schedule touches, as they were when the block began. */
  tables: CounterexampleTable[];
  steps: CounterexampleStepInfo[];
}

/** The whole result of running one scenario: the answer to `ptscn/runScenario`. */
export interface RunResult {
  uri: string;
  /** The document version the run belongs to. */
  version: number;
  scenarioIndex: number;
  title: string;
  /** The `scenario "title"` head. */
  range: Range;
  /** The architecture the scenario runs on, e.g. `arm64, 4K granule, 48-bit VA, 4 levels`. */
  arch: string;
  /** False when any diagnostic has error severity. */
  ok: boolean;
  /** `static-errors` when the scenario did not run because it does not parse or check. */
  status: 'completed' | 'budget' | 'cancelled' | 'static-errors';
  diagnostics: RunDiagnostic[];
  outputs: RunOutput[];
  stats: RunStats;
  steps: StepSummary[];
  explorer: ExplorerResult[];
  /** The kernel ptdump of the state after the last step, when the request asked for it. */
  ptdump?: string;
}

/** What the inspector shows of one state: the table tree, the ledger, the ptdump text, counters. */
export type InspectorView = 'tree' | 'ledger' | 'ptdump' | 'counters';

/** How an entry reads: none, a table pointer, a leaf (page or block), a PTE marker, non-present. */
export type InspectorEntryKind = 'none' | 'table' | 'leaf' | 'marker' | 'nonpresent';

/** The kinds the filter offers: `invalid` is a non-present entry that is not a marker. */
export type InspectorKindFilter = 'leaf' | 'table' | 'marker' | 'invalid' | 'none';

/**
 * Which entries the tree shows. Every field is optional; an absent field does not filter. An
 * entry is shown when it matches every field given, and a table entry also when anything below
 * it matches (so the path to each match stays visible).
 */
export interface InspectorFilter {
  /** Level names (`pgd` … `pte`). */
  levels?: string[];
  kinds?: InspectorKindFilter[];
  /** Only entries marked with a finding (W+X, partial overlap, guard marker, unlinked table). */
  findingsOnly?: boolean;
  /** Only entries the selected step added, removed or changed. */
  changesOnly?: boolean;
  /** Address range, as hex (`0x…`) or decimal text: first byte, and one past the last. */
  vaStart?: string;
  vaEnd?: string;
}

/** A finding the inspector marks on a row. */
export interface InspectorFinding {
  /** `wx`: W+X kernel leaf; `overlap`: the block a partial overlap hit; `guard`: a guard marker; `unlinked`: a table nothing links; `leak`: a table a ctor-dtor-leak finding names. */
  code: 'wx' | 'overlap' | 'guard' | 'unlinked' | 'leak';
  message: string;
  /** The step (a `StepSummary.index`) whose statement caused it; -1 when unknown. */
  step: number;
}

/** A page-table page as the ledger saw it after the selected step. */
export interface InspectorTablePage {
  /** Ledger id. */
  id: number;
  /** Linux level name, e.g. `pmd`. */
  level: string;
  /** The architecture's name for the level, e.g. `L2`, `PD`, `level 1`. */
  archLevel: string;
  pa: string;
  bytes: number;
  /** `page`, `kmem_cache`, `kmalloc` or `static`. */
  allocator: string;
  /** The name a low-level statement gave it. */
  name?: string;
  /** `pagetable_*_ctor` ran and no dtor since: the page counts in NR_PAGETABLE. */
  constructed: boolean;
  /** Linked into a parent entry. */
  linked: boolean;
  /** The step that allocated it; -1 for the static PGD. */
  allocStep: number;
  /** The step that freed it; -1 while live. */
  freeStep: number;
  /** Entries that are not none. */
  used: number;
}

/** A row of the inspector's table tree. */
export interface InspectorRow {
  /** Stable across steps for the same table or entry, so expansion survives stepping. */
  id: string;
  depth: number;
  kind: 'table' | 'entry' | 'hole' | 'note';
  /** Level name, e.g. `pmd`; empty for notes. */
  level: string;
  /** e.g. `pmd[3] 0xffff000000600000`. */
  label: string;
  /** e.g. the descriptor in hex and its decoded bits. */
  detail: string;
  hasChildren: boolean;
  isExpanded: boolean;
  /** True when the selected step wrote this entry or allocated this table. */
  isChanged: boolean;
  /** Position of the parent row in the whole tree; -1 for top rows. */
  parentOffset?: number;
  entryKind?: InspectorEntryKind;
  /** Entry index; for a coalesced run its first index. */
  index?: number;
  /** For a coalesced run: its last index (inclusive). */
  last?: number;
  /** First virtual address mapped, and the last byte (inclusive). */
  va?: string;
  vaLast?: string;
  /** Bytes one entry maps, e.g. `4K`, `2M`. */
  size?: string;
  /** The descriptor in hex (the first entry's, for a run). */
  value?: string;
  /** The descriptor before the step, when the step changed it. */
  before?: string;
  /** The descriptor decoded: valid, table/block/page, protections, PXN/UXN/NX, cont, marker. */
  decoded?: string[];
  /** The architecture's names of the descriptor bits that are set (`PTE_PXN`, `_PAGE_NX`, …). */
  bits?: string[];
  /** The architecture's name for the level. */
  archLevel?: string;
  change?: 'added' | 'removed' | 'changed';
  findings?: InspectorFinding[];
  /** The step whose statement gave the entry its value; -1 when it had it before the run. */
  originStep?: number;
  /** For the table a row stands for or points to. */
  table?: InspectorTablePage;
  /** With a filter: matching entries in this row's subtree. */
  matches?: number;
}

/** A page-table page in the ledger view, with its life events. */
export interface InspectorLedgerRow extends InspectorTablePage {
  space: string;
  /** At the selected step: not allocated yet, live, or freed. */
  state: 'unallocated' | 'live' | 'freed';
  /** Live but linked nowhere after the step. */
  unlinked: boolean;
  /** A ctor-dtor-leak finding names this table. */
  leaked: boolean;
  events: { kind: string; step: number; detail?: string }[];
}

/** The counters after the selected step. */
export interface InspectorCounters {
  tlbFlushes: number;
  barriers: number;
  directMapSplits: number;
  spaces: {
    name: string;
    kernel: boolean;
    /** Live table pages by level name. */
    tablesByLevel: Record<string, number>;
    /** Bytes of live table pages whose ctor ran (NR_PAGETABLE). */
    accountedBytes: number;
    /** pgtables_bytes as mm_inc_nr_* counts the linked PTE, PMD and PUD tables (processes). */
    pgtablesBytes: number;
    /** mm->pgtables_bytes as the run left it. */
    finalPgtablesBytes: number;
  }[];
}

/** Which slice of the table tree at a step to fetch. */
export interface InspectorTreeParams {
  uri: string;
  version: number;
  scenarioIndex: number;
  /** A `StepSummary.index`, or -1 for the state after the last step. */
  step: number;
  /** `kernel` or a process name. */
  space: string;
  /** Ids of expanded rows; children of other rows are not returned. */
  expanded: string[];
  /** First visible row to return; -1 asks for the page around `focus` (with `focusChange`). */
  offset: number;
  /** Rows to return at most. */
  count: number;
  /** Which view to page; `tree` when absent. `ledger` and `ptdump` page their rows and lines. */
  view?: InspectorView;
  /** Every table entry and every run (but runs of none entries) is expanded, except `collapsed`. */
  expandAll?: boolean;
  /** Ids of rows the user collapsed (they win over `expandAll` and the filter's expansion). */
  collapsed?: string[];
  filter?: InspectorFilter;
  /** Find the first entry the step changed, expand the path to it and answer `focus`. */
  focusChange?: boolean;
}

export interface InspectorTreeResult {
  rows: InspectorRow[];
  /** Visible rows in all, for the scroll bar. */
  total: number;
  /** The address spaces that exist at that step. */
  spaces: string[];
  /** The step shown (a `-1` request resolves to the last). */
  step?: number;
  /** Position of the first row returned. */
  offset?: number;
  /** With `focusChange`: the row to select, where it is, and the ids expanded to reach it. */
  focus?: { id: string; offset: number; expanded: string[] };
  /** With `view: 'ledger'`: one page of the ledger (`total` counts its rows). */
  ledger?: InspectorLedgerRow[];
  /** With `view: 'ptdump'`: one page of the kernel's ptdump lines (`total` counts them). */
  lines?: string[];
  /** With `view: 'counters'`. */
  counters?: InspectorCounters;
}
