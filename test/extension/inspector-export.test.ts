// The inspector's exports: ptdump text, JSON and SVG of the current view (pure; the panel adds
// the save dialog).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportFileName, jsonExport, ptdumpExport, svgExport } from '../../extension/src/inspector-export';
import { inspectorTree } from '../../server/src/lsp/inspector';
import type { InspectorTreeParams } from '../../server/src/protocol/result';
import { FINDINGS_SCENARIO, runText } from '../webview/support';

const ran = runText(FINDINGS_SCENARIO);
const params: InspectorTreeParams = { uri: ran.result.uri, version: 1, scenarioIndex: 0, step: 2, space: 'kernel', expanded: ['e:0:256', 'e:4:2', 'e:5:0'], offset: 0, count: 1000 };
const tree = inspectorTree(ran.run.state, params);

describe('inspector exports', () => {
  it('names files after the scenario and the step', () => {
    assert.equal(exportFileName(ran.result, 2, 'svg'), 'findings-in-the-tree-step3.svg');
    assert.equal(exportFileName(ran.result, 2, 'ptdump'), 'findings-in-the-tree-step3-ptdump.txt');
  });

  it('writes the kernel ptdump with a header naming the state', () => {
    const dump = inspectorTree(ran.run.state, { ...params, view: 'ptdump' });
    const text = ptdumpExport(ran.result, 2, dump.lines ?? [], dump.total);
    assert.match(text, /^# findings in the tree: kernel page tables after step 3 \(line 6: text = 0xffff800080000000/);
    assert.match(text, /---\[ vmalloc\(\) area \]---\n0xffff800080000000-0xffff800080010000 +64K PTE +RW x /);
    assert.doesNotMatch(text, /truncated/);
  });

  it('writes the visible rows as JSON with what selected them', () => {
    const json = JSON.parse(jsonExport(ran.result, params, 2, tree.rows, tree.total)) as { rows: { id: string }[]; truncated: boolean; space: string; statement: { line: number } };
    assert.equal(json.rows.length, tree.total);
    assert.equal(json.truncated, false);
    assert.equal(json.space, 'kernel');
    assert.equal(json.statement.line, 6);
    assert.equal(JSON.parse(jsonExport(ran.result, params, 2, tree.rows.slice(0, 2), tree.total)).truncated, true);
  });

  it('draws the visible rows as a standalone, escaped SVG', () => {
    const svg = svgExport(ran.result, params, 2, tree.rows, tree.total);
    assert.match(svg, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal((svg.match(/<text x=/g) ?? []).length, tree.rows.length);
    assert.match(svg, /class="finding wx"[^>]*>\[W\+X\]</);
    assert.match(svg, /<rect class="added"/);
    const hostile = svgExport({ ...ran.result, title: '<script>alert(1)</script>' }, params, 2, tree.rows, tree.total);
    assert.doesNotMatch(hostile, /<script>/);
    assert.match(hostile, /&lt;script&gt;/);
  });
});
