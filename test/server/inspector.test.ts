// The inspector's data (lsp/inspector.ts over engine inspect-tree.ts): coalescing, lazy paging,
// expansion, filters, following a step, the other views, architecture level names, the
// explorer's counterexamples in RunResult, and the cost on a million-entry state.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { RunState } from '../../server/src/engine/index';
import { archLevelName, inspectorTree } from '../../server/src/lsp/inspector';
import type { InspectorRow, InspectorTreeParams, InspectorTreeResult, RunResult } from '../../server/src/protocol/result';
import { LspSession } from '../support/lsp-harness';
import { ROOT } from '../webview/page';
import { FINDINGS_SCENARIO, linearMap, runText } from '../webview/support';

const BASE: InspectorTreeParams = { uri: 'file:///work/inspector.ptscn', version: 1, scenarioIndex: 0, step: -1, space: 'kernel', expanded: [], offset: 0, count: 1000 };

function tree(state: RunState, params: Partial<InspectorTreeParams> = {}): InspectorTreeResult {
  return inspectorTree(state, { ...BASE, ...params });
}

const lines = (rows: InspectorRow[]): string[] => rows.map((r) => `${'  '.repeat(r.depth)}${r.label}${r.change ? ` ${r.change}` : ''}${r.findings ? ` [${r.findings.map((f) => f.code).join(',')}]` : ''}`);

/** Every row of a fully expanded tree, built naively from entriesAt: the reference for paging. */
function naiveRows(state: RunState, step: number): string[] {
  const out: string[] = [];
  const walk = (table: number, depth: number): void => {
    if (depth > 6) return;
    for (const e of state.entriesAt(table, step)) {
      if (e.kind === 'none') continue;
      out.push(`${e.index}=${e.value}`);
      if (e.kind === 'table' && e.child !== undefined) walk(e.child, depth + 1);
    }
  };
  walk(0, 1);
  return out;
}

