// The inspector page's logic in happy-dom: handshake, paging rows from the host, keyboard
// navigation and ARIA, following the cursor and the pin, message guards, state restore.

import assert from 'node:assert/strict';
import { afterEach, before, beforeEach, describe, it } from 'node:test';
import type { InspectorTreeParams } from '../../server/src/protocol/result';
import { isHostToView, type HostToView } from '../../server/src/protocol/webview';
import { App } from '../../extension/webview/app';
import type { WebviewApi } from '../../extension/webview/host';
import { answer, FINDINGS_SCENARIO, runText, type Ran } from './support';

const ran: Ran = runText(FINDINGS_SCENARIO);

/** The stub acquireVsCodeApi(): records messages and state, and can answer like the host. */
class FakeApi implements WebviewApi<unknown> {
  readonly posted: Record<string, unknown>[] = [];
  state: unknown;
  app: App | undefined;
  autoAnswer = true;

  constructor(initial?: unknown) {
    this.state = initial;
  }

  postMessage(message: unknown): void {
    this.posted.push(message as Record<string, unknown>);
    if (!this.autoAnswer || !this.app) return;
    // The host answers asynchronously in VS Code; a microtask keeps that order here.
    for (const reply of answer(ran, message)) void Promise.resolve().then(() => this.app?.handle(reply));
  }

  getState(): unknown {
    return this.state;
  }

  setState(state: unknown): void {
    this.state = JSON.parse(JSON.stringify(state));
  }

