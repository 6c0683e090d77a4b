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
  /** First visible row to return. */
  offset: number;
  /** Rows to return at most. */
  count: number;
}

export interface InspectorTreeResult {
  rows: InspectorRow[];
  /** Visible rows in all, for the scroll bar. */
  total: number;
  /** The address spaces that exist at that step. */
  spaces: string[];
}
