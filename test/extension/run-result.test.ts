// Pure readings of run results on the client side: status text, cursor → step, test messages.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { failureMessages, stepAt } from '../../extension/src/run-result';
import { describeStatus } from '../../extension/src/status-text';
import type { RunResult, StepSummary } from '../../server/src/protocol/result';
import { isViewToHost } from '../../server/src/protocol/webview';

const range = (line: number, from: number, to: number) => ({ start: { line, character: from }, end: { line, character: to } });

function step(index: number, line: number): StepSummary {
  return { index, range: range(line, 4, 20), space: 'kernel', helper: 'h', summary: '', result: 'ok', tablesAllocated: 0, tablesFreed: 0, entriesWritten: 0, levels: [], counters: {} };
}

const RESULT: RunResult = {
  uri: 'file:///a.ptscn',
  version: 1,
  scenarioIndex: 0,
  title: 't',
  range: range(0, 0, 12),
  arch: 'x86_64',
  ok: false,
  status: 'completed',
  diagnostics: [
    { code: 'wx-mapping', severity: 'warning', range: range(2, 4, 9), message: 'w', related: [], expected: false },
    { code: 'ctor-dtor-leak', severity: 'error', range: range(3, 4, 9), message: 'leak', related: [], expected: false },
    { code: 'expectation-failed', severity: 'error', range: range(5, 4, 9), message: 'expected 1, got 2', related: [], expected: false },
  ],
  outputs: [],
  stats: { steps: 2, schedules: 0, states: 0, ms: 1 },
  steps: [step(0, 2), step(1, 3)],
  explorer: [],
};

describe('run results on the client', () => {
  it('finds the step under the cursor', () => {
    assert.equal(stepAt(RESULT, { line: 3, character: 6 }), 1);
    assert.equal(stepAt(RESULT, { line: 9, character: 0 }), -1);
  });

  it('reports error diagnostics as test messages, failed expectations first', () => {
    assert.deepEqual(
      failureMessages(RESULT).map((m) => [m.code, m.range.start.line]),
      [
        ['expectation-failed', 5],
        ['ctor-dtor-leak', 3],
      ],
    );
  });

  it('describes the status of the active document', () => {
    const view = describeStatus(
      { health: 'ok', busy: false, documents: [] },
      { uri: 'file:///a.ptscn', version: 1, arch: 'arm64', scenarios: 2, errors: 1, warnings: 2, information: 0 },
    );
    assert.deepEqual(view, { text: 'arm64 · 1 error, 2 warnings', detail: '2 scenario(s)', severity: 'warning', busy: false });
    assert.equal(describeStatus({ health: 'error', busy: false, message: 'boom', documents: [] }, undefined).severity, 'error');
  });

  it('accepts only well-formed webview messages', () => {
    assert.ok(isViewToHost({ type: 'ready', protocol: 1 }));
    assert.ok(isViewToHost({ type: 'reveal', range: range(1, 0, 2) }));
    assert.ok(!isViewToHost({ type: 'reveal', range: { start: 1 } }));
    assert.ok(!isViewToHost({ type: 'fetchRows', requestId: 1, params: { uri: 'x' } }));
    assert.ok(!isViewToHost({ type: 'eval', code: 'x' }));
    assert.ok(!isViewToHost(null));
  });
});
