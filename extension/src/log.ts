// The extension's one output channel. The language client writes its trace and the server's
// `connection.console` messages into the same channel.

import * as vscode from 'vscode';
import { OUTPUT_CHANNEL_NAME } from './ids';

export type Log = vscode.LogOutputChannel;

export function createLog(): Log {
  return vscode.window.createOutputChannel(OUTPUT_CHANNEL_NAME, { log: true });
}
