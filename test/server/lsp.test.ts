// The language server through an in-memory LSP session: every feature, with a fake engine so
// the tests do not depend on the simulator's progress (engine.test files cover that).

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type {
  CodeAction,
  CodeLens,
  CompletionItem,
  Diagnostic,
  DocumentSymbol,
  FoldingRange,
  Hover,
  Location,
  SignatureHelp,
  TextEdit,
  WorkspaceEdit,
} from 'vscode-languageserver-protocol';
import type { DocumentScenariosResult, ScenarioRef } from '../../server/src/protocol/lsp-ext';
import type { InspectorTreeResult, RunResult } from '../../server/src/protocol/result';
import { createFakeEngine } from '../support/fake-engine';
import type { ServerOptions } from '../../server/src/lsp/server';
import { LspSession } from '../support/lsp-harness';

const URI = 'file:///work/test.ptscn';

const BASIC = `scenario "wx in a process" {
  process p {
    mmap buf size 4p prot rwx
    write buf + 1p
    expect vmas == 1
  }
}

scenario "tables" {
  kernel {
    pgtable_alloc pte as t
  }
}
`;

const sessions: LspSession[] = [];
/** A session with the fake engine; `server` adds server options (a clock, the background-run pause). */
async function session(settings: unknown = { diagnostics: { debounce: 0 } }, server: Omit<ServerOptions, 'runScenarioSteps'> = {}) {
  const engine = createFakeEngine();
  const s = await LspSession.inMemory({ settings, server: { ...server, runScenarioSteps: (scenario, options) => engine.runScenarioSteps(scenario, options) } });
  sessions.push(s);
  return { s, engine };
}
after(async () => {
  await Promise.all(sessions.map((s) => s.dispose()));
});

function codes(diagnostics: Diagnostic[]): string[] {
  return diagnostics.map((d) => String(d.code));
}

function at(text: string, needle: string, delta = 0): { line: number; character: number } {
  const offset = text.indexOf(needle);
  assert.ok(offset >= 0, `${needle} not in text`);
  const before = text.slice(0, offset + delta);
  const line = before.split('\n').length - 1;
  return { line, character: before.length - before.lastIndexOf('\n') - 1 };
}

