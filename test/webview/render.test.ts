// Pure rendering of the inspector's rows and panes in happy-dom, and the page's own state.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { InspectorRow } from '../../server/src/protocol/result';
import { derefStep, freeingSteps, tablesAtStep } from '../../extension/webview/explorer';
import { describeRow, renderDetails, renderLedgerRow, renderTreeRow } from '../../extension/webview/render';
import { defaultUi, isAddressText, isSpaceName, protocolFilter, restoreState, toggleRow, treeKey } from '../../extension/webview/state';
import { MAX_SCROLL_PX, ROW_HEIGHT, VirtualList } from '../../extension/webview/virtual-list';
import { ROOT } from './page';
import { FINDINGS_SCENARIO, runText } from './support';

// happy-dom is an ES module; the tests compile to CommonJS, so it is loaded with import().
let window: InstanceType<typeof import('happy-dom', { with: { 'resolution-mode': 'import' } }).Window>;
let document: Document;
before(async () => {
  const { Window } = await import('happy-dom');
  window = new Window({ url: 'http://localhost/' });
  document = window.document as unknown as Document;
});
after(() => window.happyDOM.close());

const ROW: InspectorRow = {
  id: 'r:5:0',
  depth: 4,
  kind: 'entry',
  level: 'pte',
  archLevel: 'L3',
  label: 'pte[0–15]',
  detail: '',
  hasChildren: true,
  isExpanded: false,
  isChanged: true,
  change: 'added',
  entryKind: 'leaf',
  index: 0,
  last: 15,
  va: '0xffff800080000000',
  vaLast: '0xffff80008000ffff',
  size: '4K',
  value: '0x00c800008013d703',
  decoded: ['valid', 'page', 'rwx', 'UXN'],
  findings: [{ code: 'wx', message: 'W+X: the kernel can write and execute this mapping', step: 2 }],
  originStep: 2,
};

