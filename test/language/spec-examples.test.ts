// Every example of the language spec (copied into test/fixtures/spec-examples.ptscn, because CI
// has no copy of the spec) parses and checks with no findings.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { analyze } from '../../server/src/language/index';
import { ROOT, problemPairs } from './support';

describe('spec examples', () => {
  const text = fs.readFileSync(path.join(ROOT, 'test/fixtures/spec-examples.ptscn'), 'utf8');
  const { program, problems } = analyze(text);

  it('parse and check with no findings', () => {
    assert.deepEqual(problemPairs(text, problems), []);
  });

  it('are all there', () => {
    assert.deepEqual(
      program.scenarios.map((s) => s.title),
      [
        'title',
        'ptdump against a huge vmap table free',
        'guard markers survive MADV_DONTNEED',
        'set_memory_ro across a PMD block without BBML2',
        'W+X in the kernel',
      ],
    );
  });
});