describe('inspector tree', () => {
  const findings = runText(FINDINGS_SCENARIO);
  const state = findings.run.state;

  it('coalesces runs of alike entries the way ptdump does and shows the root first', () => {
    const page = tree(state, { step: 1 });
    assert.deepEqual(lines(page.rows), [
      'swapper_pg_dir @ 0x40000000',
      '  pgd[0]',
      '  pgd[1–511]',
    ]);
    const run = page.rows[2];
    assert.equal(run?.entryKind, 'none');
    assert.equal(run?.last, 511);
    assert.equal(run?.hasChildren, true, 'a run expands on demand');
    assert.equal(page.spaces[0], 'kernel');
    assert.equal(page.rows[0]?.kind, 'table');
  });

  it('expands table entries and runs on demand, with stable ids', () => {
    const page = tree(state, { step: 1, expanded: ['e:0:0', 'e:1:0', 'e:2:0', 'r:2:16'] });
    assert.deepEqual(lines(page.rows).slice(0, 8), [
      'swapper_pg_dir @ 0x40000000',
      '  pgd[0]',
      '    pud[0]',
      '      pmd[0]',
      '        pte[0–511]',
      '      pmd[1–15] added',
      '      pmd[16–31] added',
      '        pmd[16] added',
    ]);
    const pmdRun = page.rows.find((r) => r.id === 'r:2:16');
    assert.deepEqual(pmdRun?.decoded?.slice(0, 3), ['valid', 'block', 'rw-']);
    assert.ok(pmdRun?.decoded?.includes('cont'), 'the contiguous hint is decoded');
    assert.ok(pmdRun?.decoded?.includes('PXN') && pmdRun.decoded.includes('UXN'));
    const child = page.rows[7];
    assert.equal(child?.parentOffset, page.rows.indexOf(pmdRun as InspectorRow));
    assert.equal(child?.va, '0xffff000002000000');
    assert.equal(child?.vaLast, '0xffff0000021fffff');
    assert.equal(child?.size, '2M');
    const pud = page.rows[2];
    assert.equal(pud?.table?.level, 'pmd', 'a table entry carries the table page it points to');
    assert.equal(pud?.table?.constructed, true);
    assert.equal(pud?.table?.allocStep, 0);
    assert.equal(pud?.archLevel, 'L1');
  });

  it('marks W+X leaves, the block a partial overlap hit, guard markers and unlinked tables', () => {
    const all = tree(state, { step: 9, expandAll: true }).rows;
    const wx = all.find((r) => r.findings?.some((f) => f.code === 'wx'));
    assert.equal(wx?.va, '0xffff800080000000');
    assert.equal(wx?.findings?.[0]?.step, 2, 'W+X points at the vmalloc');
    const overlap = all.filter((r) => r.findings?.some((f) => f.code === 'overlap'));
    assert.ok(overlap.length > 0);
    assert.ok(overlap.every((r) => r.level === 'pmd'), 'only the block is marked, not the PTEs before it');
    assert.equal(overlap[0]?.findings?.[0]?.step, 3);
    const orphan = all.find((r) => r.label.startsWith('unlinked'));
    assert.equal(orphan?.findings?.[0]?.code, 'leak');
    assert.equal(orphan?.depth, 0);
    const app = tree(state, { step: 9, space: 'app', expandAll: true }).rows;
    const guards = app.filter((r) => r.entryKind === 'marker');
    assert.deepEqual(guards.map((g) => g.findings?.[0]?.code), ['guard', 'guard']);
    assert.deepEqual(guards.map((g) => g.bits), [[], []], 'swap-format entries have no descriptor bits');
  });

  it('highlights what a step changed against the step before', () => {
    const page = tree(state, { step: 3, expanded: ['e:0:0', 'e:1:0', 'e:2:0'] });
    const changed = page.rows.filter((r) => r.change);
    assert.deepEqual(lines(changed), ['        pte[0–511] changed']);
    assert.equal(changed[0]?.before, '0x00e8000080000703');
    assert.equal(changed[0]?.value, '0x00e0000080000783');
    assert.equal(changed[0]?.originStep, 3);
  });

  it('follows a step: selects the first mapping it changed and expands the path to it', () => {
    const page = tree(state, { step: 2, focusChange: true, offset: -1, count: 20 });
    assert.deepEqual(page.focus?.expanded, ['e:0:256', 'e:4:2', 'e:5:0']);
    const focused = page.rows[(page.focus?.offset ?? 0) - (page.offset ?? 0)];
    assert.equal(focused?.id, page.focus?.id);
    assert.equal(focused?.label, 'pte[0–15]');
    assert.equal(focused?.change, 'added');
    const app = tree(state, { step: 9, space: 'app', focusChange: true, offset: -1, count: 50 });
    const marker = app.rows[(app.focus?.offset ?? 0) - (app.offset ?? 0)];
    assert.equal(marker?.entryKind, 'marker');
  });

  it('filters by change, finding, level, kind and address, keeping the path to each match', () => {
    const changes = tree(state, { step: 3, filter: { changesOnly: true } });
    assert.deepEqual(lines(changes.rows), ['swapper_pg_dir @ 0x40000000', '  pgd[0]', '    pud[0]', '      pmd[0]', '        pte[0–511] changed']);
    assert.equal(changes.rows[1]?.matches, 512);
    const findingsOnly = tree(state, { step: 5, filter: { findingsOnly: true } });
    assert.ok(lines(findingsOnly.rows).some((l) => l.includes('[wx]')));
    assert.ok(lines(findingsOnly.rows).some((l) => l.includes('[overlap]')));
    assert.ok(lines(findingsOnly.rows).some((l) => l.includes('[leak]')));
    const blocks = tree(state, { step: 5, filter: { levels: ['pmd'], kinds: ['leaf'], vaStart: '0xffff000000400000', vaEnd: '0xffff000000800000' } });
    assert.deepEqual(lines(blocks.rows), ['swapper_pg_dir @ 0x40000000', '  pgd[0]', '    pud[0]', '      pmd[2–3] added'.replace(' added', '')]);
    const markers = tree(state, { step: 9, space: 'app', filter: { kinds: ['marker'] } });
    assert.equal(markers.rows.filter((r) => r.entryKind === 'marker').length, 2);
    const nothing = tree(state, { step: 5, filter: { vaStart: '0x1000', vaEnd: '0x2000' } });
    assert.equal(nothing.total, 1, 'only the root row');
  });

  it('pages consistently: any page equals the same slice of the whole, and totals match a naive walk', () => {
    const ran = runText(linearMap('64M'));
    const s = ran.run.state;
    const whole = tree(s, { step: 0, expandAll: true, count: 100_000 });
    assert.equal(whole.rows.length, whole.total);
    // Runs show their entries as children one level deeper; compare entries in tree order.
    const entries = whole.rows.filter((r) => r.depth > 0 && r.last === undefined && r.entryKind !== 'none').map((r) => `${r.index}=${r.value}`);
    assert.deepEqual(entries, naiveRows(s, 0));
    assert.equal(new Set(whole.rows.map((r) => r.id)).size, whole.total, 'ids are unique');
    for (const [offset, count] of [[0, 1], [3, 40], [511, 600], [whole.total - 5, 50], [7000, 13]] as const) {
      const page = tree(s, { step: 0, expandAll: true, offset, count });
      assert.deepEqual(page.rows.map((r) => r.id), whole.rows.slice(offset, offset + count).map((r) => r.id), `page ${offset}+${count}`);
    }
    for (const row of whole.rows) {
      if ((row.parentOffset ?? -1) >= 0) assert.equal(whole.rows[row.parentOffset ?? 0]?.depth, row.depth - 1);
    }
  });

  it('serves the ledger, the kernel ptdump and the counters of the same state', () => {
    const ledger = tree(state, { step: 5, view: 'ledger', offset: 0, count: 3 });
    assert.equal(ledger.ledger?.length, 3);
    assert.ok(ledger.total >= 7);
    const stray = tree(state, { step: 5, view: 'ledger', offset: 0, count: 100 }).ledger?.find((t) => t.name === 'stray');
    assert.deepEqual([stray?.state, stray?.unlinked, stray?.leaked, stray?.events.map((e) => e.kind)], ['live', true, true, ['alloc', 'ctor']]);
    const early = tree(state, { step: 0, view: 'ledger', offset: 0, count: 100 }).ledger?.find((t) => t.name === 'stray');
    assert.equal(early?.state, 'unallocated');
    const ptdump = tree(state, { step: 5, view: 'ptdump', offset: 0, count: 4 });
    assert.equal(ptdump.lines?.[0], '---[ Linear Mapping start ]---');
    assert.ok(ptdump.total > 4);
    const counters = tree(state, { step: 3, view: 'counters' }).counters;
    assert.equal(counters?.tlbFlushes, 1);
    const app = tree(state, { step: 9, view: 'counters' }).counters?.spaces.find((s) => s.name === 'app');
    assert.ok((app?.pgtablesBytes ?? 0) > 0);
    assert.ok((app?.tablesByLevel.pte ?? 0) >= 1);
  });
});

