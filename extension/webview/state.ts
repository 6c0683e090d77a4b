// The page's own state: what the user chose (tab, step, pin, space, expansion, filters, scroll),
// kept with `setState` so a hidden and re-shown panel comes back as it was (style.md B5). Pure
// functions only; app.ts owns the instance.

import type { InspectorFilter, InspectorKindFilter, InspectorRow, InspectorTreeParams, RunResult } from '../../server/src/protocol/result';

export type Tab = 'tree' | 'ptdump' | 'ledger' | 'counters' | 'steps' | 'findings' | 'explorer';

export const TABS: readonly Tab[] = ['tree', 'ptdump', 'ledger', 'counters', 'steps', 'findings', 'explorer'];

export const LEVEL_NAMES = ['pgd', 'p4d', 'pud', 'pmd', 'pte'] as const;
export const KIND_NAMES: readonly InspectorKindFilter[] = ['leaf', 'table', 'marker', 'invalid', 'none'];

export interface FilterState {
  changesOnly: boolean;
  findingsOnly: boolean;
  /** Levels to show; empty shows all. */
  levels: string[];
  /** Kinds to show; empty shows all. */
  kinds: InspectorKindFilter[];
  vaStart: string;
  vaEnd: string;
}

export interface UiState {
  tab: Tab;
  /** A `StepSummary.index`; -1 before any result. */
  step: number;
  /** When pinned, the cursor no longer moves the step. */
  pinned: boolean;
  space: string;
  expanded: string[];
  collapsed: string[];
  expandAll: boolean;
  filter: FilterState;
  /** The tree row with the keyboard focus, by position and id. */
  activeOffset: number;
  activeId: string;
  /** Scroll position of each list, in unscaled pixels. */
  scroll: Partial<Record<Tab, number>>;
  explorer: { exploration: number; counterexample: number; step: number };
}

/** The last page of tree rows shown, so a restored panel paints before the host answers. */
export interface RowSnapshot {
  key: string;
  offset: number;
  total: number;
  rows: InspectorRow[];
}

export interface PersistedState {
  version: 1;
  result?: RunResult;
  ui: UiState;
  rows?: RowSnapshot;
}

