// Parser tables: source → tree shape for every statement, option, result, query and expression
// form; source → [code, span text] for syntax errors, recovery and misplaced statements.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_NESTING, MAX_OPERATORS } from '../../server/src/language/index';
import { analyze, firstStatement, lineOf, parse, problemPairs, show, wrap } from './support';

type Block = 'top' | 'kernel' | 'process' | 'thread';

/** [block, statement source, expected shape]. */
const STATEMENTS: [Block, string, string][] = [
  // Headers (spec §2).
  ['top', 'arch x86_64', 'arch{arch=x86_64 options=[]}'],
  ['top', 'arch x86_64 levels=5', 'arch{arch=x86_64 options=[{key=levels value=5}]}'],
  ['top', 'arch arm64 granule=16k va=47', 'arch{arch=arm64 options=[{key=granule value=16k} {key=va value=47}]}'],
  ['top', 'arch riscv64 mode=sv57', 'arch{arch=riscv64 options=[{key=mode value=sv57}]}'],
  ['top', 'arch x86_pae', 'arch{arch=x86_pae options=[]}'],
  ['top', 'feature bbml2 pti no_cont_mappings', 'feature{features=[bbml2 pti no_cont_mappings]}'],
  ['top', 'thp always', 'thp{mode=always}'],
  ['top', 'accounting legacy', 'accounting{mode=legacy}'],
  // Names and expectations (spec §3, §7).
  ['top', 'let x = 4096', 'let{name=x value=4096}'],
  ['top', 'let before = tlb_flushes', 'let{name=before value=tlb_flushes}'],
  ['top', 'expect tlb_flushes == 0 + 1', 'expect{left=tlb_flushes op=== right=(+ 0 1)}'],
  ['kernel', 'expect leaf(0x1000) == pmd', "expect{left=leaf(4096) op=== right='pmd}"],
  ['kernel', 'expect prot(0x1000) != rx', "expect{left=prot(4096) op=!= right='rx}"],
  ['kernel', 'expect pmd == leaf(0x1000)', "expect{left='pmd op=== right=leaf(4096)}"],
  ['kernel', 'expect leaf(0x1000) == leaf(0x2000)', 'expect{left=leaf(4096) op=== right=leaf(8192)}'],
  ['kernel', 'expect barriers >= 2', 'expect{left=barriers op=>= right=2}'],
  ['kernel', 'expect direct_map_splits <= 2', 'expect{left=direct_map_splits op=<= right=2}'],
  ['kernel', 'expect nonuxn_pages < wx_pages', 'expect{left=nonuxn_pages op=< right=wx_pages}'],
  ['kernel', 'expect tables(pte) > 0', 'expect{left=tables(pte) op=> right=0}'],
  ['top', 'expect tables(p, pmd) == 1', 'expect{left=tables(p,pmd) op=== right=1}'],
  ['top', 'expect vmas(p) == 1', 'expect{left=vmas(p) op=== right=1}'],
  ['top', 'expect pgtables_bytes(p) == 0', 'expect{left=pgtables_bytes(p) op=== right=0}'],
  ['top', 'expect accounted(kernel) == 0', 'expect{left=accounted(kernel) op=== right=0}'],
  ['top', 'expect guard(p, x + 1p) == true', "expect{left=guard(p,(+ x 1p)) op=== right='true}"],
  ['top', 'expect value(p, x) == 7', 'expect{left=value(p,x) op=== right=7}'],
  ['process', 'expect vmas == 1', 'expect{left=vmas op=== right=1}'],
  // Kernel statements (spec §4).
  ['kernel', 'map 0x1000 size 4K phys 0x2000 prot rw', 'map{va=4096 size=4K phys=8192 prot=rw}'],
  ['kernel', 'map 0 size 2M phys 0 prot rx leaf=pmd nocont', 'map{va=0 size=2M phys=0 prot=rx leaf=pmd nocont=nocont}'],
  ['kernel', 'map 0 size 2M phys 0 prot r nocont leaf=auto', 'map{va=0 size=2M phys=0 prot=r leaf=auto nocont=nocont}'],
  ['kernel', 'unmap 0x1000 size 1p', 'unmap{va=4096 size=1p}'],
  ['kernel', 'vmalloc v size 2M', 'vmalloc{name=v size=2M}'],
  ['kernel', 'vmalloc v size 2M prot rwx huge', 'vmalloc{name=v size=2M prot=rwx huge=huge}'],
  ['kernel', 'vmalloc v size 2M huge prot rw', 'vmalloc{name=v size=2M prot=rw huge=huge}'],
  ['kernel', 'vfree v', 'vfree{name=v}'],
  ['kernel', 'set_memory_ro a pages 1', 'set_memory{op=ro addr=a pages=1}'],
  ['kernel', 'set_memory_rw a pages 2', 'set_memory{op=rw addr=a pages=2}'],
  ['kernel', 'set_memory_x a pages 3', 'set_memory{op=x addr=a pages=3}'],
  ['kernel', 'set_memory_nx a pages 4', 'set_memory{op=nx addr=a pages=4}'],
  ['kernel', 'set_memory_valid a pages 1 off', 'set_memory_valid{addr=a pages=1 valid=off}'],
  ['kernel', 'set_direct_map_invalid a', 'set_direct_map{op=invalid addr=a}'],
  ['kernel', 'set_direct_map_default a', 'set_direct_map{op=default addr=a}'],
  ['kernel', 'alloc_pgtable_page pg', 'alloc_pgtable_page{name=pg}'],
  ['kernel', 'free_pgtable_page pg', 'free_pgtable_page{name=pg}'],
  ['kernel', 'ptdump', 'ptdump{}'],
  ['kernel', 'ptdump 0x1000 size 1G', 'ptdump{addr=4096 size=1G}'],
  ['kernel', 'check_wx', 'check_wx{}'],
  // Table-page statements (spec §8).
  ['kernel', 'pgtable_alloc pte as t', 'pgtable_alloc{level=pte name=t}'],
  ['process', 'pgtable_alloc pmd as t noctor', 'pgtable_alloc{level=pmd name=t noctor=noctor}'],
  ['kernel', 'pgtable_ctor t', 'pgtable_ctor{name=t}'],
  ['kernel', 'pgtable_dtor t', 'pgtable_dtor{name=t}'],
  ['kernel', 'pgtable_free t', 'pgtable_free{name=t}'],
  ['thread', 'pgtable_free t nodtor', 'pgtable_free{name=t nodtor=nodtor}'],
  ['kernel', 'populate 0x200000 with t', 'populate{addr=2097152 name=t}'],
  ['kernel', 'clear pmd 0x200000', 'clear{level=pmd addr=2097152}'],
  // Process statements (spec §5).
  ['process', 'mmap buf size 10p prot rw', 'mmap{name=buf size=10p prot=rw flags=[]}'],
  [
    'process',
    'mmap buf at 0x10000 size 4K prot r shared file populate locked wipeonfork',
    'mmap{name=buf at=65536 size=4K prot=r flags=[shared file populate locked wipeonfork]}',
  ],
  ['process', 'mmap buf size 4K prot none locked shared', 'mmap{name=buf size=4K prot=none flags=[locked shared]}'],
  ['process', 'munmap b size 4K', 'munmap{addr=b size=4K}'],
  ['process', 'mprotect b size 4K prot rx', 'mprotect{addr=b size=4K prot=rx}'],
  ['process', 'madvise b + 2p size 3p guard_install', 'madvise{addr=(+ b 2p) size=3p advice=guard_install}'],
  ['process', 'mremap b size 4K to c', 'mremap{addr=b size=4K to=c}'],
  ['process', 'mremap b size 4K to b size 8K dontunmap', 'mremap{addr=b size=4K to=b newSize=8K dontunmap=dontunmap}'],
  ['process', 'mlock b size 4K', 'mlock{addr=b size=4K}'],
  ['process', 'mlock b size 4K onfault', 'mlock{addr=b size=4K onfault=onfault}'],
  ['process', 'munlock b size 4K', 'munlock{addr=b size=4K}'],
  ['process', 'read b', 'read{addr=b}'],
  ['process', 'write b', 'write{addr=b}'],
  ['process', 'write b value 7', 'write{addr=b value=7}'],
  ['process', 'exec b', 'exec{addr=b}'],
  ['process', 'touch b size 10p', 'touch{addr=b size=10p}'],
  ['process', 'touch b size 10p write', 'touch{addr=b size=10p access=write}'],
  // Thread statements (spec §9).
  ['thread', 'lock init_mm read', 'lock{lock=init_mm mode=read}'],
  ['thread', 'unlock init_mm write', 'unlock{lock=init_mm mode=write}'],
  ['thread', 'static_branch_enable ptdump_lock', 'static_branch_enable{key=ptdump_lock}'],
  ['thread', 'static_branch_disable ptdump_lock', 'static_branch_disable{key=ptdump_lock}'],
  ['thread', 'if k { walk kernel }', 'if{key=k then=[walk{space=kernel}]}'],
  ['thread', 'if k { check_wx } else { load pte 0 }', 'if{key=k then=[check_wx{}] else=[load{level=pte addr=0}]}'],
  ['thread', 'walk kernel', 'walk{space=kernel}'],
  ['thread', 'walk kernel a size 2M', 'walk{space=kernel addr=a size=2M}'],
  ['thread', 'pud_free_pmd_page a', 'pud_free_pmd_page{addr=a}'],
  ['thread', 'pud_free_pmd_page a variant=unpatched', 'pud_free_pmd_page{addr=a variant=unpatched}'],
  ['thread', 'pmd_free_pte_page a variant=trylock', 'pmd_free_pte_page{addr=a variant=trylock}'],
  ['thread', 'load pmd a', 'load{level=pmd addr=a}'],
  ['thread', 'rmw pte a set PTE_CONT|PTE_RDONLY clear 0x80', 'rmw{level=pte addr=a set=[PTE_CONT PTE_RDONLY] clear=[128]}'],
  ['thread', 'rmw pte a clear PTE_VALID set PTE_AF', 'rmw{level=pte addr=a set=[PTE_AF] clear=[PTE_VALID]}'],
  ['thread', 'rmw pte a set PTE_DIRTY', 'rmw{level=pte addr=a set=[PTE_DIRTY] clear=[]}'],
  ['thread', 'rmw pte a clear 1 | PTE_WRITE', 'rmw{level=pte addr=a set=[] clear=[1 PTE_WRITE]}'],
  ['thread', 'map 0 size 4K phys 0 prot r', 'map{va=0 size=4K phys=0 prot=r}'],
  // Top-level statements.
  ['top', 'fork p as q', 'fork{parent=p child=q}'],
  ['top', 'exit p', 'exit{process=p}'],
  ['top', 'expect race none', 'expect_race{race=none}'],
  ['top', 'expect race use_after_free', 'expect_race{race=use_after_free}'],
  ['top', 'expect diagnostic partial-block-overlap', 'expect_diagnostic{code=partial-block-overlap}'],
  ['top', 'expect diagnostic race', 'expect_diagnostic{code=race}'],
  ['top', 'kernel { check_wx }', 'kernel{body=[check_wx{}]}'],
  ['top', 'process p { read b }', 'process{name=p body=[read{addr=b}]}'],
  ['top', 'concurrent {\nthread a { walk kernel }\nthread b {\n}\n}', 'concurrent{threads=[thread{name=a body=[walk{space=kernel}]} thread{name=b body=[]}]}'],
  // Results (spec §6), on any statement.
  ['process', 'read b => ok', 'read{addr=b result=ok{}}'],
  ['process', 'read b => segv', 'read{addr=b result=segv{}}'],
  ['process', 'read b => value 7', 'read{addr=b result=value{value=7}}'],
  ['process', 'read b => value x + 1', 'read{addr=b result=value{value=(+ x 1)}}'],
  ['kernel', 'set_memory_ro a pages 1 => EINVAL', 'set_memory{op=ro addr=a pages=1 result=errno{errno=EINVAL}}'],
  ['process', 'mmap b size 4K prot rw => ENOMEM', 'mmap{name=b size=4K prot=rw flags=[] result=errno{errno=ENOMEM}}'],
  ['top', 'kernel { } => ok', 'kernel{body=[] result=ok{}}'],
  // Expressions: precedence, associativity, parentheses, units, exact u64 values.
  ['top', 'let x = 1 + 2 * 3', 'let{name=x value=(+ 1 (* 2 3))}'],
  ['top', 'let x = (1 + 2) * 3', 'let{name=x value=(* (+ 1 2) 3)}'],
  ['top', 'let x = 1 - 2 - 3', 'let{name=x value=(- (- 1 2) 3)}'],
  ['top', 'let x = 2 * 3 * 4 - 1', 'let{name=x value=(- (* (* 2 3) 4) 1)}'],
  ['top', 'let x = a * (b + (c - 1))', 'let{name=x value=(* a (+ b (- c 1)))}'],
  ['top', 'let x = 0xffff800000000000+1G', 'let{name=x value=(+ 18446603336221196288 1G)}'],
  ['top', 'let x = 4K + 4KiB', 'let{name=x value=(+ 4K 4K)}'],
  ['top', 'let x = 1M + 1MiB + 1G + 1GiB + 1T + 1TiB + 3p', 'let{name=x value=(+ (+ (+ (+ (+ (+ 1M 1M) 1G) 1G) 1T) 1T) 3p)}'],
  ['top', 'let x = 0xffff_ffff_ffff_ffff', 'let{name=x value=18446744073709551615}'],
  ['top', 'let x = 18_446_744_073_709_551_615', 'let{name=x value=18446744073709551615}'],
  ['top', 'let x = 0X1_0p', 'let{name=x value=16p}'],
  // Keywords are not reserved where a name is expected (spec §1).
  ['top', 'let size = 4K', 'let{name=size value=4K}'],
  ['process', 'mmap size size 4K prot rw', 'mmap{name=size size=4K prot=rw flags=[]}'],
  ['process', 'read map + size', 'read{addr=(+ map size)}'],
  ['top', 'process kernel { }', 'process{name=kernel body=[]}'],
  ['top', 'let value = leaf', 'let{name=value value=leaf}'],
  // `;` separates statements on one line.
  ['process', 'read b; write b', 'read{addr=b}'],
];

