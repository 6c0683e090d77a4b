// Pure DOM rendering of the inspector's rows and panes: (document, data) → elements. No state,
// no messages; app.ts wires them to the lists and the host. Actions are data attributes
// (`data-action`, `data-step`) read by one delegated click handler.

import type {
  CounterexampleInfo,
  CounterexampleStepInfo,
  InspectorCounters,
  InspectorFinding,
  InspectorLedgerRow,
  InspectorRow,
  InspectorTablePage,
  RunDiagnostic,
  RunResult,
  StepSummary,
} from '../../server/src/protocol/result';
import { h, setAttr, toggleClass } from './dom';
import type { TableAtStep } from './explorer';

/** Short badge text per finding. */
export const FINDING_LABEL: Record<InspectorFinding['code'], string> = {
  wx: 'W+X',
  overlap: 'partial overlap',
  guard: 'guard',
  unlinked: 'unlinked',
  leak: 'leak',
};

const CHANGE_MARK: Record<string, string> = { added: '+', removed: '−', changed: '~' };

/** "line 5" for a step, the way every link names a statement. */
export function lineOf(result: RunResult | undefined, step: number): string {
  const s = result?.steps[step];
  return s ? `line ${s.range.start.line + 1}` : 'before the run';
}

/** What a screen reader says for a tree row. */
export function describeRow(row: InspectorRow): string {
  const parts = [row.label];
  if (row.va) parts.push(row.vaLast && row.vaLast !== row.va ? `${row.va} to ${row.vaLast}` : row.va);
  if (row.decoded) parts.push(row.decoded.join(' '));
  else if (row.detail) parts.push(row.detail);
  if (row.change) parts.push(row.change);
  for (const f of row.findings ?? []) parts.push(FINDING_LABEL[f.code]);
  return parts.join(', ');
}

function cell(doc: Document, className: string): HTMLSpanElement {
  return h(doc, 'span', { className });
}

/** Builds the fixed cells of a pooled tree row once. */
function treeCells(doc: Document, element: HTMLElement): HTMLElement[] {
  if (element.childElementCount !== 8) {
    element.replaceChildren(
      cell(doc, 'twisty'),
      cell(doc, 'chg'),
      cell(doc, 'lvl'),
      cell(doc, 'lbl'),
      cell(doc, 'va'),
      cell(doc, 'desc'),
      cell(doc, 'val'),
      cell(doc, 'badges'),
    );
  }
  return [...element.children] as HTMLElement[];
}

function setText(element: HTMLElement | undefined, text: string): void {
  if (element && element.textContent !== text) element.textContent = text;
}

/**
 * Fills pooled element `element` with tree row `row` at `offset` (or a loading placeholder).
 * The element carries role treeitem, its level, expansion and selection for assistive
 * technology; `active` marks the row with the keyboard focus.
 */
