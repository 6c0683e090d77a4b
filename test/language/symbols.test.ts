// Symbol index: definitions, references, rename targets and names in scope per scenario.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { namesInScope, parse, symbolAt, symbols, symbolSpans, type NameSymbol, type Span } from '../../server/src/language/index';

const TEXT = [
  'scenario "s" {', // 0
  '  let size = 4K', // 1
  '  process p {', // 2
  '    mmap buf size size prot rw', // 3
  '    read buf + size', // 4
  '    pgtable_alloc pte as t', // 5
  '    populate buf with t', // 6
  '  }', // 7
  '  fork p as q', // 8
  '  process q { read buf }', // 9
  '  expect vmas(q) == 1', // 10
  '  let size = size + 1', // 11
  '  concurrent {', // 12
  '    thread a { static_branch_enable k; lock init_mm read }', // 13
  '    thread b { if k { walk kernel } }', // 14
  '  }', // 15
  '  kernel { alloc_pgtable_page g; free_pgtable_page g }', // 16
  '  exit p', // 17
  '}', // 18
  'scenario "other" { let buf = 1 }', // 19
].join('\n');

const index = symbols(parse(TEXT).program);

function text(span: Span): string {
  return TEXT.slice(span.start, span.end);
}

/** The 0-based line of an offset. */
function line(offset: number): number {
  return TEXT.slice(0, offset).split('\n').length - 1;
}

function find(name: string, kind: string, nth = 0): NameSymbol {
  const found = index[0]?.symbols.filter((s) => s.name === name && s.kind === kind)[nth];
  assert.ok(found, `no symbol ${kind} ${name} #${nth}`);
  return found;
}

/** The offset of the `nth` occurrence of `word` on `lineNo`. */
function at(lineNo: number, word: string, nth = 0): number {
  const start = TEXT.split('\n').slice(0, lineNo).join('\n').length + (lineNo > 0 ? 1 : 0);
  let offset = start - 1;
  for (let i = 0; i <= nth; i++) offset = TEXT.indexOf(word, offset + 1);
  return offset;
}

describe('symbols', () => {
  it('indexes one entry per scenario', () => {
    assert.deepEqual(
      index.map((s) => s.title),
      ['s', 'other'],
    );
  });

  it('records definitions and references with their kinds', () => {
    const buf = find('buf', 'value');
    assert.equal(buf.origin, 'mmap');
    assert.equal(line(buf.def?.start ?? 0), 3);
    assert.deepEqual(buf.references.map((r) => line(r.start)), [4, 6, 9]);
    assert.deepEqual(buf.references.map(text), ['buf', 'buf', 'buf']);

    const t = find('t', 'table');
    assert.equal(t.origin, 'pgtable_alloc');
    assert.deepEqual(t.references.map((r) => line(r.start)), [6]);

    const p = find('p', 'process');
    assert.equal(line(p.def?.start ?? 0), 2);
    assert.deepEqual(p.references.map((r) => line(r.start)), [8, 17]);

    const q = find('q', 'process');
    assert.equal(q.origin, 'fork');
    assert.deepEqual(q.references.map((r) => line(r.start)), [9, 10]);

    const g = find('g', 'page');
    assert.deepEqual(g.references.map((r) => line(r.start)), [16]);

    assert.equal(find('a', 'thread').origin, 'thread');
    assert.equal(find('b', 'thread').references.length, 0);
  });

  it('treats a static key as declared by its first use', () => {
    const k = find('k', 'key');
    assert.equal(k.origin, 'use');
    assert.equal(line(k.def?.start ?? 0), 13);
    assert.deepEqual(k.references.map((r) => line(r.start)), [14]);
  });

  it('predefines init_mm with no definition span', () => {
    const lock = find('init_mm', 'lock');
    assert.equal(lock.origin, 'predefined');
    assert.equal(lock.def, undefined);
    assert.deepEqual(lock.references.map((r) => line(r.start)), [13]);
  });

  it('makes a rebinding a new symbol, and reads the old one on its right side', () => {
    const first = find('size', 'value', 0);
    const second = find('size', 'value', 1);
    assert.equal(line(first.def?.start ?? 0), 1);
    assert.deepEqual(first.references.map((r) => line(r.start)), [3, 4, 11]);
    assert.equal(line(second.def?.start ?? 0), 11);
    assert.deepEqual(second.references, []);
  });

  it('finds the symbol at an offset, on a definition or a reference', () => {
    const onRef = symbolAt(index, at(9, 'buf') + 1);
    assert.equal(onRef?.symbol, find('buf', 'value'));
    assert.equal(text(onRef?.span ?? { start: 0, end: 0 }), 'buf');
    assert.equal(symbolAt(index, at(8, 'q'))?.symbol, find('q', 'process'));
    assert.equal(symbolAt(index, at(3, 'mmap')), undefined);
    assert.equal(symbolAt(index, at(19, 'buf'))?.symbol.name, 'buf');
    assert.notEqual(symbolAt(index, at(19, 'buf'))?.symbol, find('buf', 'value'));
  });

  it('gives rename targets: the definition and every reference', () => {
    const spans = symbolSpans(find('p', 'process'));
    assert.deepEqual(spans.map((s) => [line(s.start), text(s)]), [
      [2, 'p'],
      [8, 'p'],
      [17, 'p'],
    ]);
  });

  it('lists the names in scope at an offset', () => {
    const names = (offset: number, kinds?: Parameters<typeof namesInScope>[2]): string[] =>
      namesInScope(index, offset, kinds)
        .map((s) => `${s.kind}:${s.name}`)
        .sort();
    assert.deepEqual(names(at(2, 'process')), ['key:k', 'lock:init_mm', 'value:size']);
    assert.deepEqual(names(at(4, 'read'), ['value', 'table']), ['value:buf', 'value:size']);
    assert.deepEqual(names(at(10, 'expect'), ['process']), ['process:p', 'process:q']);
    const sizes = namesInScope(index, at(17, 'exit'), ['value']).filter((s) => s.name === 'size');
    assert.deepEqual(sizes, [find('size', 'value', 1)]);
    assert.deepEqual(names(at(19, '}')), ['lock:init_mm', 'value:buf']);
  });
});
