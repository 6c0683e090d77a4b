// Property tests: scenarios generated from the grammar parse with no syntax error and format
// idempotently without changing their tokens; the same scenarios mutated (characters and tokens
// inserted, deleted, replaced, lines duplicated, text truncated) and arbitrary strings never
// make parse, check, symbols or format throw, parse stays fast, and every span lies inside the
// document.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as fc from 'fast-check';
import type { Finding } from '../../server/src/engine/index';
import { analyze, format, lex, parse, symbols } from '../../server/src/language/index';
import { significantTokens } from './support';

/** Generated-and-mutated scenarios per run (each run checks one valid and one mutated text). */
const RUNS = 10_000;
/** Parse-time bound for inputs under 10 KB, in milliseconds. */
const PARSE_LIMIT_MS = 100;

const name = fc.constantFrom('buf', 'x', 'y', 'v', 'VA', 'size', 'map', 'p');
const level = fc.constantFrom('pgd', 'p4d', 'pud', 'pmd', 'pte');
const prot = fc.constantFrom('r', 'rw', 'rx', 'rwx', 'x', 'w', 'none');
const unit = fc.constantFrom('', '', 'K', 'M', 'G', 'T', 'KiB', 'MiB', 'GiB', 'TiB', 'p');

const hexWithUnderscores = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((n) => {
  const hex = n.toString(16);
  let out = '';
  for (let i = 0; i < hex.length; i++) out += (i > 0 && (hex.length - i) % 4 === 0 ? '_' : '') + hex[i];
  return `0x${out}`;
});
const number = fc.oneof(
  fc.nat(5000).map(String),
  fc.tuple(fc.nat(64), unit).map(([n, u]) => `${n}${u}`),
  hexWithUnderscores,
  fc.bigInt({ min: 0n, max: 1n << 70n }).map(String),
);
const counter = fc.constantFrom('wx_pages', 'nonuxn_pages', 'tlb_flushes', 'barriers', 'direct_map_splits');

const { expr } = fc.letrec((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    number,
    name,
    counter,
    fc.constantFrom('vmas', 'pgtables_bytes', 'accounted', 'vmas(p)', 'accounted(kernel)'),
    level.map((l) => `tables(${l})`),
    fc.tuple(fc.constantFrom('', 'p, '), tie('expr')).map(([space, a]) => `value(${space}${a})`),
    fc.tuple(tie('expr'), fc.constantFrom(' + ', ' - ', ' * ', '+', '*'), tie('expr')).map(([a, op, b]) => `${a}${op}${b}`),
    tie('expr').map((e) => `(${e})`),
  ),
}));
const addr = expr as fc.Arbitrary<string>;

const result = fc.option(fc.constantFrom(' => ok', ' => EINVAL', ' => ENOMEM', ' => segv', ' => value 3', ' => value x + 1'), { nil: '' });
const optional = (text: string): fc.Arbitrary<string> => fc.constantFrom('', ` ${text}`);