describe('parser: statements', () => {
  for (const [block, source, expected] of STATEMENTS) {
    it(`${block}: ${source.replace(/\n/g, '⏎')}`, () => {
      const text = wrap(block, source);
      const { program, problems } = parse(text);
      assert.deepEqual(problemPairs(text, problems), []);
      assert.equal(show(firstStatement(program, block)), expected);
    });
  }

  it('keeps the exact value of a u64 number', () => {
    const { program } = parse(wrap('top', 'let x = 0xffff_ffff_ffff_ffff'));
    const stmt = firstStatement(program, 'top');
    assert.ok(stmt?.kind === 'let' && stmt.value.kind === 'number');
    assert.equal(stmt.value.digits, (1n << 64n) - 1n);
  });

  it('parses several scenarios and several statements per line', () => {
    const text = 'scenario "a" { kernel { check_wx; ptdump } }\nscenario "b \\"q\\" \\\\" {\n}\n';
    const { program, problems } = parse(text);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      program.scenarios.map((s) => s.title),
      ['a', 'b "q" \\'],
    );
    const kernel = program.scenarios[0]?.body[0];
    assert.equal(show(kernel), 'kernel{body=[check_wx{} ptdump{}]}');
  });

  it('gives every node the span of its text', () => {
    const text = wrap('kernel', 'map a + 1p size 4K phys 0 prot rw leaf=pmd => ok');
    const stmt = firstStatement(parse(text).program, 'kernel');
    assert.ok(stmt?.kind === 'map');
    const slice = (s: { start: number; end: number }): string => text.slice(s.start, s.end);
    assert.equal(slice(stmt.span), 'map a + 1p size 4K phys 0 prot rw leaf=pmd => ok');
    assert.equal(slice(stmt.keyword.span), 'map');
    assert.equal(slice(stmt.va.span), 'a + 1p');
    assert.equal(slice(stmt.prot.span), 'rw');
    assert.equal(slice(stmt.leaf?.span ?? { start: 0, end: 0 }), 'pmd');
    assert.equal(slice(stmt.result?.span ?? { start: 0, end: 0 }), 'ok');
    const scenario = parse(text).program.scenarios[0];
    assert.ok(scenario);
    assert.equal(slice(scenario.headSpan), 'scenario "t"');
    assert.equal(slice(scenario.titleSpan), '"t"');
    assert.equal(slice(scenario.closeSpan), '}');
  });

  it('gives a parenthesised expression the span of its parentheses', () => {
    const text = wrap('top', 'let x = (1 + 2) * 3');
    const stmt = firstStatement(parse(text).program, 'top');
    assert.ok(stmt?.kind === 'let' && stmt.value.kind === 'binary');
    assert.equal(text.slice(stmt.value.left.span.start, stmt.value.left.span.end), '(1 + 2)');
    assert.equal(text.slice(stmt.value.span.start, stmt.value.span.end), '(1 + 2) * 3');
  });

  it('accepts `else` on the line after the `}` of an `if`', () => {
    const text = wrap('thread', 'if k {\n  check_wx\n}\nelse {\n  ptdump\n}');
    const { program, problems } = parse(text);
    assert.deepEqual(problems, []);
    assert.equal(show(firstStatement(program, 'thread')), 'if{key=k then=[check_wx{}] else=[ptdump{}]}');
  });

  it('handles CRLF line ends, tabs and a byte-order mark', () => {
    const text = '\ufeffscenario "t" {\r\n\tkernel {\r\n\t\tcheck_wx\r\n\t}\r\n}\r\n';
    const { program, problems } = parse(text);
    assert.deepEqual(problems, []);
    assert.equal(show(program.scenarios[0]?.body[0]), 'kernel{body=[check_wx{}]}');
  });
});