export function renderTreeRow(doc: Document, element: HTMLElement, row: InspectorRow | undefined, offset: number, active: boolean): void {
  const [twisty, chg, lvl, lbl, va, desc, val, badges] = treeCells(doc, element);
  element.id = `ti-${offset}`;
  element.dataset.offset = String(offset);
  setAttr(element, 'role', 'treeitem');
  setAttr(element, 'aria-selected', active ? 'true' : 'false');
  toggleClass(element, 'tree-row', true);
  toggleClass(element, 'active', active);
  if (!row) {
    toggleClass(element, 'loading', true);
    for (const name of ['added', 'removed', 'changed', 'has-finding', 'run', 'none']) toggleClass(element, name, false);
    setAttr(element, 'aria-level', undefined);
    setAttr(element, 'aria-expanded', undefined);
    setAttr(element, 'aria-label', 'loading');
    element.style.setProperty('--depth', '0');
    for (const c of [twisty, chg, lvl, lbl, va, desc, val]) setText(c, '');
    setText(lbl, '…');
    badges?.replaceChildren();
    return;
  }
  toggleClass(element, 'loading', false);
  element.dataset.id = row.id;
  element.style.setProperty('--depth', String(row.depth));
  setAttr(element, 'aria-level', String(row.depth + 1));
  setAttr(element, 'aria-expanded', row.hasChildren ? String(row.isExpanded) : undefined);
  setAttr(element, 'aria-label', describeRow(row));
  for (const name of ['added', 'removed', 'changed'] as const) toggleClass(element, name, row.change === name);
  toggleClass(element, 'has-finding', (row.findings?.length ?? 0) > 0);
  toggleClass(element, 'run', row.last !== undefined);
  toggleClass(element, 'none', row.entryKind === 'none');
  setText(twisty, row.hasChildren ? (row.isExpanded ? '▾' : '▸') : '');
  if (twisty) twisty.dataset.action = row.hasChildren ? 'toggle' : '';
  setText(chg, row.change ? (CHANGE_MARK[row.change] ?? '') : '');
  if (chg) chg.title = row.change ? `${row.change} by this step` : '';
  setText(lvl, row.archLevel ? `${row.level} ${row.archLevel}` : row.level);
  const label = row.kind === 'table' && row.depth === 0 ? row.label : row.last !== undefined ? `[${row.index}–${row.last}]` : row.index !== undefined ? `[${row.index}]` : row.label;
  setText(lbl, label);
  setText(va, row.va ?? '');
  if (va) va.title = row.vaLast ? `${row.va} – ${row.vaLast} (${row.size ?? ''} each)` : '';
  const count = row.last !== undefined && row.index !== undefined ? `${row.last - row.index + 1}× ` : '';
  const words = row.decoded ? row.decoded.join(' ') : row.detail;
  const target = row.table && row.entryKind === 'table' && row.depth > 0 ? ` → ${row.table.level} @ ${row.table.pa}` : '';
  setText(desc, `${count}${words}${target}${row.matches !== undefined && row.hasChildren ? ` (${row.matches} match${row.matches === 1 ? '' : 'es'})` : ''}`);
  setText(val, row.entryKind === 'none' || row.depth === 0 ? '' : (row.value ?? ''));
  if (badges) {
    badges.replaceChildren(
      ...(row.findings ?? []).map((f) =>
        h(doc, 'button', {
          className: `badge finding-${f.code}`,
          text: FINDING_LABEL[f.code],
          title: `${f.message}${f.step >= 0 ? ' — select to show the statement' : ''}`,
          attrs: { type: 'button', tabindex: -1, 'data-action': f.step >= 0 ? 'reveal-step' : undefined, 'data-step': f.step },
        }),
      ),
    );
  }
}

function link(doc: Document, result: RunResult | undefined, step: number, text?: string): HTMLElement {
  if (step < 0 || !result?.steps[step]) return h(doc, 'span', { text: text ?? 'before the run' });
  return h(doc, 'a', { className: 'step-link', text: text ?? lineOf(result, step), attrs: { href: '#', 'data-action': 'reveal-step', 'data-step': step } });
}

function field(doc: Document, name: string, ...value: (Node | string)[]): HTMLElement {
  return h(doc, 'div', { className: 'field' }, h(doc, 'dt', { text: name }), h(doc, 'dd', {}, ...value));
}

/** The table page a row stands for or points to, with its ledger state. */
export function renderTablePage(doc: Document, page: InspectorTablePage, result: RunResult | undefined): HTMLElement {
  const flags = [page.constructed ? 'constructed (counted in NR_PAGETABLE)' : 'not constructed', page.linked ? 'linked' : 'not linked'];
  return h(
    doc,
    'dl',
    { className: 'table-page' },
    field(doc, 'table page', `${page.level.toUpperCase()} (${page.archLevel}) @ ${page.pa}${page.name ? ` “${page.name}”` : ''}`),
    field(doc, 'ledger', flags.join(', ')),
    field(doc, 'memory', `${page.bytes} bytes from ${page.allocator}, ${page.used} entries used`),
    field(doc, 'allocated', page.allocStep < 0 ? 'static (never allocated)' : link(doc, result, page.allocStep)),
    page.freeStep >= 0 ? field(doc, 'freed', link(doc, result, page.freeStep)) : null,
  ) as HTMLElement;
}

