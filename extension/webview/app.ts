// The inspector page: header with the step slider and pin, tabs for the tree, the kernel's
// ptdump, the ledger, the counters, the steps, the findings and the explorer's counterexamples.
//
// Data arrives only by message. The tree, ptdump and ledger are paged from the host a screenful
// at a time (`fetchRows`) into virtual lists; the steps, findings and counterexamples come with
// the RunResult. Everything the user chooses lives in `ui` and is saved with setState.

import type { InspectorCounters, InspectorLedgerRow, InspectorRow, InspectorTreeParams, InspectorTreeResult, InspectorView, RunResult } from '../../server/src/protocol/result';
import type { HostToView } from '../../server/src/protocol/webview';
import { h, toggleClass } from './dom';
import { derefStep, freeingSteps, tablesAtStep } from './explorer';
import { Host, type WebviewApi } from './host';
import {
  describeRow,
  lineOf,
  renderCounterexampleHead,
  renderCounters,
  renderDetails,
  renderExploredTables,
  renderFindings,
  renderLedgerRow,
  renderPtdumpLine,
  renderScheduleRow,
  renderStepRow,
  renderTreeRow,
} from './render';
import {
  defaultUi,
  effectiveStep,
  isAddressText,
  isSpaceName,
  isFiltering,
  KIND_NAMES,
  LEVEL_NAMES,
  restoreState,
  stepAtLine,
  TABS,
  toggleRow,
  treeKey,
  treeParams,
  type PersistedState,
  type Tab,
  type UiState,
} from './state';
import { VirtualList } from './virtual-list';

/** Rows fetched beyond the view on each side, so small scrolls need no round trip. */
const OVERSCAN = 20;
/** Milliseconds between two saves of the page state. */
const SAVE_DELAY_MS = 150;

const TAB_LABEL: Record<Tab, string> = {
  tree: 'Tree',
  ptdump: 'ptdump',
  ledger: 'Ledger',
  counters: 'Counters',
  steps: 'Steps',
  findings: 'Findings',
  explorer: 'Explorer',
};

interface Paged<T> {
  key: string;
  total: number;
  items: Map<number, T>;
  /** The range last asked for under `key` (answered or not). */
  asked?: { key: string; start: number; end: number };
  /** The request that set `asked`; only its answer may correct it. */
  latest?: number;
}

interface Pending {
  view: InspectorView;
  key: string;
}

function paged<T>(): Paged<T> {
  return { key: '', total: 0, items: new Map() };
}

/** The first counterexample of a result, opened on the step where a walker uses freed memory. */
function firstRace(result: RunResult): UiState['explorer'] {
  for (const [exploration, e] of result.explorer.entries()) {
    const cx = e.counterexamples?.[0];
    if (cx) return { exploration, counterexample: 0, step: derefStep(cx)?.index ?? 0 };
  }
  return { exploration: 0, counterexample: 0, step: 0 };
}

export class App {
  private readonly host: Host;
  private result: RunResult | undefined;
  private ui: UiState;
  private readonly tree = paged<InspectorRow>();
  private readonly ptdump = paged<string>();
  private readonly ledger = paged<InspectorLedgerRow>();
  private counters: { key: string; value: InspectorCounters } | undefined;
  private spaces: string[] = ['kernel'];
  private readonly pending = new Map<number, Pending>();
  private error = '';
  /** The host has answered the handshake (showResult or clear). */
  private isConnected = false;
  private saveTimer: ReturnType<typeof setTimeout> | undefined;

  // Elements.
  private readonly titleEl: HTMLElement;
  private readonly verdictEl: HTMLElement;
  private readonly emptyEl: HTMLElement;
  private readonly bodyEl: HTMLElement;
  private readonly spaceSelect: HTMLSelectElement;
  private readonly slider: HTMLInputElement;
  private readonly stepLabel: HTMLElement;
  private readonly pinButton: HTMLButtonElement;
  private readonly tabButtons = new Map<Tab, HTMLButtonElement>();
  private readonly panels = new Map<Tab, HTMLElement>();
  private readonly filterEls: {
    changes: HTMLInputElement;
    findings: HTMLInputElement;
    levels: Map<string, HTMLButtonElement>;
    kinds: Map<string, HTMLButtonElement>;
    vaStart: HTMLInputElement;
    vaEnd: HTMLInputElement;
    expandAll: HTMLButtonElement;
  };
  private readonly moreButton: HTMLButtonElement;
  private readonly moreFilters: HTMLElement;
  private readonly treeList: VirtualList;
  private readonly detailsEl: HTMLElement;
  private readonly ptdumpList: VirtualList;
  private readonly ledgerList: VirtualList;
  private readonly stepsList: VirtualList;
  private readonly scheduleList: VirtualList;
  private readonly countersEl: HTMLElement;
  private readonly findingsEl: HTMLElement;
  private readonly explorerHead: HTMLElement;
  private readonly explorerSelect: HTMLSelectElement;
  private readonly explorerTables: HTMLElement;
  private readonly statusEl: HTMLElement;

