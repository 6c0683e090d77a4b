// The language server: capabilities, handler wiring, the diagnostics pipeline and the custom
// requests. Every handler runs inside `guard`, the one place where exceptions (bugs) are caught,
// logged through connection.console and answered with InternalError (style.md B11).

import { performance } from 'node:perf_hooks';
import {
  CodeActionKind,
  ErrorCodes,
  LSPErrorCodes,
  ResponseError,
  TextDocuments,
  TextDocumentSyncKind,
  type CancellationToken,
  type Connection,
  type InitializeParams,
  type InitializeResult,
  type Location,
  type TextEdit,
  type WorkspaceEdit,
} from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import type { Finding, Scenario } from '../engine/index';
import {
  DEFAULT_SERVER_SETTINGS,
  DocumentScenariosRequest,
  InspectorTreeRequest,
  RunScenarioRequest,
  ServerStatusNotification,
  parseServerSettings,
  type ClientExperimentalCapabilities,
  type DocumentStatus,
  type LensKind,
  type ServerSettings,
} from '../protocol/lsp-ext';
import { codeActions } from './code-actions';
import { codeLenses, hasConcurrent } from './code-lens';
import { complete } from './completion';
import { sortFindings, toDiagnostic, toRange } from './diagnostics';
import { DocumentStore, hasStaticErrors, moveFinding, samePlace, scenarioLayout, scenarioProblems, type Analysis, type RememberedRun } from './documents';
import { hover } from './hover';
import { formatText, parseAndCheck, parseOnly, symbolAt } from './language';
import { inspectorTree } from './inspector';
import { documentSymbols, foldingRanges, scenarioAt } from './outline';
import { archLabel, engineRunSteps, runOne, toRunResult, yieldToEventLoop, type RunStepsFn, type TimedRun } from './run';
import { signatureHelp } from './signature-help';

const SETTINGS_SECTION = 'ptscn';

/** How long typing must pause before the runs of scenarios an edit only moved are redone. */
const BACKGROUND_RUN_PAUSE_MS = 300;

/*
 * vscode-languageserver 10.1 pins vscode-languageserver-protocol 3.18.4 while the client and
 * protocol/lsp-ext.ts use 3.18.5, so the message type objects of lsp-ext.ts are not assignable
 * to the server's. The server registers by method name and takes the types from the phantom
 * `_` field of the lsp-ext declarations, which keeps both ends checked against one declaration.
 */
type ParamsOf<T> = T extends { readonly _: [infer P, ...unknown[]] | undefined } ? P : never;
type ResultOf<T> = T extends { readonly _: [unknown, infer R, ...unknown[]] | undefined } ? R : never;

/** Options for tests: a clock to control time limits, an engine stand-in, the typing pause. */
export interface ServerOptions {
  now?: () => number;
  runScenarioSteps?: RunStepsFn;
  /** Milliseconds typing must pause before moved scenarios are run again (BACKGROUND_RUN_PAUSE_MS). */
  backgroundRunPause?: number;
}

