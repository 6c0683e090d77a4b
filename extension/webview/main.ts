// A minimal inspector page until the real one lands: it shows the run's title, verdict,
// diagnostics and steps as plain text, and speaks the ready handshake of protocol/webview.ts.

import { isHostToView, PROTOCOL_VERSION, type HostToView, type ViewToHost } from '../../server/src/protocol/webview';
import type { RunResult } from '../../server/src/protocol/result';

const vscode = acquireVsCodeApi<{ result?: RunResult }>();
const root = document.getElementById('root') ?? document.body;

function line(tag: string, text: string, className?: string): HTMLElement {
  const element = document.createElement(tag);
  element.textContent = text;
  if (className) element.className = className;
  return element;
}

function render(result: RunResult | undefined): void {
  root.replaceChildren();
  if (!result) {
    root.append(line('p', 'Run a scenario to inspect it.'));
    return;
  }
  root.append(line('h1', result.title, 'title'));
  root.append(line('p', `${result.ok ? 'passed' : 'failed'} · ${result.status} · ${result.arch} · ${result.stats.steps} steps · ${result.stats.ms} ms`, 'verdict'));
  const list = document.createElement('ul');
  for (const d of result.diagnostics) list.append(line('li', `line ${d.range.start.line + 1}: ${d.severity} ${d.code}: ${d.message}`));
  for (const s of result.steps) list.append(line('li', `step ${s.index} (${s.space}): ${s.summary}`));
  for (const o of result.outputs) list.append(line('li', `${o.kind}, line ${o.range.start.line + 1}:\n${o.text}`));
  root.append(list);
}

function send(message: ViewToHost): void {
  vscode.postMessage(message);
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const message: unknown = event.data;
  if (!isHostToView(message)) return;
  const typed: HostToView = message;
  switch (typed.type) {
    case 'showResult':
      vscode.setState({ result: typed.result });
      render(typed.result);
      return;
    case 'clear':
      vscode.setState({});
      render(undefined);
      return;
    case 'selectStep':
    case 'rows':
      return;
    default: {
      const unreachable: never = typed;
      return unreachable;
    }
  }
});

render(vscode.getState()?.result);
send({ type: 'ready', protocol: PROTOCOL_VERSION });
