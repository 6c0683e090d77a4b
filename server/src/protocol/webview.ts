// Messages between the extension host and the inspector webview. Imports only result.ts.
//
// The webview is untrusted: the host validates every inbound message with `isViewToHost` and
// ignores (and logs) anything else. Both sides switch exhaustively on `type`.

import type { InspectorTreeParams, InspectorTreeResult, Range, RunResult } from './result';
import { PROTOCOL_VERSION } from './result';

/** Host → view. */
export type HostToView =
  /** Answer to `ready` and to every new run: the result to show. */
  | { type: 'showResult'; result: RunResult; focus: 'steps' | 'tables' | 'explorer' }
  /** The document the result belonged to was closed or the run was dropped. */
  | { type: 'clear' }
  /** The cursor moved onto a statement that ran: follow it. */
  | { type: 'selectStep'; step: number }
  /** Answer to `fetchRows`, with the same `requestId`. */
  | { type: 'rows'; requestId: number; result: InspectorTreeResult };

/** View → host. */
export type ViewToHost =
  /** Sent once the page has booted; the host answers with `showResult` or `clear`. */
  | { type: 'ready'; protocol: number }
  /** Asks for a slice of the table tree; answered by `rows`. */
  | { type: 'fetchRows'; requestId: number; params: InspectorTreeParams }
  /** Asks the host to show a range of the scenario's document in the editor. */
  | { type: 'reveal'; range: Range };

export { PROTOCOL_VERSION };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function isInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value);
}

function isPosition(value: unknown): boolean {
  return isRecord(value) && isInt(value.line) && isInt(value.character);
}

function isRange(value: unknown): value is Range {
  return isRecord(value) && isPosition(value.start) && isPosition(value.end);
}

function isTreeParams(value: unknown): value is InspectorTreeParams {
  return (
    isRecord(value) &&
    typeof value.uri === 'string' &&
    isInt(value.version) &&
    isInt(value.scenarioIndex) &&
    isInt(value.step) &&
    typeof value.space === 'string' &&
    Array.isArray(value.expanded) &&
    value.expanded.every((id) => typeof id === 'string') &&
    isInt(value.offset) &&
    isInt(value.count)
  );
}

/** True when `value` is a well-formed view → host message. */
export function isViewToHost(value: unknown): value is ViewToHost {
  if (!isRecord(value)) return false;
  switch (value.type) {
    case 'ready':
      return isInt(value.protocol);
    case 'fetchRows':
      return isInt(value.requestId) && isTreeParams(value.params);
    case 'reveal':
      return isRange(value.range);
    default:
      return false;
  }
}

/** True when `value` is a well-formed host → view message (the view checks what it receives). */
export function isHostToView(value: unknown): value is HostToView {
  if (!isRecord(value)) return false;
  switch (value.type) {
    case 'showResult':
      return isRecord(value.result) && typeof value.focus === 'string';
    case 'clear':
      return true;
    case 'selectStep':
      return isInt(value.step);
    case 'rows':
      return isInt(value.requestId) && isRecord(value.result) && Array.isArray(value.result.rows);
    default:
      return false;
  }
}
