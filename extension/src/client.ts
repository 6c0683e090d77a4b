// The LanguageClient: how the bundled server is started, what the client advertises, and what
// happens when the server dies (style.md B11: restart, say so once, keep the output quiet).

import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  RevealOutputChannelOn,
  TransportKind,
  type ClientCapabilities,
  type FeatureState,
  type LanguageClientOptions,
  type ServerOptions,
  type StaticFeature,
} from 'vscode-languageclient/node';
import { SERVER_EXEC_ARGV, type ClientExperimentalCapabilities } from '../../server/src/protocol/lsp-ext';
import { CLIENT_ID, Command, LANGUAGE_ID, SETTINGS_SECTION } from './ids';
import type { Log } from './log';

/** Restarts allowed within `RESTART_WINDOW_MS` before the client gives up. */
const MAX_RESTARTS = 4;
const RESTART_WINDOW_MS = 3 * 60 * 1000;

/** Tells the server which client commands its CodeLenses may name (style.md B4.2). */
class LensCommandsFeature implements StaticFeature {
  fillClientCapabilities(capabilities: ClientCapabilities): void {
    const experimental: ClientExperimentalCapabilities = {
      ptscnLensCommands: {
        run: Command.runScenario,
        showTables: Command.showTables,
        explore: Command.exploreInterleavings,
      },
    };
    capabilities.experimental = { ...(capabilities.experimental as object | undefined), ...experimental };
  }
  initialize(): void {}
  getState(): FeatureState {
    return { kind: 'static' };
  }
  clear(): void {}
}

/** Offers the output channel once; further notices in the same burst only go to the log. */
function notifyStopped(log: Log, message: string): void {
  log.error(message);
  void vscode.window.showErrorMessage(message, 'Show Output').then(
    (choice) => {
      if (choice) log.show(true);
    },
    () => undefined,
  );
}

export function createClient(context: vscode.ExtensionContext, log: Log): LanguageClient {
  const module = context.asAbsolutePath('dist/server.js');
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc, options: { execArgv: [...SERVER_EXEC_ARGV] } },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: [...SERVER_EXEC_ARGV, '--nolazy', '--inspect=6009'] } },
  };
  const restarts: number[] = [];
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ language: LANGUAGE_ID }],
    synchronize: { configurationSection: SETTINGS_SECTION },
    outputChannel: log,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    initializationFailedHandler: (error) => {
      notifyStopped(log, `The PTScn language server failed to start: ${String(error)}`);
      return false;
    },
    errorHandler: {
      error: (_error, _message, count) =>
        (count ?? 0) <= 3 ? { action: ErrorAction.Continue, handled: true } : { action: ErrorAction.Shutdown, handled: true },
      closed: () => {
        const now = Date.now();
        while (restarts.length > 0 && (restarts[0] ?? now) < now - RESTART_WINDOW_MS) restarts.shift();
        restarts.push(now);
        if (restarts.length > MAX_RESTARTS) {
          notifyStopped(log, 'The PTScn language server stopped repeatedly and will not be restarted. Use "PTScn: Restart Server" to try again.');
          return { action: CloseAction.DoNotRestart, handled: true };
        }
        notifyStopped(log, 'The PTScn language server stopped unexpectedly; it has been restarted.');
        return { action: CloseAction.Restart, handled: true };
      },
    },
  };
  const client = new LanguageClient(CLIENT_ID, 'PTScn Language Server', serverOptions, clientOptions);
  client.registerFeature(new LensCommandsFeature());
  return client;
}
