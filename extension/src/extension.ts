// Activation wires the pieces together and starts the client; deactivation stops it.

import * as vscode from 'vscode';
import { State, type LanguageClient } from 'vscode-languageclient/node';
import { InspectorTreeRequest, ServerStatusNotification } from '../../server/src/protocol/lsp-ext';
import { createClient } from './client';
import { registerCommands } from './commands';
import { InspectorPanel, type InspectorHost } from './inspector-panel';
import { createLog } from './log';
import { StatusItem } from './status';
import { ScenarioTests } from './testing';

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = createLog();
  const status = new StatusItem();
  const tests = new ScenarioTests(() => client, log);
  context.subscriptions.push(log, status, tests);

  const inspectorHost: InspectorHost = {
    fetchRows: async (params) => {
      if (!client?.isRunning()) return { rows: [], total: 0, spaces: [] };
      return client.sendRequest(InspectorTreeRequest.type, params);
    },
  };

  /** Registrations tied to the current client; restart disposes them with it. */
  let clientDisposables: vscode.Disposable[] = [];

  const start = async (): Promise<void> => {
    client = createClient(context, log);
    clientDisposables = [
      client.onNotification(ServerStatusNotification.type, (params) => status.update(params)),
      client.onDidChangeState((event) => {
        if (event.newState === State.Stopped) status.showStopped('The server is not running. Select to restart it.');
      }),
    ];
    try {
      await client.start();
      void tests.discoverWorkspace().catch((error: unknown) => log.warn(`testing: discovery failed: ${String(error)}`));
    } catch (error) {
      status.showStopped(`The server did not start: ${String(error)}`);
      log.error(`The PTScn language server did not start: ${String(error)}`);
    }
  };

  const restart = async (): Promise<void> => {
    const old = client;
    client = undefined;
    for (const disposable of clientDisposables.splice(0)) disposable.dispose();
    if (old) await old.dispose().catch((error: unknown) => log.warn(`stopping the server: ${String(error)}`));
    log.info('Restarting the PTScn language server.');
    await start();
  };

  context.subscriptions.push(
    ...registerCommands({ extension: context, log, client: () => client, restart, inspectorHost }),
    InspectorPanel.registerSerializer(context, inspectorHost, log),
    { dispose: () => clientDisposables.forEach((d) => d.dispose()) },
    { dispose: () => void client?.dispose() },
  );
  await start();
}

export async function deactivate(): Promise<void> {
  await client?.stop();
  client = undefined;
}