describe('inspector over every sample', () => {
  it('shows, at every step of every sample, the entries a naive walk finds, and follows each step', () => {
    const dir = join(ROOT, 'samples');
    let checked = 0;
    for (const name of readdirSync(dir).filter((f) => f.endsWith('.ptscn'))) {
      const text = readFileSync(join(dir, name), 'utf8');
      const count = (text.match(/^scenario /gm) ?? []).length;
      for (let index = 0; index < count; index++) {
        const ran = runText(text, index);
        const s = ran.run.state;
        for (let step = 0; step < Math.min(s.stepCount, 40); step++) {
          for (const space of s.spacesAt(step)) {
            const whole = tree(s, { step, space: space.name, expandAll: true, count: 20_000 });
            // Big states are paged elsewhere; here every entry of the small ones is compared.
            if (space.kernel && whole.total <= 20_000) {
              const entries = whole.rows.filter((r) => r.depth > 0 && r.last === undefined && r.entryKind !== 'none' && r.va !== undefined).map((r) => `${r.index}=${r.value}`);
              assert.deepEqual(entries, naiveRows(s, step), `${name} #${index} step ${step}`);
            }
            const focused = tree(s, { step, space: space.name, focusChange: true, offset: -1, count: 40 });
            if (focused.focus) assert.equal(focused.rows[focused.focus.offset - (focused.offset ?? 0)]?.id, focused.focus.id, `${name} #${index} step ${step} focus`);
            checked++;
          }
        }
      }
    }
    assert.ok(checked > 100, `${checked} states checked`);
  });
});