  constructor(
    private readonly doc: Document,
    private readonly root: HTMLElement,
    private readonly api: WebviewApi<unknown>,
  ) {
    this.host = new Host(api);
    const saved: PersistedState = restoreState(api.getState());
    this.ui = saved.ui;
    this.result = saved.result;

    // Header ------------------------------------------------------------------------------------
    this.titleEl = h(doc, 'h1', { className: 'title' });
    this.verdictEl = h(doc, 'p', { className: 'verdict' });
    this.spaceSelect = h(doc, 'select', { className: 'space', attrs: { 'aria-label': 'Address space' }, on: { change: () => this.setSpace(this.spaceSelect.value) } });
    this.slider = h(doc, 'input', {
      className: 'slider',
      attrs: { type: 'range', min: 0, max: 0, value: 0, 'aria-label': 'Step' },
      on: { input: () => this.setStep(Number(this.slider.value), { focusChange: true }) },
    });
    this.stepLabel = h(doc, 'span', { className: 'step-label', attrs: { 'data-testid': 'step-label', 'aria-live': 'polite' } });
    this.pinButton = h(doc, 'button', {
      className: 'pin',
      text: 'Pin',
      title: 'Keep this step when the cursor moves',
      attrs: { type: 'button', 'aria-pressed': 'false' },
      on: { click: () => this.setPinned(!this.ui.pinned) },
    });
    const stepButton = (text: string, label: string, delta: number): HTMLButtonElement =>
      h(doc, 'button', { className: 'step-button', text, title: label, attrs: { type: 'button', 'aria-label': label }, on: { click: () => this.moveStep(delta) } });
    const toolbar = h(
      doc,
      'div',
      { className: 'toolbar', role: 'toolbar', attrs: { 'aria-label': 'Step and address space' } },
      h(doc, 'label', { className: 'space-label' }, 'Space ', this.spaceSelect),
      stepButton('◀', 'Previous step', -1),
      this.slider,
      stepButton('▶', 'Next step', +1),
      this.pinButton,
      this.stepLabel,
    );

    // Tabs --------------------------------------------------------------------------------------
    const tablist = h(doc, 'div', { className: 'tabs', role: 'tablist', attrs: { 'aria-label': 'Views' } });
    for (const tab of TABS) {
      const button = h(doc, 'button', {
        className: 'tab',
        id: `tab-${tab}`,
        role: 'tab',
        text: TAB_LABEL[tab],
        attrs: { type: 'button', 'aria-controls': `panel-${tab}`, 'aria-selected': 'false', tabindex: -1 },
        on: { click: () => this.setTab(tab) },
      });
      button.addEventListener('keydown', (event) => this.onTabKey(event, tab));
      this.tabButtons.set(tab, button);
      tablist.append(button);
    }

    // Tree panel --------------------------------------------------------------------------------
    const chip = (text: string, onClick: () => void): HTMLButtonElement =>
      h(doc, 'button', { className: 'chip', text, attrs: { type: 'button', 'aria-pressed': 'false' }, on: { click: onClick } });
    const check = (label: string, onChange: (on: boolean) => void): [HTMLLabelElement, HTMLInputElement] => {
      const input = h(doc, 'input', { attrs: { type: 'checkbox' } });
      input.addEventListener('change', () => onChange(input.checked));
      return [h(doc, 'label', { className: 'check' }, input, ` ${label}`), input];
    };
    const [changesLabel, changes] = check('Changes only', (on) => this.updateFilter({ changesOnly: on }));
    const [findingsLabel, findings] = check('Findings only', (on) => this.updateFilter({ findingsOnly: on }));
    const levels = new Map(LEVEL_NAMES.map((name) => [name as string, chip(name, () => this.toggleListFilter('levels', name))]));
    const kinds = new Map(KIND_NAMES.map((name) => [name as string, chip(name, () => this.toggleListFilter('kinds', name))]));
    const address = (placeholder: string, key: 'vaStart' | 'vaEnd'): HTMLInputElement => {
      const input = h(doc, 'input', { className: 'va-input', attrs: { type: 'text', placeholder, spellcheck: 'false', 'aria-label': placeholder } });
      input.addEventListener('change', () => {
        const ok = isAddressText(input.value);
        toggleClass(input, 'invalid', !ok);
        input.setAttribute('aria-invalid', String(!ok));
        if (ok) this.updateFilter({ [key]: input.value.trim() });
      });
      return input;
    };
    const expandAll = h(doc, 'button', { className: 'chip', text: 'Expand all', attrs: { type: 'button', 'aria-pressed': 'false' }, on: { click: () => this.setExpandAll(!this.ui.expandAll) } });
    const collapseAll = h(doc, 'button', { className: 'action', text: 'Collapse all', attrs: { type: 'button' }, on: { click: () => this.collapseAll() } });
    this.filterEls = { changes, findings, levels, kinds, vaStart: address('from address', 'vaStart'), vaEnd: address('to address', 'vaEnd'), expandAll };
    const exportButton = (format: 'ptdump' | 'json' | 'svg', text: string): HTMLButtonElement =>
      h(doc, 'button', { className: 'action', text, attrs: { type: 'button' }, on: { click: () => this.exportView(format) } });
    const more = h(
      doc,
      'div',
      { className: 'filters more-filters', id: 'more-filters', role: 'group', attrs: { 'aria-label': 'More filters' } },
      h(doc, 'span', { className: 'group', role: 'group', attrs: { 'aria-label': 'Levels' } }, h(doc, 'span', { className: 'group-label', text: 'level' }), ...levels.values()),
      h(doc, 'span', { className: 'group', role: 'group', attrs: { 'aria-label': 'Kinds' } }, h(doc, 'span', { className: 'group-label', text: 'kind' }), ...kinds.values()),
      h(doc, 'span', { className: 'group', role: 'group', attrs: { 'aria-label': 'Address range' } }, h(doc, 'span', { className: 'group-label', text: 'address' }), this.filterEls.vaStart, '–', this.filterEls.vaEnd),
    );
    more.hidden = true;
    this.moreButton = h(doc, 'button', {
      className: 'chip more',
      text: 'More filters',
      attrs: { type: 'button', 'aria-expanded': 'false', 'aria-controls': 'more-filters' },
      on: {
        click: () => {
          more.hidden = !more.hidden;
          this.moreButton.dataset.touched = 'true';
          this.renderFilters();
        },
      },
    });
    this.moreFilters = more;
    const filters = h(
      doc,
      'div',
      { className: 'filters', role: 'toolbar', attrs: { 'aria-label': 'Tree filters' } },
      changesLabel,
      findingsLabel,
      this.moreButton,
      h(doc, 'span', { className: 'group' }, expandAll, collapseAll),
      h(doc, 'span', { className: 'group', role: 'group', attrs: { 'aria-label': 'Export' } }, h(doc, 'span', { className: 'group-label', text: 'export' }), exportButton('ptdump', 'ptdump'), exportButton('json', 'JSON'), exportButton('svg', 'SVG')),
    );
    this.treeList = new VirtualList(doc, {
      role: 'tree',
      label: 'Page tables',
      className: 'tree',
      render: (element, index) => renderTreeRow(doc, element, this.treeRow(index), index, index === this.ui.activeOffset),
      onRange: (first, last) => this.onTreeRange(first, last),
    });
    this.treeList.element.addEventListener('keydown', (event) => this.onTreeKey(event));
    this.treeList.element.addEventListener('click', (event) => this.onTreeClick(event));
    this.treeList.element.addEventListener('dblclick', (event) => this.onTreeDoubleClick(event));
    this.detailsEl = h(doc, 'aside', { className: 'details', attrs: { 'aria-label': 'Selected entry' } });
    this.detailsEl.addEventListener('click', (event) => this.onActionClick(event));
    this.panel('tree', filters, more, h(doc, 'div', { className: 'split' }, this.treeList.element, this.detailsEl));

    // ptdump, ledger, counters, steps, findings, explorer ------------------------------------------
    this.ptdumpList = new VirtualList(doc, {
      role: 'list',
      label: 'Kernel ptdump',
      className: 'ptdump',
      render: (element, index) => renderPtdumpLine(doc, element, this.ptdump.key === this.pagedKey('ptdump') ? this.ptdump.items.get(index) : undefined),
      onRange: (first, last) => this.onPagedRange('ptdump', first, last),
    });
    this.panel(
      'ptdump',
      h(doc, 'div', { className: 'filters' }, h(doc, 'span', { className: 'muted', text: 'The kernel page tables (init_mm) after the selected step, as /sys/kernel/debug/kernel_page_tables prints them.' }), exportButton('ptdump', 'Export ptdump')),
      this.ptdumpList.element,
    );
    this.ledgerList = new VirtualList(doc, {
      role: 'table',
      label: 'Ledger of table pages',
      className: 'ledger',
      render: (element, index) => renderLedgerRow(doc, element, this.ledger.key === this.pagedKey('ledger') ? this.ledger.items.get(index) : undefined, this.result),
      onRange: (first, last) => this.onPagedRange('ledger', first, last),
    });
    this.ledgerList.element.addEventListener('click', (event) => this.onActionClick(event));
    this.panel('ledger', h(doc, 'p', { className: 'muted', text: 'Every page-table page of the selected space: its state after the selected step and its life (alloc, ctor, link, unlink, dtor, free).' }), this.ledgerList.element);
    this.countersEl = h(doc, 'div', { className: 'counters-panel' });
    this.panel('counters', this.countersEl);
    this.stepsList = new VirtualList(doc, {
      role: 'listbox',
      label: 'Statements that ran',
      className: 'steps',
      render: (element, index) => renderStepRow(doc, element, this.result?.steps[index], index === this.currentStep()),
    });
    this.stepsList.element.addEventListener('click', (event) => this.onActionClick(event));
    this.stepsList.element.addEventListener('keydown', (event) => this.onListKey(event, 'steps'));
    this.panel('steps', this.stepsList.element);
    this.findingsEl = h(doc, 'div', { className: 'findings-panel' });
    this.findingsEl.addEventListener('click', (event) => this.onActionClick(event));
    this.panel('findings', this.findingsEl);
    this.explorerSelect = h(doc, 'select', { attrs: { 'aria-label': 'Counterexample' }, on: { change: () => this.selectCounterexample(this.explorerSelect.value) } });
    this.explorerHead = h(doc, 'div', { className: 'explorer-head' });
    this.explorerHead.addEventListener('click', (event) => this.onActionClick(event));
    this.scheduleList = new VirtualList(doc, {
      role: 'listbox',
      label: 'Counterexample schedule',
      className: 'schedule',
      render: (element, index) => this.renderSchedule(element, index),
    });
    this.scheduleList.element.addEventListener('click', (event) => this.onActionClick(event));
    this.scheduleList.element.addEventListener('keydown', (event) => this.onListKey(event, 'schedule'));
    this.explorerTables = h(doc, 'div', { className: 'explorer-tables' });
    this.panel('explorer', h(doc, 'div', { className: 'filters' }, h(doc, 'label', {}, 'Race ', this.explorerSelect)), this.explorerHead, h(doc, 'div', { className: 'split' }, this.scheduleList.element, this.explorerTables));

    this.statusEl = h(doc, 'footer', { className: 'status', role: 'status' });
    this.emptyEl = h(doc, 'p', { className: 'empty', text: 'Run a scenario (the Run or Show tables lens) to inspect its page tables.' });
    this.bodyEl = h(doc, 'div', { className: 'body' }, toolbar, tablist, ...this.panels.values());
    root.replaceChildren(h(doc, 'header', { className: 'head' }, this.titleEl, this.verdictEl), this.emptyEl, this.bodyEl, this.statusEl);

    if (saved.rows && this.result && saved.rows.key === treeKey(this.result, this.ui)) {
      this.tree.key = saved.rows.key;
      this.tree.total = saved.rows.total;
      saved.rows.rows.forEach((row, i) => this.tree.items.set(saved.rows!.offset + i, row));
    }
    this.renderAll();
    if (this.result) this.treeList.setTop(this.ui.scroll.tree ?? 0);
  }

