// Every scenario in the Test Explorer. Files are discovered from the workspace and the open
// editors; their scenarios come from `ptscn/documentScenarios` (the server parses, the client
// never does). Running a scenario is `ptscn/runScenario`; its error diagnostics (failed
// expectations first) become test messages at their lines.

import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { DocumentScenariosRequest, RunScenarioRequest, type ScenarioInfo } from '../../server/src/protocol/lsp-ext';
import type { Range } from '../../server/src/protocol/result';
import { LANGUAGE_ID, TEST_CONTROLLER_ID } from './ids';
import { failureMessages } from './run-result';
import type { Log } from './log';

const PTSCN_GLOB = '**/*.ptscn';
const EXCLUDE_GLOB = '**/node_modules/**';

function toRange(range: Range): vscode.Range {
  return new vscode.Range(range.start.line, range.start.character, range.end.line, range.end.character);
}

export class ScenarioTests implements vscode.Disposable {
  private readonly controller: vscode.TestController;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly client: () => LanguageClient | undefined,
    private readonly log: Log,
  ) {
    this.controller = vscode.tests.createTestController(TEST_CONTROLLER_ID, 'PTScn Scenarios');
    this.controller.resolveHandler = async (item) => {
      if (!item) await this.discoverWorkspace();
      else await this.refreshFile(item.uri);
    };
    this.controller.refreshHandler = async () => this.discoverWorkspace();
    this.controller.createRunProfile('Run', vscode.TestRunProfileKind.Run, (request, token) => this.run(request, token), true);
    const watcher = vscode.workspace.createFileSystemWatcher(PTSCN_GLOB);
    this.disposables.push(
      this.controller,
      watcher,
      watcher.onDidCreate((uri) => void this.refreshFile(uri)),
      watcher.onDidChange((uri) => void this.refreshFile(uri)),
      watcher.onDidDelete((uri) => this.controller.items.delete(uri.toString())),
      vscode.workspace.onDidOpenTextDocument((d) => this.onDocument(d)),
      vscode.workspace.onDidChangeTextDocument((e) => this.onDocument(e.document)),
    );
  }

  /** Lists every workspace file and the open ptscn documents; call once the client runs. */
  async discoverWorkspace(): Promise<void> {
    const files = await vscode.workspace.findFiles(PTSCN_GLOB, EXCLUDE_GLOB);
    const open = vscode.workspace.textDocuments.filter((d) => d.languageId === LANGUAGE_ID).map((d) => d.uri);
    const seen = new Set<string>();
    for (const uri of [...files, ...open]) {
      if (seen.has(uri.toString())) continue;
      seen.add(uri.toString());
      await this.refreshFile(uri);
    }
  }

  private onDocument(document: vscode.TextDocument): void {
    if (document.languageId === LANGUAGE_ID && document.uri.scheme === 'file') void this.refreshFile(document.uri);
  }

  private fileItem(uri: vscode.Uri): vscode.TestItem {
    const id = uri.toString();
    let item = this.controller.items.get(id);
    if (!item) {
      item = this.controller.createTestItem(id, vscode.workspace.asRelativePath(uri), uri);
      item.canResolveChildren = true;
      this.controller.items.add(item);
    }
    return item;
  }

  /** Re-lists the scenarios of one file; a file that cannot be read is dropped. */
  async refreshFile(uri: vscode.Uri | undefined): Promise<void> {
    const client = this.client();
    if (!uri || !client?.isRunning()) return;
    const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    let text: string | undefined;
    if (!open) {
      try {
        text = new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
      } catch {
        this.controller.items.delete(uri.toString());
        return;
      }
    }
    let scenarios: ScenarioInfo[];
    try {
      const listing = await client.sendRequest(DocumentScenariosRequest.type, { uri: uri.toString(), ...(text !== undefined ? { text } : {}) });
      scenarios = listing.scenarios;
    } catch (error) {
      this.log.warn(`testing: could not list scenarios of ${uri.toString()}: ${String(error)}`);
      return;
    }
    const file = this.fileItem(uri);
    file.children.replace(
      scenarios.map((scenario) => {
        const item = this.controller.createTestItem(`${uri.toString()}#${scenario.index}`, scenario.title, uri);
        item.range = toRange(scenario.range);
        return item;
      }),
    );
  }

  private async run(request: vscode.TestRunRequest, token: vscode.CancellationToken): Promise<void> {
    const run = this.controller.createTestRun(request);
    const queue: vscode.TestItem[] = [];
    const roots = request.include ?? [...this.gather(this.controller.items)];
    for (const item of roots) {
      if (item.children.size > 0 || item.canResolveChildren) {
        if (item.children.size === 0) await this.refreshFile(item.uri);
        item.children.forEach((child) => queue.push(child));
      } else {
        queue.push(item);
      }
    }
    const excluded = new Set((request.exclude ?? []).map((item) => item.id));
    for (const item of queue) {
      if (token.isCancellationRequested) {
        run.skipped(item);
        continue;
      }
      if (excluded.has(item.id)) continue;
      await this.runOne(run, item, token);
    }
    run.end();
  }

  private *gather(collection: vscode.TestItemCollection): Iterable<vscode.TestItem> {
    const items: vscode.TestItem[] = [];
    collection.forEach((item) => items.push(item));
    yield* items;
  }

  private async runOne(run: vscode.TestRun, item: vscode.TestItem, token: vscode.CancellationToken): Promise<void> {
    const client = this.client();
    const uri = item.uri;
    const index = Number(item.id.slice(item.id.lastIndexOf('#') + 1));
    if (!client?.isRunning() || !uri || !Number.isInteger(index)) {
      run.errored(item, new vscode.TestMessage('The PTScn language server is not running.'));
      return;
    }
    run.started(item);
    const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    try {
      const text = open ? undefined : new TextDecoder().decode(await vscode.workspace.fs.readFile(uri));
      const result = await client.sendRequest(
        RunScenarioRequest.type,
        { uri: uri.toString(), version: open?.version ?? 0, scenarioIndex: index, ...(text !== undefined ? { text } : {}) },
        token,
      );
      if (result.status === 'cancelled') {
        run.skipped(item);
      } else if (result.ok) {
        run.passed(item, result.stats.ms);
      } else {
        const messages = failureMessages(result).map((failure) => {
          const message = new vscode.TestMessage(failure.message);
          message.location = new vscode.Location(uri, toRange(failure.range));
          return message;
        });
        run.failed(item, messages.length > 0 ? messages : [new vscode.TestMessage(`The run ended: ${result.status}.`)], result.stats.ms);
      }
    } catch (error) {
      run.errored(item, new vscode.TestMessage(`The run failed: ${String(error)}`));
    }
  }

  dispose(): void {
    while (this.disposables.length > 0) this.disposables.pop()?.dispose();
  }
}
