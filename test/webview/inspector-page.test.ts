// The built inspector page in headless Chromium (Debian's chromium through playwright-core),
// hosted the way VS Code hosts it (page.ts), answering from real engine runs. Screenshots go to
// test-results/webview/ in the light, dark and high-contrast themes; look at them.
//
// Skipped when Chromium or the built page is missing (run `npm run build` first).

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import type { InspectorTreeParams } from '../../server/src/protocol/result';
import { launch, openPage, ROOT, SHOTS, type InspectorPage } from './page';
import { FINDINGS_SCENARIO, linearMap, runText, type Ran } from './support';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const canRun = existsSync(CHROMIUM) && existsSync(join(ROOT, 'dist', 'webview.js'));

/** Waits until the page shows at least `count` tree rows with data (not placeholders). */
async function treeRows(inspector: InspectorPage, count = 1): Promise<void> {
  await inspector.page.waitForFunction((n) => document.querySelectorAll('[role="treeitem"]:not(.loading)').length >= n, count, { timeout: 10_000 });
}

async function stepLabel(inspector: InspectorPage): Promise<string> {
  return inspector.page.locator('[data-testid="step-label"]').innerText();
}

function fetches(inspector: InspectorPage): InspectorTreeParams[] {
  return inspector.posted.filter((m) => (m as { type?: string }).type === 'fetchRows').map((m) => (m as { params: InspectorTreeParams }).params);
}

