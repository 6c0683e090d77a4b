// The inspector panel's owner (style.md B5): one panel, created or revealed on demand, revived
// after a reload, refilled on the webview's `ready`, following the editor's cursor.

import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import type { InspectorTreeParams, InspectorTreeResult, Range, RunResult } from '../../server/src/protocol/result';
import { isViewToHost, type HostToView, PROTOCOL_VERSION } from '../../server/src/protocol/webview';
import { ViewType } from './ids';
import type { Log } from './log';
import { stepAt } from './run-result';
import { buildWebviewHtml, createNonce } from './webview-html';

export type InspectorFocus = 'steps' | 'tables' | 'explorer';

/** How the panel reaches the server; supplied by extension.ts. */
export interface InspectorHost {
  fetchRows(params: InspectorTreeParams): Promise<InspectorTreeResult>;
}

export class InspectorPanel implements vscode.Disposable {
  private static current: InspectorPanel | undefined;

  private readonly disposables: vscode.Disposable[] = [];
  private result: RunResult | undefined;
  private focus: InspectorFocus = 'steps';
  private isReady = false;
  private isDisposed = false;

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
    } else {
      panel.panel.reveal(vscode.ViewColumn.Beside, true);
    }
    panel.show(result, focus);
    return panel;
  }

  /** Registers the serializer that revives the panel after a window reload. */
  static registerSerializer(context: vscode.ExtensionContext, host: InspectorHost, log: Log): vscode.Disposable {
    return vscode.window.registerWebviewPanelSerializer(ViewType.inspector, {
      deserializeWebviewPanel: async (webviewPanel) => {
        webviewPanel.webview.options = InspectorPanel.options(context);
        InspectorPanel.current?.dispose();
        new InspectorPanel(webviewPanel, context, host, log);
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
      vscode.window.onDidChangeTextEditorSelection((event) => this.onSelection(event)),
    );
  }

  private show(result: RunResult, focus: InspectorFocus): void {
    this.result = result;
    this.focus = focus;
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
      case 'fetchRows':
        this.host.fetchRows(message.params).then(
          (result) => this.post({ type: 'rows', requestId: message.requestId, result }),
          (error: unknown) => this.log.warn(`inspector: ptscn/inspectorTree failed: ${String(error)}`),
        );
        return;
      case 'reveal':
        this.reveal(message.range);
        return;
      default: {
        const unreachable: never = message;
        return unreachable;
      }
    }
  }

  private reveal(range: Range): void {
    if (!this.result) return;
    const target = new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character);
    void vscode.window
      .showTextDocument(vscode.Uri.parse(this.result.uri), { selection: target, viewColumn: vscode.ViewColumn.One })
      .then(undefined, (error: unknown) => this.log.warn(`inspector: reveal failed: ${String(error)}`));
  }

  private onSelection(event: vscode.TextEditorSelectionChangeEvent): void {
    if (!this.result || !this.isReady || event.textEditor.document.uri.toString() !== this.result.uri) return;
    const active = event.selections[0]?.active;
    if (!active) return;
    const step = stepAt(this.result, active);
    if (step >= 0) this.post({ type: 'selectStep', step });
  }

  dispose(): void {
    if (this.isDisposed) return;
    this.isDisposed = true;
    if (InspectorPanel.current === this) InspectorPanel.current = undefined;
    this.panel.dispose();
    while (this.disposables.length > 0) this.disposables.pop()?.dispose();
  }
}
