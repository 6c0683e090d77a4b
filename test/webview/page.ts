// The built inspector page (dist/webview.js and dist/webview.css) in headless Chromium, the way
// VS Code hosts it: the page's real HTML with its nonce CSP, served from a fake webview origin,
// a stub `acquireVsCodeApi` that records messages and state, the theme's --vscode-* variables
// and body class, and a host that answers from a real engine run.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildWebviewHtml } from '../../extension/src/webview-html';
import type { HostToView } from '../../server/src/protocol/webview';
import { answer, type Ran } from './support';
import { THEMES, type ThemeName } from './themes';

/** The repository: the nearest folder above this file with ptscn's package.json. */
export const ROOT = ((): string => {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && /"name":\s*"ptscn"/.test(readFileSync(manifest, 'utf8'))) return dir;
  }
  return resolve(__dirname, '../../..');
})();
export const SHOTS = join(ROOT, 'test-results', 'webview');
const ORIGIN = 'http://webview.test';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export interface PageOptions {
  ran: Ran;
  theme?: ThemeName;
  width?: number;
  height?: number;
  focus?: 'steps' | 'tables' | 'explorer';
  /** What `getState()` returns at boot (a panel shown again). */
  savedState?: unknown;
  /** Answer `ready` and `fetchRows` automatically (default true). */
  autoAnswer?: boolean;
}

export class InspectorPage {
  /** Every message the page posted, in order. */
  readonly posted: unknown[] = [];
  /** Milliseconds the host spent answering each fetchRows. */
  readonly answerMs: number[] = [];
  lastState: unknown;
  private waiters: (() => void)[] = [];

  constructor(
    readonly page: Page,
    private readonly options: PageOptions,
  ) {}

  /** Posts a host → view message into the page. */
  async send(message: HostToView): Promise<void> {
    await this.page.evaluate((m) => window.postMessage(m, '*'), message);
  }

  onPosted(message: unknown): void {
    this.posted.push(message);
    if (this.options.autoAnswer !== false) {
      const started = performance.now();
      const replies = answer(this.options.ran, message, this.options.focus ?? 'tables');
      if ((message as { type?: string }).type === 'fetchRows') this.answerMs.push(performance.now() - started);
      for (const reply of replies) void this.send(reply).catch(() => undefined);
    }
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Waits until the page has posted a message matching `predicate`; returns it. */
  async waitForPosted(predicate: (m: Record<string, unknown>) => boolean, timeout = 10_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeout;
    for (;;) {
      const found = this.posted.find((m) => typeof m === 'object' && m !== null && predicate(m as Record<string, unknown>));
      if (found) return found as Record<string, unknown>;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the page posted no matching message in ${timeout} ms: ${JSON.stringify(this.posted.slice(-5)).slice(0, 500)}`);
      await new Promise<void>((wake) => {
        this.waiters.push(wake);
        this.page.waitForTimeout(Math.min(left, 200)).then(wake, wake);
      });
    }
  }

  async screenshot(name: string): Promise<string> {
    const path = join(SHOTS, `${name}.png`);
    await this.page.screenshot({ path });
    return path;
  }

  /** CSP violations and page errors seen so far. */
  async problems(): Promise<string[]> {
    return this.page.evaluate(() => (window as unknown as { __problems: string[] }).__problems);
  }
}

/** Opens the inspector page on a run, with a theme, and waits for its handshake. */
export async function openPage(browser: Browser, options: PageOptions): Promise<InspectorPage> {
  const theme = THEMES[options.theme ?? 'dark'];
  const page = await browser.newPage({ viewport: { width: options.width ?? 1200, height: options.height ?? 720 } });
  const inspector = new InspectorPage(page, options);
  const html = buildWebviewHtml({ cspSource: ORIGIN, nonce: 'dGVzdG5vbmNlMTIzNDU2', scriptUri: `${ORIGIN}/dist/webview.js`, styleUri: `${ORIGIN}/dist/webview.css` });
  await page.route(`${ORIGIN}/**`, async (route) => {
    const path = new URL(route.request().url()).pathname;
    if (path === '/index.html') return route.fulfill({ contentType: 'text/html', body: html });
    if (path === '/dist/webview.js') return route.fulfill({ contentType: 'text/javascript', body: readFileSync(join(ROOT, 'dist', 'webview.js')) });
    if (path === '/dist/webview.css') return route.fulfill({ contentType: 'text/css', body: readFileSync(join(ROOT, 'dist', 'webview.css')) });
    return route.fulfill({ status: 404, body: '' });
  });
  // Anything else the page tried to load would be remote content: fail it and record it.
  await page.route(/^(?!http:\/\/webview\.test\/)/, (route) => {
    void page.evaluate((url) => (window as unknown as { __problems: string[] }).__problems.push(`remote request: ${url}`), route.request().url()).catch(() => undefined);
    return route.abort();
  });
  await page.exposeBinding('ptscnPost', (_source, message: unknown) => inspector.onPosted(message));
  await page.exposeBinding('ptscnSetState', (_source, state: unknown) => {
    inspector.lastState = state;
  });
  await page.addInitScript(
    ({ vars, bodyClass, kind, saved }) => {
      const w = window as unknown as Record<string, unknown>;
      w.__problems = [];
      let state: unknown = saved;
      w.acquireVsCodeApi = () => ({
        postMessage: (m: unknown) => (w.ptscnPost as (m: unknown) => void)(m),
        getState: () => state,
        setState: (s: unknown) => {
          state = s;
          (w.ptscnSetState as (s: unknown) => void)(s);
        },
      });
      // VS Code puts the theme's variables on <html>; the parser replaces an early documentElement.
      const paint = (): void => {
        for (const [name, value] of Object.entries(vars)) document.documentElement.style.setProperty(name, value);
      };
      if (document.documentElement) paint();
      document.addEventListener('securitypolicyviolation', (e) => (w.__problems as string[]).push(`csp: ${e.violatedDirective} ${e.blockedURI}`));
      window.addEventListener('error', (e) => (w.__problems as string[]).push(`error: ${e.message}`));
      document.addEventListener('DOMContentLoaded', () => {
        paint();
        document.body.classList.add(bodyClass);
        document.body.dataset.vscodeThemeKind = kind;
      });
    },
    { vars: theme.vars, bodyClass: theme.bodyClass, kind: theme.kind, saved: options.savedState },
  );
  page.on('pageerror', (error) => inspector.posted.push({ type: '__pageerror', message: String(error) }));
  await page.goto(`${ORIGIN}/index.html`);
  await inspector.waitForPosted((m) => m.type === 'ready');
  return inspector;
}
