// The inspector page's HTML: nonce CSP, no inline code or style, no data in the markup.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildWebviewHtml, createNonce } from '../../extension/src/webview-html';

const OPTIONS = { cspSource: 'vscode-webview://abc', nonce: 'bm9uY2U=', scriptUri: 'vscode-webview://abc/dist/webview.js' };

function csp(html: string): string {
  const match = /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(html);
  assert.ok(match, 'no CSP meta tag');
  return match[1] ?? '';
}

describe('webview-html', () => {
  it('allows only nonce scripts and the webview source for styles, images and fonts', () => {
    const policy = csp(buildWebviewHtml(OPTIONS));
    assert.equal(
      policy,
      "default-src 'none'; script-src 'nonce-bm9uY2U='; style-src vscode-webview://abc; img-src vscode-webview://abc data:; font-src vscode-webview://abc",
    );
  });

  it('loads the one script with the nonce and has no inline script or style', () => {
    const html = buildWebviewHtml({ ...OPTIONS, styleUri: 'vscode-webview://abc/dist/webview.css' });
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.equal(scripts.length, 1);
    assert.match(scripts[0]?.[1] ?? '', /nonce="bm9uY2U=" src="vscode-webview:\/\/abc\/dist\/webview.js"/);
    assert.equal(scripts[0]?.[2], '');
    assert.doesNotMatch(html, /<style|style="/);
    assert.match(html, /<link rel="stylesheet" href="vscode-webview:\/\/abc\/dist\/webview.css">/);
  });

  it('escapes what it interpolates', () => {
    const html = buildWebviewHtml({ ...OPTIONS, scriptUri: 'x"><script>alert(1)</script>' });
    assert.doesNotMatch(html, /<script>alert/);
  });

  it('makes a fresh 128-bit nonce each time', () => {
    const a = createNonce();
    const b = createNonce();
    assert.notEqual(a, b);
    assert.equal(Buffer.from(a, 'base64').length, 16);
  });
});