describe('inspector page in Chromium', { skip: !canRun && 'needs /usr/bin/chromium and dist/webview.js', timeout: 240_000 }, () => {
  let browser: Browser;
  let findings: Ran;

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    browser = await launch();
    findings = runText(FINDINGS_SCENARIO);
  });

  after(async () => {
    await browser?.close();
  });

  it('boots under its nonce CSP without remote content and shows the kernel tree', async () => {
    const inspector = await openPage(browser, { ran: findings, theme: 'dark' });
    await treeRows(inspector, 3);
    assert.equal(await inspector.page.locator('#root h1').innerText(), 'findings in the tree');
    assert.equal(await inspector.page.locator('[role="tree"]').count(), 1);
    const first = inspector.page.locator('[role="treeitem"]').first();
    assert.equal(await first.getAttribute('aria-level'), '1');
    assert.equal(await first.getAttribute('aria-expanded'), 'true');
    assert.deepEqual(await inspector.problems(), []);
    // The stylesheet loaded from the webview origin: the tree uses the theme's editor font.
    const font = await first.evaluate((el) => getComputedStyle(el).fontFamily);
    assert.match(font, /DejaVu Sans Mono|Droid Sans Mono|monospace/);
    await inspector.screenshot('01-tree-dark');
    await inspector.page.close();
  });

  for (const theme of ['light', 'dark', 'hc'] as const) {
    it(`selects what a statement changed and marks findings (${theme})`, async () => {
      const inspector = await openPage(browser, { ran: findings, theme });
      await treeRows(inspector, 3);
      // The cursor on `vmalloc text … prot rwx` (step 3): the tree opens down to the W+X PTEs.
      await inspector.send({ type: 'selectStep', step: 2 });
      await inspector.page.waitForFunction(() => document.querySelector('.tree-row.active .badge.finding-wx') !== null, undefined, { timeout: 10_000 });
      assert.match(await stepLabel(inspector), /step 3\/12 · line 6/);
      const active = inspector.page.locator('.tree-row.active');
      assert.equal(await active.getAttribute('aria-selected'), 'true');
      assert.ok((await active.getAttribute('class'))?.includes('added'));
      assert.match(await inspector.page.locator('.details').innerText(), /W\+X/);
      await inspector.page.locator('[role="tree"]').focus();
      await inspector.screenshot(`02-wx-step-${theme}`);
      // The set_memory_ro that hit the block part-way: the block carries the overlap badge.
      await inspector.send({ type: 'selectStep', step: 3 });
      await inspector.page.locator('.badge.finding-overlap').first().waitFor({ timeout: 10_000 });
      await inspector.screenshot(`03-overlap-step-${theme}`);
      // The process's second MADV_GUARD_INSTALL: the tree moves to its space and the marker.
      await inspector.send({ type: 'selectStep', step: 9 });
      await inspector.page.locator('.tree-row.active .badge.finding-guard').waitFor({ timeout: 10_000 });
      assert.equal(await inspector.page.getByLabel('Address space', { exact: true }).inputValue(), 'app');
      await inspector.screenshot(`04-guard-step-${theme}`);
      assert.deepEqual(await inspector.problems(), []);
      await inspector.page.close();
    });
  }

  it('follows the cursor unless pinned, and reveals statements on request', async () => {
    const inspector = await openPage(browser, { ran: findings, theme: 'dark' });
    await treeRows(inspector, 3);
    await inspector.send({ type: 'selectStep', step: 1 });
    await inspector.page.waitForFunction(() => document.querySelector('[data-testid="step-label"]')?.textContent?.startsWith('step 2/') === true);
    await inspector.page.getByRole('button', { name: 'Pin' }).click();
    await inspector.send({ type: 'selectStep', step: 5 });
    await inspector.send({ type: 'selectStep', step: 6 });
    assert.match(await stepLabel(inspector), /^step 2\//);
    assert.equal(await inspector.page.locator('button.pin').getAttribute('aria-pressed'), 'true');
    // A finding badge reveals the statement that caused it.
    await inspector.page.locator('button.pin').click();
    await inspector.send({ type: 'selectStep', step: 2 });
    const badge = inspector.page.locator('.tree-row.active .badge.finding-wx');
    await badge.waitFor();
    await badge.click();
    const reveal = await inspector.waitForPosted((m) => m.type === 'reveal');
    assert.deepEqual((reveal.range as { start: { line: number } }).start.line, 5);
    await inspector.page.close();
  });

  it('navigates the tree with the keyboard and pages rows from the host', async () => {
    const inspector = await openPage(browser, { ran: findings, theme: 'light' });
    await treeRows(inspector, 3);
    const tree = inspector.page.locator('[role="tree"]');
    await tree.focus();
    await inspector.page.keyboard.press('Home');
    await inspector.page.keyboard.press('ArrowDown');
    const active = async (): Promise<string | null> => inspector.page.locator('[role="tree"]').getAttribute('aria-activedescendant');
    assert.equal(await active(), 'ti-1');
    const before = fetches(inspector).length;
    const row = inspector.page.locator('#ti-1');
    const expanded = await row.getAttribute('aria-expanded');
    await inspector.page.keyboard.press(expanded === 'true' ? 'ArrowLeft' : 'ArrowRight');
    await inspector.page.waitForFunction((e) => document.querySelector('#ti-1')?.getAttribute('aria-expanded') === String(e !== 'true'), expanded);
    assert.ok(fetches(inspector).length > before, 'toggling asks the host for rows');
    const last = fetches(inspector).at(-1);
    assert.ok(last && last.count <= 1000, 'never asks for more than a few screens');
    await inspector.page.keyboard.press('End');
    assert.notEqual(await active(), 'ti-1');
    // Visible focus: the active row has an outline while the tree has focus.
    const outline = await inspector.page.locator('.tree-row.active').evaluate((el) => getComputedStyle(el).outlineStyle);
    assert.notEqual(outline, 'none');
    await inspector.page.close();
  });

  it('filters to findings, levels and an address range', async () => {
    const inspector = await openPage(browser, { ran: findings, theme: 'dark' });
    await treeRows(inspector, 3);
    await inspector.page.getByLabel('Findings only').check();
    await inspector.page.waitForFunction(() => document.querySelectorAll('.tree-row .badge').length >= 2);
    const params = fetches(inspector).at(-1);
    assert.deepEqual(params?.filter, { findingsOnly: true });
    await inspector.screenshot('05-findings-only-dark');
    await inspector.page.getByLabel('Findings only').uncheck();
    await inspector.page.getByRole('button', { name: 'More filters' }).click();
    await inspector.page.getByRole('button', { name: 'pmd', exact: true }).click();
    await inspector.page.getByLabel('from address').fill('0xffff000000200000');
    await inspector.page.getByLabel('from address').press('Enter');
    await inspector.page.getByLabel('to address').fill('0xffff000000400000');
    await inspector.page.getByLabel('to address').press('Tab');
    await inspector.page.waitForFunction(() => [...document.querySelectorAll('.tree-row .lvl')].some((e) => e.textContent?.startsWith('pmd')));
    const filtered = fetches(inspector).at(-1);
    assert.deepEqual(filtered?.filter, { levels: ['pmd'], vaStart: '0xffff000000200000', vaEnd: '0xffff000000400000' });
    await inspector.page.close();
  });

  it('shows the ptdump, the ledger, the counters, the steps and the findings of the same state', async () => {
    const inspector = await openPage(browser, { ran: findings, theme: 'dark', height: 560 });
    await treeRows(inspector, 3);
    await inspector.page.getByRole('tab', { name: 'ptdump' }).click();
    await inspector.page.waitForFunction(() => [...document.querySelectorAll('.ptdump-line')].some((e) => e.textContent?.includes('---[')));
    await inspector.screenshot('06-ptdump-dark');
    await inspector.page.getByRole('tab', { name: 'Ledger' }).click();
    await inspector.page.waitForFunction(() => document.querySelectorAll('.ledger-row .c-state').length >= 3);
    assert.match(await inspector.page.locator('.panel-ledger').innerText(), /leaked/);
    await inspector.screenshot('07-ledger-dark');
    await inspector.page.getByRole('tab', { name: 'Counters' }).click();
    await inspector.page.locator('table.counters').first().waitFor();
    assert.match(await inspector.page.locator('.panel-counters').innerText(), /TLB flushes/);
    await inspector.screenshot('08-counters-dark');
    await inspector.page.getByRole('tab', { name: 'Steps' }).click();
    await inspector.page.locator('.step-row').first().waitFor();
    await inspector.page.locator('.step-row', { hasText: 'set_memory_ro' }).first().click();
    const reveal = await inspector.waitForPosted((m) => m.type === 'reveal');
    assert.equal((reveal.range as { start: { line: number } }).start.line, 6);
    await inspector.screenshot('09-steps-dark');
    await inspector.page.getByRole('tab', { name: /Findings/ }).click();
    await inspector.page.locator('.findings-list li').first().waitFor();
    await inspector.screenshot('10-findings-dark');
    await inspector.page.close();
  });

  it('restores its state when the panel is shown again, before the host answers', async () => {
    const first = await openPage(browser, { ran: findings, theme: 'dark' });
    await treeRows(first, 3);
    await first.send({ type: 'selectStep', step: 2 });
    await first.page.waitForFunction(() => document.querySelector('.tree-row.active .badge.finding-wx') !== null);
    await first.page.getByRole('button', { name: 'Pin' }).click();
    await first.page.evaluate(() => window.dispatchEvent(new Event('pagehide')));
    await first.page.waitForFunction(() => true);
    const saved = first.lastState as { ui?: { pinned?: boolean } } | undefined;
    assert.equal(saved?.ui?.pinned, true);
    await first.page.close();
    const again = await openPage(browser, { ran: findings, theme: 'dark', savedState: saved, autoAnswer: false });
    // Painted from the saved state alone: the host has answered nothing yet.
    await treeRows(again, 3);
    assert.match(await stepLabel(again), /^step 3\//);
    assert.equal(await again.page.locator('button.pin').getAttribute('aria-pressed'), 'true');
    assert.ok(await again.page.locator('.tree-row.active .badge.finding-wx').count());
    await again.screenshot('11-restored-dark');
    await again.page.close();
  });

  it('shows a race counterexample step by step', async () => {
    const text = readFileSync(join(ROOT, 'samples', '50-ptdump-vs-vmap-free-unpatched.ptscn'), 'utf8');
    const race = runText(text);
    const cx = race.result.explorer[0]?.counterexamples?.[0];
    assert.ok(cx, 'the run forwards the counterexample');
    const inspector = await openPage(browser, { ran: race, theme: 'dark', focus: 'explorer' });
    await inspector.page.locator('.schedule-row').first().waitFor();
    assert.equal(await inspector.page.getByRole('tab', { name: /Explorer/ }).getAttribute('aria-selected'), 'true');
    // It opens on the step that dereferences the freed table: the table shows freed and read.
    await inspector.page.locator('.schedule-row.deref.active').waitFor();
    await inspector.page.locator('.explored-table.freed').first().waitFor();
    assert.equal(cx.steps.at(-1)?.thread, 'ptdump');
    assert.match(await inspector.page.locator('.explorer-tables').innerText(), /freed at step/);
    assert.match(await inspector.page.locator('.panel-explorer').innerText(), /The walker ptdump dereferences a freed table/);
    await inspector.screenshot('12-explorer-dark');
    // Keys walk the schedule; the step before the free shows the table still live.
    const schedule = inspector.page.locator('[role="listbox"][aria-label="Counterexample schedule"]');
    await schedule.focus();
    await inspector.page.keyboard.press('ArrowUp');
    await inspector.page.keyboard.press('ArrowUp');
    await inspector.page.waitForFunction(() => document.querySelectorAll('.explored-table.freed').length === 0);
    await inspector.page.keyboard.press('Home');
    await inspector.page.waitForFunction(() => document.querySelector('.schedule-row.active .c-step')?.textContent === '1');
    await inspector.screenshot('13-explorer-start-dark');
    await inspector.page.close();
  });

  it('opens a 4 GiB linear map in 4K pages quickly and scrolls its million rows smoothly', async () => {
    const size = process.env.PTSCN_BIG_MAP ?? '4G';
    const started = performance.now();
    const big = runText(linearMap(size));
    const runMs = performance.now() - started;
    const inspector = await openPage(browser, { ran: big, theme: 'dark', autoAnswer: true });
    const open = performance.now();
    await treeRows(inspector, 3);
    const openMs = performance.now() - open;
    // Expand everything: every PTE becomes a row.
    const expand = performance.now();
    await inspector.page.getByRole('button', { name: 'Expand all' }).click();
    await inspector.page.waitForFunction(() => /[0-9,]{9,} rows/.test(document.querySelector('.status')?.textContent ?? ''), undefined, { timeout: 60_000 });
    const expandMs = performance.now() - expand;
    const total = Number((await inspector.page.locator('.status').innerText()).match(/([0-9,]+) rows/)?.[1]?.replace(/,/g, ''));
    assert.ok(total > 1_000_000, `expected over a million rows, got ${total}`);
    const tree = inspector.page.locator('[role="tree"]');
    await tree.hover();
    await inspector.page.mouse.wheel(0, 600);
    /**
     * Times, inside the page, from a scroll to the moment every row in view holds data (the
     * host's answer included): `wheel` notches (120 px, a mouse wheel notch), or scroll-bar
     * jumps to fractions of the list.
     */
    const timeScrolls = (moves: { wheel?: number; fraction?: number }[]): Promise<number[]> =>
      tree.evaluate(async (el, list) => {
        const rows = (): Element[] => [...document.querySelectorAll('[role="treeitem"]:not([hidden])')];
        const filled = (): boolean => rows().length > 5 && rows().every((r) => !r.classList.contains('loading'));
        const frame = (): Promise<void> => new Promise<void>((r) => requestAnimationFrame(() => r()));
        const times: number[] = [];
        for (const move of list) {
          const before = rows()[0]?.id;
          const t = performance.now();
          if (move.wheel !== undefined) el.dispatchEvent(new WheelEvent('wheel', { deltaY: move.wheel, bubbles: true, cancelable: true }));
          else el.scrollTop = (move.fraction ?? 0) * (el.scrollHeight - el.clientHeight);
          // The view has moved (its first row changed) and every row in it holds data.
          do await frame();
          while ((rows()[0]?.id === before || !filled()) && performance.now() - t < 5_000);
          times.push(performance.now() - t);
        }
        return times;
      }, moves);
    const wheel = await timeScrolls(Array.from({ length: 60 }, () => ({ wheel: 120 })));
    const jumps = await timeScrolls([0.1, 0.5, 0.93, 0.27, 0.75, 1, 0.01, 0.66].map((fraction) => ({ fraction })));
    // Frame times of the page itself while drawing rows: a long task would show here.
    const drawMs = await tree.evaluate(async (el) => {
      const times: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t = performance.now();
        el.dispatchEvent(new WheelEvent('wheel', { deltaY: 220, bubbles: true, cancelable: true }));
        times.push(performance.now() - t);
        await new Promise<void>((r) => requestAnimationFrame(() => r()));
      }
      return times;
    });
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    const max = (xs: number[]): number => Math.max(...xs);
    const figures = {
      map: size,
      rows: total,
      runMs: Math.round(runMs),
      openMs: Math.round(openMs),
      expandAllMs: Math.round(expandMs),
      wheelMedianMs: Math.round(median(wheel)),
      wheelMaxMs: Math.round(max(wheel)),
      jumpMedianMs: Math.round(median(jumps)),
      jumpMaxMs: Math.round(max(jumps)),
      pageDrawMedianMs: Number(median(drawMs).toFixed(2)),
      pageDrawMaxMs: Number(max(drawMs).toFixed(2)),
      hostAnswerMedianMs: Number(median(inspector.answerMs).toFixed(2)),
      rowsPerFetchMax: Math.max(...fetches(inspector).map((p) => p.count)),
    };
    writeFileSync(join(SHOTS, `perf-${size}.json`), `${JSON.stringify(figures, null, 2)}\n`);
    console.log(`inspector performance: ${JSON.stringify(figures)}`);
    await inspector.screenshot(`14-linear-map-${size}-expanded`);
    assert.ok(figures.openMs < 1000, `opened in ${figures.openMs} ms`);
    assert.ok(figures.rowsPerFetchMax <= 200, 'the page asks for the screen in view and one on each side, not more');
    // A frame is 16 ms; drawing a scroll step must take a fraction of it (shared CI machines vary).
    assert.ok(figures.pageDrawMedianMs < 8, `drawing a scroll step took ${figures.pageDrawMedianMs} ms (median)`);
    assert.deepEqual(await inspector.problems(), []);
    await inspector.page.close();
  });
});
