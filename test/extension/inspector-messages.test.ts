// The host's guard on what the inspector page sends (the page is untrusted).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTreeParams, isViewToHost, MAX_FETCH_ROWS } from '../../server/src/protocol/webview';

const params = { uri: 'file:///a.ptscn', version: 1, scenarioIndex: 0, step: 2, space: 'kernel', expanded: ['e:0:1'], offset: 0, count: 60 };

describe('inspector messages', () => {
  it('accepts every message the page sends', () => {
    assert.ok(isViewToHost({ type: 'ready', protocol: 1 }));
    assert.ok(isViewToHost({ type: 'fetchRows', requestId: 3, params }));
    assert.ok(
      isViewToHost({
        type: 'fetchRows',
        requestId: 4,
        params: { ...params, offset: -1, view: 'tree', expandAll: true, collapsed: ['r:2:16'], focusChange: true, filter: { changesOnly: true, levels: ['pmd'], kinds: ['leaf', 'invalid'], vaStart: '0xffff000000000000', vaEnd: '0xffff000000400000' } },
      }),
    );
    assert.ok(isViewToHost({ type: 'fetchRows', requestId: 5, params: { ...params, view: 'ledger' } }));
    assert.ok(isViewToHost({ type: 'export', format: 'svg', params }));
  });

  it('refuses oversized, malformed or unknown requests', () => {
    assert.ok(!isViewToHost({ type: 'fetchRows', requestId: 1, params: { ...params, count: MAX_FETCH_ROWS + 1 } }), 'more rows than a page needs');
    assert.ok(!isViewToHost({ type: 'fetchRows', requestId: 1, params: { ...params, offset: -2 } }));
    assert.ok(!isViewToHost({ type: 'fetchRows', requestId: 1, params: { ...params, view: 'files' } }));
    assert.ok(!isViewToHost({ type: 'fetchRows', requestId: 1, params: { ...params, filter: { kinds: ['everything'] } } }));
    assert.ok(!isViewToHost({ type: 'fetchRows', requestId: 1, params: { ...params, filter: { vaStart: 'x'.repeat(100) } } }));
    assert.ok(!isViewToHost({ type: 'fetchRows', requestId: 1, params: { ...params, expanded: [1, 2] } }));
    assert.ok(!isViewToHost({ type: 'export', format: 'html', params }));
    assert.ok(!isViewToHost({ type: 'export', format: 'json' }));
    assert.ok(!isViewToHost({ type: 'reveal', range: 'line 3' }));
    assert.ok(!isViewToHost({ type: 'open', url: 'https://example.com' }));
    assert.ok(!isTreeParams({ ...params, uri: 7 }));
  });
});
