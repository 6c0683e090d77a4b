// Checker tables: each rule of check.ts, as source → [code, span text] problems.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyze, check, parse } from '../../server/src/language/index';
import { clean, problemPairs, wrap } from './support';

function pairs(text: string): [string, string][] {
  return problemPairs(text, analyze(text).problems);
}

function scenario(...lines: string[]): string {
  return `scenario "t" {\n${lines.join('\n')}\n}\n`;
}

/** [name, source, expected problems]. */
type Row = [string, string, [string, string][]];

const NAME_ROWS: Row[] = [
  ['a name used before it is bound', scenario('let a = b', 'let b = 1'), [['unknown-name', 'b']]],
  ['a name bound by let', scenario('let b = 1', 'let a = b + b'), []],
  ['let reads the previous binding', scenario('let a = 1', 'let a = a + 1'), []],
  ['let cannot read itself', scenario('let a = a + 1'), [['unknown-name', 'a']]],
  ['mmap binds its name', scenario('process p {', '  mmap buf size 4K prot rw', '  read buf', '}'), []],
  ['mmap uses before binding', scenario('process p {', '  mmap buf at buf size 4K prot rw', '}'), [['unknown-name', 'buf']]],
  ['vmalloc binds its name', scenario('kernel {', '  vmalloc v size 4K', '  vfree v', '  set_memory_ro v pages 1', '}'), []],
  ['vfree needs a vmalloc name', scenario('let v = 1', 'kernel { vfree v }'), [['unknown-name', 'v']]],
  ['vfree of an unknown name', scenario('kernel { vfree v }'), [['unknown-name', 'v']]],
  ['a table name where a number is needed', scenario('kernel {', '  pgtable_alloc pte as t', '  map t size 4K phys 0 prot r', '}'), [['unknown-name', 't']]],
  ['a process name where a number is needed', scenario('process p { }', 'let x = p'), [['unknown-name', 'p']]],
  ['a number where a table is needed', scenario('let t = 1', 'kernel { pgtable_free t }'), [['unknown-name', 't']]],
  ['a page where a table is needed', scenario('kernel {', '  alloc_pgtable_page g', '  pgtable_ctor g', '}'), [['unknown-name', 'g']]],
  ['a table where a page is needed', scenario('kernel {', '  pgtable_alloc pte as t', '  free_pgtable_page t', '}'), [['unknown-name', 't']]],
  [
    'table statements',
    scenario('process p {', '  pgtable_alloc pte as t', '  pgtable_ctor t', '  populate 0 with t', '  clear pte 0', '  pgtable_dtor t', '  pgtable_free t', '}'),
    [],
  ],
  ['pages', scenario('kernel {', '  alloc_pgtable_page g', '  free_pgtable_page g', '}'), []],
  ['an unknown page', scenario('kernel { free_pgtable_page g }'), [['unknown-name', 'g']]],
  ['exit of an unknown process', scenario('exit p'), [['unknown-name', 'p']]],
  ['exit of a value', scenario('let p = 1', 'exit p'), [['unknown-name', 'p']]],
  ['exit of kernel', scenario('exit kernel'), [['unknown-name', 'kernel']]],
  ['fork of an unknown process', scenario('fork p as q', 'exit q'), [['unknown-name', 'p']]],
  ['fork binds the child', scenario('process p { }', 'fork p as q', 'exit q', 'expect vmas(q) == 0'), []],
  ['fork into an existing process', scenario('process p { }', 'process q { }', 'fork p as q'), [['bad-value', 'q']]],
  ['a later process block continues the first', scenario('process p { }', 'process p { }', 'exit p'), []],
  ['a query on an unknown process', scenario('expect vmas(q) == 0'), [['unknown-name', 'q']]],
  ['an address query on an unknown process', scenario('expect leaf(q, 0) == none'), [['unknown-name', 'q']]],
  ['queries on kernel', scenario('expect vmas(kernel) == 0', 'expect leaf(kernel, 0) == none', 'expect tables(kernel, pte) == 0'), []],
  ['init_mm is predefined', scenario('concurrent { thread a { lock init_mm read; unlock init_mm read } }'), []],
  ['an unknown lock', scenario('concurrent { thread a { lock mm write } }'), [['unknown-name', 'mm']]],
  [
    'static keys are declared by use',
    scenario('concurrent {', '  thread a { if k { walk kernel } }', '  thread b { static_branch_enable k; static_branch_disable j }', '}'),
    [],
  ],
  ['a second thread with the same name', scenario('concurrent {', '  thread a { }', '  thread a { }', '}'), [['bad-value', 'a']]],
  ['thread names are per concurrent block', scenario('concurrent { thread a { } }', 'concurrent { thread a { } }'), []],
  ['names are scenario-scoped', 'scenario "a" {\n  let x = 1\n}\nscenario "b" {\n  let y = x\n}\n', [['unknown-name', 'x']]],
  ['names in a result', scenario('process p { mmap b size 4K prot rw; read b => value c }'), [['unknown-name', 'c']]],
  ['names in rmw bit values', scenario('concurrent { thread a { rmw pte (z) set PTE_AF | (y + 1) } }'), [['unknown-name', 'z'], ['unknown-name', 'y']]],
  ['bit names are not names', scenario('concurrent { thread a { rmw pte 0 set PTE_AF clear PTE_RDONLY } }'), []],
];