export function startServer(connection: Connection, options: ServerOptions = {}): void {
  const now = options.now ?? (() => performance.now());
  const runSteps = options.runScenarioSteps ?? engineRunSteps;
  const backgroundRunPause = options.backgroundRunPause ?? BACKGROUND_RUN_PAUSE_MS;
  const documents = new TextDocuments(TextDocument);
  const store = new DocumentStore();
  let settings: ServerSettings = DEFAULT_SERVER_SETTINGS;
  let lensCommands: Partial<Record<LensKind, string>> = {};
  let canPullConfiguration = false;
  let canRefreshLenses = false;

  const timers = new Map<string, NodeJS.Timeout>();
  /** Bumped per analysis; a run whose generation is no longer current stops and publishes nothing. */
  const generations = new Map<string, number>();
  /** Bumped per ptscn/runScenario; a newer request for a document cancels the older. */
  const runGenerations = new Map<string, number>();
  const published = new Map<string, { version: number; findings: Finding[]; status: DocumentStatus }>();
  let busy = 0;
  /** After `shutdown` nothing is analysed or sent any more. */
  let isShutDown = false;
  let health: 'ok' | 'warning' | 'error' = 'ok';
  let healthMessage: string | undefined;

  const sendStatus = (): void => {
    if (isShutDown) return;
    void connection
      .sendNotification(ServerStatusNotification.method, {
        health,
        busy: busy > 0,
        ...(healthMessage ? { message: healthMessage } : {}),
        documents: [...published.values()].map((p) => p.status),
      } satisfies ParamsOf<typeof ServerStatusNotification.type>)
      .catch(() => undefined);
  };

  const setBusy = (delta: number): void => {
    const wasBusy = busy > 0;
    busy += delta;
    if (wasBusy !== busy > 0) sendStatus();
  };

  const reportBug = (where: string, error: unknown): void => {
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    connection.console.error(`${where}: ${detail}`);
    health = 'error';
    healthMessage = `internal error in ${where}; see the output`;
    sendStatus();
  };

  /** The one exception boundary per handler. */
  function guard<P, R>(where: string, handler: (params: P, token: CancellationToken) => R | Promise<R>) {
    return async (params: P, token: CancellationToken): Promise<R | ResponseError<void>> => {
      try {
        return await handler(params, token);
      } catch (error) {
        reportBug(where, error);
        return new ResponseError(ErrorCodes.InternalError, `ptscn: internal error in ${where}: ${String(error)}`);
      }
    };
  }

  function guardNotification<P>(where: string, handler: (params: P) => void | Promise<void>) {
    return (params: P): void => {
      Promise.resolve()
        .then(() => handler(params))
        .catch((error: unknown) => reportBug(where, error));
    };
  }

  // Diagnostics ---------------------------------------------------------------------------------

  const publish = (document: TextDocument, analysis: Analysis, findings: Finding[]): void => {
    const sorted = sortFindings(findings);
    const count = (severity: Finding['severity']): number => sorted.filter((f) => f.severity === severity).length;
    published.set(document.uri, {
      version: document.version,
      findings: sorted,
      status: {
        uri: document.uri,
        version: document.version,
        arch: archLabel(analysis.program.scenarios[0]),
        scenarios: analysis.program.scenarios.length,
        errors: count('error'),
        warnings: count('warning'),
        information: count('information'),
      },
    });
    void connection
      .sendDiagnostics({ uri: document.uri, version: document.version, diagnostics: sorted.map((f) => toDiagnostic(document, f)) })
      .catch(() => undefined);
    if (health === 'error' && healthMessage?.startsWith('internal error in analysis')) {
      health = 'ok';
      healthMessage = undefined;
    }
    sendStatus();
  };

  /**
   * Parses, checks and runs every runnable scenario, then publishes, unless a newer edit came.
   *
   * A scenario that reads the same as at the last analysis (scenarioLayout: only comments,
   * blank lines or blanks around lines changed) is not run again: with every token where it was,
   * its run is reused whole; moved (an edit above it, or in its layout), its findings are moved
   * with its tokens and published at once, and the run behind hovers and the inspector is redone
   * after a pause in typing.
   */
  const analyze = async (uri: string): Promise<void> => {
    const document = documents.get(uri);
    if (!document) return;
    const version = document.version;
    const generation = (generations.get(uri) ?? 0) + 1;
    generations.set(uri, generation);
    const isStale = (): boolean => generations.get(uri) !== generation || documents.get(uri)?.version !== version;
    setBusy(+1);
    try {
      const analysis = store.analysis(document);
      const findings = [...analysis.problems];
      const memo = new Map<string, RememberedRun>();
      const moved: { index: number; scenario: Scenario; key: string; starts: number[] }[] = [];
      if (settings.diagnostics.runOnType) {
        const text = document.getText();
        for (const [index, scenario] of analysis.program.scenarios.entries()) {
          if (hasStaticErrors(analysis, scenario)) continue;
          const layout = scenarioLayout(text, scenario);
          const key = layout.key;
          const start = scenario.span.start;
          let timed = store.getRun(uri, version, index);
          const before = timed ? undefined : store.recall(uri, key);
          if (before && !samePlace(before, start, layout)) {
            findings.push(...(before.timed.run?.findings ?? []).map((f) => moveFinding(f, before, { start, starts: layout.starts })));
            memo.set(key, before);
            moved.push({ index, scenario, key, starts: layout.starts });
            continue;
          }
          if (before) {
            timed = before.timed;
            store.setRun(uri, version, index, timed);
          }
          if (!timed) {
            await yieldToEventLoop();
            if (isStale()) return;
            timed = await runOne(runSteps, scenario, settings, isStale, now);
            if (timed.isCancelled || isStale()) return;
            store.setRun(uri, version, index, timed);
          }
          memo.set(key, { start, starts: layout.starts, timed });
          findings.push(...(timed.run?.findings ?? []));
        }
        await yieldToEventLoop();
      }
      if (isStale() || isShutDown) return;
      publish(document, analysis, findings);
      store.remember(uri, memo);
      // The moved scenarios' runs, for hovers and the inspector: the diagnostics are already out,
      // so these wait for a pause in typing instead of holding up the next edit (a run is not
      // interrupted inside a statement, and an exploration is one statement). A hover or the
      // inspector asking sooner runs its scenario itself (runAt).
      if (moved.length > 0) {
        setBusy(-1);
        try {
          // unref: a pending pause must not keep a shut-down server's process alive.
          await new Promise((resolve) => setTimeout(resolve, backgroundRunPause).unref());
        } finally {
          setBusy(+1);
        }
      }
      for (const { index, scenario, key, starts } of moved) {
        await yieldToEventLoop();
        if (isStale() || isShutDown) return;
        let timed = store.getRun(uri, version, index);
        if (!timed) {
          timed = await runOne(runSteps, scenario, settings, isStale, now);
          if (timed.isCancelled || isStale()) return;
          store.setRun(uri, version, index, timed);
        }
        store.rememberRun(uri, memo, key, { start: scenario.span.start, starts, timed });
      }
    } catch (error) {
      reportBug('analysis', error);
    } finally {
      setBusy(-1);
    }
  };

  const schedule = (uri: string, delay: number): void => {
    if (isShutDown) return;
    const previous = timers.get(uri);
    if (previous) clearTimeout(previous);
    // A pending edit makes any analysis in flight stale at once, not only after the debounce.
    generations.set(uri, (generations.get(uri) ?? 0) + 1);
    timers.set(
      uri,
      setTimeout(() => {
        timers.delete(uri);
        void analyze(uri);
      }, delay),
    );
  };

  documents.onDidOpen((event) => schedule(event.document.uri, 0));
  documents.onDidChangeContent((event) => schedule(event.document.uri, settings.diagnostics.debounce));
  documents.onDidClose((event) => {
    const uri = event.document.uri;
    const timer = timers.get(uri);
    if (timer) clearTimeout(timer);
    timers.delete(uri);
    generations.set(uri, (generations.get(uri) ?? 0) + 1);
    store.delete(uri);
    published.delete(uri);
    void connection.sendDiagnostics({ uri, diagnostics: [] }).catch(() => undefined);
    sendStatus();
  });

  /** Findings published for the document's current version, else its static problems. */
  const currentFindings = (document: TextDocument, analysis: Analysis): Finding[] => {
    const last = published.get(document.uri);
    return last && last.version === document.version ? last.findings : analysis.problems;
  };

  // Settings ------------------------------------------------------------------------------------

  const applySettings = (raw: unknown): void => {
    settings = parseServerSettings(raw);
    store.forgetRuns();
    for (const document of documents.all()) schedule(document.uri, 0);
    if (canRefreshLenses) void connection.sendRequest('workspace/codeLens/refresh').catch(() => undefined);
  };

  const pullSettings = async (): Promise<void> => {
    if (!canPullConfiguration) return;
    const [section] = (await connection.workspace.getConfiguration([{ section: SETTINGS_SECTION }])) as unknown[];
    applySettings(section);
  };

  // Lifecycle -----------------------------------------------------------------------------------

  connection.onInitialize((params: InitializeParams): InitializeResult => {
    const experimental = params.capabilities.experimental as ClientExperimentalCapabilities | undefined;
    lensCommands = experimental?.ptscnLensCommands ?? {};
    canPullConfiguration = params.capabilities.workspace?.configuration === true;
    canRefreshLenses = params.capabilities.workspace?.codeLens?.refreshSupport === true;
    const initial = (params.initializationOptions as { settings?: unknown } | undefined)?.settings;
    if (initial !== undefined) settings = parseServerSettings(initial);
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
        codeLensProvider: { resolveProvider: false },
        hoverProvider: true,
        completionProvider: { triggerCharacters: [' ', '=', '('] },
        signatureHelpProvider: { triggerCharacters: [' '], retriggerCharacters: [' '] },
        documentSymbolProvider: true,
        definitionProvider: true,
        referencesProvider: true,
        renameProvider: { prepareProvider: true },
        foldingRangeProvider: true,
        documentFormattingProvider: true,
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
      },
      serverInfo: { name: 'ptscn' },
    };
  });

  connection.onInitialized(
    guardNotification('initialized', async () => {
      await pullSettings();
    }),
  );

  connection.onDidChangeConfiguration(
    guardNotification('didChangeConfiguration', async (params: { settings: unknown }) => {
      const pushed = (params.settings as Record<string, unknown> | null | undefined)?.[SETTINGS_SECTION];
      if (pushed !== undefined) applySettings(pushed);
      else await pullSettings();
    }),
  );

  // Features ------------------------------------------------------------------------------------

  const withDocument = <R>(uri: string, empty: R, handler: (document: TextDocument, analysis: Analysis) => R): R => {
    const document = documents.get(uri);
    if (!document) return empty;
    return handler(document, store.analysis(document));
  };

  /**
   * The run of scenario `index` at the document's version: the one analysis made, or a run made
   * now (a scenario an edit moved is run again only after a pause in typing). Undefined when the
   * scenario has static errors or the run was cancelled.
   */
  const runAt = async (document: TextDocument, analysis: Analysis, index: number, isCancelled: () => boolean): Promise<TimedRun | undefined> => {
    const timed = store.getRun(document.uri, document.version, index);
    if (timed) return timed;
    const scenario = analysis.program.scenarios[index];
    if (!scenario || hasStaticErrors(analysis, scenario)) return undefined;
    const version = document.version;
    const isStale = (): boolean => isCancelled() || documents.get(document.uri)?.version !== version;
    setBusy(+1);
    try {
      const fresh = await runOne(runSteps, scenario, settings, isStale, now);
      if (fresh.isCancelled) return undefined;
      store.setRun(document.uri, version, index, fresh);
      return fresh;
    } finally {
      setBusy(-1);
    }
  };

  connection.onCodeLens(
    guard('codeLens', (params) =>
      withDocument(params.textDocument.uri, [], (document, analysis) => codeLenses(document, analysis.program, lensCommands, settings)),
    ),
  );

  connection.onHover(
    guard('hover', async (params, token) => {
      const document = documents.get(params.textDocument.uri);
      if (!document) return null;
      const analysis = store.analysis(document);
      const offset = document.offsetAt(params.position);
      const here = scenarioAt(analysis.program, offset);
      // Before this version's diagnostics are out its analysis is still running the scenarios:
      // hover with what is there rather than run a scenario a second time alongside it.
      const analysed = published.get(document.uri)?.version === document.version;
      const timed = here && analysed ? await runAt(document, analysis, here.index, () => token.isCancellationRequested) : here && store.getRun(document.uri, document.version, here.index);
      const run = timed ? timed.run : undefined;
      if (documents.get(document.uri)?.version !== document.version) return null;
      return hover({ document, program: analysis.program, offset, findings: currentFindings(document, analysis), run });
    }),
  );

  connection.onCompletion(
    guard('completion', (params) =>
      withDocument(params.textDocument.uri, [], (document, analysis) => complete(document.getText(), document.offsetAt(params.position), analysis.program)),
    ),
  );

  connection.onSignatureHelp(
    guard('signatureHelp', (params) => withDocument(params.textDocument.uri, null, (document) => signatureHelp(document.getText(), document.offsetAt(params.position)))),
  );

  connection.onDocumentSymbol(
    guard('documentSymbol', (params) => withDocument(params.textDocument.uri, [], (document, analysis) => documentSymbols(document, analysis.program))),
  );

  connection.onFoldingRanges(
    guard('foldingRange', (params) => withDocument(params.textDocument.uri, [], (document, analysis) => foldingRanges(document, analysis.program))),
  );

  const symbolFor = (uri: string, position: { line: number; character: number }) =>
    withDocument(uri, undefined, (document, analysis) => {
      const symbol = symbolAt(analysis.program, document.offsetAt(position));
      return symbol ? { document, symbol } : undefined;
    });

  connection.onDefinition(
    guard('definition', (params): Location | null => {
      const found = symbolFor(params.textDocument.uri, params.position);
      if (!found?.symbol.definition) return null;
      return { uri: found.document.uri, range: toRange(found.document, found.symbol.definition) };
    }),
  );

  connection.onReferences(
    guard('references', (params): Location[] => {
      const found = symbolFor(params.textDocument.uri, params.position);
      if (!found) return [];
      const spans = [...(params.context.includeDeclaration && found.symbol.definition ? [found.symbol.definition] : []), ...found.symbol.references];
      return spans.map((span) => ({ uri: found.document.uri, range: toRange(found.document, span) }));
    }),
  );

  connection.onPrepareRename(
    guard('prepareRename', (params) => {
      const found = symbolFor(params.textDocument.uri, params.position);
      if (!found?.symbol.definition) return null;
      const offset = found.document.offsetAt(params.position);
      const span = [found.symbol.definition, ...found.symbol.references].find((s) => s.start <= offset && offset <= s.end);
      return span ? { range: toRange(found.document, span), placeholder: found.symbol.name } : null;
    }),
  );

  connection.onRenameRequest(
    guard('rename', (params): WorkspaceEdit | ResponseError<void> | null => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(params.newName)) {
        return new ResponseError(ErrorCodes.InvalidParams, `\`${params.newName}\` is not a name: use letters, digits and _`);
      }
      const found = symbolFor(params.textDocument.uri, params.position);
      if (!found?.symbol.definition) return null;
      const edits: TextEdit[] = [found.symbol.definition, ...found.symbol.references].map((span) => ({
        range: toRange(found.document, span),
        newText: params.newName,
      }));
      return { changes: { [found.document.uri]: edits } };
    }),
  );

  connection.onDocumentFormatting(
    guard('formatting', (params): TextEdit[] =>
      withDocument(params.textDocument.uri, [], (document) => {
        const text = document.getText();
        const formatted = formatText(text);
        if (formatted === undefined || formatted === text) return [];
        return [{ range: { start: { line: 0, character: 0 }, end: document.positionAt(text.length) }, newText: formatted }];
      }),
    ),
  );

  connection.onCodeAction(
    guard('codeAction', (params) =>
      withDocument(params.textDocument.uri, [], (document, analysis) =>
        codeActions(document, analysis.program, currentFindings(document, analysis), params.range, params.context.diagnostics),
      ),
    ),
  );

  // Custom requests -----------------------------------------------------------------------------

  connection.onRequest(
    RunScenarioRequest.method,
    guard('runScenario', async (params: ParamsOf<typeof RunScenarioRequest.type>, token): Promise<ResultOf<typeof RunScenarioRequest.type> | ResponseError<void>> => {
      const open = params.text === undefined ? documents.get(params.uri) : undefined;
      if (!open && params.text === undefined) {
        return new ResponseError(ErrorCodes.InvalidParams, `${params.uri} is not open; send its text`);
      }
      const document = open ?? TextDocument.create(params.uri, 'ptscn', params.version, params.text ?? '');
      const analysis = open ? store.analysis(open) : { version: document.version, ...parseAndCheck(document.getText()) };
      const scenario = analysis.program.scenarios[params.scenarioIndex];
      if (!scenario) {
        return new ResponseError(ErrorCodes.InvalidParams, `the document has no scenario ${params.scenarioIndex}`);
      }
      const staticFindings = scenarioProblems(analysis, scenario);
      if (hasStaticErrors(analysis, scenario)) return toRunResult(document, params.scenarioIndex, scenario, staticFindings, undefined);
      const generation = (runGenerations.get(params.uri) ?? 0) + 1;
      runGenerations.set(params.uri, generation);
      const version = document.version;
      const isStale = (): boolean =>
        token.isCancellationRequested || runGenerations.get(params.uri) !== generation || (open !== undefined && documents.get(params.uri)?.version !== version);
      setBusy(+1);
      try {
        await yieldToEventLoop();
        let timed: TimedRun | undefined = open ? store.getRun(params.uri, version, params.scenarioIndex) : undefined;
        if (!timed) {
          timed = isStale() ? { run: undefined, ms: 0, isCancelled: true } : await runOne(runSteps, scenario, settings, isStale, now);
          if (open && !timed.isCancelled && timed.run) store.setRun(params.uri, version, params.scenarioIndex, timed);
        }
        return toRunResult(document, params.scenarioIndex, scenario, staticFindings, timed, params.ptdump === true);
      } finally {
        setBusy(-1);
      }
    }),
  );

  connection.onRequest(
    DocumentScenariosRequest.method,
    guard('documentScenarios', (params: ParamsOf<typeof DocumentScenariosRequest.type>): ResultOf<typeof DocumentScenariosRequest.type> => {
      const open = params.text === undefined ? documents.get(params.uri) : undefined;
      const document = open ?? TextDocument.create(params.uri, 'ptscn', 0, params.text ?? '');
      const program = open ? store.analysis(open).program : parseOnly(document.getText()).program;
      return {
        version: document.version,
        scenarios: program.scenarios.map((scenario, index) => ({
          index,
          title: scenario.title,
          range: toRange(document, scenario.headSpan),
          fullRange: toRange(document, scenario.span),
          hasConcurrent: hasConcurrent(scenario),
        })),
      };
    }),
  );

  connection.onRequest(
    InspectorTreeRequest.method,
    guard('inspectorTree', async (params: ParamsOf<typeof InspectorTreeRequest.type>, token): Promise<ResultOf<typeof InspectorTreeRequest.type> | ResponseError<void>> => {
      const document = documents.get(params.uri);
      if (!document || document.version !== params.version) {
        return new ResponseError(LSPErrorCodes.ContentModified, `${params.uri} is not open at version ${params.version}`);
      }
      const analysis = store.analysis(document);
      const scenario = analysis.program.scenarios[params.scenarioIndex];
      if (!scenario) return new ResponseError(ErrorCodes.InvalidParams, `the document has no scenario ${params.scenarioIndex}`);
      const timed = await runAt(document, analysis, params.scenarioIndex, () => token.isCancellationRequested);
      if (!timed?.run) return { rows: [], total: 0, spaces: [] };
      return inspectorTree(timed.run.state, params);
    }),
  );

  connection.onShutdown(() => {
    isShutDown = true;
    for (const timer of timers.values()) clearTimeout(timer);
    timers.clear();
    for (const uri of generations.keys()) generations.set(uri, (generations.get(uri) ?? 0) + 1);
    for (const uri of runGenerations.keys()) runGenerations.set(uri, (runGenerations.get(uri) ?? 0) + 1);
  });

  documents.listen(connection);
  connection.listen();
}
