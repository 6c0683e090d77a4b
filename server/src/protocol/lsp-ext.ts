// The custom LSP messages of ptscn, declared once. Both the server (server/src/lsp/) and the
// client (extension/src/) import these; nothing else names a `ptscn/…` method.
//
// server/src/protocol/README.md summarises this file and stores its hash; tidy.test.ts fails
// when one changes without the other.

import { NotificationType, RequestType } from 'vscode-languageserver-protocol';
import type { InspectorTreeParams, InspectorTreeResult, Range, RunResult } from './result';

/**
 * What the client puts in `ClientCapabilities.experimental`. The server emits a CodeLens kind
 * only when the client names a command for it, so editors without our client see no dead lenses
 * (rust-analyzer's `ExperimentalFeatures`). The values are client command ids.
 */
export interface ClientExperimentalCapabilities {
  ptscnLensCommands?: Partial<Record<LensKind, string>>;
}

/** The lenses the server may put on a scenario head. */
export type LensKind = 'run' | 'showTables' | 'explore';

/** The argument of every lens command: which scenario of which document. */
export interface ScenarioRef {
  uri: string;
  version: number;
  scenarioIndex: number;
}

export interface RunScenarioParams {
  uri: string;
  /**
   * The document version the caller saw. When the open document has moved on, the server runs
   * the current text and says so in `RunResult.version`.
   */
  version: number;
  scenarioIndex: number;
  /** The text to run when the document is not open in the client (Test Explorer on disk files). */
  text?: string;
  /** Also return the kernel ptdump of the final state (`RunResult.ptdump`). */
  ptdump?: boolean;
}

/**
 * Client → server request, sent by the Run / Show Tables / Explore Interleavings commands and by
 * the Test Explorer. The server parses, checks and runs one scenario with the budgets from the
 * settings and answers with the whole result. A newer request for the same document cancels the
 * older one, which then answers with `status: 'cancelled'`. Supports work-done progress and
 * `$/cancelRequest`.
 */
export namespace RunScenarioRequest {
  export const method = 'ptscn/runScenario' as const;
  export const type = new RequestType<RunScenarioParams, RunResult, void>(method);
}

export interface DocumentScenariosParams {
  uri: string;
  /** The text to list when the document is not open in the client. */
  text?: string;
}

/** A scenario as the parser sees it, without running it. */
export interface ScenarioInfo {
  index: number;
  title: string;
  /** The `scenario "title"` head. */
  range: Range;
  /** The whole scenario through its closing brace. */
  fullRange: Range;
  hasConcurrent: boolean;
}

export interface DocumentScenariosResult {
  /** The version listed; 0 for text sent with the request. */
  version: number;
  scenarios: ScenarioInfo[];
}

/**
 * Client → server request, sent by the Test Explorer to discover scenarios in a file (open or
 * not). Parses only; never runs anything.
 */
export namespace DocumentScenariosRequest {
  export const method = 'ptscn/documentScenarios' as const;
  export const type = new RequestType<DocumentScenariosParams, DocumentScenariosResult, void>(method);
}

/**
 * Client → server request, sent by the inspector (through its host) to page through one view of
 * a scenario's state after one step: the table tree (default), the ledger of table pages, the
 * kernel ptdump lines, or the counters (`view`). The tree honours expansion (`expanded`,
 * `collapsed`, `expandAll`) and `filter`; with `focusChange` it also finds the first entry the
 * step changed, expands the path to it and answers `focus` (with `offset: -1`, the page around
 * it). Rows are computed lazily from coalesced runs, so any page costs about its own size. The
 * server answers from the run it keeps for `(uri, version, scenarioIndex)` and runs the scenario
 * first when it has none.
 */
export namespace InspectorTreeRequest {
  export const method = 'ptscn/inspectorTree' as const;
  export const type = new RequestType<InspectorTreeParams, InspectorTreeResult, void>(method);
}

/** Findings counts of one open document after its last completed analysis. */
export interface DocumentStatus {
  uri: string;
  version: number;
  /** The architecture of the document's first scenario, e.g. `arm64 4K 48-bit`. */
  arch: string;
  scenarios: number;
  errors: number;
  warnings: number;
  information: number;
}

export interface ServerStatusParams {
  /** `error` after an internal failure, until the next analysis succeeds. */
  health: 'ok' | 'warning' | 'error';
  /** True while the server analyses or runs anything. */
  busy: boolean;
  /** What it is doing or what went wrong, for the status item's detail. */
  message?: string;
  /** Every open document the server has analysed. */
  documents: DocumentStatus[];
}