describe('render', () => {
  it('fills a pooled tree row with ARIA, text cells and a finding badge that reveals its step', () => {
    const element = document.createElement('div');
    renderTreeRow(document, element, ROW, 7, true);
    assert.equal(element.id, 'ti-7');
    assert.equal(element.getAttribute('role'), 'treeitem');
    assert.equal(element.getAttribute('aria-level'), '5');
    assert.equal(element.getAttribute('aria-expanded'), 'false');
    assert.equal(element.getAttribute('aria-selected'), 'true');
    assert.ok(element.classList.contains('added') && element.classList.contains('active'));
    assert.equal(element.querySelector('.chg')?.textContent, '+', 'changes are marked in text, not colour alone');
    assert.equal(element.querySelector('.lbl')?.textContent, '[0–15]');
    assert.match(element.querySelector('.desc')?.textContent ?? '', /^16× valid page rwx UXN/);
    const badge = element.querySelector<HTMLElement>('.badge.finding-wx');
    assert.equal(badge?.textContent, 'W+X');
    assert.equal(badge?.dataset.action, 'reveal-step');
    assert.equal(badge?.dataset.step, '2');
    assert.equal(element.style.getPropertyValue('--depth'), '4');
    // The same element reused for a row still loading.
    renderTreeRow(document, element, undefined, 8, false);
    assert.ok(element.classList.contains('loading'));
    assert.ok(!element.classList.contains('added'));
    assert.equal(element.hasAttribute('aria-expanded'), false);
    assert.equal(element.querySelectorAll('.badge').length, 0);
  });

  it('describes a row for screen readers', () => {
    assert.equal(describeRow(ROW), 'pte[0–15], 0xffff800080000000 to 0xffff80008000ffff, valid page rwx UXN, added, W+X');
  });

  it('shows the descriptor, its origin and its finding in the details pane', () => {
    const { result } = runText(FINDINGS_SCENARIO);
    const pane = renderDetails(document, ROW, result);
    const text = pane.textContent ?? '';
    assert.match(text, /0x00c800008013d703/);
    assert.match(text, /16 alike, coalesced as ptdump does/);
    const links = [...pane.querySelectorAll<HTMLElement>('[data-action="reveal-step"]')];
    assert.ok(links.length >= 2);
    assert.ok(links.every((l) => l.dataset.step === '2' && l.textContent === 'line 6'));
    assert.equal(renderDetails(document, undefined, result).textContent, 'Select a row to see its descriptor.');
  });

  it('renders a ledger row with its life events as statement links', () => {
    const element = document.createElement('div');
    const { result } = runText(FINDINGS_SCENARIO);
    renderLedgerRow(document, element, {
      id: 7, level: 'pte', archLevel: 'L3', pa: '0x800c4000', name: 'stray', bytes: 4096, allocator: 'page', constructed: true, linked: false,
      allocStep: 4, freeStep: -1, used: 0, space: 'kernel', state: 'live', unlinked: true, leaked: true,
      events: [{ kind: 'alloc', step: 4 }, { kind: 'ctor', step: 4 }],
    }, result);
    assert.match(element.textContent ?? '', /#7pte L30x800c4000 straylivector unlinked leakedalloc line 8 · ctor line 8/);
    assert.ok(element.classList.contains('has-finding'));
  });
});

describe('page state', () => {
  it('restores defaults from garbage and keeps what is valid', () => {
    assert.deepEqual(restoreState(undefined).ui, defaultUi());
    assert.deepEqual(restoreState({ version: 2, ui: { tab: 'ledger' } }).ui, defaultUi());
    const restored = restoreState({ version: 1, ui: { tab: 'ledger', step: 3, pinned: true, expanded: ['e:0:1', 7], filter: { levels: ['pmd', 'bogus'], kinds: ['leaf', 'x'], vaStart: '0x1000' }, scroll: { tree: 440, ledger: -1 } } });
    assert.equal(restored.ui.tab, 'ledger');
    assert.equal(restored.ui.pinned, true);
    assert.deepEqual(restored.ui.expanded, ['e:0:1']);
    assert.deepEqual(restored.ui.filter.levels, ['pmd']);
    assert.deepEqual(restored.ui.filter.kinds, ['leaf']);
    assert.deepEqual(restored.ui.scroll, { tree: 440 });
  });

  it('toggles rows between the expanded and collapsed lists', () => {
    const ui = defaultUi();
    toggleRow(ui, { id: 'e:0:1', isExpanded: false });
    assert.deepEqual([ui.expanded, ui.collapsed], [['e:0:1'], []]);
    toggleRow(ui, { id: 'e:0:1', isExpanded: true });
    assert.deepEqual([ui.expanded, ui.collapsed], [[], ['e:0:1']]);
  });

  it('sends only the active filters and keys queries by everything that changes rows', () => {
    const ui = defaultUi();
    assert.equal(protocolFilter(ui.filter), undefined);
    ui.filter.changesOnly = true;
    ui.filter.vaStart = ' 0xffff_0000_0000_0000 ';
    assert.deepEqual(protocolFilter(ui.filter), { changesOnly: true, vaStart: '0xffff_0000_0000_0000' });
    const { result } = runText(FINDINGS_SCENARIO);
    const a = treeKey(result, ui);
    ui.expanded = ['e:0:0'];
    assert.notEqual(treeKey(result, ui), a);
    assert.ok(isAddressText('0xffff_8000_0000_0000') && isAddressText('4096') && isAddressText(''));
    assert.ok(!isAddressText('0xfffg') && !isAddressText('1G'));
    assert.ok(isSpaceName('kernel') && isSpaceName('app') && !isSpaceName('top') && !isSpaceName('thread a') && !isSpaceName('concurrent'));
  });
});

describe('counterexample reading', () => {
  const race = runText(readFileSync(join(ROOT, 'samples', '50-ptdump-vs-vmap-free-unpatched.ptscn'), 'utf8'));
  const cx = race.result.explorer[0]?.counterexamples?.[0];

  it('finds the walker step that uses the freed table, and the step that freed it', () => {
    assert.ok(cx);
    const deref = derefStep(cx);
    assert.equal(deref?.thread, 'ptdump');
    assert.equal(deref?.index, cx.steps.length);
    const freeing = [...freeingSteps(cx)];
    assert.equal(freeing.length, 1);
    assert.equal(cx.steps[(freeing[0] ?? 0) - 1]?.thread, 'vmap');
  });

  it('replays the tables to any step', () => {
    assert.ok(cx);
    const start = tablesAtStep(cx, 0);
    assert.ok(start.every((t) => !t.freed));
    const pmdBefore = start.find((t) => t.level === 'pmd');
    assert.equal(pmdBefore?.entries.length, 1);
    const end = tablesAtStep(cx, cx.steps.length);
    const pte = end.find((t) => t.level === 'pte');
    assert.equal(pte?.freed, true);
    assert.equal(pte?.touched, true, 'the last step reads the freed table');
    assert.equal(end.find((t) => t.level === 'pmd')?.entries.length, 0, 'pmd_clear emptied the entry');
  });
});

describe('virtual list', () => {
  it('draws only the rows in view and scales the spacer of a huge list', () => {
    const rendered: number[] = [];
    const list = new VirtualList(document, { role: 'tree', label: 't', render: (_el, i) => rendered.push(i) });
    document.body.append(list.element);
    list.setTotal(16_842_820);
    assert.ok(list.isScaled);
    const spacer = list.element.firstElementChild as HTMLElement;
    assert.equal(spacer.style.height, `${MAX_SCROLL_PX}px`);
    assert.ok(rendered.length <= 25, `rendered ${rendered.length} rows`);
    rendered.length = 0;
    list.scrollToIndex(10_000_000, 'top');
    assert.equal(list.visibleRange().first, 10_000_000);
    assert.ok(rendered.length > 0 && rendered.every((i) => i >= 10_000_000 && i < 10_000_030));
    assert.equal(list.top, 10_000_000 * ROW_HEIGHT);
    // A small scroll renders only the rows that came into view.
    rendered.length = 0;
    list.setTop(list.top + 3 * ROW_HEIGHT);
    const { last } = list.visibleRange();
    assert.deepEqual(rendered.sort((a, b) => a - b), [last - 2, last - 1, last]);
  });
});