/** [source, expected [code, span text] problems]. Spans at a line's end are empty. */
const SYNTAX_ERRORS: [string, [string, string][]][] = [
  [wrap('kernel', 'map 0x1000 4K phys 0 prot rw'), [['syntax', '4K']]],
  [wrap('kernel', 'map 0x1000 size 4K phys 0'), [['syntax', '']]],
  [wrap('kernel', 'map 0x1000 size 4K phys 0 prot rw nocont nocont'), [['syntax', 'nocont']]],
  [wrap('kernel', 'map 0x1000 size 4K phys 0 prot rw huge'), [['syntax', 'huge']]],
  [wrap('kernel', 'map 0x1000 size 4k phys 0 prot rw'), [['syntax', '4k']]],
  [wrap('kernel', 'map 0x size 4K phys 0 prot rw'), [['syntax', '0x']]],
  [wrap('kernel', 'map (1 + 2 size 4K phys 0 prot rw'), [['syntax', 'size']]],
  [wrap('kernel', 'map 1 + size 4K phys 0 prot rw'), [['syntax', '4K']]],
  [wrap('kernel', 'map 1 + * 2 size 4K phys 0 prot rw'), [['syntax', '*']]],
  [wrap('kernel', 'frobnicate 1'), [['syntax', 'frobnicate']]],
  [wrap('kernel', '42'), [['syntax', '42']]],
  [wrap('kernel', '@@@'), [['syntax', '@@@']]],
  [wrap('process', 'read b =>'), [['syntax', '']]],
  [wrap('process', 'read b => 5'), [['syntax', '5']]],
  [wrap('process', 'read b => ok ok'), [['syntax', 'ok']]],
  [wrap('process', 'mmap b size 4K prot rw shared shared'), [['syntax', 'shared']]],
  [wrap('process', 'touch b size 4K exec'), [['syntax', 'exec']]],
  [wrap('top', 'expect tlb_flushes'), [['syntax', '']]],
  [wrap('top', 'expect tlb_flushes = 1'), [['syntax', '=']]],
  [wrap('top', 'expect tlb_flushes() == 1'), [['syntax', '(']]],
  [wrap('top', 'expect vmas() == 1'), [['syntax', ')']]],
  [wrap('top', 'expect leaf(1 + 2, 3) == pmd'), [['syntax', '1 + 2']]],
  [wrap('top', 'expect leaf(p, 3 == pmd'), [['syntax', '==']]],
  [wrap('top', 'let = 5'), [['syntax', '=']]],
  [wrap('top', 'let x 5'), [['syntax', '5']]],
  [wrap('top', 'fork p q'), [['syntax', 'q']]],
  [wrap('thread', 'rmw pte 0'), [['syntax', '']]],
  [wrap('thread', 'rmw pte 0 set A set B'), [['syntax', 'set']]],
  [wrap('thread', 'rmw pte 0 set A |'), [['syntax', '']]],
  [wrap('thread', 'if k check_wx'), [['syntax', 'check_wx']]],
  [wrap('thread', 'walk'), [['syntax', '']]],
  [wrap('thread', 'pud_free_pmd_page 0 variant'), [['syntax', 'variant']]],
  [wrap('thread', 'else { }'), [['syntax', 'else']]],
  [wrap('top', 'concurrent {\n  walk kernel\n}'), [['syntax', 'walk']]],
  ['scenario {\n}\n', [['syntax', '{']]],
  ['scenario "t"\n{\n}\n', [['syntax', '']]],
  ['scenario "t {\n}\n', [['syntax', '"t {'], ['syntax', '']]],
  ['scenario "a\\n" {\n}\n', [['syntax', '"a\\n"']]],
  ['kernel { }\n', [['syntax', 'kernel']]],
  ['}\nscenario "t" {\n}\n', [['syntax', '}']]],
  ['scenario "t" {\n  kernel {\n', [['syntax', '{'], ['syntax', '{']]],
  ['scenario "a" {\n  check_wx\nscenario "b" {\n}\n', [['syntax', 'check_wx'], ['syntax', 'scenario']]],
];