const compare = fc.constantFrom('==', '!=', '<', '<=', '>', '>=');
const symbolic = fc.oneof(
  fc.tuple(addr, fc.constantFrom('none', 'pte', 'cont_pte', 'pmd', 'cont_pmd', 'pud')).map(([a, s]) => `expect leaf(${a}) == ${s}`),
  fc.tuple(addr, prot).map(([a, s]) => `expect prot(${a}) != ${s}`),
  fc.tuple(addr, fc.constantFrom('true', 'false')).map(([a, s]) => `expect guard(${a}) == ${s}`),
);
const common = fc.oneof(
  fc.tuple(name, addr).map(([n, e]) => `let ${n} = ${e}`),
  fc.tuple(addr, compare, addr).map(([a, op, b]) => `expect ${a} ${op} ${b}`),
  symbolic,
);
const table = fc.oneof(
  fc.tuple(level, name, optional('noctor')).map(([l, n, o]) => `pgtable_alloc ${l} as ${n}${o}`),
  fc.tuple(fc.constantFrom('pgtable_ctor', 'pgtable_dtor'), name).map(([k, n]) => `${k} ${n}`),
  fc.tuple(name, optional('nodtor')).map(([n, o]) => `pgtable_free ${n}${o}`),
  fc.tuple(addr, name).map(([a, n]) => `populate ${a} with ${n}`),
  fc.tuple(level, addr).map(([l, a]) => `clear ${l} ${a}`),
);
const kernelOnly = fc.oneof(
  fc.tuple(addr, addr, addr, prot, fc.constantFrom('', ' leaf=auto', ' leaf=pmd nocont', ' nocont leaf=pte')).map(
    ([a, s, p, pr, o]) => `map ${a} size ${s} phys ${p} prot ${pr}${o}`,
  ),
  fc.tuple(addr, addr).map(([a, s]) => `unmap ${a} size ${s}`),
  fc.tuple(name, addr, fc.constantFrom('', ' prot rw', ' huge', ' huge prot rwx', ' prot r huge')).map(([n, s, o]) => `vmalloc ${n} size ${s}${o}`),
  name.map((n) => `vfree ${n}`),
  fc.tuple(fc.constantFrom('ro', 'rw', 'x', 'nx'), addr, addr).map(([op, a, n]) => `set_memory_${op} ${a} pages ${n}`),
  fc.tuple(addr, addr, fc.constantFrom('on', 'off')).map(([a, n, v]) => `set_memory_valid ${a} pages ${n} ${v}`),
  fc.tuple(fc.constantFrom('invalid', 'default'), addr).map(([op, a]) => `set_direct_map_${op} ${a}`),
  fc.tuple(fc.constantFrom('alloc_pgtable_page', 'free_pgtable_page'), name).map(([k, n]) => `${k} ${n}`),
  fc.constantFrom('ptdump', 'check_wx'),
  fc.tuple(addr, addr).map(([a, s]) => `ptdump ${a} size ${s}`),
);
const processOnly = fc.oneof(
  fc.tuple(name, fc.option(addr, { nil: undefined }), addr, prot, fc.subarray(['shared', 'file', 'populate', 'locked', 'wipeonfork'])).map(
    ([n, at, s, p, flags]) => `mmap ${n}${at === undefined ? '' : ` at ${at}`} size ${s} prot ${p}${flags.map((f) => ` ${f}`).join('')}`,
  ),
  fc.tuple(fc.constantFrom('munmap', 'munlock'), addr, addr).map(([k, a, s]) => `${k} ${a} size ${s}`),
  fc.tuple(addr, addr, prot).map(([a, s, p]) => `mprotect ${a} size ${s} prot ${p}`),
  fc.tuple(addr, addr, fc.constantFrom('guard_install', 'guard_remove', 'dontneed', 'hugepage', 'populate_write')).map(([a, s, v]) => `madvise ${a} size ${s} ${v}`),
  fc.tuple(addr, addr, addr, fc.constantFrom('', ' size 8K', ' dontunmap', ' size 2p dontunmap')).map(([a, s, t, o]) => `mremap ${a} size ${s} to ${t}${o}`),
  fc.tuple(addr, addr, optional('onfault')).map(([a, s, o]) => `mlock ${a} size ${s}${o}`),
  fc.tuple(fc.constantFrom('read', 'exec', 'write'), addr).map(([k, a]) => `${k} ${a}`),
  fc.tuple(addr, addr).map(([a, v]) => `write ${a} value ${v}`),
  fc.tuple(addr, addr, fc.constantFrom('', ' read', ' write')).map(([a, s, o]) => `touch ${a} size ${s}${o}`),
);
const bits = fc.array(fc.oneof(fc.constantFrom('PTE_CONT', 'PTE_RDONLY', 'PTE_VALID', '_PAGE_RW'), number), { minLength: 1, maxLength: 3 }).map((b) => b.join('|'));
const threadOnly = fc.oneof(
  fc.tuple(fc.constantFrom('lock', 'unlock'), fc.constantFrom('read', 'write')).map(([k, m]) => `${k} init_mm ${m}`),
  fc.tuple(fc.constantFrom('static_branch_enable', 'static_branch_disable'), fc.constantFrom('ptdump_lock', 'k')).map(([k, n]) => `${k} ${n}`),
  fc.constantFrom('walk kernel', 'walk kernel 0 size 4K', 'if k { walk kernel }', 'if ptdump_lock { lock init_mm read } else { check_wx }'),
  fc.tuple(fc.constantFrom('pud_free_pmd_page', 'pmd_free_pte_page'), addr, fc.constantFrom('', ' variant=unpatched', ' variant=static_key', ' variant=trylock')).map(
    ([k, a, v]) => `${k} ${a}${v}`,
  ),
  fc.tuple(level, addr).map(([l, a]) => `load ${l} ${a}`),
  fc.tuple(level, addr, fc.option(bits, { nil: undefined }), bits, fc.boolean()).map(
    ([l, a, s, c, setFirst]) => `rmw ${l} ${a} ${s === undefined ? `clear ${c}` : setFirst ? `set ${s} clear ${c}` : `clear ${c} set ${s}`}`,
  ),
);

const withResult = (stmt: fc.Arbitrary<string>): fc.Arbitrary<string> => fc.tuple(stmt, result).map(([s, r]) => s + r);
const kernelStmt = withResult(fc.oneof(kernelOnly, table, common));
const processStmt = withResult(fc.oneof(processOnly, table, common));
const threadStmt = withResult(fc.oneof(kernelOnly, table, threadOnly));

const comment = fc.constantFrom('', '', '', '  # note', ' # x => y { }');
const indent = fc.constantFrom('', '  ', '\t', '    ');