  private panel(tab: Tab, ...children: HTMLElement[]): void {
    this.panels.set(tab, h(this.doc, 'div', { className: `panel panel-${tab}`, id: `panel-${tab}`, role: 'tabpanel', attrs: { 'aria-labelledby': `tab-${tab}` } }, ...children));
  }

  /** Tells the host the page is ready; it answers with the result to show. */
  start(): void {
    this.host.ready();
  }

  // Messages --------------------------------------------------------------------------------------

  handle(message: HostToView): void {
    if (message.type === 'showResult' || message.type === 'clear') this.isConnected = true;
    switch (message.type) {
      case 'showResult':
        this.showResult(message.result, message.focus);
        return;
      case 'clear':
        this.result = undefined;
        this.resetData();
        this.renderAll();
        this.save();
        return;
      case 'selectStep':
        if (!this.ui.pinned) this.setStep(message.step, { focusChange: true, fromEditor: true });
        return;
      case 'rows':
        this.onRows(message.requestId, message.result);
        return;
      case 'rowsFailed': {
        this.pending.delete(message.requestId);
        this.error = message.message;
        this.renderStatus();
        return;
      }
      default: {
        const unreachable: never = message;
        return unreachable;
      }
    }
  }

  private showResult(result: RunResult, focus: 'steps' | 'tables' | 'explorer'): void {
    const previous = this.result;
    const same = previous !== undefined && previous.uri === result.uri && previous.scenarioIndex === result.scenarioIndex;
    this.result = result;
    if (!same) {
      const kept = this.ui;
      this.ui = { ...defaultUi(), filter: kept.filter, pinned: false };
      this.ui.step = result.steps.length - 1;
    } else if (this.ui.step >= result.steps.length) this.ui.step = result.steps.length - 1;
    if (!same || !this.counterexample()) this.ui.explorer = firstRace(result);
    const hasRaces = result.explorer.some((e) => (e.counterexamples?.length ?? 0) > 0);
    if (focus === 'explorer' && hasRaces) this.ui.tab = 'explorer';
    else if (!same || focus === 'tables' || (this.ui.tab === 'explorer' && !hasRaces)) this.ui.tab = 'tree';
    this.error = '';
    this.resetData();
    this.renderAll();
    this.save();
  }

