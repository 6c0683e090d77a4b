// Every id the extension shares with package.json, defined once. tidy.test.ts checks that the
// commands, settings and view types here and in package.json are the same sets.

export const LANGUAGE_ID = 'ptscn';

/** The LanguageClient id; VS Code derives the `ptscn.trace.server` setting from it. */
export const CLIENT_ID = 'ptscn';

export const OUTPUT_CHANNEL_NAME = 'PTScn';

export const TEST_CONTROLLER_ID = 'ptscn.scenarios';

export const Command = {
  runScenario: 'ptscn.runScenario',
  showTables: 'ptscn.showTables',
  exploreInterleavings: 'ptscn.exploreInterleavings',
  restartServer: 'ptscn.restartServer',
  exportPtdump: 'ptscn.exportPtdump',
} as const;

export const Setting = {
  diagnosticsDebounce: 'ptscn.diagnostics.debounce',
  diagnosticsRunOnType: 'ptscn.diagnostics.runOnType',
  runMaxSteps: 'ptscn.run.maxSteps',
  runMaxTablePages: 'ptscn.run.maxTablePages',
  runMaxEntries: 'ptscn.run.maxEntries',
  runMaxSchedules: 'ptscn.run.maxSchedules',
  runMaxStates: 'ptscn.run.maxStates',
  runTimeLimit: 'ptscn.run.timeLimit',
  codeLensRun: 'ptscn.codeLens.run',
  codeLensShowTables: 'ptscn.codeLens.showTables',
  codeLensExplore: 'ptscn.codeLens.explore',
  traceServer: 'ptscn.trace.server',
} as const;

export const ViewType = {
  inspector: 'ptscn.inspector',
} as const;

/** The settings section the server reads (`ptscn.*` without the trace setting's meaning). */
export const SETTINGS_SECTION = 'ptscn';