describe('diagnostics', () => {
  it('publishes syntax errors with code, range, source and version', async () => {
    const { s } = await session();
    const text = 'scenario "bad" {\n  kernel {\n    bogus 1 2\n  }\n}\n';
    await s.open(URI, text, 7);
    const published = await s.waitForDiagnostics(URI, 7);
    assert.deepEqual(codes(published.diagnostics), ['syntax']);
    const [diagnostic] = published.diagnostics;
    assert.equal(diagnostic?.source, 'ptscn');
    assert.equal(diagnostic?.severity, 1);
    assert.deepEqual(diagnostic?.range, { start: at(text, 'bogus'), end: at(text, 'bogus', 5) });
  });

  it('publishes run findings with related information', async () => {
    const { s } = await session();
    await s.open(URI, BASIC);
    const published = await s.waitForDiagnostics(URI, 1);
    assert.deepEqual(codes(published.diagnostics), ['wx-mapping', 'ctor-dtor-leak']);
    const leak = published.diagnostics[1];
    assert.equal(leak?.relatedInformation?.[0]?.message, 'allocated here');
    assert.equal(leak?.relatedInformation?.[0]?.location.uri, URI);
  });

  it('does not run scenarios with static errors', async () => {
    const { s, engine } = await session();
    await s.open(URI, 'scenario "a" {\n  kernel {\n    bogus\n  }\n}\nscenario "b" {\n  kernel {\n    check_wx\n  }\n}\n');
    await s.waitForDiagnostics(URI, 1);
    assert.deepEqual(engine.calls, ['b']);
  });

  it('cancels the run in flight on an edit and never publishes the replaced version', async () => {
    const { s, engine } = await session();
    const v1 = 'scenario "slow hook" {\n  kernel {\n    check_wx\n  }\n}\nscenario "second" {\n  kernel {\n    check_wx\n  }\n}\n';
    engine.onHook = () => {
      engine.onHook = undefined;
      void s.change(URI, v1.replace('slow hook', 'quick').replace(/check_wx\n {2}\}\n\}\n$/, 'bogus\n  }\n}\n'));
    };
    await s.open(URI, v1);
    const published = await s.waitForDiagnostics(URI, 2);
    assert.deepEqual(codes(published.diagnostics), ['syntax']);
    assert.deepEqual(s.diagnostics.filter((d) => d.uri === URI).map((d) => d.version), [2]);
    assert.deepEqual(engine.calls, ['slow hook', 'quick']);
  });

  it('debounces a burst of edits into one analysis of the last version', async () => {
    const { s } = await session({ diagnostics: { debounce: 50 } });
    await s.open(URI, BASIC);
    await s.waitForDiagnostics(URI, 1);
    let last = 1;
    for (let i = 0; i < 5; i++) last = await s.change(URI, BASIC.replace('4p', `${i + 5}p`));
    await s.waitForDiagnostics(URI, last);
    assert.deepEqual(s.diagnostics.filter((d) => d.uri === URI).map((d) => d.version), [1, last]);
  });

  it('runs again only the scenarios whose text changed; a moved one keeps its findings, moved with it', async () => {
    const { s, engine } = await session();
    await s.open(URI, BASIC);
    await s.waitForDiagnostics(URI, 1);
    assert.deepEqual(engine.calls, ['wx in a process', 'tables']);

    // An edit inside the second scenario: the first is not run again.
    const edited = BASIC.replace('pgtable_alloc pte as t', 'pgtable_alloc pmd as t');
    const v2 = await s.change(URI, edited);
    const second = await s.waitForDiagnostics(URI, v2);
    assert.deepEqual(engine.calls, ['wx in a process', 'tables', 'tables']);
    assert.deepEqual(codes(second.diagnostics), ['wx-mapping', 'ctor-dtor-leak']);

    // A line above both moves them: the findings come out at once at the new places, ...
    const movedText = `# a note\n${edited}`;
    const v3 = await s.change(URI, movedText);
    const moved = await s.waitForDiagnostics(URI, v3);
    const wx = moved.diagnostics.find((d) => d.code === 'wx-mapping');
    assert.deepEqual(wx?.range.start, at(movedText, 'mmap buf'));
    const leak = moved.diagnostics.find((d) => d.code === 'ctor-dtor-leak');
    assert.deepEqual(leak?.relatedInformation?.[0]?.location.range.start, at(movedText, 'as t', 3));
    // ... their quick fixes edit the new text, ...
    const actions = await s.request<CodeAction[]>('textDocument/codeAction', { textDocument: { uri: URI }, range: wx?.range, context: { diagnostics: [wx] } });
    assert.deepEqual(actions[0]?.edit?.changes?.[URI]?.[0]?.range.start, at(movedText, 'rwx'));
    // ... and the runs behind hovers and the inspector are redone afterwards.
    await s.waitForStatus((status) => !status.busy && engine.calls.length >= 5);
    assert.deepEqual(engine.calls.slice(3), ['wx in a process', 'tables']);

    // New run settings change results (budgets, limits): everything runs again.
    await s.setSettings({ diagnostics: { debounce: 0 }, run: { maxSteps: 5000 } });
    await s.waitForDiagnosticsMatching(URI, () => engine.calls.length === 7);
    assert.deepEqual(engine.calls.slice(5), ['wx in a process', 'tables']);
  });

  it('runs a scenario an edit only moved for a hover at once, and the rest after a pause in typing', async () => {
    const { s, engine } = await session(undefined, { backgroundRunPause: 60_000 });
    await s.open(URI, BASIC);
    await s.waitForDiagnostics(URI, 1);
    const movedText = `# a note\n${BASIC}`;
    const v2 = await s.change(URI, movedText);
    const moved = await s.waitForDiagnostics(URI, v2);
    // The findings moved with their scenario, and nothing ran again for them: the next edit is
    // not held up by runs only hovers and the inspector need.
    assert.deepEqual(moved.diagnostics.find((d) => d.code === 'wx-mapping')?.range.start, at(movedText, 'mmap buf'));
    assert.deepEqual(engine.calls, ['wx in a process', 'tables']);
    // A hover in a moved scenario runs that one scenario itself.
    const hover = await s.request<Hover>('textDocument/hover', { textDocument: { uri: URI }, position: at(movedText, 'mmap', 1) });
    assert.match((hover.contents as { value: string }).value, /do_mmap/);
    assert.deepEqual(engine.calls, ['wx in a process', 'tables', 'wx in a process']);
  });

  it('does not run a scenario again for comments, blank lines or indentation inside it; its findings move with its tokens', async () => {
    const { s, engine } = await session(undefined, { backgroundRunPause: 60_000 });
    await s.open(URI, BASIC);
    await s.waitForDiagnostics(URI, 1);
    // Inside the first scenario: a comment line, a blank line, deeper indentation and a comment
    // after the statement; the lines below it shift by different amounts.
    const relaid = BASIC.replace('    mmap buf size 4p prot rwx\n', '    # the buffer\n\n        mmap buf size 4p prot rwx   # on purpose\n');
    const v2 = await s.change(URI, relaid);
    const published = await s.waitForDiagnostics(URI, v2);
    assert.deepEqual(engine.calls, ['wx in a process', 'tables']);
    const wx = published.diagnostics.find((d) => d.code === 'wx-mapping');
    assert.deepEqual(wx?.range, { start: at(relaid, 'mmap buf'), end: at(relaid, 'mmap buf', 'mmap buf size 4p prot rwx'.length) });
    const actions = await s.request<CodeAction[]>('textDocument/codeAction', { textDocument: { uri: URI }, range: wx?.range, context: { diagnostics: [wx] } });
    assert.deepEqual(actions[0]?.edit?.changes?.[URI]?.[0]?.range.start, at(relaid, 'rwx'));
    const leak = published.diagnostics.find((d) => d.code === 'ctor-dtor-leak');
    assert.deepEqual(leak?.relatedInformation?.[0]?.location.range.start, at(relaid, 'as t', 3));

    // Spacing inside a line is part of what a scenario says (a message may quote it), and so is
    // every token: both run the scenario again.
    const respaced = relaid.replace('size 4p', 'size  4p');
    await s.waitForDiagnostics(URI, await s.change(URI, respaced));
    assert.deepEqual(engine.calls, ['wx in a process', 'tables', 'wx in a process']);
    const changed = respaced.replace('prot rwx', 'prot rw');
    const last = await s.waitForDiagnostics(URI, await s.change(URI, changed));
    assert.deepEqual(engine.calls, ['wx in a process', 'tables', 'wx in a process', 'wx in a process']);
    assert.deepEqual(codes(last.diagnostics), ['ctor-dtor-leak']);
  });

  it('gives the tables of the runs it drops to later runs at once, and keeps every run it still serves', async () => {
    const { s, engine } = await session(undefined, { backgroundRunPause: 0 });
    const released = (k: number): boolean => engine.runs[k]?.run.state.isReleased ?? assert.fail(`no run ${k}`);
    await s.open(URI, BASIC);
    await s.waitForDiagnostics(URI, 1);
    assert.deepEqual(engine.runs.map((r) => r.title), ['wx in a process', 'tables']);

    // An edit inside the second scenario: its old run is dropped, the first one's run serves on.
    const edited = BASIC.replace('pgtable_alloc pte as t', 'pgtable_alloc pmd as t');
    const v2 = await s.change(URI, edited);
    await s.waitForDiagnostics(URI, v2);
    assert.deepEqual([released(0), released(1), released(2)], [false, true, false]);
    // Hovers and the inspector read the runs kept, in both scenarios.
    const hover = await s.request<Hover>('textDocument/hover', { textDocument: { uri: URI }, position: at(edited, 'mmap', 1) });
    assert.match((hover.contents as { value: string }).value, /do_mmap/);
    for (const scenarioIndex of [0, 1]) {
      const page = await s.request<InspectorTreeResult>('ptscn/inspectorTree', { uri: URI, version: v2, scenarioIndex, step: -1, space: 'kernel', expanded: [], offset: 0, count: 50 });
      assert.ok(page.rows.length > 0, `scenario ${scenarioIndex} has rows`);
    }
    assert.equal(engine.runs.length, 3, 'nothing ran again for them');

    // A line above both moves them: their runs are redone once typing pauses, and then dropped.
    const v3 = await s.change(URI, `# a note\n${edited}`);
    await s.waitForDiagnostics(URI, v3);
    await s.waitForStatus((status) => !status.busy && engine.runs.length === 5);
    assert.deepEqual([0, 2, 3, 4].map(released), [true, true, false, false]);

    // Closing the document drops the rest.
    await s.close(URI);
    await s.waitForDiagnosticsMatching(URI, (d) => d.diagnostics.length === 0);
    assert.ok(engine.runs.every((_, k) => released(k)));
    assert.ok(!s.statuses.some((st) => st.health === 'error'), JSON.stringify(s.logs));
  });

  it('turns the time limit into resource-limit instead of hanging', async () => {
    let clock = 0;
    const { s } = await session({ diagnostics: { debounce: 0 }, run: { timeLimit: 100 } }, { now: () => clock++ });
    const text = 'scenario "slow" {\n  kernel {\n    check_wx\n  }\n}\n';
    await s.open(URI, text);
    const published = await s.waitForDiagnostics(URI, 1);
    assert.deepEqual(codes(published.diagnostics), ['resource-limit']);
    assert.equal(published.diagnostics[0]?.range.start.line, 0);
  });

  it('survives garbage text and keeps answering', async () => {
    const { s } = await session();
    const garbage = ['}}}{{{', '\u0000\uffff"unterminated', 'scenario "x" { kernel { map 0x', '=> => (( ))', '\t'.repeat(1000), 'scenario'.repeat(500)];
    let version = 1;
    await s.open(URI, '');
    for (const text of garbage) version = await s.change(URI, text);
    await s.waitForDiagnostics(URI, version);
    for (const method of ['textDocument/hover', 'textDocument/completion', 'textDocument/signatureHelp']) {
      await s.request(method, { textDocument: { uri: URI }, position: { line: 0, character: 3 } });
    }
    await s.request('textDocument/codeLens', { textDocument: { uri: URI } });
    await s.request('textDocument/documentSymbol', { textDocument: { uri: URI } });
    await s.request('textDocument/foldingRange', { textDocument: { uri: URI } });
    const lenses = await s.request<CodeLens[]>('textDocument/codeLens', { textDocument: { uri: URI } });
    assert.ok(Array.isArray(lenses));
    assert.ok(!s.statuses.some((st) => st.health === 'error'), JSON.stringify(s.logs));
  });

  it('clears diagnostics when a document closes', async () => {
    const { s } = await session();
    await s.open(URI, BASIC);
    await s.waitForDiagnostics(URI, 1);
    await s.close(URI);
    const cleared = await s.waitForDiagnosticsMatching(URI, (d) => d.diagnostics.length === 0);
    assert.equal(cleared.version, undefined);
  });
});