  private resetData(): void {
    this.pending.clear();
    for (const store of [this.tree, this.ptdump, this.ledger] as Paged<unknown>[]) {
      store.asked = undefined;
    }
    this.counters = undefined;
  }

  private onRows(requestId: number, result: InspectorTreeResult): void {
    const pending = this.pending.get(requestId);
    if (!pending) return;
    this.pending.delete(requestId);
    if (!this.result) return;
    this.error = '';
    const offset = result.offset ?? 0;
    switch (pending.view) {
      case 'tree': {
        if (pending.key !== treeKey(this.result, this.ui)) return;
        // The space does not exist at this step (a process not created yet): the server showed the first.
        if (result.spaces.length > 0 && !result.spaces.includes(this.ui.space)) this.ui.space = result.spaces[0] ?? 'kernel';
        if (result.focus) {
          for (const id of result.focus.expanded) {
            this.ui.collapsed = this.ui.collapsed.filter((c) => c !== id);
            if (!this.ui.expanded.includes(id)) this.ui.expanded.push(id);
          }
        }
        const key = treeKey(this.result, this.ui);
        if (this.tree.key !== key) {
          this.tree.items.clear();
          this.tree.key = key;
        }
        this.tree.total = result.total;
        if (requestId === this.tree.latest) this.tree.asked = { key, start: offset, end: offset + result.rows.length };
        result.rows.forEach((row, i) => this.tree.items.set(offset + i, row));
        if (result.spaces.length > 0) this.spaces = result.spaces;
        this.treeList.setTotal(result.total);
        if (result.focus) {
          this.ui.activeOffset = result.focus.offset;
          this.ui.activeId = result.focus.id;
          this.treeList.scrollToIndex(result.focus.offset, 'center');
        } else if (this.ui.activeOffset >= result.total) this.ui.activeOffset = Math.max(0, result.total - 1);
        this.renderHeader();
        this.treeList.refresh();
        this.renderDetailsPane();
        break;
      }
      case 'ptdump':
      case 'ledger': {
        const store = pending.view === 'ptdump' ? this.ptdump : this.ledger;
        if (pending.key !== this.pagedKey(pending.view)) return;
        if (store.key !== pending.key) {
          store.items.clear();
          store.key = pending.key;
        }
        store.total = result.total;
        if (pending.view === 'ptdump') (result.lines ?? []).forEach((line, i) => this.ptdump.items.set(offset + i, line));
        else (result.ledger ?? []).forEach((row, i) => this.ledger.items.set(offset + i, row));
        const list = pending.view === 'ptdump' ? this.ptdumpList : this.ledgerList;
        list.setTotal(store.total);
        list.refresh();
        break;
      }
      case 'counters':
        if (pending.key !== this.pagedKey('counters') || !result.counters) return;
        this.counters = { key: pending.key, value: result.counters };
        this.renderCountersPane();
        break;
    }
    this.renderStatus();
    this.save();
  }

  // Requests ---------------------------------------------------------------------------------------

  private currentStep(): number {
    return effectiveStep(this.result, this.ui.step);
  }

  /** Parameters of the tree as the user set it up (with the shown step resolved). */
  private params(view: InspectorView, offset: number, count: number): InspectorTreeParams {
    if (!this.result) throw new Error('no result');
    const base = treeParams(this.result, { ...this.ui, step: this.currentStep() });
    return view === 'tree' ? { ...base, offset, count } : { ...base, expanded: [], offset, count, view };
  }

  private pagedKey(view: InspectorView): string {
    if (!this.result) return '';
    return JSON.stringify([view, this.result.uri, this.result.version, this.result.scenarioIndex, this.currentStep(), view === 'ptdump' ? '' : this.ui.space]);
  }

  private send(view: InspectorView, key: string, params: InspectorTreeParams): number {
    // Until the host has answered `ready`, the page shows its saved state and asks nothing.
    if (!this.isConnected) return -1;
    const requestId = this.host.fetchRows(params);
    this.pending.set(requestId, { view, key });
    this.renderStatus();
    return requestId;
  }

  private treeRow(index: number): InspectorRow | undefined {
    return this.tree.items.get(index);
  }