describe('parser: syntax errors', () => {
  for (const [source, expected] of SYNTAX_ERRORS) {
    it(source.replace(/\n/g, '⏎'), () => {
      const { problems } = parse(source);
      assert.deepEqual(problemPairs(source, problems), expected);
      for (const problem of problems) assert.equal(problem.severity, 'error');
    });
  }

  it('says what was expected', () => {
    const text = wrap('kernel', 'map 0x1000 4K phys 0 prot rw');
    const [problem] = parse(text).problems;
    assert.match(problem?.message ?? '', /expected `size` after the address in `map`/);
  });

  it('spells control characters as code points in messages', () => {
    const [problem] = parse(wrap('kernel', 'map \u0001\u0002 size 4K')).problems;
    assert.ok(problem);
    // eslint-disable-next-line no-control-regex -- the message must not contain control characters.
    assert.doesNotMatch(problem.message, /[\u0000-\u001f]/);
    assert.match(problem.message, /U\+0001U\+0002/);
  });

  it('reports a missing argument at the end of the line with an empty span', () => {
    const text = wrap('kernel', 'map 0x1000 size 4K phys 0');
    const [problem] = parse(text).problems;
    assert.ok(problem);
    assert.equal(problem.span.start, problem.span.end);
    assert.equal(text[problem.span.start], '\n');
  });
});