export function defaultUi(): UiState {
  return {
    tab: 'tree',
    step: -1,
    pinned: false,
    space: 'kernel',
    expanded: [],
    collapsed: [],
    expandAll: false,
    filter: { changesOnly: false, findingsOnly: false, levels: [], kinds: [], vaStart: '', vaEnd: '' },
    activeOffset: 0,
    activeId: '',
    scroll: {},
    explorer: { exploration: 0, counterexample: 0, step: 0 },
  };
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const strings = (value: unknown, max = 10_000): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string').slice(0, max) : []);
const int = (value: unknown, fallback: number): number => (typeof value === 'number' && Number.isInteger(value) ? value : fallback);
const text = (value: unknown, max = 40): string => (typeof value === 'string' ? value.slice(0, max) : '');

/** Reads a saved state defensively: anything malformed falls back to the defaults. */
export function restoreState(raw: unknown): PersistedState {
  const ui = defaultUi();
  if (!isObject(raw) || raw.version !== 1 || !isObject(raw.ui)) return { version: 1, ui };
  const saved = raw.ui;
  if (typeof saved.tab === 'string' && (TABS as readonly string[]).includes(saved.tab)) ui.tab = saved.tab as Tab;
  ui.step = int(saved.step, -1);
  ui.pinned = saved.pinned === true;
  ui.space = text(saved.space, 100) || 'kernel';
  ui.expanded = strings(saved.expanded);
  ui.collapsed = strings(saved.collapsed);
  ui.expandAll = saved.expandAll === true;
  if (isObject(saved.filter)) {
    const f = saved.filter;
    ui.filter = {
      changesOnly: f.changesOnly === true,
      findingsOnly: f.findingsOnly === true,
      levels: strings(f.levels).filter((l) => (LEVEL_NAMES as readonly string[]).includes(l)),
      kinds: strings(f.kinds).filter((k): k is InspectorKindFilter => (KIND_NAMES as readonly string[]).includes(k)) as InspectorKindFilter[],
      vaStart: text(f.vaStart),
      vaEnd: text(f.vaEnd),
    };
  }
  ui.activeOffset = Math.max(0, int(saved.activeOffset, 0));
  ui.activeId = text(saved.activeId, 200);
  if (isObject(saved.scroll)) {
    for (const tab of TABS) {
      const top = saved.scroll[tab];
      if (typeof top === 'number' && Number.isFinite(top) && top >= 0) ui.scroll[tab] = top;
    }
  }
  if (isObject(saved.explorer)) {
    ui.explorer = { exploration: Math.max(0, int(saved.explorer.exploration, 0)), counterexample: Math.max(0, int(saved.explorer.counterexample, 0)), step: Math.max(0, int(saved.explorer.step, 0)) };
  }
  const state: PersistedState = { version: 1, ui };
  if (isObject(raw.result) && typeof raw.result.uri === 'string' && Array.isArray(raw.result.steps)) state.result = raw.result as unknown as RunResult;
  if (isObject(raw.rows) && typeof raw.rows.key === 'string' && Array.isArray(raw.rows.rows)) {
    state.rows = { key: raw.rows.key, offset: int(raw.rows.offset, 0), total: int(raw.rows.total, 0), rows: (raw.rows.rows as InspectorRow[]).slice(0, 200) };
  }
  return state;
}

/** The filter as the protocol sends it, or undefined when nothing filters. */
export function protocolFilter(filter: FilterState): InspectorFilter | undefined {
  const out: InspectorFilter = {};
  if (filter.changesOnly) out.changesOnly = true;
  if (filter.findingsOnly) out.findingsOnly = true;
  if (filter.levels.length > 0) out.levels = [...filter.levels];
  if (filter.kinds.length > 0) out.kinds = [...filter.kinds];
  if (filter.vaStart.trim()) out.vaStart = filter.vaStart.trim();
  if (filter.vaEnd.trim()) out.vaEnd = filter.vaEnd.trim();
  return Object.keys(out).length > 0 ? out : undefined;
}

export function isFiltering(filter: FilterState): boolean {
  return protocolFilter(filter) !== undefined;
}

/** True when the address text is one the server understands (hex or decimal), or empty. */
export function isAddressText(value: string): boolean {
  const clean = value.trim().replace(/_/g, '');
  return clean === '' || /^(0x[0-9a-f]{1,16}|[0-9]{1,20})$/i.test(clean);
}

/** Tree parameters for the current state (without offset and count). */
export function treeParams(result: RunResult, ui: UiState): Omit<InspectorTreeParams, 'offset' | 'count'> {
  const params: Omit<InspectorTreeParams, 'offset' | 'count'> = {
    uri: result.uri,
    version: result.version,
    scenarioIndex: result.scenarioIndex,
    step: ui.step,
    space: ui.space,
    expanded: [...ui.expanded],
  };
  if (ui.collapsed.length > 0) params.collapsed = [...ui.collapsed];
  if (ui.expandAll) params.expandAll = true;
  const filter = protocolFilter(ui.filter);
  if (filter) params.filter = filter;
  return params;
}

/** What identifies a tree's rows: two queries with one key have the same rows at the same offsets. */
export function treeKey(result: RunResult, ui: UiState): string {
  return JSON.stringify(treeParams(result, ui));
}

/** Expands a collapsed row or collapses an expanded one, keeping the two lists disjoint. */
export function toggleRow(ui: UiState, row: Pick<InspectorRow, 'id' | 'isExpanded'>): void {
  const without = (list: string[]): string[] => list.filter((id) => id !== row.id);
  if (row.isExpanded) {
    ui.expanded = without(ui.expanded);
    if (!ui.collapsed.includes(row.id)) ui.collapsed = [...ui.collapsed, row.id];
  } else {
    ui.collapsed = without(ui.collapsed);
    if (!ui.expanded.includes(row.id)) ui.expanded = [...ui.expanded, row.id];
  }
}

/** The step the page shows for a result: the chosen one when it exists, else the last. */
export function effectiveStep(result: RunResult | undefined, step: number): number {
  if (!result || result.steps.length === 0) return -1;
  return step >= 0 && step < result.steps.length ? step : result.steps.length - 1;
}

/** The step whose statement a range starts on, for findings and editor positions. */
export function stepAtLine(result: RunResult, line: number): number {
  let found = -1;
  for (const step of result.steps) if (step.range.start.line <= line && line <= step.range.end.line) found = step.index;
  return found;
}

/** Whether a step's `space` names an address space (`kernel` or a process), not `top`, `concurrent` or a thread. */
export function isSpaceName(space: string): boolean {
  return space !== 'top' && space !== 'concurrent' && !space.startsWith('thread ') && space.length > 0;
}