  /** Asks for the tree rows around the view when some are missing for the current query. */
  private onTreeRange(first: number, last: number): void {
    if (!this.result) return;
    this.ui.scroll.tree = this.treeList.top;
    this.save();
    const key = treeKey(this.result, this.ui);
    // Ask again before the view reaches the edge of what it has, so scrolling never waits.
    const margin = Math.floor(this.treeList.pageSize() / 2);
    const need = { first: Math.max(0, first - margin), last: Math.min(Math.max(0, this.tree.total - 1), last + margin) };
    const asked = this.tree.asked;
    if (asked && asked.key === key && asked.start <= need.first && asked.end > need.last) return;
    if (this.tree.key === key) {
      let missing = false;
      for (let i = need.first; i <= need.last && !missing; i++) missing = !this.tree.items.has(i);
      if (!missing) return;
    }
    this.requestTree(first, last);
  }

  /** Overscan: rows fetched beyond the view on each side, one screen (at least OVERSCAN). */
  private overscan(): number {
    return Math.max(OVERSCAN, this.treeList.pageSize());
  }

  private requestTree(first: number, last: number, focusChange = false): void {
    if (!this.result) return;
    const key = treeKey(this.result, this.ui);
    const start = Math.max(0, first - this.overscan());
    const count = Math.min(1000, last - first + 1 + 2 * this.overscan());
    this.tree.asked = { key, start, end: start + count };
    const params = this.params('tree', focusChange ? -1 : start, count);
    if (focusChange) params.focusChange = true;
    this.tree.latest = this.send('tree', key, params);
  }

  /** Re-asks for the tree after the query changed (step, space, filter, expansion). */
  private refreshTree(focusChange = false): void {
    if (!this.result) return;
    this.renderFilters();
    const { first, last } = this.treeList.visibleRange();
    this.requestTree(first, Math.max(first + this.treeList.pageSize(), last), focusChange);
  }

  private onPagedRange(view: 'ptdump' | 'ledger', first: number, last: number): void {
    if (!this.result) return;
    const store = view === 'ptdump' ? this.ptdump : this.ledger;
    const key = this.pagedKey(view);
    const asked = store.asked;
    if (asked && asked.key === key && asked.start <= first && asked.end > last) return;
    if (store.key === key) {
      let missing = false;
      for (let i = first; i <= last && !missing; i++) missing = !store.items.has(i);
      if (!missing) return;
    }
    this.requestPaged(view, first, last);
  }

  private requestPaged(view: 'ptdump' | 'ledger', first: number, last: number): void {
    const store = view === 'ptdump' ? this.ptdump : this.ledger;
    const key = this.pagedKey(view);
    const start = Math.max(0, first - OVERSCAN);
    const count = Math.min(1000, last - first + 1 + 2 * OVERSCAN);
    store.asked = { key, start, end: start + count };
    this.send(view, key, this.params(view, start, count));
  }

  // User actions -------------------------------------------------------------------------------------

  /** Shows the state after `step`; with `focusChange` the tree selects what the step changed. */
  setStep(step: number, options: { focusChange?: boolean; fromEditor?: boolean } = {}): void {
    if (!this.result || this.result.steps.length === 0) return;
    const clamped = Math.max(0, Math.min(this.result.steps.length - 1, step));
    if (clamped === this.currentStep() && options.fromEditor) return;
    this.ui.step = clamped;
    // Follow the statement into its address space (not into the explorer's or the top level's).
    const summary = this.result.steps[clamped];
    if (summary && summary.space !== this.ui.space && isSpaceName(summary.space)) this.ui.space = summary.space;
    this.resetData();
    this.renderHeader();
    this.stepsList.refresh();
    this.stepsList.element.setAttribute('aria-activedescendant', `step-${clamped}`);
    this.refreshActivePanel(options.focusChange === true);
    this.save();
  }

  private moveStep(delta: number): void {
    this.setStep(this.currentStep() + delta, { focusChange: true });
  }

  private setPinned(pinned: boolean): void {
    this.ui.pinned = pinned;
    this.renderHeader();
    this.save();
  }

  private setSpace(space: string): void {
    this.ui.space = space;
    this.ui.activeOffset = 0;
    this.resetData();
    this.refreshActivePanel(false);
    this.save();
  }

  setTab(tab: Tab): void {
    this.ui.tab = tab;
    this.renderTabs();
    this.refreshActivePanel(false);
    this.tabButtons.get(tab)?.focus();
    this.save();
  }

  private onTabKey(event: KeyboardEvent, tab: Tab): void {
    const visible = TABS.filter((t) => !(this.tabButtons.get(t)?.hidden ?? true));
    const at = visible.indexOf(tab);
    let next: Tab | undefined;
    if (event.key === 'ArrowRight') next = visible[(at + 1) % visible.length];
    else if (event.key === 'ArrowLeft') next = visible[(at - 1 + visible.length) % visible.length];
    else if (event.key === 'Home') next = visible[0];
    else if (event.key === 'End') next = visible[visible.length - 1];
    if (next) {
      event.preventDefault();
      this.setTab(next);
    }
  }

  private updateFilter(change: Partial<UiState['filter']>): void {
    this.ui.filter = { ...this.ui.filter, ...change };
    this.ui.activeOffset = 0;
    this.refreshTree();
    this.save();
  }

  private toggleListFilter(list: 'levels' | 'kinds', name: string): void {
    const current: string[] = this.ui.filter[list];
    const next = current.includes(name) ? current.filter((n) => n !== name) : [...current, name];
    this.updateFilter({ [list]: next } as Partial<UiState['filter']>);
  }

  private setExpandAll(on: boolean): void {
    this.ui.expandAll = on;
    this.ui.expanded = [];
    this.ui.collapsed = [];
    this.refreshTree();
    this.save();
  }