describe('serverStatus', () => {
  it('reports busy, then idle with the findings counts of each document', async () => {
    const { s } = await session();
    await s.open(URI, BASIC);
    await s.waitForStatus((st) => st.busy);
    const idle = await s.waitForStatus((st) => !st.busy && st.documents.some((d) => d.uri === URI));
    const document = idle.documents.find((d) => d.uri === URI);
    assert.deepEqual(
      { errors: document?.errors, warnings: document?.warnings, scenarios: document?.scenarios, arch: document?.arch },
      { errors: 1, warnings: 1, scenarios: 2, arch: 'x86_64' },
    );
    assert.equal(idle.health, 'ok');
  });
});

describe('code lens', () => {
  it('puts Run and Show tables on every scenario, and Explore on concurrent ones', async () => {
    const { s } = await session();
    const text = `${BASIC}\nscenario "race" {\n  concurrent {\n    thread a {\n      walk kernel\n    }\n  }\n}\n`;
    await s.open(URI, text);
    const lenses = await s.request<CodeLens[]>('textDocument/codeLens', { textDocument: { uri: URI } });
    assert.deepEqual(
      lenses.map((l) => [l.range.start.line, l.command?.command]),
      [
        [0, 'ptscn.runScenario'],
        [0, 'ptscn.showTables'],
        [8, 'ptscn.runScenario'],
        [8, 'ptscn.showTables'],
        [14, 'ptscn.runScenario'],
        [14, 'ptscn.showTables'],
        [14, 'ptscn.exploreInterleavings'],
      ],
    );
    assert.deepEqual(lenses[2]?.command?.arguments, [{ uri: URI, version: 1, scenarioIndex: 1 } satisfies ScenarioRef]);
  });

  it('leaves out kinds switched off in settings and kinds the client has no command for', async () => {
    const { s } = await session({ diagnostics: { debounce: 0 }, codeLens: { showTables: false } });
    await s.open(URI, BASIC);
    const lenses = await s.request<CodeLens[]>('textDocument/codeLens', { textDocument: { uri: URI } });
    assert.deepEqual([...new Set(lenses.map((l) => l.command?.command))], ['ptscn.runScenario']);
    const bare = await LspSession.inMemory({ capabilities: {} });
    sessions.push(bare);
    await bare.open(URI, BASIC);
    assert.deepEqual(await bare.request<CodeLens[]>('textDocument/codeLens', { textDocument: { uri: URI } }), []);
  });
});