/**
 * Server → client notification, sent when the server turns busy or idle, when its health
 * changes and after each analysis. Drives the language status item.
 */
export namespace ServerStatusNotification {
  export const method = 'ptscn/serverStatus' as const;
  export const type = new NotificationType<ServerStatusParams>(method);
}

/** What the server reads from the `ptscn` settings section; defaults apply to missing keys. */
export interface ServerSettings {
  diagnostics: {
    /** Milliseconds between the last edit and the analysis. */
    debounce: number;
    /** Whether scenarios run while typing (their runtime findings become diagnostics). */
    runOnType: boolean;
  };
  run: {
    maxSteps: number;
    maxTablePages: number;
    maxEntries: number;
    maxSchedules: number;
    maxStates: number;
    /** Milliseconds one scenario may run before it stops with `resource-limit`. */
    timeLimit: number;
  };
  codeLens: Record<LensKind, boolean>;
}

/**
 * Node options the server runs with. They must be given on the command line
 * (v8.setFlagsFromString after start-up does not resize the young generation); `npm run bench`
 * runs the engine and the server with the same options.
 *
 * - A run allocates a lot that dies young (step records, explorer states): a 64 MiB young
 *   generation instead of the default 16 MiB keeps it from being promoted and collected as old
 *   objects, a fifth of an exploration's time.
 * - No allocation-site pretenuring: V8 sends the objects of an allocation site whose objects
 *   survive straight to the old generation, and deoptimizes the code that allocates there. The
 *   tables of a run survive while the run is the latest, and die when the next edit replaces it,
 *   so the decision flipped back and forth as a user typed: 17 deoptimizations of the table
 *   allocation and mapping code in 30 edits of sample 34, each making the next runs slow. Without
 *   it the p95 from an edit to its diagnostics fell by a fifth to a third on samples 34, 50 and
 *   51 (bench/lsp-latency.mjs, six runs each way).
 */
export const SERVER_EXEC_ARGV: readonly string[] = ['--max-semi-space-size=64', '--no-allocation-site-pretenuring'];

export const DEFAULT_SERVER_SETTINGS: ServerSettings = {
  diagnostics: { debounce: 150, runOnType: true },
  run: {
    maxSteps: 1_000_000,
    maxTablePages: 131_072,
    maxEntries: 50_000_000,
    maxSchedules: 200_000,
    maxStates: 2_000_000,
    timeLimit: 5_000,
  },
  codeLens: { run: true, showTables: true, explore: true },
};

/**
 * Reads the `ptscn` settings section as the client sends it (nested objects, e.g.
 * `{ run: { maxSteps: 10 } }`). Anything missing, of the wrong type or out of range takes its
 * default, so a broken settings file never stops the server.
 */
export function parseServerSettings(raw: unknown): ServerSettings {
  const section = (value: unknown, key: string): Record<string, unknown> => {
    const inner = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
    return typeof inner === 'object' && inner !== null ? (inner as Record<string, unknown>) : {};
  };
  const count = (from: Record<string, unknown>, key: string, fallback: number, min: number): number => {
    const value = from[key];
    return typeof value === 'number' && Number.isFinite(value) && value >= min ? Math.floor(value) : fallback;
  };
  const flag = (from: Record<string, unknown>, key: string, fallback: boolean): boolean => {
    const value = from[key];
    return typeof value === 'boolean' ? value : fallback;
  };
  const defaults = DEFAULT_SERVER_SETTINGS;
  const diagnostics = section(raw, 'diagnostics');
  const run = section(raw, 'run');
  const codeLens = section(raw, 'codeLens');
  return {
    diagnostics: {
      debounce: count(diagnostics, 'debounce', defaults.diagnostics.debounce, 0),
      runOnType: flag(diagnostics, 'runOnType', defaults.diagnostics.runOnType),
    },
    run: {
      maxSteps: count(run, 'maxSteps', defaults.run.maxSteps, 1),
      maxTablePages: count(run, 'maxTablePages', defaults.run.maxTablePages, 1),
      maxEntries: count(run, 'maxEntries', defaults.run.maxEntries, 1),
      maxSchedules: count(run, 'maxSchedules', defaults.run.maxSchedules, 1),
      maxStates: count(run, 'maxStates', defaults.run.maxStates, 1),
      timeLimit: count(run, 'timeLimit', defaults.run.timeLimit, 1),
    },
    codeLens: {
      run: flag(codeLens, 'run', defaults.codeLens.run),
      showTables: flag(codeLens, 'showTables', defaults.codeLens.showTables),
      explore: flag(codeLens, 'explore', defaults.codeLens.explore),
    },
  };
}
