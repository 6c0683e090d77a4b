// The inspector panel's owner (style.md B5): one panel, created or revealed on demand, revived
// after a reload, refilled on the webview's `ready`, following the editor's cursor, run again
// when its document changes, and exporting the view through a save dialog.

import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import type { InspectorTreeParams, InspectorTreeResult, Range, RunResult } from '../../server/src/protocol/result';
import { isViewToHost, MAX_FETCH_ROWS, type ExportFormat, type HostToView, PROTOCOL_VERSION } from '../../server/src/protocol/webview';
import { Command, ViewType } from './ids';
import { EXPORT_MAX_ROWS, exportFileName, jsonExport, ptdumpExport, svgExport } from './inspector-export';
import type { Log } from './log';
import { stepAt } from './run-result';
import { buildWebviewHtml, createNonce } from './webview-html';

export type InspectorFocus = 'steps' | 'tables' | 'explorer';

/** How the panel reaches the server; supplied by extension.ts. */
export interface InspectorHost {
  fetchRows(params: InspectorTreeParams): Promise<InspectorTreeResult>;
}

/** LSP's ContentModified: the document moved past the version asked about. */
const CONTENT_MODIFIED = -32801;
/** Milliseconds after the last edit before a visible inspector runs its scenario again. */
const RERUN_DELAY_MS = 500;

/** The command that produced a focus, used to run the scenario again the same way. */
const RERUN_COMMAND: Record<InspectorFocus, string> = {
  steps: Command.runScenario,
  tables: Command.showTables,
  explorer: Command.exploreInterleavings,
};

export class InspectorPanel implements vscode.Disposable {
  private static current: InspectorPanel | undefined;

  private readonly disposables: vscode.Disposable[] = [];
  private result: RunResult | undefined;
  private focus: InspectorFocus = 'steps';
  private isReady = false;
  private isDisposed = false;
  /** The document changed since `result` was computed. */
  private isStale = false;
  private rerunTimer: ReturnType<typeof setTimeout> | undefined;