  private collapseAll(): void {
    this.ui.expandAll = false;
    this.ui.expanded = [];
    this.ui.collapsed = [];
    this.ui.activeOffset = 0;
    this.treeList.setTop(0);
    this.refreshTree();
    this.save();
  }

  private toggle(row: InspectorRow): void {
    if (!row.hasChildren) return;
    toggleRow(this.ui, row);
    this.refreshTree();
    this.save();
  }

  private setActive(offset: number): void {
    const total = this.tree.total;
    if (total === 0) return;
    this.ui.activeOffset = Math.max(0, Math.min(total - 1, offset));
    this.ui.activeId = this.tree.items.get(this.ui.activeOffset)?.id ?? '';
    this.treeList.scrollToIndex(this.ui.activeOffset);
    this.treeList.element.setAttribute('aria-activedescendant', `ti-${this.ui.activeOffset}`);
    this.treeList.refresh();
    this.renderDetailsPane();
    this.save();
  }

  private revealStep(step: number): void {
    const summary = this.result?.steps[step];
    if (summary) this.host.reveal(summary.range);
  }

  private exportView(format: 'ptdump' | 'json' | 'svg'): void {
    if (!this.result) return;
    const params = format === 'ptdump' ? this.params('ptdump', 0, 0) : this.params('tree', 0, 0);
    this.host.exportView(format, params);
  }

  private selectCounterexample(value: string): void {
    const [exploration, index] = value.split(':').map(Number);
    this.ui.explorer = { exploration: exploration ?? 0, counterexample: index ?? 0, step: 0 };
    // Open on the violation: the step where the walker uses what another thread freed.
    const cx = this.counterexample();
    this.ui.explorer.step = (cx && derefStep(cx)?.index) ?? 0;
    this.renderExplorer();
    this.save();
  }

  private selectScheduleStep(step: number, reveal: boolean): void {
    const cx = this.counterexample();
    if (!cx) return;
    this.ui.explorer.step = Math.max(0, Math.min(cx.steps.length, step));
    this.renderExplorer();
    const s = cx.steps[this.ui.explorer.step - 1];
    if (reveal && s) this.host.reveal(s.range);
    this.save();
  }

  // Events ---------------------------------------------------------------------------------------------

  private onTreeKey(event: KeyboardEvent): void {
    const active = this.ui.activeOffset;
    const row = this.tree.items.get(active);
    const page = this.treeList.pageSize();
    switch (event.key) {
      case 'ArrowDown':
        this.setActive(active + 1);
        break;
      case 'ArrowUp':
        this.setActive(active - 1);
        break;
      case 'PageDown':
        this.setActive(active + page);
        break;
      case 'PageUp':
        this.setActive(active - page);
        break;
      case 'Home':
        this.setActive(0);
        break;
      case 'End':
        this.setActive(this.tree.total - 1);
        break;
      case 'ArrowRight':
        if (row?.hasChildren && !row.isExpanded) this.toggle(row);
        else if (row?.hasChildren) this.setActive(active + 1);
        break;
      case 'ArrowLeft':
        if (row?.hasChildren && row.isExpanded) this.toggle(row);
        else if (row && (row.parentOffset ?? -1) >= 0) this.setActive(row.parentOffset ?? 0);
        break;
      case ' ':
        if (row) this.toggle(row);
        break;
      case 'Enter': {
        const step = row?.findings?.find((f) => f.step >= 0)?.step ?? row?.originStep ?? -1;
        if (step >= 0) this.revealStep(step);
        break;
      }
      default:
        return;
    }
    event.preventDefault();
  }

  private onTreeClick(event: Event): void {
    const target = event.target as HTMLElement | null;
    const rowEl = target?.closest<HTMLElement>('.tree-row');
    if (!rowEl) return;
    const offset = Number(rowEl.dataset.offset);
    const action = target?.closest<HTMLElement>('[data-action]');
    if (action?.dataset.action === 'reveal-step') {
      this.revealStep(Number(action.dataset.step));
      return;
    }
    this.setActive(offset);
    const row = this.tree.items.get(offset);
    if (row && action?.dataset.action === 'toggle') this.toggle(row);
    this.treeList.element.focus();
  }

  private onTreeDoubleClick(event: Event): void {
    const rowEl = (event.target as HTMLElement | null)?.closest<HTMLElement>('.tree-row');
    const row = rowEl ? this.tree.items.get(Number(rowEl.dataset.offset)) : undefined;
    if (!row) return;
    if (row.hasChildren) return;
    if ((row.originStep ?? -1) >= 0) this.revealStep(row.originStep ?? -1);
  }

  /** Delegated clicks on links and rows carrying a data-action. */
  private onActionClick(event: Event): void {
    const target = (event.target as HTMLElement | null)?.closest<HTMLElement>('[data-action]');
    if (!target || !this.result) return;
    event.preventDefault();
    const step = Number(target.dataset.step);
    switch (target.dataset.action) {
      case 'reveal-step':
        this.revealStep(step);
        return;
      case 'select-step':
        this.setStep(step, { focusChange: true });
        this.revealStep(step);
        return;
      case 'select-schedule-step':
        this.selectScheduleStep(step, true);
        return;
      case 'reveal-diagnostic': {
        const d = this.result.diagnostics[Number(target.dataset.index)];
        if (!d) return;
        const at = stepAtLine(this.result, d.range.start.line);
        if (at >= 0) this.setStep(at, { focusChange: true });
        this.host.reveal(d.range);
        return;
      }
    }
  }