describe('parser: recovery', () => {
  it('reports every broken statement at its own line and keeps the rest', () => {
    const text = [
      'scenario "t" {', // 1
      '  kernel {', // 2
      '    map 0x1000 4K phys 0 prot rw', // 3
      '    check_wx', // 4
      '    vmalloc v size', // 5
      '    ptdump; unmap 0 sz 4K; check_wx', // 6
      '  }', // 7
      '  process p {', // 8
      '    mmap b size 4K prot', // 9
      '    read b', // 10
      '  }', // 11
      '  bogus { nested { things } }', // 12
      '  fork p as q', // 13
      '}', // 14
    ].join('\n');
    const { program, problems } = parse(text);
    assert.deepEqual(
      problems.map((p) => [p.code, lineOf(text, p.span.start)]),
      [
        ['syntax', 3],
        ['syntax', 5],
        ['syntax', 6],
        ['syntax', 9],
        ['syntax', 12],
      ],
    );
    assert.equal(show(program.scenarios[0]?.body), '[kernel{body=[check_wx{} ptdump{} check_wx{}]} process{name=p body=[read{addr=b}]} fork{parent=p child=q}]');
  });

  it('keeps a statement followed by stray tokens, with its bindings', () => {
    const text = wrap('process', 'mmap b size 4K prot rw junk\nread b');
    const { problems } = analyze(text);
    assert.deepEqual(problemPairs(text, problems), [['syntax', 'junk']]);
  });

  it('treats the name of a broken binding statement as bound afterwards', () => {
    const text = wrap('process', 'mmap b size\nread b\nread c');
    const { problems, unfinishedBindings } = parse(text);
    assert.deepEqual(unfinishedBindings.map((n) => n.text), ['b']);
    assert.deepEqual(problemPairs(text, analyze(text).problems), [
      ['syntax', ''],
      ['unknown-name', 'c'],
    ]);
    assert.equal(problems.length, 1);
  });

  it('ends a scenario whose `}` is missing at the next scenario', () => {
    const text = 'scenario "a" {\n  kernel { check_wx }\nscenario "b" {\n  kernel { ptdump }\n}\n';
    const { program, problems } = parse(text);
    assert.deepEqual(problems.map((p) => [p.code, lineOf(text, p.span.start)]), [['syntax', 3]]);
    assert.deepEqual(
      program.scenarios.map((s) => s.title),
      ['a', 'b'],
    );
    assert.equal(show(program.scenarios[1]?.body), '[kernel{body=[ptdump{}]}]');
  });

  it('skips text outside scenarios, including whole blocks', () => {
    const text = 'kernel {\n  map x\n}\nscenario "t" {\n}\nstray\n';
    const { program, problems } = parse(text);
    assert.deepEqual(problems.map((p) => [p.code, lineOf(text, p.span.start)]), [
      ['syntax', 1],
      ['syntax', 6],
    ]);
    assert.equal(program.scenarios.length, 1);
  });
});