  fetches(): InspectorTreeParams[] {
    return this.posted.filter((m) => m.type === 'fetchRows').map((m) => m.params as InspectorTreeParams);
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}

// happy-dom is an ES module; the tests compile to CommonJS, so it is loaded with import().
let Window: typeof import('happy-dom', { with: { 'resolution-mode': 'import' } }).Window;
before(async () => {
  ({ Window } = await import('happy-dom'));
});

describe('inspector page (happy-dom)', () => {
  let window: InstanceType<typeof Window>;
  let document: Document;
  let root: HTMLElement;

  beforeEach(() => {
    window = new Window({ url: 'http://localhost/' });
    document = window.document as unknown as Document;
    root = document.createElement('main');
    root.id = 'root';
    document.body.append(root);
  });

  afterEach(async () => {
    await window.happyDOM.close();
  });

  function boot(api: FakeApi): App {
    const app = new App(document, root, api);
    api.app = app;
    app.start();
    return app;
  }

  function treeItems(): HTMLElement[] {
    return [...root.querySelectorAll<HTMLElement>('[role="treeitem"]')].filter((e) => !e.hidden && !e.classList.contains('loading'));
  }

  it('shakes hands, then pages the tree from the host', async () => {
    const api = new FakeApi();
    boot(api);
    assert.deepEqual(api.posted[0], { type: 'ready', protocol: 1 });
    await settle();
    assert.equal(root.querySelector('h1')?.textContent, 'findings in the tree');
    const first = api.fetches()[0];
    assert.ok(first, 'asked for rows');
    assert.equal(first.step, ran.result.steps.length - 1);
    assert.equal(first.space, 'kernel');
    assert.ok(first.count > 0 && first.count <= 100, `asked for ${first.count} rows`);
    assert.ok(treeItems().length >= 3);
    const tree = root.querySelector('[role="tree"]');
    assert.equal(tree?.getAttribute('aria-label'), 'Page tables');
    const rootRow = treeItems()[0];
    assert.equal(rootRow?.getAttribute('aria-level'), '1');
    assert.equal(rootRow?.getAttribute('aria-expanded'), 'true');
    assert.match(rootRow?.getAttribute('aria-label') ?? '', /swapper_pg_dir/);
  });

  it('moves with the arrow keys and expands with ArrowRight', async () => {
    const api = new FakeApi();
    const app = boot(api);
    await settle();
    const tree = root.querySelector<HTMLElement>('[role="tree"]');
    assert.ok(tree);
    const key = (k: string): void => {
      tree.dispatchEvent(new window.KeyboardEvent('keydown', { key: k, bubbles: true }) as unknown as Event);
    };
    key('ArrowDown');
    assert.equal(tree.getAttribute('aria-activedescendant'), 'ti-1');
    assert.match(app.activeDescription(), /pgd\[0\]/);
    const row = root.querySelector('#ti-1');
    assert.equal(row?.getAttribute('aria-selected'), 'true');
    const wasExpanded = row?.getAttribute('aria-expanded') === 'true';
    const before = api.fetches().length;
    key(wasExpanded ? 'ArrowLeft' : 'ArrowRight');
    await settle();
    const after = api.fetches().at(-1);
    assert.ok(api.fetches().length > before);
    const id = 'e:0:0';
    if (wasExpanded) assert.ok(after?.collapsed?.includes(id));
    else assert.ok(after?.expanded.includes(id));
    assert.equal(root.querySelector('#ti-1')?.getAttribute('aria-expanded'), String(!wasExpanded));
    key('End');
    assert.notEqual(tree.getAttribute('aria-activedescendant'), 'ti-1');
    key('Home');
    assert.equal(tree.getAttribute('aria-activedescendant'), 'ti-0');
  });

  it('follows selectStep to what the statement changed, unless pinned', async () => {
    const api = new FakeApi();
    const app = boot(api);
    await settle();
    app.handle({ type: 'selectStep', step: 2 });
    const asked = api.fetches().at(-1);
    assert.equal(asked?.step, 2);
    assert.equal(asked?.focusChange, true);
    assert.equal(asked?.offset, -1);
    await settle();
    const active = root.querySelector('.tree-row.active');
    assert.ok(active?.querySelector('.badge.finding-wx'), 'the W+X PTEs are selected');
    assert.match(root.querySelector('[data-testid="step-label"]')?.textContent ?? '', /^step 3\/12 · line 6/);
    (root.querySelector('button.pin') as HTMLButtonElement).click();
    const count = api.fetches().length;
    app.handle({ type: 'selectStep', step: 7 });
    assert.equal(api.fetches().length, count, 'a pinned view ignores the cursor');
    assert.match(root.querySelector('[data-testid="step-label"]')?.textContent ?? '', /^step 3\//);
  });

  it('asks the host to reveal a finding’s statement and to export', async () => {
    const api = new FakeApi();
    const app = boot(api);
    await settle();
    app.handle({ type: 'selectStep', step: 2 });
    await settle();
    (root.querySelector('.tree-row.active .badge.finding-wx') as HTMLElement).click();
    const reveal = api.posted.find((m) => m.type === 'reveal') as { range: { start: { line: number } } } | undefined;
    assert.equal(reveal?.range.start.line, 5);
    const svg = [...root.querySelectorAll<HTMLButtonElement>('button')].find((b) => b.textContent === 'SVG');
    svg?.click();
    const exported = api.posted.find((m) => m.type === 'export') as { format: string; params: InspectorTreeParams } | undefined;
    assert.equal(exported?.format, 'svg');
    assert.equal(exported?.params.step, 2);
  });

  it('restores a hidden panel from its saved state before the host answers', async () => {
    const api = new FakeApi();
    const app = boot(api);
    await settle();
    app.handle({ type: 'selectStep', step: 2 });
    await settle();
    app.saveNow();
    const saved = api.state;
    // The panel is shown again: a new page with the saved state; the host is slow.
    root.replaceChildren();
    const again = new FakeApi(saved);
    again.autoAnswer = false;
    boot(again);
    assert.ok(treeItems().length >= 3, 'rows painted from the saved state');
    assert.ok(root.querySelector('.tree-row.active .badge.finding-wx'));
    assert.match(root.querySelector('[data-testid="step-label"]')?.textContent ?? '', /^step 3\//);
    assert.deepEqual(again.posted[0], { type: 'ready', protocol: 1 });
  });

  it('shows why rows failed and ignores answers to old queries', async () => {
    const api = new FakeApi();
    api.autoAnswer = false;
    const app = boot(api);
    app.handle({ type: 'showResult', result: ran.result, focus: 'tables' });
    const first = api.posted.find((m) => m.type === 'fetchRows') as { requestId: number } | undefined;
    assert.ok(first);
    app.handle({ type: 'rowsFailed', requestId: first.requestId, message: 'the document changed; running it again…' });
    assert.match(root.querySelector('.status')?.textContent ?? '', /document changed/);
    // An answer for a request the page no longer waits for changes nothing.
    app.handle({ type: 'rows', requestId: 999, result: { rows: [], total: 5, spaces: ['kernel'] } });
    assert.equal(treeItems().length, 0);
  });

  it('lists the steps and the findings, and switches tabs with the arrow keys', async () => {
    const api = new FakeApi();
    boot(api);
    await settle();
    const tab = root.querySelector<HTMLElement>('#tab-tree');
    tab?.dispatchEvent(new window.KeyboardEvent('keydown', { key: 'ArrowRight', bubbles: true }) as unknown as Event);
    assert.equal(root.querySelector('#tab-ptdump')?.getAttribute('aria-selected'), 'true');
    assert.equal((root.querySelector('#panel-tree') as HTMLElement).hidden, true);
    (root.querySelector('#tab-findings') as HTMLElement).click();
    assert.equal(root.querySelectorAll('.findings-list li').length, ran.result.diagnostics.length);
    (root.querySelector('#tab-steps') as HTMLElement).click();
    assert.ok(root.querySelectorAll('.step-row').length >= 10);
    assert.equal(root.querySelector('#tab-explorer')?.hasAttribute('hidden'), true, 'no races, no explorer tab');
  });
});

describe('host → view guard', () => {
  it('accepts what the host sends and refuses malformed messages', () => {
    const good: HostToView[] = [
      { type: 'showResult', result: ran.result, focus: 'tables' },
      { type: 'clear' },
      { type: 'selectStep', step: 3 },
      { type: 'rows', requestId: 1, result: { rows: [], total: 0, spaces: ['kernel'] } },
      { type: 'rowsFailed', requestId: 1, message: 'x' },
    ];
    for (const message of good) assert.ok(isHostToView(message), message.type);
    assert.ok(!isHostToView({ type: 'showResult', result: { title: 1 }, focus: 'tables' }));
    assert.ok(!isHostToView({ type: 'rows', requestId: 1, result: { rows: [{ id: 3 }], total: 1, spaces: [] } }));
    assert.ok(!isHostToView({ type: 'selectStep', step: '2' }));
    assert.ok(!isHostToView({ type: 'eval', code: 'alert(1)' }));
    assert.ok(!isHostToView(null));
  });
});
