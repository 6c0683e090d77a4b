// The end-to-end suite: the packaged .vsix in a real VS Code (code-server) driven through
// Debian's Chromium with playwright-core. Each check asserts what a user sees, waits on
// conditions (never on fixed delays) and leaves a screenshot in test-results/e2e/.
//
// Usage: npm run test:e2e   (E2E_SKIP_PACKAGE=1 reuses ptscn.vsix; E2E_LOG=1 prints code-server's log)

// Functions passed to waitForFunction and evaluate run in the page, with the browser's globals.
/* global document, requestAnimationFrame, WheelEvent */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { makeWorkspace, startCodeServer } from './code-server.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SHOTS = join(ROOT, 'test-results', 'e2e');
const VSIX = join(ROOT, 'ptscn.vsix');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Generous per-condition limit in milliseconds: the first server start compiles nothing but CI machines vary. */
const WAIT = 60_000;

let server;
let browser;
let page;
let shot = 0;

async function screenshot(name) {
  shot++;
  const path = join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** Runs a command from the command palette by its title. */
async function command(title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: WAIT });
  await input.fill(`>${title}`);
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
  await row.waitFor({ timeout: WAIT });
  await row.click();
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: WAIT });
}

/**
 * Opens a workspace file through Quick Open by its path relative to the workspace (a path
 * matches one file only, so results arriving late cannot change the pick).
 */
async function openFile(path) {
  const name = path.split('/').pop();
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: WAIT });
  await input.fill(path);
  await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: name }).waitFor({ timeout: WAIT });
  await page.keyboard.press('Enter');
  await page.locator('.tab.active', { hasText: name }).waitFor({ timeout: WAIT });
  await page.locator('.monaco-editor .view-lines').first().waitFor({ timeout: WAIT });
}

/** The editor's view line that contains `text`. */
function line(text) {
  return page.locator('.editor-instance .monaco-editor .view-line', { hasText: text }).first();
}

/** Puts the cursor on `text` inside its line by clicking it. */
async function clickText(text, lineText = text) {
  const token = line(lineText).locator('span span', { hasText: text }).first();
  await token.waitFor({ timeout: WAIT });
  await token.click();
  return token;
}

/**
 * The first element matching `selector` in any frame: webviews live in nested iframes. Re-checks
 * whenever a frame navigates, until `WAIT` has passed.
 */
async function inFrames(selector) {
  const deadline = Date.now() + WAIT;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      const found = frame.locator(selector);
      if ((await found.count().catch(() => 0)) > 0) return found.first();
    }
    await page.waitForEvent('framenavigated', { timeout: Math.max(1, Math.min(5_000, deadline - Date.now())) }).catch(() => undefined);
  }
  throw new Error(`no frame has ${selector} after ${WAIT} ms`);
}

/** The frame (webviews live in nested iframes) that has `selector`, once it has it. */
async function frameWith(selector) {
  await inFrames(selector);
  for (const frame of page.frames()) {
    if ((await frame.locator(selector).count().catch(() => 0)) > 0) return frame;
  }
  throw new Error(`no frame has ${selector}`);
}

/** Hovers the token `word` of an editor line and waits for the hover that says `says`. */
async function hoverOn(editorLine, word, says) {
  await editorLine.locator('span span', { hasText: word }).first().hover();
  const hover = page.locator('.monaco-hover', { hasText: says });
  await hover.waitFor({ state: 'visible', timeout: WAIT });
  return hover;
}

/** A check that leaves a FAILED screenshot behind when it fails, to see what the user saw. */
function check(name, body) {
  it(name, async () => {
    try {
      await body();
    } catch (error) {
      await screenshot(`FAILED-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40)}`).catch(() => undefined);
      throw error;
    }
  });
}