describe('parser: placement', () => {
  /** [block, statement, keyword blamed]. */
  const MISPLACED: [Block, string][] = [
    ['kernel', 'mmap b size 4K prot rw'],
    ['kernel', 'read 0'],
    ['kernel', 'lock init_mm read'],
    ['kernel', 'fork p as q'],
    ['kernel', 'arch arm64'],
    ['kernel', 'expect race none'],
    ['kernel', 'kernel { }'],
    ['process', 'map 0 size 4K phys 0 prot rw'],
    ['process', 'check_wx'],
    ['process', 'walk kernel'],
    ['process', 'exit p'],
    ['process', 'expect diagnostic race'],
    ['thread', 'let x = 1'],
    ['thread', 'expect vmas == 1'],
    ['thread', 'mmap b size 4K prot rw'],
    ['thread', 'process p { }'],
    ['top', 'map 0 size 4K phys 0 prot rw'],
    ['top', 'thread a { }'],
    ['top', 'rmw pte 0 set A'],
    ['top', 'pgtable_alloc pte as t'],
  ];
  for (const [block, source] of MISPLACED) {
    it(`${source} in ${block}`, () => {
      const text = wrap(block, source);
      const keyword = source.split(' ')[0] ?? '';
      const { program, problems } = parse(text);
      assert.deepEqual(problemPairs(text, problems), [['syntax', keyword]]);
      assert.match(problems[0]?.message ?? '', /allowed only/);
      assert.equal(firstStatement(program, block), undefined);
    });
  }

  it('reports a header after other statements', () => {
    const text = 'scenario "t" {\n  arch arm64\n  let x = 1\n  feature bbml2\n  thp never\n}\n';
    assert.deepEqual(problemPairs(text, parse(text).problems), [
      ['syntax', 'feature'],
      ['syntax', 'thp'],
    ]);
  });
});