describe('hover', () => {
  it('names the kernel helper a statement models', async () => {
    const { s } = await session();
    await s.open(URI, BASIC);
    const hover = await s.request<Hover>('textDocument/hover', { textDocument: { uri: URI }, position: at(BASIC, 'mmap', 1) });
    const value = (hover.contents as { value: string }).value;
    assert.match(value, /do_mmap/);
    assert.deepEqual(hover.range, { start: at(BASIC, 'mmap'), end: at(BASIC, 'mmap', 4) });
  });

  it('explains the code of a diagnostic under the cursor', async () => {
    const { s } = await session();
    await s.open(URI, BASIC);
    await s.waitForDiagnostics(URI, 1);
    const hover = await s.request<Hover>('textDocument/hover', { textDocument: { uri: URI }, position: at(BASIC, 'size 4p', 2) });
    const value = (hover.contents as { value: string }).value;
    assert.match(value, /\*\*wx-mapping\*\*/);
    assert.match(value, /ptdump_check_wx/);
  });

  it('shows the value of a number with its unit applied', async () => {
    const { s } = await session();
    const text = 'scenario "v" {\n  arch arm64 granule=16k\n  let a = 2p + 1K\n}\n';
    await s.open(URI, text);
    const hover = await s.request<Hover>('textDocument/hover', { textDocument: { uri: URI }, position: at(text, '2p') });
    const value = (hover.contents as { value: string }).value;
    assert.match(value, /= `0x0000000000008000` \(32768\)/u);
    assert.match(value, /pte 2/);
  });
});

