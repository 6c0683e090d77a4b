// The bundled server (dist/server.js) as a real process over stdio, with the real engine: what
// an editor other than VS Code sees. `npm test` builds dist/ before running this.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CodeLens, Hover } from 'vscode-languageserver-protocol';
import type { InspectorTreeResult, RunResult } from '../../server/src/protocol/result';
import { LspSession } from '../support/lsp-harness';

const SERVER = resolve(__dirname, '../../../dist/server.js');
const URI = 'file:///work/wx.ptscn';

const WX = `scenario "W+X in the kernel" {
  arch arm64
  kernel {
    vmalloc text size 2M prot rwx huge
    check_wx
  }
}
`;

describe('the server process over stdio', { skip: existsSync(SERVER) ? false : 'dist/server.js is not built (npm run build)' }, () => {
  let session: LspSession;
  before(async () => {
    session = await LspSession.stdio(SERVER, { settings: { diagnostics: { debounce: 0 } } });
  });
  after(async () => {
    await session?.dispose();
  });

  it('advertises the features the client relies on', () => {
    const capabilities = session.capabilities;
    assert.ok(capabilities.codeLensProvider && capabilities.hoverProvider && capabilities.completionProvider);
    assert.ok(capabilities.codeActionProvider && capabilities.documentFormattingProvider && capabilities.renameProvider);
  });

  it('publishes run-time diagnostics from the real engine', async () => {
    await session.open(URI, WX);
    const published = await session.waitForDiagnostics(URI, 1);
    const wx = published.diagnostics.find((d) => d.code === 'wx-mapping');
    assert.ok(wx, JSON.stringify(published.diagnostics));
    assert.equal(wx.range.start.line, 3);
    assert.equal(wx.source, 'ptscn');
  });

  it('answers ptscn/runScenario with steps, outputs and the architecture', async () => {
    const result = await session.request<RunResult>('ptscn/runScenario', { uri: URI, version: 1, scenarioIndex: 0, ptdump: true });
    assert.equal(result.status, 'completed');
    assert.match(result.arch, /arm64/);
    assert.ok(result.steps.length >= 2, JSON.stringify(result.steps));
    assert.ok(result.steps.every((s) => s.helper.length > 0 && s.space === 'kernel'));
    assert.ok(result.outputs.some((o) => o.kind === 'check_wx'));
    assert.ok((result.ptdump ?? '').length > 0);
  });

  it('pages the inspector tree of the kernel tables', async () => {
    const page = await session.request<InspectorTreeResult>('ptscn/inspectorTree', { uri: URI, version: 1, scenarioIndex: 0, step: -1, space: 'kernel', expanded: [], offset: 0, count: 20 });
    assert.ok(page.spaces.includes('kernel'));
    assert.equal(page.rows[0]?.kind, 'table');
    assert.ok(page.total >= 2, JSON.stringify(page));
  });

  it('hovers a statement with the helper it models and what it did', async () => {
    const hover = await session.request<Hover>('textDocument/hover', { textDocument: { uri: URI }, position: { line: 3, character: 5 } });
    const value = (hover.contents as { value: string }).value;
    assert.match(value, /__vmalloc_node_range/);
    assert.match(value, /\*\*Ran\*\*/);
  });

  it('hovers a name with the address it got and the descriptor mapping it, decoded', async () => {
    // `text` in `vmalloc text ...`: the 2M huge vmalloc put a PMD block there.
    const hover = await session.request<Hover>('textDocument/hover', { textDocument: { uri: URI }, position: { line: 3, character: 13 } });
    const value = (hover.contents as { value: string }).value;
    assert.match(value, /`text`: bound by `vmalloc`/);
    assert.match(value, /= `0xffff800080000000`/);
    assert.match(value, /Indices on arm64.*pgd 256/);
    assert.match(value, /Resolves to a pmd leaf/);
    assert.match(value, /Bits: .*AF/);
  });

  it('serves lenses and survives garbage', async () => {
    const lenses = await session.request<CodeLens[]>('textDocument/codeLens', { textDocument: { uri: URI } });
    assert.equal(lenses.length, 2);
    const version = await session.change(URI, '\u0000}{"\\scenario "x" { kernel { map 0x1 size ((((( }}}');
    await session.waitForDiagnostics(URI, version);
    const back = await session.change(URI, WX);
    const published = await session.waitForDiagnostics(URI, back);
    assert.ok(published.diagnostics.some((d) => d.code === 'wx-mapping'));
  });
});
