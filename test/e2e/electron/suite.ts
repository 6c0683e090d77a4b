// Runs inside the extension host: the same user-visible facts as the code-server suite, read
// through the `vscode` API. Waits on events with timeouts, never on fixed delays.
import assert from 'node:assert/strict';
import * as vscode from 'vscode';

const WAIT_MS = 30_000;

function waitFor<T>(probe: () => T | undefined, event: vscode.Event<unknown>, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const found = probe();
    if (found !== undefined) return resolve(found);
    const timer = setTimeout(() => {
      listener.dispose();
      reject(new Error(`timed out waiting for ${what}`));
    }, WAIT_MS);
    const listener = event(() => {
      const value = probe();
      if (value === undefined) return;
      clearTimeout(timer);
      listener.dispose();
      resolve(value);
    });
  });
}

async function open(name: string): Promise<vscode.TextDocument> {
  const [uri] = await vscode.workspace.findFiles(name);
  assert.ok(uri, `${name} is not in the workspace`);
  const document = await vscode.workspace.openTextDocument(uri);
  await vscode.window.showTextDocument(document);
  return document;
}

const checks: [string, () => Promise<void>][] = [
  [
    'a .ptscn file gets the ptscn language and the extension activates',
    async () => {
      const document = await open('wx.ptscn');
      assert.equal(document.languageId, 'ptscn');
      const extension = vscode.extensions.all.find((e) => e.packageJSON.name === 'ptscn');
      assert.ok(extension, 'the extension is not installed');
      await extension.activate();
      const commands = await vscode.commands.getCommands(true);
      for (const id of ['ptscn.runScenario', 'ptscn.showTables', 'ptscn.exploreInterleavings', 'ptscn.restartServer', 'ptscn.exportPtdump']) assert.ok(commands.includes(id), id);
    },
  ],
  [
    'static problems arrive as diagnostics with their codes',
    async () => {
      const document = await open('bad.ptscn');
      const codes = await waitFor(
        () => {
          const list = vscode.languages.getDiagnostics(document.uri).map((d) => String(typeof d.code === 'object' ? d.code.value : d.code));
          return list.includes('unknown-name') && list.includes('syntax') ? list : undefined;
        },
        vscode.languages.onDidChangeDiagnostics,
        'diagnostics of bad.ptscn',
      );
      assert.ok(codes.includes('syntax'));
    },
  ],
  [
    'the Run lens is there and hovers name the kernel helper',
    async () => {
      const document = await open('wx.ptscn');
      const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', document.uri);
      assert.ok(lenses.some((l) => l.command?.command === 'ptscn.runScenario'));
      const line = document.getText().split('\n').findIndex((l) => l.includes('vmalloc'));
      const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', document.uri, new vscode.Position(line, 5));
      const text = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
      assert.match(text, /__vmalloc_node_range/);
    },
  ],
];

export async function run(): Promise<void> {
  const failures: string[] = [];
  for (const [name, check] of checks) {
    try {
      await check();
      process.stdout.write(`ok - ${name}\n`);
    } catch (error) {
      failures.push(name);
      process.stdout.write(`not ok - ${name}: ${String(error)}\n`);
    }
  }
  if (failures.length > 0) throw new Error(`${failures.length} check(s) failed`);
}
