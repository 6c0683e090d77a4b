// Messages between the extension host and the inspector webview. Imports only result.ts.
//
// Neither side trusts the other's messages blindly: the host validates every inbound message
// with `isViewToHost` and ignores (and logs) anything else; the page checks what it receives with
// `isHostToView`. Both sides switch exhaustively on `type`.

import type { InspectorFilter, InspectorTreeParams, InspectorTreeResult, Range, RunResult } from './result';
import { PROTOCOL_VERSION } from './result';

/** What the page can ask the host to export: the current view as text, JSON or SVG. */
export type ExportFormat = 'ptdump' | 'json' | 'svg';

/** Host → view. */
export type HostToView =
  /** Answer to `ready` and to every new run: the result to show. */
  | { type: 'showResult'; result: RunResult; focus: 'steps' | 'tables' | 'explorer' }
  /** The document the result belonged to was closed or the run was dropped. */
  | { type: 'clear' }
  /** The cursor moved onto a statement that ran: follow it (unless pinned). */
  | { type: 'selectStep'; step: number }
  /** Answer to `fetchRows`, with the same `requestId`. */
  | { type: 'rows'; requestId: number; result: InspectorTreeResult }
  /** `fetchRows` failed (the document changed, the server stopped); the page shows the reason. */
  | { type: 'rowsFailed'; requestId: number; message: string };

/** View → host. */
export type ViewToHost =
  /** Sent once the page has booted; the host answers with `showResult` or `clear`. */
  | { type: 'ready'; protocol: number }
  /** Asks for a slice of the table tree (or ledger, ptdump, counters); answered by `rows` or `rowsFailed`. */
  | { type: 'fetchRows'; requestId: number; params: InspectorTreeParams }
  /** Asks the host to show a range of the scenario's document in the editor. */
  | { type: 'reveal'; range: Range }
  /**
   * Asks the host to export what `params` selects (the current view) in `format`; the host
   * fetches the data itself and saves it through a save dialog.
   */
  | { type: 'export'; format: ExportFormat; params: InspectorTreeParams };

export { PROTOCOL_VERSION };

/** The most rows one `fetchRows` may ask for: the page never needs more than a screenful or two. */
export const MAX_FETCH_ROWS = 1000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value);
}

function isStringArray(value: unknown, max = 100_000): value is string[] {
  return Array.isArray(value) && value.length <= max && value.every((id) => typeof id === 'string' && id.length <= 200);
}

function isPosition(value: unknown): boolean {
  return isRecord(value) && isInt(value.line) && isInt(value.character);
}

function isRange(value: unknown): value is Range {
  return isRecord(value) && isPosition(value.start) && isPosition(value.end);
}

const VIEWS = new Set(['tree', 'ledger', 'ptdump', 'counters']);
const KINDS = new Set(['leaf', 'table', 'marker', 'invalid', 'none']);
const FORMATS = new Set(['ptdump', 'json', 'svg']);

function isFilter(value: unknown): value is InspectorFilter {
  if (!isRecord(value)) return false;
  const optionalText = (v: unknown): boolean => v === undefined || (typeof v === 'string' && v.length <= 40);
  const optionalFlag = (v: unknown): boolean => v === undefined || typeof v === 'boolean';
  return (
    (value.levels === undefined || isStringArray(value.levels, 5)) &&
    (value.kinds === undefined || (Array.isArray(value.kinds) && value.kinds.length <= 5 && value.kinds.every((k) => typeof k === 'string' && KINDS.has(k)))) &&
    optionalFlag(value.findingsOnly) &&
    optionalFlag(value.changesOnly) &&
    optionalText(value.vaStart) &&
    optionalText(value.vaEnd)
  );
}

/** True when `value` is well-formed tree parameters (optional fields included). */
export function isTreeParams(value: unknown): value is InspectorTreeParams {
  return (
    isRecord(value) &&
    typeof value.uri === 'string' &&
    isInt(value.version) &&
    isInt(value.scenarioIndex) &&
    isInt(value.step) &&
    typeof value.space === 'string' &&
    isStringArray(value.expanded) &&
    isInt(value.offset) &&
    value.offset >= -1 &&
    isInt(value.count) &&
    value.count >= 0 &&
    (value.view === undefined || (typeof value.view === 'string' && VIEWS.has(value.view))) &&
    (value.expandAll === undefined || typeof value.expandAll === 'boolean') &&
    (value.collapsed === undefined || isStringArray(value.collapsed)) &&
    (value.filter === undefined || isFilter(value.filter)) &&
    (value.focusChange === undefined || typeof value.focusChange === 'boolean')
  );
}

/** True when `value` is a well-formed view → host message. */
export function isViewToHost(value: unknown): value is ViewToHost {
  if (!isRecord(value)) return false;
  switch (value.type) {
    case 'ready':
      return isInt(value.protocol);
    case 'fetchRows':
      return isInt(value.requestId) && isTreeParams(value.params) && value.params.count <= MAX_FETCH_ROWS;
    case 'reveal':
      return isRange(value.range);
    case 'export':
      return typeof value.format === 'string' && FORMATS.has(value.format) && isTreeParams(value.params);
    default:
      return false;
  }
}

/** The parts of a RunResult the page reads without further checks. */
function isRunResult(value: unknown): value is RunResult {
  return (
    isRecord(value) &&
    typeof value.uri === 'string' &&
    isInt(value.version) &&
    isInt(value.scenarioIndex) &&
    typeof value.title === 'string' &&
    typeof value.arch === 'string' &&
    typeof value.status === 'string' &&
    Array.isArray(value.diagnostics) &&
    value.diagnostics.every((d) => isRecord(d) && typeof d.code === 'string' && typeof d.message === 'string' && isRange(d.range)) &&
    Array.isArray(value.steps) &&
    value.steps.every((s) => isRecord(s) && isInt(s.index) && isRange(s.range) && typeof s.summary === 'string' && isRecord(s.counters)) &&
    Array.isArray(value.outputs) &&
    Array.isArray(value.explorer) &&
    isRecord(value.stats)
  );
}

function isTreeResult(value: unknown): value is InspectorTreeResult {
  return (
    isRecord(value) &&
    isInt(value.total) &&
    Array.isArray(value.rows) &&
    value.rows.every((r) => isRecord(r) && typeof r.id === 'string' && isInt(r.depth) && typeof r.label === 'string') &&
    isStringArray(value.spaces) &&
    (value.lines === undefined || isStringArray(value.lines, MAX_FETCH_ROWS)) &&
    (value.ledger === undefined || (Array.isArray(value.ledger) && value.ledger.every((l) => isRecord(l) && isInt(l.id)))) &&
    (value.counters === undefined || isRecord(value.counters))
  );
}

/** True when `value` is a well-formed host → view message (the view checks what it receives). */
export function isHostToView(value: unknown): value is HostToView {
  if (!isRecord(value)) return false;
  switch (value.type) {
    case 'showResult':
      return isRunResult(value.result) && (value.focus === 'steps' || value.focus === 'tables' || value.focus === 'explorer');
    case 'clear':
      return true;
    case 'selectStep':
      return isInt(value.step);
    case 'rows':
      return isInt(value.requestId) && isTreeResult(value.result);
    case 'rowsFailed':
      return isInt(value.requestId) && typeof value.message === 'string';
    default:
      return false;
  }
}