/** A block's body: one statement per line (with comments), or `;`-separated on one line. */
function body(stmt: fc.Arbitrary<string>): fc.Arbitrary<{ inline: boolean; text: string }> {
  return fc.oneof(
    fc.array(fc.tuple(indent, stmt, comment), { maxLength: 5 }).map((lines) => ({
      inline: false,
      text: lines.map(([i, s, c]) => `${i}${s}${c}\n`).join(''),
    })),
    fc.array(stmt, { minLength: 1, maxLength: 3 }).map((stmts) => ({ inline: true, text: stmts.join('; ') })),
  );
}

function block(head: string, inner: fc.Arbitrary<{ inline: boolean; text: string }>): fc.Arbitrary<string> {
  return inner.map(({ inline, text }) => (inline ? `${head} { ${text} }` : `${head} {\n${text}}`));
}

const threadBlock = fc.tuple(fc.constantFrom('a', 'b', 'free', 'ptdump'), body(threadStmt)).chain(([n, b]) => block(`thread ${n}`, fc.constant(b)));
const topStmt = fc.oneof(
  withResult(common),
  block('kernel', body(kernelStmt)),
  fc.tuple(fc.constantFrom('p', 'q'), body(processStmt)).chain(([n, b]) => block(`process ${n}`, fc.constant(b))),
  fc.array(threadBlock, { maxLength: 3 }).map((threads) => `concurrent {\n${threads.map((t) => `${t}\n`).join('')}}`),
  fc.constantFrom('fork p as q', 'exit p', 'expect race none', 'expect race use_after_free', 'expect diagnostic partial-block-overlap', 'expect diagnostic race'),
);
const header = fc.constantFrom(
  'arch x86_64',
  'arch x86_64 levels=5',
  'arch arm64 granule=16k va=47',
  'arch arm64 granule=64k',
  'arch riscv64 mode=sv39',
  'arch x86_pae',
  'feature bbml2 pti',
  'thp always',
  'accounting legacy',
);
const scenario = fc
  .tuple(fc.string({ maxLength: 12 }), fc.array(header, { maxLength: 2 }), fc.array(topStmt, { maxLength: 5 }), fc.constantFrom('\n', '\n\n', '\n# gap\n'))
  .map(([title, headers, stmts, gap]) => {
    const quoted = `"${title.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\r\n]/g, ' ')}"`;
    return `scenario ${quoted} {\n${[...headers, ...stmts].map((s) => `  ${s}`).join(gap)}\n}\n`;
  });
const documentArb = fc.tuple(fc.array(scenario, { minLength: 1, maxLength: 3 }), fc.boolean()).map(([scenarios, crlf]) => {
  const text = scenarios.join('\n');
  return crlf ? text.replace(/\n/g, '\r\n') : text;
});

type Mutation =
  | { kind: 'delete' | 'truncate' | 'duplicateLine' | 'deleteToken' | 'swapTokens'; at: number; length: number }
  | { kind: 'insert' | 'replace'; at: number; length: number; text: string };

const fragment = fc.oneof(
  fc.constantFrom('{', '}', '(', ')', '=>', '"', '#', '\n', '\r', ';', '|', '=', ',', '0x', '4k', 'scenario "x" {', '\\', '\u0000', '😀', '\ud800', 'size', 'kernel {', '+', '*'),
  fc.string({ maxLength: 6 }),
  fc.string({ maxLength: 4, unit: 'binary' }),
);
const position = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constantFrom('delete', 'truncate', 'duplicateLine', 'deleteToken', 'swapTokens'), at: position, length: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constantFrom('insert', 'replace'), at: position, length: fc.integer({ min: 1, max: 4 }), text: fragment }),
) as fc.Arbitrary<Mutation>;

function mutate(text: string, mutations: readonly Mutation[]): string {
  let out = text;
  for (const m of mutations) {
    const at = Math.floor(m.at * (out.length + 1));
    switch (m.kind) {
      case 'delete':
        out = out.slice(0, at) + out.slice(at + m.length);
        break;
      case 'truncate':
        out = out.slice(0, at);
        break;
      case 'insert':
        out = out.slice(0, at) + m.text + out.slice(at);
        break;
      case 'replace':
        out = out.slice(0, at) + m.text + out.slice(at + m.length);
        break;
      case 'duplicateLine': {
        const start = out.lastIndexOf('\n', at - 1) + 1;
        const end = out.indexOf('\n', at);
        const line = out.slice(start, end < 0 ? out.length : end + 1);
        out = out.slice(0, start) + line + out.slice(start);
        break;
      }
      case 'deleteToken':
      case 'swapTokens': {
        const tokens = lex(out).filter((t) => t.kind !== 'eof');
        const i = tokens.findIndex((t) => t.end >= at);
        const a = tokens[i];
        const b = tokens[i + 1];
        if (!a) break;
        if (m.kind === 'deleteToken' || !b) out = out.slice(0, a.start) + out.slice(a.end);
        else out = out.slice(0, a.start) + b.text + out.slice(a.end, b.start) + a.text + out.slice(b.end);
        break;
      }
    }
  }
  return out;
}