describe('check: names', () => {
  for (const [name, source, expected] of NAME_ROWS) {
    it(name, () => assert.deepEqual(pairs(source), expected));
  }

  it('offers the closest bound names as candidates', () => {
    const text = scenario('let buffer = 1', 'let bufer2 = 2', 'let other = 3', 'let x = bufer');
    const problem = analyze(text).problems[0];
    assert.equal(problem?.code, 'unknown-name');
    assert.deepEqual(problem?.fix, { kind: 'unknown-name', candidates: ['bufer2', 'buffer'] });
  });

  it('offers only names of the kind that is needed', () => {
    const text = scenario('process pa { }', 'let pb = 1', 'exit pc');
    assert.deepEqual(analyze(text).problems[0]?.fix, { kind: 'unknown-name', candidates: ['pa'] });
  });

  it('offers init_mm for a misspelt lock', () => {
    const text = scenario('concurrent { thread a { lock init_m read } }');
    assert.deepEqual(analyze(text).problems[0]?.fix, { kind: 'unknown-name', candidates: ['init_mm'] });
  });

  it('says which kind of name was expected', () => {
    const text = scenario('kernel {', '  pgtable_alloc pte as t', '  unmap t size 4K', '}');
    assert.match(analyze(text).problems[0]?.message ?? '', /table.*expected a number/);
  });
});

