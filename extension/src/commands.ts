// One handler factory per command. Lens commands receive a `ScenarioRef`; from the palette they
// act on the scenario under the cursor of the active ptscn editor.

import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import {
  DocumentScenariosRequest,
  RunScenarioRequest,
  type ScenarioInfo,
  type ScenarioRef,
} from '../../server/src/protocol/lsp-ext';
import type { RunResult } from '../../server/src/protocol/result';
import { Command, LANGUAGE_ID } from './ids';
import { InspectorPanel, type InspectorFocus, type InspectorHost } from './inspector-panel';
import type { Log } from './log';

export interface CommandContext {
  extension: vscode.ExtensionContext;
  log: Log;
  /** The client, or undefined while it is not running. */
  client(): LanguageClient | undefined;
  restart(): Promise<void>;
  inspectorHost: InspectorHost;
}

function isScenarioRef(value: unknown): value is ScenarioRef {
  if (typeof value !== 'object' || value === null) return false;
  const ref = value as Record<string, unknown>;
  return typeof ref.uri === 'string' && typeof ref.scenarioIndex === 'number';
}

function contains(range: ScenarioInfo['fullRange'], position: vscode.Position): boolean {
  const start = new vscode.Position(range.start.line, range.start.character);
  const end = new vscode.Position(range.end.line, range.end.character);
  return !position.isBefore(start) && !position.isAfter(end);
}

function requireClient(context: CommandContext): LanguageClient | undefined {
  const client = context.client();
  if (!client || !client.isRunning()) {
    void vscode.window.showWarningMessage('The PTScn language server is not running. Use "PTScn: Restart Server".');
    return undefined;
  }
  return client;
}

/** The scenario the command should act on: the lens argument, or the one under the cursor. */
async function pickScenario(context: CommandContext, client: LanguageClient, arg: unknown): Promise<ScenarioRef | undefined> {
  if (isScenarioRef(arg)) {
    const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === arg.uri);
    return { ...arg, version: open?.version ?? arg.version };
  }
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.languageId !== LANGUAGE_ID) {
    void vscode.window.showInformationMessage('Open a .ptscn file to run one of its scenarios.');
    return undefined;
  }
  const uri = editor.document.uri.toString();
  const listing = await client.sendRequest(DocumentScenariosRequest.type, { uri });
  if (listing.scenarios.length === 0) {
    void vscode.window.showInformationMessage('This file has no scenario.');
    return undefined;
  }
  const here = listing.scenarios.find((s) => contains(s.fullRange, editor.selection.active));
  let chosen = here ?? (listing.scenarios.length === 1 ? listing.scenarios[0] : undefined);
  if (!chosen) {
    const picked = await vscode.window.showQuickPick(
      listing.scenarios.map((s) => ({ label: s.title, description: `line ${s.range.start.line + 1}`, scenario: s })),
      { placeHolder: 'Which scenario?' },
    );
    chosen = picked?.scenario;
  }
  if (!chosen) return undefined;
  context.log.debug(`picked scenario ${chosen.index} of ${uri}`);
  return { uri, version: editor.document.version, scenarioIndex: chosen.index };
}

/** Sends `ptscn/runScenario` under cancellable progress; undefined when cancelled or failed. */
export async function runScenario(context: CommandContext, client: LanguageClient, ref: ScenarioRef, withPtdump = false): Promise<RunResult | undefined> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: 'PTScn: running scenario', cancellable: true },
    async (_progress, token) => {
      try {
        return await client.sendRequest(RunScenarioRequest.type, { ...ref, ...(withPtdump ? { ptdump: true } : {}) }, token);
      } catch (error) {
        if (!token.isCancellationRequested) {
          context.log.error(`ptscn/runScenario failed: ${String(error)}`);
          void vscode.window.showErrorMessage(`PTScn: the run failed (${String(error)}).`);
        }
        return undefined;
      }
    },
  );
}

function runAndShow(context: CommandContext, focus: InspectorFocus) {
  return async (arg?: unknown): Promise<RunResult | undefined> => {
    const client = requireClient(context);
    if (!client) return undefined;
    const ref = await pickScenario(context, client, arg);
    if (!ref) return undefined;
    const result = await runScenario(context, client, ref);
    if (result) InspectorPanel.createOrShow(context.extension, context.inspectorHost, context.log, result, focus);
    return result;
  };
}

function exportPtdump(context: CommandContext) {
  return async (arg?: unknown): Promise<void> => {
    const client = requireClient(context);
    if (!client) return;
    const ref = await pickScenario(context, client, arg);
    if (!ref) return;
    const result = await runScenario(context, client, ref, true);
    if (!result) return;
    const sections = result.outputs
      .filter((o) => o.kind === 'ptdump')
      .map((o) => `# ${result.title}: ptdump at line ${o.range.start.line + 1}\n${o.text.trimEnd()}\n`);
    if (result.ptdump) sections.push(`# ${result.title}: kernel page tables after the last statement (${result.arch})\n${result.ptdump.trimEnd()}\n`);
    if (sections.length === 0) {
      void vscode.window.showInformationMessage(`"${result.title}" did not run far enough to dump its tables (${result.status}).`);
      return;
    }
    const text = sections.join('\n');
    const document = await vscode.workspace.openTextDocument({ content: text, language: 'plaintext' });
    await vscode.window.showTextDocument(document, { preview: false });
  };
}

export function registerCommands(context: CommandContext): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand(Command.runScenario, runAndShow(context, 'steps')),
    vscode.commands.registerCommand(Command.showTables, runAndShow(context, 'tables')),
    vscode.commands.registerCommand(Command.exploreInterleavings, runAndShow(context, 'explorer')),
    vscode.commands.registerCommand(Command.exportPtdump, exportPtdump(context)),
    vscode.commands.registerCommand(Command.restartServer, () => context.restart()),
  ];
}