describe('completion and signature help', () => {
  const labels = (items: CompletionItem[]): string[] => items.map((i) => i.label);

  it('offers the statements of the block at the cursor', async () => {
    const { s } = await session();
    const text = 'scenario "c" {\n  kernel {\n    \n  }\n  process p {\n    \n  }\n}\n';
    await s.open(URI, text);
    const kernel = labels(await s.request('textDocument/completion', { textDocument: { uri: URI }, position: { line: 2, character: 4 } }));
    assert.ok(kernel.includes('map') && kernel.includes('set_memory_ro') && !kernel.includes('mmap'), kernel.join(' '));
    const process = labels(await s.request('textDocument/completion', { textDocument: { uri: URI }, position: { line: 5, character: 4 } }));
    assert.ok(process.includes('mmap') && process.includes('madvise') && !process.includes('map'), process.join(' '));
  });

  it('offers protections, advices, arch names and options, features and names in scope', async () => {
    const { s } = await session();
    const text = [
      'scenario "c" {',
      '  arch arm64 ',
      '  feature ',
      '  process p {',
      '    mmap buf size 4p prot ',
      '    madvise buf size 1p ',
      '    read ',
      '  }',
      '}',
      '',
    ].join('\n');
    await s.open(URI, text);
    const complete = async (line: number) =>
      labels(await s.request('textDocument/completion', { textDocument: { uri: URI }, position: { line, character: (text.split('\n')[line] ?? '').length } }));
    assert.ok((await complete(1)).includes('granule=16k'));
    assert.ok((await complete(2)).includes('bbml2'));
    assert.deepEqual(await complete(4), ['r', 'rw', 'rx', 'rwx', 'none']);
    assert.ok((await complete(5)).includes('guard_install'));
    assert.ok((await complete(6)).includes('buf'));
  });

  it('shows the statement signature with the slot under the cursor', async () => {
    const { s } = await session();
    const text = 'scenario "c" {\n  kernel {\n    unmap 0x1000 size \n  }\n}\n';
    await s.open(URI, text);
    const help = await s.request<SignatureHelp>('textDocument/signatureHelp', { textDocument: { uri: URI }, position: { line: 2, character: 22 } });
    assert.equal(help.signatures[0]?.label, 'unmap VA size S');
    assert.equal(help.activeParameter, 2);
  });
});