const VALUE_ROWS: Row[] = [
  // Architectures and options (spec §2).
  ['x86_64 levels', scenario('arch x86_64 levels=4'), []],
  ['x86_64 levels=5', scenario('arch x86_64 levels=5'), []],
  ['x86_64 levels=3', scenario('arch x86_64 levels=3'), [['bad-value', '3']]],
  ['an unknown arch', scenario('arch sparc64'), [['bad-value', 'sparc64']]],
  ['an unknown option', scenario('arch x86_64 granule=4k'), [['bad-value', 'granule']]],
  ['a repeated option', scenario('arch x86_64 levels=4 levels=5'), [['bad-value', 'levels']]],
  ['arm64 defaults', scenario('arch arm64'), []],
  ['arm64 granule=64k', scenario('arch arm64 granule=64k'), []],
  ['arm64 granule=8k', scenario('arch arm64 granule=8k'), [['bad-value', '8k']]],
  ['arm64 va=48 alone', scenario('arch arm64 va=48'), []],
  ['arm64 va=47 with the default 4k granule', scenario('arch arm64 va=47'), [['bad-value', '47']]],
  ['arm64 va=x', scenario('arch arm64 va=x'), [['bad-value', 'x']]],
  ['riscv64 modes', scenario('arch riscv64 mode=sv39'), []],
  ['riscv64 mode=sv32', scenario('arch riscv64 mode=sv32'), [['bad-value', 'sv32']]],
  ['x86_pae takes no options', scenario('arch x86_pae levels=3'), [['bad-value', 'levels']]],
  ['arm_lpae takes no options', scenario('arch arm_lpae granule=4k'), [['bad-value', 'granule']]],
  ['a second arch', scenario('arch arm64', 'arch x86_64'), [['bad-value', 'arch']]],
  ['features', scenario('feature bbml2 pti no_block_mappings no_cont_mappings pte_mapped_cache write_protect_pgtables'), []],
  ['an unknown feature', scenario('feature bbml2 lpa2'), [['bad-value', 'lpa2']]],
  ['thp modes', scenario('thp never'), []],
  ['an unknown thp mode', scenario('thp sometimes'), [['bad-value', 'sometimes']]],
  ['a second thp', scenario('thp never', 'thp always'), [['bad-value', 'thp']]],
  ['accounting modes', scenario('accounting legacy'), []],
  ['an unknown accounting mode', scenario('accounting modern'), [['bad-value', 'modern']]],
  // Words from closed sets.
  ['protections', scenario('process p {', '  mmap a size 4K prot r; mmap b size 4K prot w; mmap c size 4K prot x', '  mprotect a size 4K prot rwx; mprotect a size 4K prot wx; mprotect a size 4K prot none', '}'), []],
  ['a protection out of order', scenario('process p { mmap a size 4K prot wr }'), [['bad-value', 'wr']]],
  ['a protection with a stray letter', scenario('kernel { map 0 size 4K phys 0 prot rwz }'), [['bad-value', 'rwz']]],
  ['a vmalloc protection', scenario('kernel { vmalloc v size 4K prot rww }'), [['bad-value', 'rww']]],
  ['an mprotect protection', scenario('process p { mprotect 0 size 4K prot read }'), [['bad-value', 'read']]],
  ['advice', scenario('process p { madvise 0 size 4K populate_write }'), []],
  ['an unknown advice', scenario('process p { madvise 0 size 4K dontned }'), [['bad-value', 'dontned']]],
  ['levels', scenario('kernel { pgtable_alloc p4d as t; clear pgd 0 }'), []],
  ['an unknown level in pgtable_alloc', scenario('kernel { pgtable_alloc pde as t }'), [['bad-value', 'pde']]],
  ['an unknown level in clear', scenario('kernel { clear pml4 0 }'), [['bad-value', 'pml4']]],
  ['an unknown level in load and rmw', scenario('concurrent { thread a { load pt 0; rmw pt 0 set A } }'), [['bad-value', 'pt'], ['bad-value', 'pt']]],
  ['an unknown level in tables()', scenario('process p { expect tables(ptx) == 0 }'), [['bad-value', 'ptx']]],
  ['a leaf choice', scenario('kernel { map 0 size 4K phys 0 prot r leaf=pte }'), []],
  ['an unknown leaf choice', scenario('kernel { map 0 size 4K phys 0 prot r leaf=cont_pte }'), [['bad-value', 'cont_pte']]],
  ['a variant', scenario('concurrent { thread a { pmd_free_pte_page 0 variant=static_key } }'), []],
  ['an unknown variant', scenario('concurrent { thread a { pud_free_pmd_page 0 variant=patched } }'), [['bad-value', 'patched']]],
  ['on or off', scenario('kernel { set_memory_valid 0 pages 1 maybe }'), [['bad-value', 'maybe']]],
  ['a lock mode', scenario('concurrent { thread a { lock init_mm exclusive } }'), [['bad-value', 'exclusive']]],
  ['walk kernel only', scenario('concurrent { thread a { walk user } }'), [['bad-value', 'user']]],
  ['errno results', scenario('process p { read 0 => EINVAL; read 0 => ENOMEM; read 0 => EFAULT; read 0 => EPERM }'), []],
  ['an unknown errno', scenario('process p { read 0 => EAGAIN }'), [['bad-value', 'EAGAIN']]],
  ['race kinds', scenario('concurrent { }', 'expect race deadlock', 'expect race lost_update', 'expect race use_after_free'), []],
  ['an unknown race kind', scenario('concurrent { }', 'expect race livelock'), [['bad-value', 'livelock']]],
  ['expect race before concurrent', scenario('expect race none', 'concurrent { }'), [['bad-value', 'expect']]],
  [
    'run-time diagnostic codes',
    scenario(
      'expect diagnostic partial-block-overlap',
      'expect diagnostic wx-mapping',
      'expect diagnostic ctor-dtor-leak',
      'expect diagnostic expectation-failed',
      'expect diagnostic statement-failed',
      'expect diagnostic race',
      'expect diagnostic resource-limit',
    ),
    [],
  ],
  ['an unknown diagnostic code', scenario('expect diagnostic wx-mappings'), [['bad-value', 'wx-mappings']]],
  ['a static diagnostic code', scenario('expect diagnostic bad-value'), [['bad-value', 'bad-value']]],
  ['a name that spells a query', scenario('let vmas = 1', 'process p { mmap tlb_flushes size 4K prot r }'), [['bad-value', 'vmas'], ['bad-value', 'tlb_flushes']]],
  // Numbers (spec §1): exact u64.
  ['the largest u64', scenario('let a = 0xffff_ffff_ffff_ffff', 'let b = 18446744073709551615'), []],
  ['one more than the largest u64 in hex', scenario('let a = 0x1_0000_0000_0000_0000'), [['bad-value', '0x1_0000_0000_0000_0000']]],
  ['one more than the largest u64 in decimal', scenario('let a = 18446744073709551616'), [['bad-value', '18446744073709551616']]],
  ['a unit that overflows', scenario('let a = 16777216T'), [['bad-value', '16777216T']]],
  ['a unit that just fits', scenario('let a = 16777215T + 1023G'), []],
  ['KiB overflow', scenario('let a = 0x40_0000_0000_0000_0KiB'), [['bad-value', '0x40_0000_0000_0000_0KiB']]],
  ['pages overflow with 64K pages', scenario('arch arm64 granule=64k', 'let a = 0x1_0000_0000_0000p'), [['bad-value', '0x1_0000_0000_0000p']]],
  ['pages fit with 4K pages', scenario('let a = 0xf_ffff_ffff_ffffp'), []],
  ['folded addition overflows', scenario('let a = 0xffff_ffff_ffff_ffff + 1'), [['bad-value', '0xffff_ffff_ffff_ffff + 1']]],
  ['folded multiplication overflows', scenario('let a = 2 * (0x8000_0000_0000_0000)'), [['bad-value', '2 * (0x8000_0000_0000_0000)']]],
  ['folded subtraction underflows', scenario('let a = 4K - 1p - 1'), [['bad-value', '4K - 1p - 1']]],
  ['only the innermost overflow is reported', scenario('let a = (0 - 1) * 2 + 3'), [['bad-value', '(0 - 1)']]],
  ['arithmetic with names is not folded', scenario('let b = 1', 'let a = b - 2'), []],
  ['a literal overflow beside a name', scenario('let b = 1', 'let a = b + 0x1_0000_0000_0000_0000'), [['bad-value', '0x1_0000_0000_0000_0000']]],
  ['an overflow in a query address', scenario('process p { expect value(0x1_0000_0000_0000_0000) == 0 }'), [['bad-value', '0x1_0000_0000_0000_0000']]],
  // Page multiples for kernel map/unmap (spec §4).
  ['aligned map', scenario('kernel { map 0xffff000000000000 size 2M phys 0x80000000 prot rw }'), []],
  ['unaligned map address', scenario('kernel { map 0x1001 size 4K phys 0 prot rw }'), [['bad-value', '0x1001']]],
  ['unaligned map size', scenario('kernel { map 0 size 4K + 1 phys 0 prot rw }'), [['bad-value', '4K + 1']]],
  ['unaligned map phys', scenario('kernel { map 0 size 4K phys 0x800 prot rw }'), [['bad-value', '0x800']]],
  ['unaligned unmap', scenario('kernel { unmap 0x10 size 0x20 }'), [['bad-value', '0x10'], ['bad-value', '0x20']]],
  ['16K pages', scenario('arch arm64 granule=16k va=47', 'kernel { map 0x4000 size 4K phys 0 prot r }'), [['bad-value', '4K']]],
  ['64K pages', scenario('arch arm64 granule=64k', 'kernel { map 0x10000 size 1p phys 0x20000 prot r }'), []],
  ['64K pages, 4K address', scenario('arch arm64 granule=64k', 'kernel { map 0x1000 size 64K phys 0 prot r }'), [['bad-value', '0x1000']]],
  ['map in a thread', scenario('concurrent { thread a { map 0x1 size 4K phys 0 prot r } }'), [['bad-value', '0x1']]],
  ['addresses with names are not checked', scenario('let a = 1', 'kernel { map a size a phys a prot r }'), []],
  ['addresses with queries are not checked', scenario('kernel { map tlb_flushes size 4K phys 0 prot r }'), []],
  // Queries (spec §7).
  ['vmas at top level', scenario('process p { }', 'expect vmas == 1'), [['bad-value', 'vmas']]],
  ['pgtables_bytes at top level', scenario('let a = pgtables_bytes'), [['bad-value', 'pgtables_bytes']]],
  ['accounted at top level', scenario('let a = accounted + 1'), [['bad-value', 'accounted']]],
  ['tables at top level', scenario('expect tables(pte) == 0'), [['bad-value', 'tables(pte)']]],
  ['tables without a level', scenario('process p { expect tables == 0 }'), [['bad-value', 'tables']]],
  ['an address query at top level', scenario('expect leaf(0) == none'), [['bad-value', 'leaf(0)']]],
  ['value at top level', scenario('let a = value(0)'), [['bad-value', 'value(0)']]],
  ['counters at top level', scenario('expect wx_pages + nonuxn_pages + tlb_flushes + barriers + direct_map_splits == 0'), []],
  ['queries in blocks', scenario('kernel { expect vmas == 0; expect leaf(0) == none; expect accounted == 0; expect pgtables_bytes == 0 }'), []],
  ['a symbolic query in arithmetic', scenario('kernel { expect leaf(0) + 1 == 2 }'), [['bad-value', 'leaf(0)']]],
  ['a symbolic query in let', scenario('kernel { let a = prot(0) }'), [['bad-value', 'prot(0)']]],
  ['a symbolic query compared with <', scenario('kernel { expect leaf(0) < pmd }'), [['bad-value', '<']]],
  ['a symbolic query compared with a number', scenario('kernel { expect guard(0) == 1 }'), [['bad-value', '1']]],
  ['leaf kinds', scenario('kernel { expect leaf(0) == none; expect leaf(0) == pte; expect leaf(0) == cont_pte; expect leaf(0) == pmd; expect leaf(0) == cont_pmd; expect leaf(0) == pud }'), []],
  ['an unknown leaf kind', scenario('kernel { expect leaf(0) == p4d }'), [['bad-value', 'p4d']]],
  ['a protection value', scenario('kernel { expect prot(0) == rx; expect none == prot(0) }'), []],
  ['a bad protection value', scenario('kernel { expect prot(0) == xr }'), [['bad-value', 'xr']]],
  ['a guard value', scenario('kernel { expect guard(0) != false }'), []],
  ['a bad guard value', scenario('kernel { expect guard(0) == yes }'), [['bad-value', 'yes']]],
  ['a value query is numeric', scenario('process p { expect value(0) >= 1 }'), []],
];

describe('check: values', () => {
  for (const [name, source, expected] of VALUE_ROWS) {
    it(name, () => assert.deepEqual(pairs(source), expected));
  }
});

describe('check: contract', () => {
  it('reports nothing for programs without problems', () => {
    clean(wrap('process', 'mmap b size 4K prot rw\nwrite b value 3\nexpect value(b) == 3'));
  });

  it('returns findings sorted by offset, all errors', () => {
    const text = scenario('let a = zz', 'arch sparc', 'let b = yy');
    const findings = check(parse(text).program, text);
    assert.deepEqual(
      findings.map((f) => [f.code, f.severity]),
      [
        ['unknown-name', 'error'],
        ['bad-value', 'error'],
        ['unknown-name', 'error'],
      ],
    );
    const starts = findings.map((f) => f.span.start);
    assert.deepEqual(starts, [...starts].sort((x, y) => x - y));
  });

  it('analyze merges syntax and check problems in order', () => {
    const text = scenario('let a = zz', 'map', 'arch sparc');
    assert.deepEqual(pairs(text), [
      ['unknown-name', 'zz'],
      ['syntax', ''],
      ['syntax', 'arch'],
      ['bad-value', 'sparc'],
    ]);
  });
});
