// Formatter: canonical layout, idempotence, token preservation and refusal on syntax errors.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { format } from '../../server/src/language/index';
import { ROOT, significantTokens } from './support';

const CASES: [string, string, string][] = [
  [
    'indents by block depth and spaces tokens',
    'scenario   "t"{\nkernel{\n\tmap 0x1000 size 4K phys 0 prot rw leaf = pmd   nocont=>ok\n   }\n}',
    'scenario "t" {\n  kernel {\n    map 0x1000 size 4K phys 0 prot rw leaf=pmd nocont => ok\n  }\n}\n',
  ],
  [
    'keeps comments and collapses blank lines',
    '# head\n\n\n\nscenario "t" {   # trailing  \n\n\n  # inside\n  let x=1+2*(3-1)\n}\n\n\n',
    '# head\n\nscenario "t" { # trailing\n\n  # inside\n  let x = 1 + 2 * (3 - 1)\n}\n',
  ],
  [
    'glues queries, options, bit lists and diagnostic codes',
    'scenario "t" {\narch arm64 granule = 16k va = 47\nexpect vmas ( p ) == 1\nexpect leaf( p , x+1p )==pmd\nconcurrent {\nthread a { rmw pte 0 set PTE_CONT | PTE_RDONLY ; pud_free_pmd_page 0 variant =trylock }\n}\nexpect diagnostic partial-block-overlap\n}\n',
    'scenario "t" {\n  arch arm64 granule=16k va=47\n  expect vmas(p) == 1\n  expect leaf(p, x + 1p) == pmd\n  concurrent {\n    thread a { rmw pte 0 set PTE_CONT|PTE_RDONLY; pud_free_pmd_page 0 variant=trylock }\n  }\n  expect diagnostic partial-block-overlap\n}\n',
  ],
  [
    'spaces a parenthesised operand that is not a query',
    'scenario "t" {\nprocess p { write (b) value(1) }\n}\n',
    'scenario "t" {\n  process p { write (b) value (1) }\n}\n',
  ],
  [
    'dedents else and closing braces',
    'scenario "t" {\nconcurrent {\nthread a {\nif k {\nwalk kernel\n} else {\ncheck_wx\n}\n}\n}\n}\n',
    'scenario "t" {\n  concurrent {\n    thread a {\n      if k {\n        walk kernel\n      } else {\n        check_wx\n      }\n    }\n  }\n}\n',
  ],
  ['keeps CRLF line ends', 'scenario "t" {\r\n kernel { check_wx }\r\n}\r\n', 'scenario "t" {\r\n  kernel { check_wx }\r\n}\r\n'],
  ['formats an empty document to nothing', '\n\n  \n', ''],
];

describe('format', () => {
  for (const [name, input, expected] of CASES) {
    it(name, () => {
      const out = format(input);
      assert.equal(out, expected);
      assert.equal(format(out), out, 'not idempotent');
      assert.deepEqual(significantTokens(out), significantTokens(input));
    });
  }

  it('returns text with syntax errors unchanged', () => {
    const text = 'scenario "t" {\n kernel {   map 0x1000\n}\n}\n';
    assert.equal(format(text), text);
  });

  it('formats text with only check problems', () => {
    assert.equal(format('scenario "t" {\n  let a=zz\n}'), 'scenario "t" {\n  let a = zz\n}\n');
  });

  it('leaves the spec examples as they are', () => {
    const text = fs.readFileSync(path.join(ROOT, 'test/fixtures/spec-examples.ptscn'), 'utf8');
    assert.equal(format(text), text);
  });
});