describe('symbols and folding', () => {
  it('lists scenarios, processes, threads and named mappings', async () => {
    const { s } = await session();
    await s.open(URI, BASIC);
    const symbols = await s.request<DocumentSymbol[]>('textDocument/documentSymbol', { textDocument: { uri: URI } });
    assert.deepEqual(
      symbols.map((sym) => [sym.name, sym.children?.map((c) => [c.name, c.children?.map((g) => g.name)])]),
      [
        ['wx in a process', [['p', ['buf']]]],
        ['tables', [['kernel', ['t']]]],
      ],
    );
  });

  it('folds scenarios and blocks', async () => {
    const { s } = await session();
    await s.open(URI, BASIC);
    const ranges = await s.request<FoldingRange[]>('textDocument/foldingRange', { textDocument: { uri: URI } });
    const pairs = ranges.map((r) => [r.startLine, r.endLine]).sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
    assert.deepEqual(pairs, [
      [0, 5],
      [1, 4],
      [8, 11],
      [9, 10],
    ]);
  });
});

describe('navigation and formatting', () => {
  const text = 'scenario "n" {\n  process p {\n    mmap buf size 4p prot rw\n    write buf + 1p\n    read buf\n  }\n}\n';

  it('goes to the definition and finds references of a name', async () => {
    const { s } = await session();
    await s.open(URI, text);
    const definition = await s.request<Location | Location[] | null>('textDocument/definition', { textDocument: { uri: URI }, position: at(text, 'buf + 1p') });
    const location = Array.isArray(definition) ? definition[0] : definition;
    assert.deepEqual(location?.range.start, at(text, 'buf size'));
    const references = await s.request<Location[]>('textDocument/references', {
      textDocument: { uri: URI },
      position: at(text, 'buf size'),
      context: { includeDeclaration: true },
    });
    assert.equal(references.length, 3);
  });

  it('renames a name everywhere in its scenario', async () => {
    const { s } = await session();
    await s.open(URI, text);
    const edit = await s.request<WorkspaceEdit>('textDocument/rename', { textDocument: { uri: URI }, position: at(text, 'buf', 1), newName: 'heap' });
    const edits = edit.changes?.[URI] ?? [];
    assert.equal(edits.length, 3);
    assert.ok(edits.every((e) => e.newText === 'heap'));
  });

  it('formats to the canonical layout', async () => {
    const { s } = await session();
    const messy = 'scenario "f" {\nkernel {\n      check_wx\n}\n}\n';
    await s.open(URI, messy);
    const edits = await s.request<TextEdit[]>('textDocument/formatting', { textDocument: { uri: URI }, options: { tabSize: 2, insertSpaces: true } });
    assert.equal(edits.length, 1);
    assert.match(edits[0]?.newText ?? '', /^scenario "f" \{\n {2}kernel \{\n {4}check_wx\n {2}\}\n\}\n$/);
  });
});