/** The details pane for the selected tree row. */
export function renderDetails(doc: Document, row: InspectorRow | undefined, result: RunResult | undefined): HTMLElement {
  if (!row) return h(doc, 'p', { className: 'muted', text: 'Select a row to see its descriptor.' });
  const heading = row.last !== undefined ? `${row.level}[${row.index}–${row.last}]` : row.index !== undefined ? `${row.level}[${row.index}]` : row.label;
  const list = h(doc, 'dl', { className: 'fields' });
  if (row.archLevel) list.append(field(doc, 'level', `${row.level} (${row.archLevel})${row.size ? `, ${row.size} per entry` : ''}`));
  if (row.va) list.append(field(doc, 'address', row.vaLast && row.vaLast !== row.va ? `${row.va} – ${row.vaLast}` : row.va));
  if (row.last !== undefined && row.index !== undefined) list.append(field(doc, 'entries', `${row.last - row.index + 1} alike, coalesced as ptdump does`));
  if (row.value && row.depth > 0) list.append(field(doc, 'descriptor', h(doc, 'code', { text: row.value })));
  if (row.before) list.append(field(doc, 'before', h(doc, 'code', { text: row.before })));
  if (row.decoded) list.append(field(doc, 'decoded', row.decoded.join(', ')));
  if (row.bits && row.bits.length > 0) list.append(field(doc, 'bits', row.bits.join(' ')));
  if (row.change) list.append(field(doc, 'this step', `${row.change}`));
  if (row.originStep !== undefined) list.append(field(doc, 'written by', link(doc, result, row.originStep)));
  const findings = (row.findings ?? []).map((f) =>
    h(doc, 'li', { className: `finding finding-${f.code}` }, h(doc, 'strong', { text: `${FINDING_LABEL[f.code]}: ` }), f.message, ' ', f.step >= 0 ? link(doc, result, f.step) : ''),
  );
  return h(
    doc,
    'section',
    { className: 'details-body', attrs: { 'aria-label': `details of ${heading}` } },
    h(doc, 'h2', { text: heading }),
    list,
    findings.length > 0 ? h(doc, 'ul', { className: 'findings' }, ...findings) : null,
    row.table ? renderTablePage(doc, row.table, result) : null,
  );
}

/** One ledger row: a table page and its life events. */
export function renderLedgerRow(doc: Document, element: HTMLElement, row: InspectorLedgerRow | undefined, result: RunResult | undefined): void {
  element.className = 'vlist-row ledger-row';
  setAttr(element, 'role', 'row');
  if (!row) {
    element.replaceChildren(h(doc, 'span', { className: 'muted', text: '…' }));
    return;
  }
  toggleClass(element, 'freed', row.state === 'freed');
  toggleClass(element, 'unallocated', row.state === 'unallocated');
  toggleClass(element, 'has-finding', row.leaked || row.unlinked);
  const flags = [row.constructed ? 'ctor' : '', row.linked ? 'linked' : '', row.unlinked ? 'unlinked' : '', row.leaked ? 'leaked' : ''].filter(Boolean);
  element.replaceChildren(
    h(doc, 'span', { className: 'c-id', role: 'cell', text: `#${row.id}` }),
    h(doc, 'span', { className: 'c-level', role: 'cell', text: `${row.level} ${row.archLevel}` }),
    h(doc, 'span', { className: 'c-pa', role: 'cell', text: `${row.pa}${row.name ? ` ${row.name}` : ''}` }),
    h(doc, 'span', { className: `c-state state-${row.state}`, role: 'cell', text: row.state }),
    h(doc, 'span', { className: 'c-flags', role: 'cell', text: flags.join(' ') }),
    h(
      doc,
      'span',
      { className: 'c-events', role: 'cell' },
      ...row.events.flatMap((e, i) => [i > 0 ? ' · ' : '', link(doc, result, e.step, `${e.kind} ${lineOf(result, e.step)}`)]),
    ),
  );
}

