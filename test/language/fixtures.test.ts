// Annotated fixtures: each `#   ^^^ code` line under a source line marks a problem expected on
// it (`|` marks an empty span); the problems found must be exactly those marked.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { analyze } from '../../server/src/language/index';
import { ROOT } from './support';

const ANNOTATION = /^(\s*#\s*)(\^+|\|)\s+([a-z-]+)\s*$/;

/** The problems a fixture's annotations expect, as `code start-end` strings. */
function expectedProblems(text: string): string[] {
  const expected: string[] = [];
  let offset = 0;
  let target = 0;
  for (const line of text.split('\n')) {
    const match = ANNOTATION.exec(line);
    if (match) {
      const column = (match[1] ?? '').length;
      const marker = match[2] ?? '';
      const start = target + column;
      const end = marker === '|' ? start : start + marker.length;
      expected.push(`${match[3] ?? ''} ${start}-${end}`);
    } else {
      target = offset;
    }
    offset += line.length + 1;
  }
  return expected;
}

describe('annotated fixtures', () => {
  const dir = path.join(ROOT, 'test/fixtures/language');
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.ptscn'))) {
    it(file, () => {
      const text = fs.readFileSync(path.join(dir, file), 'utf8');
      const found = analyze(text).problems.map((p) => `${p.code} ${p.span.start}-${p.span.end}`);
      const describeAt = (entry: string): string => {
        const [, range] = entry.split(' ');
        const start = Number(range?.split('-')[0]);
        const line = text.slice(0, start).split('\n').length;
        return `${entry} (line ${line}: ${JSON.stringify(text.slice(start, Number(range?.split('-')[1])))})`;
      };
      assert.deepEqual(found.map(describeAt), expectedProblems(text).map(describeAt));
    });
  }
});