  /** Opens the panel (or brings it forward) and shows `result`. */
  static createOrShow(context: vscode.ExtensionContext, host: InspectorHost, log: Log, result: RunResult, focus: InspectorFocus): InspectorPanel {
    let panel = InspectorPanel.current;
    if (!panel) {
      const webviewPanel = vscode.window.createWebviewPanel(
        ViewType.inspector,
        'PTScn Inspector',
        { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
        InspectorPanel.options(context),
      );
      panel = new InspectorPanel(webviewPanel, context, host, log);
    } else if (!panel.panel.visible) {
      panel.panel.reveal(undefined, true);
    }
    panel.show(result, focus);
    return panel;
  }

  /** Registers the serializer that revives the panel after a window reload. */
  static registerSerializer(context: vscode.ExtensionContext, host: InspectorHost, log: Log): vscode.Disposable {
    return vscode.window.registerWebviewPanelSerializer(ViewType.inspector, {
      deserializeWebviewPanel: async (webviewPanel, state: unknown) => {
        webviewPanel.webview.options = InspectorPanel.options(context);
        InspectorPanel.current?.dispose();
        const panel = new InspectorPanel(webviewPanel, context, host, log);
        // The page saved its last result; the host takes it back so cursor and reveal work.
        const saved = (state as { result?: unknown } | undefined)?.result;
        if (isRunResultLike(saved)) {
          panel.result = saved;
          panel.isStale = true;
          panel.scheduleRerun(0);
        }
      },
    });
  }

  /** The panel's last result, for tests and commands. */
  static get lastResult(): RunResult | undefined {
    return InspectorPanel.current?.result;
  }

  private static options(context: vscode.ExtensionContext): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist')] };
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    context: vscode.ExtensionContext,
    private readonly host: InspectorHost,
    private readonly log: Log,
  ) {
    InspectorPanel.current = this;
    const dist = vscode.Uri.joinPath(context.extensionUri, 'dist');
    const styleFile = vscode.Uri.joinPath(dist, 'webview.css');
    panel.webview.html = buildWebviewHtml({
      cspSource: panel.webview.cspSource,
      nonce: createNonce(),
      scriptUri: panel.webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js')).toString(),
      ...(existsSync(styleFile.fsPath) ? { styleUri: panel.webview.asWebviewUri(styleFile).toString() } : {}),
    });
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((message: unknown) => this.onMessage(message)),
      panel.onDidChangeViewState(() => {
        // A hidden webview is torn down; it posts `ready` again when shown.
        if (!panel.visible) this.isReady = false;
        else if (this.isStale) this.scheduleRerun(0);
      }),
      vscode.window.onDidChangeTextEditorSelection((event) => this.onSelection(event)),
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (!this.result || event.document.uri.toString() !== this.result.uri || event.contentChanges.length === 0) return;
        this.isStale = true;
        if (panel.visible) this.scheduleRerun(RERUN_DELAY_MS);
      }),
      vscode.workspace.onDidCloseTextDocument((document) => {
        if (this.result && document.uri.toString() === this.result.uri && document.isClosed) {
          this.result = undefined;
          if (this.isReady) this.post({ type: 'clear' });
        }
      }),
    );
  }

  private show(result: RunResult, focus: InspectorFocus): void {
    this.result = result;
    this.focus = focus;
    this.isStale = false;
    this.panel.title = `PTScn: ${result.title}`;
    if (this.isReady) this.post({ type: 'showResult', result, focus });
  }

  private post(message: HostToView): void {
    void this.panel.webview.postMessage(message).then(undefined, (error: unknown) => this.log.warn(`inspector: post failed: ${String(error)}`));
  }

  private onMessage(message: unknown): void {
    if (!isViewToHost(message)) {
      this.log.warn(`inspector: ignored an unknown message: ${JSON.stringify(message)?.slice(0, 200)}`);
      return;
    }
    switch (message.type) {
      case 'ready':
        this.isReady = true;
        if (message.protocol !== PROTOCOL_VERSION) this.log.warn(`inspector: page speaks protocol ${message.protocol}, host ${PROTOCOL_VERSION}`);
        this.post(this.result ? { type: 'showResult', result: this.result, focus: this.focus } : { type: 'clear' });
        return;
      case 'fetchRows': {
        const { requestId } = message;
        // The page never needs more than a few screens; the guard already refused larger asks.
        const params = { ...message.params, count: Math.min(message.params.count, MAX_FETCH_ROWS) };
        this.host.fetchRows(params).then(
          (result) => this.post({ type: 'rows', requestId, result }),
          (error: unknown) => {
            const modified = (error as { code?: unknown } | undefined)?.code === CONTENT_MODIFIED;
            if (modified) this.scheduleRerun(0);
            else this.log.warn(`inspector: ptscn/inspectorTree failed: ${String(error)}`);
            this.post({ type: 'rowsFailed', requestId, message: modified ? 'the document changed; running it again…' : 'the server did not answer; see the PTScn output' });
          },
        );
        return;
      }
      case 'reveal':
        this.reveal(message.range);
        return;
      case 'export':
        void this.exportView(message.format, message.params).catch((error: unknown) => {
          this.log.error(`inspector: export failed: ${String(error)}`);
          void vscode.window.showErrorMessage(`PTScn: the export failed (${String(error)}).`);
        });
        return;
      default: {
        const unreachable: never = message;
        return unreachable;
      }
    }
  }

  /** Runs the scenario again (through its command) once the document has settled. */
  private scheduleRerun(delay: number): void {
    if (this.rerunTimer !== undefined) clearTimeout(this.rerunTimer);
    this.rerunTimer = setTimeout(() => {
      this.rerunTimer = undefined;
      const result = this.result;
      if (!result || this.isDisposed || !this.panel.visible) return;
      const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === result.uri);
      if (!document) return;
      const ref = { uri: result.uri, version: document.version, scenarioIndex: result.scenarioIndex };
      void vscode.commands.executeCommand(RERUN_COMMAND[this.focus], ref).then(undefined, (error: unknown) => this.log.warn(`inspector: rerun failed: ${String(error)}`));
    }, delay);
  }

  private reveal(range: Range): void {
    if (!this.result) return;
    const uri = this.result.uri;
    const target = new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character);
    const column = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri)?.viewColumn ?? vscode.ViewColumn.One;
    void vscode.window
      .showTextDocument(vscode.Uri.parse(uri), { selection: target, viewColumn: column })
      .then((editor) => editor.revealRange(target, vscode.TextEditorRevealType.InCenterIfOutsideViewport))
      .then(undefined, (error: unknown) => this.log.warn(`inspector: reveal failed: ${String(error)}`));
  }

  private async exportView(format: ExportFormat, params: InspectorTreeParams): Promise<void> {
    const result = this.result;
    if (!result || params.uri !== result.uri) return;
    const view = format === 'ptdump' ? 'ptdump' : 'tree';
    const data = await this.host.fetchRows({ ...params, view, offset: 0, count: EXPORT_MAX_ROWS[format] });
    const step = data.step ?? result.steps.length - 1;
    const text =
      format === 'ptdump'
        ? ptdumpExport(result, step, data.lines ?? [], data.total)
        : format === 'json'
          ? jsonExport(result, params, step, data.rows, data.total)
          : svgExport(result, params, step, data.rows, data.total);
    const documentUri = vscode.Uri.parse(result.uri);
    const folder = documentUri.scheme === 'file' ? vscode.Uri.joinPath(documentUri, '..') : vscode.workspace.workspaceFolders?.[0]?.uri;
    const name = exportFileName(result, step, format);
    const filters: Record<ExportFormat, Record<string, string[]>> = { ptdump: { Text: ['txt'] }, json: { JSON: ['json'] }, svg: { SVG: ['svg'] } };
    const target = await vscode.window.showSaveDialog({
      title: `Export the inspector's ${format === 'ptdump' ? 'ptdump' : 'tree'}`,
      ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, name) } : {}),
      filters: filters[format],
    });
    if (!target) return;
    await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(text));
    void vscode.window.showInformationMessage(`PTScn: exported to ${vscode.workspace.asRelativePath(target)}.`);
  }

  private onSelection(event: vscode.TextEditorSelectionChangeEvent): void {
    if (!this.result || !this.isReady || this.isStale || event.textEditor.document.uri.toString() !== this.result.uri) return;
    const active = event.selections[0]?.active;
    if (!active) return;
    const step = stepAt(this.result, active);
    if (step >= 0) this.post({ type: 'selectStep', step });
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    if (this.rerunTimer !== undefined) clearTimeout(this.rerunTimer);
    if (InspectorPanel.current === this) InspectorPanel.current = undefined;
    this.panel.dispose();
    while (this.disposables.length > 0) this.disposables.pop()?.dispose();
  }
}

/** Enough of a RunResult to take back from the page's saved state. */
function isRunResultLike(value: unknown): value is RunResult {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return typeof r.uri === 'string' && typeof r.title === 'string' && typeof r.scenarioIndex === 'number' && Array.isArray(r.steps);
}