/** One line of the kernel's ptdump text. */
export function renderPtdumpLine(doc: Document, element: HTMLElement, line: string | undefined): void {
  element.className = 'vlist-row ptdump-line';
  setAttr(element, 'role', 'listitem');
  toggleClass(element, 'marker-line', line?.startsWith('---[') === true);
  setText(element, line ?? '…');
}

/** One statement of the run in the steps list. */
export function renderStepRow(doc: Document, element: HTMLElement, step: StepSummary | undefined, selected: boolean): void {
  element.className = 'vlist-row step-row';
  setAttr(element, 'role', 'option');
  setAttr(element, 'aria-selected', selected ? 'true' : 'false');
  toggleClass(element, 'active', selected);
  if (!step) {
    element.replaceChildren();
    return;
  }
  element.id = `step-${step.index}`;
  element.dataset.action = 'select-step';
  element.dataset.step = String(step.index);
  const effects = [step.tablesAllocated ? `+${step.tablesAllocated} tables` : '', step.tablesFreed ? `−${step.tablesFreed} tables` : '', step.entriesWritten ? `${step.entriesWritten} entries` : '']
    .filter(Boolean)
    .join(' ');
  element.replaceChildren(
    h(doc, 'span', { className: 'c-step', text: String(step.index + 1) }),
    h(doc, 'span', { className: 'c-line', text: `line ${step.range.start.line + 1}` }),
    h(doc, 'span', { className: 'c-space', text: step.space }),
    h(doc, 'span', { className: 'c-helper', text: step.helper }),
    h(doc, 'span', { className: 'c-summary', text: `${step.summary}${step.result ? ` ⇒ ${step.result}` : ''}` }),
    h(doc, 'span', { className: 'c-effects', text: effects }),
  );
}

/** One step of a counterexample schedule. */
export function renderScheduleRow(
  doc: Document,
  element: HTMLElement,
  step: CounterexampleStepInfo | undefined,
  marks: { selected: boolean; freeing: boolean; deref: boolean },
): void {
  element.className = 'vlist-row schedule-row';
  setAttr(element, 'role', 'option');
  setAttr(element, 'aria-selected', marks.selected ? 'true' : 'false');
  toggleClass(element, 'active', marks.selected);
  toggleClass(element, 'freeing', marks.freeing);
  toggleClass(element, 'deref', marks.deref);
  if (!step) {
    element.replaceChildren();
    return;
  }
  element.id = `schedule-${step.index}`;
  element.dataset.action = 'select-schedule-step';
  element.dataset.step = String(step.index);
  element.replaceChildren(
    h(doc, 'span', { className: 'c-step', text: String(step.index) }),
    h(doc, 'span', { className: 'c-thread', text: step.thread }),
    h(doc, 'span', { className: 'c-line', text: `line ${step.range.start.line + 1}` }),
    h(doc, 'span', { className: 'c-summary', text: step.action }),
    ...(marks.freeing ? [h(doc, 'span', { className: 'badge finding-leak', text: 'frees' })] : []),
    ...(marks.deref ? [h(doc, 'span', { className: 'badge finding-wx', text: 'use after free' })] : []),
  );
}

/** The tables of a counterexample at one step, the freed ones and the touched ones marked. */
export function renderExploredTables(doc: Document, tables: TableAtStep[], derefThread: string | undefined): HTMLElement {
  return h(
    doc,
    'div',
    { className: 'explored-tables', role: 'list', attrs: { 'aria-label': 'tables at this step' } },
    ...tables.map((t) =>
      h(
        doc,
        'div',
        { className: `explored-table${t.freed ? ' freed' : ''}${t.touched ? ' touched' : ''}`, role: 'listitem' },
        h(
          doc,
          'div',
          { className: 'explored-head' },
          h(doc, 'strong', { text: `${t.level.toUpperCase()} table #${t.id}` }),
          ` @ ${t.pa} · maps from ${t.va}`,
          t.freed ? h(doc, 'span', { className: 'badge finding-wx', text: `freed${t.freedBy ? ` at step ${t.freedBy}` : ''}` }) : null,
          t.freed && t.touched && derefThread ? h(doc, 'span', { className: 'badge finding-overlap', text: `read by ${derefThread}` }) : null,
        ),
        t.entries.length === 0
          ? h(doc, 'div', { className: 'muted', text: 'all entries none' })
          : h(
              doc,
              'ul',
              { className: 'explored-entries' },
              ...t.entries.map((e) => h(doc, 'li', { className: t.written.has(e.index) ? 'changed' : '' }, `[${e.index}] `, h(doc, 'code', { text: e.value }))),
            ),
      ),
    ),
  );
}