  private onListKey(event: KeyboardEvent, list: 'steps' | 'schedule'): void {
    const page = (list === 'steps' ? this.stepsList : this.scheduleList).pageSize();
    const deltas: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page, Home: -1e9, End: 1e9 };
    const delta = deltas[event.key] ?? 0;
    if (delta === 0 && event.key !== 'Enter') return;
    event.preventDefault();
    if (list === 'steps') {
      if (event.key === 'Enter') this.revealStep(this.currentStep());
      else {
        this.setStep(this.currentStep() + delta, { focusChange: true });
        this.stepsList.scrollToIndex(this.currentStep());
      }
    } else {
      const cx = this.counterexample();
      if (event.key === 'Enter') {
        const s = cx?.steps[this.ui.explorer.step - 1];
        if (s) this.host.reveal(s.range);
      } else this.selectScheduleStep(Math.max(1, this.ui.explorer.step + delta), false);
    }
  }

  // Rendering ----------------------------------------------------------------------------------------

  private renderAll(): void {
    const result = this.result;
    this.emptyEl.hidden = result !== undefined;
    this.bodyEl.hidden = result === undefined;
    this.titleEl.textContent = result ? result.title : 'PTScn Inspector';
    this.verdictEl.textContent = result
      ? `${result.ok ? 'passed' : 'failed'} · ${result.status} · ${result.arch} · ${result.stats.steps} steps · ${result.stats.ms} ms`
      : '';
    toggleClass(this.verdictEl, 'failed', result !== undefined && !result.ok);
    this.renderHeader();
    this.renderTabs();
    this.renderFilters();
    this.renderStatus();
    if (result) this.refreshActivePanel(false);
  }

  private renderHeader(): void {
    const result = this.result;
    const count = result?.steps.length ?? 0;
    const step = this.currentStep();
    this.slider.max = String(Math.max(0, count - 1));
    this.slider.value = String(Math.max(0, step));
    this.slider.disabled = count <= 1;
    const summary = result?.steps[step];
    this.slider.setAttribute('aria-valuetext', summary ? `step ${step + 1} of ${count}, line ${summary.range.start.line + 1}` : 'no steps');
    this.stepLabel.textContent = summary ? `step ${step + 1}/${count} · line ${summary.range.start.line + 1} · ${summary.space} · ${summary.helper}: ${summary.summary}` : 'no statement ran';
    this.stepLabel.title = this.stepLabel.textContent;
    this.pinButton.setAttribute('aria-pressed', String(this.ui.pinned));
    this.pinButton.textContent = this.ui.pinned ? 'Pinned' : 'Pin';
    toggleClass(this.pinButton, 'on', this.ui.pinned);
    const spaces = this.spaces.includes(this.ui.space) ? this.spaces : [...this.spaces, this.ui.space];
    if ([...this.spaceSelect.options].map((o) => o.value).join('\n') !== spaces.join('\n')) {
      this.spaceSelect.replaceChildren(...spaces.map((s) => h(this.doc, 'option', { text: s === 'kernel' ? 'kernel (init_mm)' : s, attrs: { value: s } })));
    }
    this.spaceSelect.value = this.ui.space;
  }

  private renderTabs(): void {
    const result = this.result;
    const races = result?.explorer.reduce((n, e) => n + (e.counterexamples?.length ?? 0), 0) ?? 0;
    for (const tab of TABS) {
      const button = this.tabButtons.get(tab);
      const panel = this.panels.get(tab);
      if (!button || !panel) continue;
      button.hidden = tab === 'explorer' && races === 0;
      if (tab === 'findings') button.textContent = `Findings (${result?.diagnostics.length ?? 0})`;
      if (tab === 'explorer') button.textContent = `Explorer (${races})`;
      const selected = tab === this.ui.tab;
      button.setAttribute('aria-selected', String(selected));
      button.tabIndex = selected ? 0 : -1;
      toggleClass(button, 'selected', selected);
      panel.hidden = !selected;
    }
  }

  private renderFilters(): void {
    const f = this.ui.filter;
    const els = this.filterEls;
    els.changes.checked = f.changesOnly;
    els.findings.checked = f.findingsOnly;
    for (const [name, chip] of els.levels) chip.setAttribute('aria-pressed', String(f.levels.includes(name)));
    for (const [name, chip] of els.kinds) chip.setAttribute('aria-pressed', String((f.kinds as string[]).includes(name)));
    if (this.doc.activeElement !== els.vaStart) els.vaStart.value = f.vaStart;
    if (this.doc.activeElement !== els.vaEnd) els.vaEnd.value = f.vaEnd;
    els.expandAll.setAttribute('aria-pressed', String(this.ui.expandAll));
    // The less used filters fold away; the button counts the ones in force.
    const hidden = f.levels.length + f.kinds.length + (f.vaStart ? 1 : 0) + (f.vaEnd ? 1 : 0);
    if (hidden > 0 && this.moreFilters.hidden && !this.moreButton.dataset.touched) this.moreFilters.hidden = false;
    this.moreButton.textContent = hidden > 0 ? `More filters (${hidden})` : 'More filters';
    this.moreButton.setAttribute('aria-expanded', String(!this.moreFilters.hidden));
    this.moreButton.setAttribute('aria-pressed', String(hidden > 0));
  }

  private refreshActivePanel(focusChange: boolean): void {
    if (!this.result) return;
    switch (this.ui.tab) {
      case 'tree':
        if (focusChange) this.refreshTree(true);
        else {
          this.treeList.setTotal(this.tree.key === treeKey(this.result, this.ui) ? this.tree.total : Math.max(this.tree.total, 1));
          this.refreshTree(false);
        }
        this.renderDetailsPane();
        break;
      case 'ptdump':
      case 'ledger': {
        const list = this.ui.tab === 'ptdump' ? this.ptdumpList : this.ledgerList;
        const store = this.ui.tab === 'ptdump' ? this.ptdump : this.ledger;
        list.setTotal(store.key === this.pagedKey(this.ui.tab) ? store.total : Math.max(store.total, 1));
        const { first, last } = list.visibleRange();
        this.requestPaged(this.ui.tab, first, Math.max(last, first + list.pageSize()));
        break;
      }
      case 'counters':
        if (this.counters?.key !== this.pagedKey('counters')) this.send('counters', this.pagedKey('counters'), this.params('counters', 0, 0));
        this.renderCountersPane();
        break;
      case 'steps':
        this.stepsList.setTotal(this.result.steps.length);
        this.stepsList.scrollToIndex(Math.max(0, this.currentStep()), 'center');
        break;
      case 'findings':
        this.findingsEl.replaceChildren(renderFindings(this.doc, this.result.diagnostics));
        break;
      case 'explorer':
        this.renderExplorer();
        break;
    }
    this.renderStatus();
  }

  private renderDetailsPane(): void {
    const row = this.tree.key === (this.result ? treeKey(this.result, this.ui) : '') ? this.tree.items.get(this.ui.activeOffset) : undefined;
    this.detailsEl.replaceChildren(renderDetails(this.doc, row, this.result));
    if (row) this.treeList.element.setAttribute('aria-activedescendant', `ti-${this.ui.activeOffset}`);
  }

  private renderCountersPane(): void {
    const value = this.counters?.key === this.pagedKey('counters') ? this.counters.value : undefined;
    this.countersEl.replaceChildren(renderCounters(this.doc, value, this.result, this.currentStep()));
  }

  private counterexample() {
    const e = this.result?.explorer[this.ui.explorer.exploration];
    return e?.counterexamples?.[this.ui.explorer.counterexample];
  }

  private renderSchedule(element: HTMLElement, index: number): void {
    const cx = this.counterexample();
    const step = cx?.steps[index];
    const freeing = cx ? freeingSteps(cx) : new Set<number>();
    const deref = cx ? derefStep(cx) : undefined;
    renderScheduleRow(this.doc, element, step, {
      selected: step !== undefined && step.index === this.ui.explorer.step,
      freeing: step !== undefined && freeing.has(step.index),
      deref: step !== undefined && deref?.index === step.index,
    });
  }

  private renderExplorer(): void {
    const result = this.result;
    if (!result) return;
    const options: HTMLOptionElement[] = [];
    result.explorer.forEach((e, ei) =>
      (e.counterexamples ?? []).forEach((cx, ci) =>
        options.push(h(this.doc, 'option', { text: `line ${e.range.start.line + 1}: ${cx.kind}`, attrs: { value: `${ei}:${ci}` } })),
      ),
    );
    this.explorerSelect.replaceChildren(...options);
    const cx = this.counterexample();
    if (!cx && options[0]) {
      this.selectCounterexample(options[0].value);
      return;
    }
    this.explorerSelect.value = `${this.ui.explorer.exploration}:${this.ui.explorer.counterexample}`;
    if (!cx) {
      this.explorerHead.replaceChildren(h(this.doc, 'p', { className: 'muted', text: 'The explorer found no race in this scenario.' }));
      this.explorerTables.replaceChildren();
      this.scheduleList.setTotal(0);
      return;
    }
    const deref = derefStep(cx);
    const step = Math.min(this.ui.explorer.step, cx.steps.length);
    const at = cx.steps[step - 1];
    this.explorerHead.replaceChildren(
      renderCounterexampleHead(this.doc, cx),
      h(
        this.doc,
        'p',
        { className: 'muted' },
        step === 0 ? 'Tables as the block began. Select a step of the schedule.' : `After step ${step} (${at?.thread ?? ''}, line ${(at?.range.start.line ?? 0) + 1}): ${at?.action ?? ''}`,
      ),
      ...(deref
        ? [
            h(
              this.doc,
              'p',
              { className: 'deref-note' },
              `The walker ${deref.thread} dereferences a freed table at `,
              h(this.doc, 'a', { text: `step ${deref.index}`, attrs: { href: '#', 'data-action': 'select-schedule-step', 'data-step': deref.index } }),
              '.',
            ),
          ]
        : []),
    );
    this.scheduleList.setTotal(cx.steps.length);
    if (step > 0) this.scheduleList.scrollToIndex(step - 1);
    if (step > 0) this.scheduleList.element.setAttribute('aria-activedescendant', `schedule-${step}`);
    else this.scheduleList.element.removeAttribute('aria-activedescendant');
    this.scheduleList.refresh();
    this.explorerTables.replaceChildren(renderExploredTables(this.doc, tablesAtStep(cx, step), deref && deref.index <= step ? deref.thread : undefined));
  }

  private renderStatus(): void {
    if (!this.result) {
      this.statusEl.textContent = '';
      return;
    }
    const loading = this.pending.size > 0 ? ' · loading…' : '';
    const rows = this.ui.tab === 'tree' ? `${this.tree.total.toLocaleString('en-US')} rows${isFiltering(this.ui.filter) ? ' (filtered)' : ''}` : '';
    const where = `${lineOf(this.result, this.currentStep())}${this.ui.pinned ? ' (pinned)' : ''}`;
    this.statusEl.textContent = [rows, where].filter(Boolean).join(' · ') + loading + (this.error ? ` · ${this.error}` : '');
    toggleClass(this.statusEl, 'error', this.error !== '');
  }

  // State ---------------------------------------------------------------------------------------------

  /** Saves the page state soon (coalescing bursts of changes). */
  private save(): void {
    if (this.saveTimer !== undefined) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      this.saveNow();
    }, SAVE_DELAY_MS);
  }

  /** Saves the page state now: the result, the choices, and the rows in view. */
  saveNow(): void {
    const state: PersistedState = { version: 1, ui: this.ui };
    if (this.result) {
      state.result = this.result;
      const { first, last } = this.treeList.visibleRange();
      const rows: InspectorRow[] = [];
      for (let i = first; i <= last; i++) {
        const row = this.tree.items.get(i);
        if (!row) break;
        rows.push(row);
      }
      if (this.tree.key === treeKey(this.result, this.ui) && rows.length > 0) state.rows = { key: this.tree.key, offset: first, total: this.tree.total, rows };
    }
    this.api.setState(state);
  }

  /** For tests: the row a screen reader would announce as active. */
  activeDescription(): string {
    const row = this.tree.items.get(this.ui.activeOffset);
    return row ? describeRow(row) : '';
  }
}