describe('parser: limits', () => {
  it(`rejects parentheses nested deeper than ${MAX_NESTING}`, () => {
    const depth = MAX_NESTING + 1;
    const text = wrap('top', `let x = ${'('.repeat(depth)}1${')'.repeat(depth)}\nlet y = 2`);
    const { program, problems } = parse(text);
    assert.deepEqual(problems.map((p) => p.code), ['syntax']);
    assert.equal(show(program.scenarios[0]?.body), '[let{name=y value=2}]');
  });

  it(`accepts parentheses nested ${MAX_NESTING} deep`, () => {
    const text = wrap('top', `let x = ${'('.repeat(MAX_NESTING)}1${')'.repeat(MAX_NESTING)}`);
    assert.deepEqual(parse(text).problems, []);
  });

  it(`rejects blocks nested deeper than ${MAX_NESTING} and resumes after them`, () => {
    const depth = MAX_NESTING + 5;
    const text = `scenario "t" {\nconcurrent {\nthread a {\n${'if k {\n'.repeat(depth)}${'}\n'.repeat(depth)}}\n}\nexit p\n}\nscenario "u" {\n}\n`;
    const { program, problems } = parse(text);
    assert.deepEqual(problems.map((p) => p.code), ['syntax']);
    assert.match(problems[0]?.message ?? '', /nesting/);
    assert.deepEqual(program.scenarios.map((s) => s.title), ['t', 'u']);
    assert.equal(program.scenarios[0]?.body[1]?.kind, 'exit');
  });

  it(`rejects more than ${MAX_OPERATORS} operators in one statement`, () => {
    const text = wrap('top', `let x = 1${' + 1'.repeat(MAX_OPERATORS + 1)}`);
    assert.deepEqual(parse(text).problems.map((p) => p.code), ['syntax']);
    const fine = wrap('top', `let x = 1${' + 1'.repeat(MAX_OPERATORS)}`);
    assert.deepEqual(parse(fine).problems, []);
  });
});
