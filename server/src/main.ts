// The language server's entry point: a connection over whatever transport the client chose
// (IPC from VS Code, `--stdio` from other editors and the tests), then startServer.

import { ProposedFeatures, createConnection } from 'vscode-languageserver/node';
import { startServer } from './lsp/server';

startServer(createConnection(ProposedFeatures.all));