/** The counters after a step, with the change the step made, and per-space table accounting. */
export function renderCounters(doc: Document, counters: InspectorCounters | undefined, result: RunResult | undefined, step: number): HTMLElement {
  if (!counters) return h(doc, 'p', { className: 'muted', text: 'Loading counters…' });
  const previous = result?.steps[step - 1]?.counters ?? {};
  const delta = (name: string, value: number): string => {
    const before = previous[name] ?? (step > 0 ? value : 0);
    const d = value - before;
    return d === 0 ? '' : ` (${d > 0 ? '+' : ''}${d} in this step)`;
  };
  const rows: [string, string][] = [
    ['TLB flushes', `${counters.tlbFlushes}${delta('tlb_flushes', counters.tlbFlushes)}`],
    ['barriers (dsb; isb)', `${counters.barriers}${delta('barriers', counters.barriers)}`],
    ['direct-map splits', `${counters.directMapSplits}${delta('direct_map_splits', counters.directMapSplits)}`],
  ];
  const table = (caption: string, body: [string, string][]): HTMLElement =>
    h(
      doc,
      'table',
      { className: 'counters' },
      h(doc, 'caption', { text: caption }),
      h(doc, 'tbody', {}, ...body.map(([name, value]) => h(doc, 'tr', {}, h(doc, 'th', { text: name, attrs: { scope: 'row' } }), h(doc, 'td', { text: value })))),
    );
  return h(
    doc,
    'div',
    { className: 'counters-view' },
    table(`After ${lineOf(result, step)}`, rows),
    ...counters.spaces.map((s) =>
      table(s.kernel ? 'kernel (init_mm)' : `process ${s.name}`, [
        ['table pages', Object.entries(s.tablesByLevel).map(([level, n]) => `${n} ${level}`).join(', ') || 'none'],
        ['NR_PAGETABLE bytes (ctor ran)', String(s.accountedBytes)],
        ...(s.kernel ? [] : ([['pgtables_bytes (linked PTE/PMD/PUD)', String(s.pgtablesBytes)], ['mm->pgtables_bytes at the end', String(s.finalPgtablesBytes)]] as [string, string][])),
      ]),
    ),
  );
}

/** The run's findings, each revealing its statement. */
export function renderFindings(doc: Document, diagnostics: RunDiagnostic[]): HTMLElement {
  if (diagnostics.length === 0) return h(doc, 'p', { className: 'muted', text: 'No findings.' });
  return h(
    doc,
    'ul',
    { className: 'findings-list', role: 'list' },
    ...diagnostics.map((d, i) =>
      h(
        doc,
        'li',
        { className: `finding severity-${d.severity}${d.expected ? ' expected' : ''}` },
        h(
          doc,
          'a',
          { attrs: { href: '#', 'data-action': 'reveal-diagnostic', 'data-index': i } },
          h(doc, 'span', { className: 'sev', text: d.severity }),
          ' ',
          h(doc, 'code', { text: d.code }),
          ` line ${d.range.start.line + 1}: ${d.message}${d.expected ? ' (expected)' : ''}`,
        ),
      ),
    ),
  );
}

/** A counterexample's heading: kind, message, length. */
export function renderCounterexampleHead(doc: Document, cx: CounterexampleInfo): HTMLElement {
  return h(
    doc,
    'p',
    { className: 'cx-head' },
    h(doc, 'strong', { text: cx.kind }),
    `: ${cx.message} — ${cx.steps.length} steps${cx.shortest ? ', shortest' : ''}`,
  );
}
