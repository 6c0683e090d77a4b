// The language status item: architecture, findings and busy state of the active document,
// driven by `ptscn/serverStatus` (style.md B4.4).

import * as vscode from 'vscode';
import type { ServerStatusParams } from '../../server/src/protocol/lsp-ext';
import { Command, LANGUAGE_ID } from './ids';
import { describeStatus } from './status-text';

export class StatusItem implements vscode.Disposable {
  private readonly item: vscode.LanguageStatusItem;
  private readonly disposables: vscode.Disposable[] = [];
  private last: ServerStatusParams | undefined;

  constructor() {
    this.item = vscode.languages.createLanguageStatusItem('ptscn.status', { language: LANGUAGE_ID });
    this.item.name = 'PTScn';
    this.item.command = { title: 'Restart Server', command: Command.restartServer };
    this.disposables.push(this.item, vscode.window.onDidChangeActiveTextEditor(() => this.render()));
    this.render();
  }

  update(status: ServerStatusParams): void {
    this.last = status;
    this.render();
  }

  /** Shows a failure the server cannot report itself (it is not running). */
  showStopped(message: string): void {
    this.last = { health: 'error', busy: false, message, documents: this.last?.documents ?? [] };
    this.render();
  }

  private render(): void {
    const uri = vscode.window.activeTextEditor?.document.uri.toString();
    const document = this.last?.documents.find((d) => d.uri === uri);
    const view = describeStatus(this.last, document);
    this.item.text = view.text;
    this.item.detail = view.detail;
    this.item.busy = view.busy;
    this.item.severity =
      view.severity === 'error'
        ? vscode.LanguageStatusSeverity.Error
        : view.severity === 'warning'
          ? vscode.LanguageStatusSeverity.Warning
          : vscode.LanguageStatusSeverity.Information;
  }

  dispose(): void {
    for (const disposable of this.disposables) disposable.dispose();
  }
}
