// Expressions the checker cannot fold, evaluated while the scenario runs (exec/context.ts): a
// value out of the unsigned 64-bit range is `bad-value` at the expression, and the statement
// does not run (the `expect vmas` after the failed munmap holds).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from '../../../server/src/language/index';
import type { BinaryExpr, Expr } from '../../../server/src/engine/index';
import { lineOf, only, run } from '../support';

function badValues(text: string): string[] {
  const result = run(text);
  return only(result).findings.map((f) => `${lineOf(text, f.span.start)}: ${f.code} ${text.slice(f.span.start, f.span.end)}: ${f.message}`);
}

describe('runtime expression evaluation', () => {
  it('evaluates names, units and arithmetic exactly', () => {
    const text = `scenario "arguments" {
  process p {
    mmap r size 4p prot rw
    write r + 1p + 2 * 1p value 9
    expect value(r + 3p) == 9
    expect r - r + 4K * 2 == 8192
  }
}`;
    assert.deepEqual(badValues(text), []);
  });

  it('reports a difference below zero and a sum past 2^64 at the expression, not running the statement', () => {
    const text = `scenario "out of range" {
  process p {
    mmap r size 1p prot rw
    munmap r - 0xffffffffffffffff size 1p
    read r + 0xffffffffffffffff
    read r * 0x10000000000000
    expect vmas == 1
  }
}`;
    assert.deepEqual(badValues(text), [
      '4: bad-value r - 0xffffffffffffffff: underflows an unsigned 64-bit value',
      '5: bad-value r + 0xffffffffffffffff: overflows an unsigned 64-bit value',
      '6: bad-value r * 0x10000000000000: overflows an unsigned 64-bit value',
    ]);
  });

  it('keeps values past 2^53 exact, where a double would round them', () => {
    // 2^53 - 1 is the largest integer a double holds with its neighbours; each result below
    // is odd and past it, so a double would have rounded it to an even neighbour.
    const text = `scenario "past 2^53" {
  let x = 0x1fffffffffffff
  expect x + 2 == 0x20000000000001
  expect x * 3 == 0x5ffffffffffffd
  expect x + x + 3 == 0x40000000000001
  expect x - 2 + 4 == 0x20000000000001
  expect 0x7fffffffffffffff + x - x == 0x7fffffffffffffff
}`;
    const result = only(run(text));
    assert.deepEqual(result.findings.map((f) => `${lineOf(text, f.span.start)}: ${f.code}`), []);
    assert.equal(result.state.steps().filter((s) => s.result === 'ok').length, 6);
  });

  it('reports a difference below zero of two small values at the expression', () => {
    const text = `scenario "small underflow" {
  process p {
    mmap r size 2p prot rw
    munmap r - (r + 1p) size 1p
    expect vmas == 1
  }
}`;
    assert.deepEqual(badValues(text), ['4: bad-value r - (r + 1p): underflows an unsigned 64-bit value']);
  });

  it('takes `p` as the base page of the scenario\'s granule', () => {
    const text = `scenario "64K pages" {
  arch arm64 granule=64k
  process p {
    mmap r size 4p prot rw
    write r + 3p value 7
    expect value(r + 196608) == 7
    expect r + 2p - r == 131072
  }
}`;
    assert.deepEqual(badValues(text), []);
  });

  it('sums a `+` chain of literals and one name when it is parsed, and nothing else', () => {
    const sumOf = (source: string): string => {
      const stmt = parse(`scenario "s" {\n  expect ${source} == 0\n}`).program.scenarios[0]?.body[0];
      const expr = (stmt as { left?: Expr } | undefined)?.left as BinaryExpr;
      return expr.sumBytes < 0 ? 'none' : `${expr.sumName ?? '-'} ${expr.sumBytes} ${expr.sumPages}p`;
    };
    assert.equal(sumOf('r + 256M + 12p'), 'r 268435456 12p');
    assert.equal(sumOf('4K + r + 1p + 2'), 'r 4098 1p');
    assert.equal(sumOf('1p + 2p'), '- 0 3p');
    assert.equal(sumOf('r + s'), 'none');
    assert.equal(sumOf('r - 1p'), 'none');
    assert.equal(sumOf('r + 2 * 1p'), 'none');
    assert.equal(sumOf('r + 1G'), 'none');
    assert.equal(sumOf('r + 0x40000000'), 'none');
    assert.equal(sumOf('r + vmas'), 'none');
  });

  it('gives a summed chain the value of the chain, and the chain\'s error past 2^64', () => {
    const text = `scenario "sums" {
  arch arm64 granule=64k
  let r = 0x1fffffffff0000
  expect r + 1p + 4K + 1 - r == 69633
  expect 1p + 2p + 3 == 196611
  let big = 0xffffffffffff0000
  let over = big + 1p
}`;
    const result = only(run(text));
    assert.deepEqual(
      result.findings.map((f) => `${lineOf(text, f.span.start)}: ${f.code} ${text.slice(f.span.start, f.span.end)}`),
      ['7: bad-value big + 1p'],
    );
  });

  it('takes a summed name bound to a page table page through its linear alias', () => {
    const text = `scenario "alias" {
  kernel {
    map 0xffff888000000000 size 1G phys 0 prot rw
    alloc_pgtable_page pt => ok
    expect pt + 4K - pt == 4096
    expect pt + 0 >= 0xffff888000000000
  }
}`;
    assert.deepEqual(badValues(text), []);
    assert.equal(only(run(text)).state.steps().filter((s) => s.result === 'ok').length, 4);
  });
});