function assertSpansInside(text: string, findings: readonly Finding[]): void {
  for (const f of findings) {
    assert.ok(0 <= f.span.start && f.span.start <= f.span.end && f.span.end <= text.length, `span ${f.span.start}-${f.span.end} outside 0-${text.length}: ${f.message}`);
    for (const r of f.related ?? []) assert.ok(0 <= r.span.start && r.span.start <= r.span.end && r.span.end <= text.length);
  }
}

function timedParse(text: string): ReturnType<typeof parse> {
  const started = performance.now();
  const result = parse(text);
  const elapsed = performance.now() - started;
  if (text.length < 10_000) assert.ok(elapsed < PARSE_LIMIT_MS, `parse took ${elapsed.toFixed(1)} ms on ${text.length} chars`);
  return result;
}

/**
 * Everything the language layer offers, on any text: no throw, spans inside the document. With
 * `clean`, the text must also have no syntax error.
 */
function exercise(text: string, clean = false): void {
  const { problems } = timedParse(text);
  if (clean) {
    const syntax = problems.filter((p) => p.code === 'syntax');
    assert.deepEqual(
      syntax.map((p) => `${p.message} at ${JSON.stringify(text.slice(p.span.start, p.span.end + 10))}`),
      [],
    );
  }
  assertSpansInside(text, problems);
  const analysis = analyze(text);
  assertSpansInside(text, analysis.problems);
  for (const scenario of symbols(analysis.program)) {
    for (const symbol of scenario.symbols) {
      for (const span of [...(symbol.def ? [symbol.def] : []), ...symbol.references]) assert.ok(0 <= span.start && span.end <= text.length);
    }
  }
  const formatted = format(text);
  if (problems.some((p) => p.code === 'syntax')) {
    assert.equal(formatted, text);
  } else if (formatted !== text) {
    assert.equal(format(formatted), formatted, 'format is not idempotent');
    assert.deepEqual(significantTokens(formatted), significantTokens(text), 'format changed the tokens');
  }
}

describe('language properties', () => {
  it(`${RUNS} generated scenarios parse cleanly and format stably, and survive mutation`, () => {
    fc.assert(
      fc.property(documentArb, fc.array(mutation, { minLength: 1, maxLength: 4 }), (text, mutations) => {
        exercise(text, true);
        exercise(mutate(text, mutations));
      }),
      { numRuns: RUNS },
    );
  });

  it('arbitrary strings never break the language layer', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200, unit: 'binary' }), (text) => exercise(text)),
      { numRuns: 2000 },
    );
  });

  it('pathological inputs parse within the time bound', () => {
    const random = (n: number): string => {
      let seed = 7;
      let out = '';
      for (let i = 0; i < n; i++) {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        out += String.fromCharCode(seed % 256);
      }
      return out;
    };
    const inputs = [
      '{'.repeat(9000),
      '}'.repeat(9000),
      '('.repeat(9000),
      `scenario "t" {\nlet x = ${'('.repeat(4000)}`,
      `scenario "t" {\nlet x = 1${'+1'.repeat(4000)}\n}`,
      `scenario "t" {\nconcurrent {\nthread a {\n${'if k {\n'.repeat(1200)}`,
      'scenario "t" {\n'.repeat(600),
      '"'.repeat(9000),
      '#'.repeat(9000),
      `scenario "t" {\nlet x = ${'9'.repeat(9000)}\n}`,
      `scenario "t" {\nprocess p {\n${'mmap b size\nread b\n'.repeat(400)}}\n}`,
      `scenario "t" {\n${'kernel { map 0 size 4K phys 0 prot rw }\n'.repeat(200)}}`,
      random(9000),
      '\u0000\uffff\ud800'.repeat(3000),
    ];
    for (const text of inputs) exercise(text);
  });

  it('a megabyte of input parses in linear time without throwing', () => {
    const line = 'kernel { map 0x1000 size 4K phys 0 prot rw => ok }\n';
    const text = `scenario "big" {\n${line.repeat(Math.ceil(1_000_000 / line.length))}}\n`;
    const started = performance.now();
    const { program, problems } = parse(text);
    const elapsed = performance.now() - started;
    assert.deepEqual(problems, []);
    assert.equal(program.scenarios.length, 1);
    assert.ok(elapsed < 3000, `parse of 1 MB took ${elapsed.toFixed(0)} ms`);
    assert.doesNotThrow(() => parse('{('.repeat(500_000)));
  });
});