describe('architecture level names', () => {
  const profileOf = (header: string): RunState => runText(`scenario "x" {\n  ${header}\n  kernel {\n    pgtable_alloc pte as t\n    pgtable_free t\n  }\n}\n`).run.state;
  it('names levels as each architecture does', () => {
    const names = (state: RunState): string[] => state.profile.levels.filter((l) => !l.folded).map((l) => archLevelName(state.profile, l.depth));
    assert.deepEqual(names(profileOf('arch arm64 granule=4k va=48')), ['L0', 'L1', 'L2', 'L3']);
    assert.deepEqual(names(profileOf('arch arm64 granule=64k va=42')), ['L2', 'L3']);
    assert.deepEqual(names(profileOf('arch x86_64')), ['PML4', 'PDPT', 'PD', 'PT']);
    assert.deepEqual(names(profileOf('arch x86_64 levels=5')), ['PML5', 'PML4', 'PDPT', 'PD', 'PT']);
    assert.deepEqual(names(profileOf('arch riscv64 mode=sv39')), ['level 2', 'level 1', 'level 0']);
  });
});

describe('explorer results in RunResult', () => {
  it('forwards the counterexample schedule with threads, lines, actions and tables', () => {
    const race = runText(readFileSync(join(ROOT, 'samples', '50-ptdump-vs-vmap-free-unpatched.ptscn'), 'utf8'));
    const explorer = race.result.explorer[0];
    assert.deepEqual(explorer?.threads, ['ptdump', 'vmap']);
    const cx = explorer?.counterexamples?.[0];
    assert.equal(cx?.kind, 'use_after_free');
    assert.ok((cx?.steps.length ?? 0) > 10);
    const first = cx?.steps[0];
    assert.deepEqual([first?.index, first?.thread, first?.range.start.line], [1, 'ptdump', 32]);
    assert.ok(cx?.steps.some((s) => s.freed.length > 0));
    assert.ok(cx?.tables.some((t) => t.level === 'pte'));
    // JSON all the way: it crosses the LSP and the webview unchanged.
    assert.deepEqual(JSON.parse(JSON.stringify(race.result)), race.result);
  });
});

describe('a million-entry state', () => {
  it('opens, expands and pages a 4 GiB linear map in 4K pages without materialising rows', () => {
    const big = runText(linearMap('4G'));
    const s = big.run.state;
    let t = performance.now();
    const open = tree(s, { count: 60 });
    const openMs = performance.now() - t;
    assert.equal(open.total, 3);
    t = performance.now();
    const all = tree(s, { expandAll: true, count: 60 });
    const expandMs = performance.now() - t;
    assert.ok(all.total > 1_048_576, `${all.total} rows`);
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      const offset = Math.floor((i * 7919 * 104_729) % all.total);
      t = performance.now();
      const page = tree(s, { expandAll: true, offset, count: 60 });
      times.push(performance.now() - t);
      assert.equal(page.rows.length, Math.min(60, all.total - offset));
    }
    times.sort((a, b) => a - b);
    const median = times[100] ?? 0;
    console.log(`inspector server: 4G map (${all.total} rows) open ${openMs.toFixed(1)} ms, expand all ${expandMs.toFixed(0)} ms, page of 60 median ${median.toFixed(2)} ms, max ${(times.at(-1) ?? 0).toFixed(2)} ms`);
    assert.ok(openMs < 1000 && expandMs < 5000 && median < 20);
  });
});

describe('ptscn/inspectorTree over LSP', () => {
  const sessions: LspSession[] = [];
  after(async () => {
    await Promise.all(sessions.map((s) => s.dispose()));
  });

  it('answers the tree, the ledger and a focused page for an open document', async () => {
    const s = await LspSession.inMemory({ settings: { diagnostics: { debounce: 0 } } });
    sessions.push(s);
    const uri = 'file:///work/inspector.ptscn';
    await s.open(uri, FINDINGS_SCENARIO);
    const run = await s.request<RunResult>('ptscn/runScenario', { uri, version: 1, scenarioIndex: 0 });
    assert.ok(run.steps.length >= 10);
    const page = await s.request<InspectorTreeResult>('ptscn/inspectorTree', { ...BASE, uri, step: 2, focusChange: true, offset: -1, count: 30 });
    assert.ok(page.focus);
    const ledger = await s.request<InspectorTreeResult>('ptscn/inspectorTree', { ...BASE, uri, view: 'ledger', count: 50 });
    assert.ok((ledger.ledger?.length ?? 0) >= 7);
    await assert.rejects(s.request('ptscn/inspectorTree', { ...BASE, uri, version: 7 }), /not open at version 7/);
  });
});