describe('ptscn in a real VS Code', { timeout: 15 * 60_000 }, () => {
  before(async () => {
    rmSync(SHOTS, { recursive: true, force: true });
    mkdirSync(SHOTS, { recursive: true });
    if (!process.env.E2E_SKIP_PACKAGE || !existsSync(VSIX)) {
      execFileSync('npm', ['run', 'package'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    }
    const folder = makeWorkspace(ROOT);
    server = await startCodeServer({ vsix: VSIX, folder, log: process.env.E2E_LOG ? (l) => console.error(l) : () => {} });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(server.url);
    await page.locator('.monaco-workbench').waitFor({ timeout: WAIT });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  check('activates on a .ptscn file and colours its syntax', async () => {
    await openFile('e2e-fixtures/wx.ptscn');
    await page.locator('#status\\.editor\\.mode', { hasText: 'PTScn' }).waitFor({ timeout: WAIT });
    await page.locator('.codelens-decoration a', { hasText: 'Run' }).first().waitFor({ timeout: WAIT });
    const classes = await page
      .locator('.editor-instance .monaco-editor .view-line span span')
      .evaluateAll((spans) => [...new Set(spans.map((s) => s.className).filter((c) => c.startsWith('mtk')))]);
    await screenshot('activated-and-coloured');
    assert.ok(classes.length >= 4, `expected several token colours, got ${classes.join(' ')}`);
  });

  check('shows run-time findings as squiggles with their code', async () => {
    await page.locator('.squiggly-warning').first().waitFor({ timeout: WAIT });
    await screenshot('wx-warning-squiggle');
  });

  check('hovers a statement with the kernel helper it models', async () => {
    const hover = await hoverOn(line('vmalloc text'), 'vmalloc', 'Models');
    await screenshot('hover-helper');
    assert.match(await hover.innerText(), /__vmalloc_node_range/);
    await page.keyboard.press('Escape');
  });

  check('hovers a name with the descriptor it resolves to, decoded', async () => {
    const hover = await hoverOn(line('vmalloc text'), 'text', 'Resolves to');
    await screenshot('hover-descriptor');
    const text = await hover.innerText();
    // The 2M block vmalloc mapped: a PMD leaf with its descriptor bits named.
    assert.match(text, /Indices on arm64/);
    assert.match(text, /Resolves to a pmd/i);
    assert.match(text, /Bits: .*AF/);
    await page.keyboard.press('Escape');
  });

  check('shows static problems as squiggles and in the Problems panel with their codes', async () => {
    await openFile('e2e-fixtures/bad.ptscn');
    await page.locator('.squiggly-error').first().waitFor({ timeout: WAIT });
    await command('View: Focus Problems');
    const rows = page.locator('.markers-panel .monaco-list-row');
    await rows.filter({ hasText: 'unknown-name' }).first().waitFor({ timeout: WAIT });
    await rows.filter({ hasText: 'syntax' }).first().waitFor({ timeout: WAIT });
    await screenshot('problems-panel');
  });

  check('completes the statements of the block at the cursor', async () => {
    const target = line('vmalloc text size 2M prot rw');
    await target.click();
    await page.keyboard.press('End');
    await page.keyboard.press('Enter');
    await page.keyboard.type('set_mem');
    // The server has seen the edit once the unknown name has moved down a line.
    await page.locator('.markers-panel .monaco-list-row', { hasText: 'Ln 8, Col 11' }).waitFor({ timeout: WAIT });
    await page.keyboard.press('Control+Space');
    const suggestion = page.locator('.suggest-widget .monaco-list-row', { hasText: 'set_memory_ro' });
    await suggestion.first().waitFor({ state: 'visible', timeout: WAIT });
    await screenshot('completion');
    await page.keyboard.press('Escape');
    // Undo until the text is as it was: the unknown name is back on line 7 in the Problems panel.
    const restored = page.locator('.markers-panel .monaco-list-row', { hasText: 'Ln 7, Col 11' });
    for (let attempt = 0; attempt < 5 && (await restored.count()) === 0; attempt++) {
      await page.keyboard.press('Control+Z');
      await restored.waitFor({ timeout: 3_000 }).catch(() => undefined);
    }
    await restored.waitFor({ timeout: WAIT });
    await line('set_mem').waitFor({ state: 'detached', timeout: WAIT });
  });

  check('applies a quick fix for an unknown name', async () => {
    await clickText('txet', 'vfree txet');
    await page.keyboard.press('Control+.');
    const fix = page.locator('.action-widget .monaco-list-row, .context-view .action-item', { hasText: 'Change to' }).first();
    await fix.waitFor({ state: 'visible', timeout: WAIT });
    await screenshot('quick-fix-menu');
    await page.keyboard.press('Enter');
    await line('vfree text').waitFor({ timeout: WAIT });
    await page.locator('.markers-panel .monaco-list-row', { hasText: 'unknown-name' }).first().waitFor({ state: 'detached', timeout: WAIT });
    await screenshot('quick-fix-applied');
  });

  check('opens the inspector from the Run lens', async () => {
    await openFile('e2e-fixtures/wx.ptscn');
    const run = page.locator('.codelens-decoration a', { hasText: 'Run' }).first();
    await run.waitFor({ timeout: WAIT });
    await run.click();
    await page.locator('.tab', { hasText: 'PTScn: W+X in the kernel' }).waitFor({ timeout: WAIT });
    // The tab is titled before the webview has the run: its heading says "PTScn Inspector"
    // until the run result arrives, so wait for the heading to change, then read it.
    const inspector = await frameWith('#root h1');
    const heading = inspector.locator('#root h1', { hasText: 'W+X in the kernel' });
    await heading.waitFor({ timeout: WAIT });
    const title = await heading.innerText();
    await screenshot('inspector');
    assert.equal(title, 'W+X in the kernel');
  });

  check('the inspector shows the page-table tree of the run', async () => {
    // The workbench has trees of its own: the inspector's is the one labelled "Page tables".
    const frame = await frameWith('[role="tree"][aria-label="Page tables"] [role="treeitem"]:not(.loading)');
    await frame.waitForFunction(() => document.querySelectorAll('[aria-label="Page tables"] [role="treeitem"]:not(.loading)').length >= 3, undefined, { timeout: WAIT });
    const rows = await frame.locator('[aria-label="Page tables"] [role="treeitem"]:not(.loading)').allInnerTexts();
    await screenshot('inspector-tree');
    assert.match(rows[0] ?? '', /swapper_pg_dir/);
    assert.ok(rows.some((r) => /\[256\]\s+0xffff800000000000/.test(r)), `no vmalloc-area row in ${rows.join(' | ')}`);
    assert.equal(await frame.locator('[aria-label="Page tables"] [role="treeitem"]').first().getAttribute('aria-level'), '1');
  });

  check('the inspector follows the cursor to the statement under it', async () => {
    const frame = await frameWith('[data-testid="step-label"]');
    const label = frame.locator('[data-testid="step-label"]');
    await clickText('check_wx');
    await frame.waitForFunction(() => /· line 6 ·/.test(document.querySelector('[data-testid="step-label"]')?.textContent ?? ''), undefined, { timeout: WAIT });
    await clickText('vmalloc', 'vmalloc text');
    await frame.waitForFunction(() => /· line 5 ·/.test(document.querySelector('[data-testid="step-label"]')?.textContent ?? ''), undefined, { timeout: WAIT });
    // The statement's change is selected: the W+X block it mapped, marked as a finding.
    await frame.locator('.tree-row.active .badge.finding-wx').waitFor({ timeout: WAIT });
    await screenshot('inspector-follows-cursor');
    assert.match(await label.innerText(), /^step 1\/4 · line 5 · kernel/);
  });

  check('the inspector reveals the statement behind a finding', async () => {
    await clickText('check_wx');
    const frame = await frameWith('.tree-row .badge.finding-wx');
    await frame.locator('.tree-row .badge.finding-wx').first().click();
    await page.locator('.editor-instance .monaco-editor .cursor-line, .statusbar-item', { hasText: 'Ln 5' }).first().waitFor({ timeout: WAIT });
    await screenshot('inspector-reveal');
  });

  check('the inspector comes back as it was after being hidden', async () => {
    const frame = await frameWith('[data-testid="step-label"]');
    const before = await frame.locator('[data-testid="step-label"]').innerText();
    // Another editor in front of the inspector destroys its page (no retainContextWhenHidden) ...
    await page.locator('.tab', { hasText: 'PTScn: W+X in the kernel' }).click();
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'race.ptscn' }).first().click();
    await page.locator('.tab.active', { hasText: 'race.ptscn' }).waitFor({ timeout: WAIT });
    await frame.locator('[data-testid="step-label"]').waitFor({ state: 'detached', timeout: WAIT }).catch(() => undefined);
    // ... and selecting its tab again restores it from its saved state.
    await page.locator('.tab', { hasText: 'PTScn: W+X in the kernel' }).click();
    const again = await frameWith('[data-testid="step-label"]');
    await again.waitForFunction((text) => document.querySelector('[data-testid="step-label"]')?.textContent === text, before, { timeout: WAIT });
    await again.locator('[aria-label="Page tables"] [role="treeitem"]:not(.loading)').first().waitFor({ timeout: WAIT });
    await screenshot('inspector-restored');
  });

  check('the inspector pages a million-row tree without waiting', async () => {
    // Open the file in the first editor group, where the lens is the only one in view.
    await clickText('check_wx');
    await openFile('e2e-fixtures/big-linear-map.ptscn');
    const lens = page.locator('.codelens-decoration a', { hasText: 'Show tables' }).first();
    await lens.waitFor({ timeout: WAIT });
    const started = Date.now();
    await lens.click();
    await page.locator('.tab', { hasText: 'PTScn: 4 GiB linear map in 4K pages' }).waitFor({ timeout: WAIT });
    const frame = await frameWith('[role="tree"][aria-label="Page tables"] [role="treeitem"]:not(.loading)');
    const openMs = Date.now() - started;
    const expand = Date.now();
    await frame.getByRole('button', { name: 'Expand all' }).click();
    await frame.waitForFunction(() => /[0-9],[0-9]{3},[0-9]{3} rows/.test(document.querySelector('.status')?.textContent ?? ''), undefined, { timeout: WAIT });
    const expandMs = Date.now() - expand;
    // Inside the page: from a scroll to every row in view holding data from the server.
    const figures = await frame.locator('[aria-label="Page tables"]').evaluate(async (el) => {
      const rows = () => [...el.querySelectorAll('[role="treeitem"]:not([hidden])')];
      const filled = () => rows().length > 5 && rows().every((r) => !r.classList.contains('loading'));
      const frameDone = () => new Promise((r) => requestAnimationFrame(() => r()));
      const time = async (move) => {
        const before = rows()[0]?.id;
        const t = performance.now();
        move();
        do await frameDone();
        while ((rows()[0]?.id === before || !filled()) && performance.now() - t < 10_000);
        return performance.now() - t;
      };
      const wheel = [];
      for (let i = 0; i < 40; i++) wheel.push(await time(() => el.dispatchEvent(new WheelEvent('wheel', { deltaY: 120, bubbles: true, cancelable: true }))));
      const jumps = [];
      for (const f of [0.2, 0.8, 0.5, 0.95, 0.05]) jumps.push(await time(() => (el.scrollTop = f * (el.scrollHeight - el.clientHeight))));
      const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      return { wheelMedianMs: Math.round(median(wheel)), wheelMaxMs: Math.round(Math.max(...wheel)), jumpMedianMs: Math.round(median(jumps)), jumpMaxMs: Math.round(Math.max(...jumps)), wheel: wheel.map(Math.round), jumps: jumps.map(Math.round), top: rows()[0]?.id };
    });
    const total = await frame.locator('.status').innerText();
    const report = { map: '4G', status: total, openMs, expandAllMs: expandMs, ...figures };
    console.log(`inspector in VS Code: ${JSON.stringify(report)}`);
    writeFileSync(join(SHOTS, 'inspector-perf.json'), `${JSON.stringify(report, null, 2)}\n`);
    await screenshot('inspector-million-rows');
    assert.ok(figures.jumpMaxMs < 5_000, `a jump took ${figures.jumpMaxMs} ms`);
  });

  check('lists a Problems entry with its code for every kind the engine reports', async () => {
    await openFile('e2e-fixtures/kinds.ptscn');
    await command('View: Focus Problems');
    // The list is virtualised: a maximised panel has every row of the fixture in view.
    await command('View: Toggle Maximized Panel');
    const kinds = ['partial-block-overlap', 'ctor-dtor-leak', 'expectation-failed', 'statement-failed', 'resource-limit', 'bad-value', 'race'];
    // What the Problems rows say, read in the page: each row's text ends `ptscn<code>[Ln …`.
    const rowsText = `[...document.querySelectorAll('.markers-panel .monaco-list-row')].map((row) => row.textContent ?? '').join('\\n')`;
    await page
      .waitForFunction(`${JSON.stringify(kinds)}.every((kind) => (${rowsText}).includes('ptscn' + kind + '['))`, undefined, { timeout: WAIT })
      .catch(async (error) => {
        const text = await page.evaluate(rowsText);
        throw new Error(`${error.message}\nmissing: ${kinds.filter((k) => !text.includes(`ptscn${k}[`)).join(', ')}\nrows:\n${text}`);
      });
    await screenshot('problems-every-kind');
    await command('View: Toggle Maximized Panel');
  });

  check('lists every scenario in the Test Explorer', async () => {
    await command('Testing: Focus on Test Explorer View');
    const tree = page.locator('.test-explorer');
    await tree.locator('.monaco-list-row', { hasText: 'wx.ptscn' }).first().waitFor({ timeout: WAIT });
    await tree.locator('.monaco-list-row', { hasText: '01-first-mapping.ptscn' }).first().waitFor({ timeout: WAIT });
    await tree.locator('.monaco-list-row', { hasText: 'wx.ptscn' }).first().click();
    await page.keyboard.press('ArrowRight');
    const scenario = tree.locator('.monaco-list-row', { hasText: 'W+X in the kernel' }).first();
    await scenario.waitFor({ timeout: WAIT });
    await scenario.hover();
    await scenario.locator('.action-label[aria-label^="Run Test"], .codicon-testing-run-icon').first().click();
    await scenario.locator('.codicon-testing-passed-icon').waitFor({ timeout: WAIT });
    await screenshot('test-explorer');
  });
});