describe('code actions', () => {
  async function fixes(text: string, code: string): Promise<{ actions: CodeAction[]; apply: (a: CodeAction) => string }> {
    const { s } = await session();
    await s.open(URI, text);
    const published = await s.waitForDiagnostics(URI, 1);
    const diagnostics = published.diagnostics.filter((d) => d.code === code);
    assert.ok(diagnostics.length > 0, `no ${code} in ${codes(published.diagnostics)}`);
    const actions = await s.request<CodeAction[]>('textDocument/codeAction', {
      textDocument: { uri: URI },
      range: diagnostics[0]?.range,
      context: { diagnostics },
    });
    const lines = text.split('\n');
    const offsetOf = (p: { line: number; character: number }): number => lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
    const apply = (action: CodeAction): string => {
      const edits = [...(action.edit?.changes?.[URI] ?? [])].sort((a, b) => offsetOf(b.range.start) - offsetOf(a.range.start));
      let out = text;
      for (const e of edits) out = out.slice(0, offsetOf(e.range.start)) + e.newText + out.slice(offsetOf(e.range.end));
      return out;
    };
    return { actions, apply };
  }

  it('drops x or w from a W+X protection', async () => {
    const { actions, apply } = await fixes(BASIC, 'wx-mapping');
    assert.deepEqual(actions.map((a) => a.title), ['Drop `x`: prot rw', 'Drop `w`: prot rx']);
    assert.match(apply(actions[0] as CodeAction), /mmap buf size 4p prot rw\n/);
  });

  it('aligns a partial block overlap or adds feature bbml2', async () => {
    const text = 'scenario "p" {\n  arch arm64\n  kernel {\n    set_memory_ro 0xffff000000001000 pages 1\n  }\n}\n';
    const { actions, apply } = await fixes(text, 'partial-block-overlap');
    assert.equal(actions.length, 2);
    assert.match(apply(actions[0] as CodeAction), /set_memory_ro 0xffff000000000000 pages 512/);
    assert.match(apply(actions[1] as CodeAction), /arch arm64\n {2}feature bbml2\n/);
  });

  it('inserts the missing pgtable_free after the allocation', async () => {
    const { actions, apply } = await fixes(BASIC, 'ctor-dtor-leak');
    assert.deepEqual(actions.map((a) => a.title), ['Add `pgtable_free t`']);
    assert.match(apply(actions[0] as CodeAction), /pgtable_alloc pte as t\n {4}pgtable_free t\n/);
  });

  it('offers fixes for findings in the range even before the client holds their diagnostics', async () => {
    const { s } = await session();
    await s.open(URI, BASIC);
    await s.waitForDiagnostics(URI, 1);
    const actions = await s.request<CodeAction[]>('textDocument/codeAction', {
      textDocument: { uri: URI },
      range: { start: at(BASIC, 'rwx'), end: at(BASIC, 'rwx') },
      context: { diagnostics: [] },
    });
    assert.deepEqual(actions.map((a) => a.title), ['Drop `x`: prot rw', 'Drop `w`: prot rx']);
    assert.equal(actions[0]?.diagnostics?.[0]?.code, 'wx-mapping');
  });

  it('replaces an unknown name with the closest bound one', async (t) => {
    const text = 'scenario "u" {\n  process p {\n    mmap buffer size 4p prot rw\n    read bufer\n  }\n}\n';
    const { s } = await session();
    await s.open(URI, text);
    const published = await s.waitForDiagnostics(URI, 1);
    if (!published.diagnostics.some((d) => d.code === 'unknown-name')) {
      t.skip('the language checker does not report unknown-name yet');
      return;
    }
    const { actions, apply } = await fixes(text, 'unknown-name');
    assert.equal(actions[0]?.title, 'Change to `buffer`');
    assert.match(apply(actions[0] as CodeAction), /read buffer\n/);
  });
});

describe('custom requests', () => {
  it('ptscn/runScenario returns the whole result of one scenario', async () => {
    const { s } = await session();
    await s.open(URI, BASIC);
    const result = await s.request<RunResult>('ptscn/runScenario', { uri: URI, version: 1, scenarioIndex: 1 });
    assert.equal(result.title, 'tables');
    assert.equal(result.ok, false);
    assert.equal(result.status, 'completed');
    assert.deepEqual(result.diagnostics.map((d) => [d.code, d.range.start.line]), [['ctor-dtor-leak', 10]]);
    assert.deepEqual(result.outputs.map((o) => o.kind), ['ptdump']);
    assert.ok(result.stats.steps > 0);
  });

  it('ptscn/runScenario runs text that is not open, and reports static errors without running', async () => {
    const { s, engine } = await session();
    const result = await s.request<RunResult>('ptscn/runScenario', { uri: 'file:///x.ptscn', version: 0, scenarioIndex: 0, text: 'scenario "s" {\n  kernel {\n    nope\n  }\n}\n' });
    assert.equal(result.status, 'static-errors');
    assert.deepEqual(result.diagnostics.map((d) => d.code), ['syntax']);
    const unbound = await s.request<RunResult>('ptscn/runScenario', { uri: 'file:///x.ptscn', version: 0, scenarioIndex: 0, text: 'scenario "u" {\n  kernel {\n    vfree nothing\n  }\n}\n' });
    assert.equal(unbound.status, 'static-errors');
    assert.deepEqual(unbound.diagnostics.map((d) => d.code), ['unknown-name']);
    assert.deepEqual(engine.calls, []);
    await assert.rejects(s.request('ptscn/runScenario', { uri: 'file:///x.ptscn', version: 0, scenarioIndex: 3, text: '' }), /no scenario 3/);
  });

  it('ptscn/documentScenarios lists scenarios from the parse', async () => {
    const { s } = await session();
    const listing = await s.request<DocumentScenariosResult>('ptscn/documentScenarios', { uri: 'file:///y.ptscn', text: BASIC });
    assert.deepEqual(
      listing.scenarios.map((sc) => [sc.index, sc.title, sc.range.start.line, sc.fullRange.end.line, sc.hasConcurrent]),
      [
        [0, 'wx in a process', 0, 6, false],
        [1, 'tables', 8, 12, false],
      ],
    );
  });

  it('ptscn/inspectorTree pages through rows', async () => {
    const { s } = await session();
    await s.open(URI, BASIC);
    const page = await s.request<InspectorTreeResult>('ptscn/inspectorTree', { uri: URI, version: 1, scenarioIndex: 0, step: -1, space: 'kernel', expanded: [], offset: 0, count: 50 });
    assert.ok(page.total >= page.rows.length);
    assert.ok(page.rows.every((r) => typeof r.id === 'string' && typeof r.label === 'string'));
  });
});
