// Robustness of the engine on scenarios nobody wrote on purpose: the samples and the spec's
// examples with a few lines changed (numbers, protections, advices and leaf kinds swapped, lines
// dropped, doubled, swapped or borrowed from another file, the architecture changed), run under
// small random budgets. Whatever the statements do to each other, a run that passes the static
// checks must end with findings, never an exception: the language server runs every scenario as
// it is typed, and an exception there ends the document's analysis with an internal error in the
// status item instead of the scenario's diagnostics. Every finding carries
// a code of spec §10 and points inside its own scenario, and a run stopped by a budget says so
// with a resource-limit finding.

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as fc from 'fast-check';
import { FINDING_CODES, runScenario } from '../../server/src/engine/index';
import { analyze } from '../../server/src/language/index';
import { lineOf } from './support';

const root = join(__dirname, '..', '..', '..');
const samples = join(root, 'samples');
const BASES = [
  ...readdirSync(samples)
    .filter((f) => f.endsWith('.ptscn'))
    .sort()
    .map((f) => readFileSync(join(samples, f), 'utf8')),
  readFileSync(join(root, 'test', 'fixtures', 'spec-examples.ptscn'), 'utf8'),
];
/** Statement lines of every base text, to borrow into another one. */
const STATEMENTS = BASES.flatMap((t) => t.split('\n')).filter((l) => /^\s+\S/.test(l) && !/[{}]/.test(l));

const NUMBERS = ['0', '1', '3', '8', '511', '512', '513', '4096', '1p', '2p', '16p', '511p', '512p', '513p', '4K', '64K', '2M', '32M', '1G', '512G', '1T', '0x1000', '0x1fff', '0x200000', '0x40000000', '0x7ffffffff000', '0xfffffffffffff000', '0xffffffffffffffff', '0xffff888000000000', '0xffff000000000000', '0xffffc90000000000'];
const PROTS = ['r', 'rw', 'rx', 'rwx', 'x', 'w', 'none'];
const WORDS = ['guard_install', 'guard_remove', 'dontneed', 'free', 'cold', 'pageout', 'hugepage', 'nohugepage', 'populate_read', 'populate_write', 'wipeonfork', 'keeponfork', 'collapse', 'pte', 'pmd', 'pud', 'cont_pte', 'cont_pmd', 'auto', 'shared', 'private', 'populate', 'locked', 'read', 'write', 'exec', 'touch'];
const ARCHES = ['arch x86_64', 'arch x86_64 levels=5', 'arch arm64', 'arch arm64 granule=16K', 'arch arm64 granule=64K va=42', 'arch arm64 va=39', 'arch riscv64', 'arch riscv64 mode=sv39', 'arch riscv64 mode=sv57', 'arch arm', 'arch arm lpae', 'arch x86_32', 'arch x86_32 pae'];

interface Mutation {
  kind: number;
  line: number;
  other: number;
  choice: number;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({ kind: fc.nat(7), line: fc.nat(), other: fc.nat(), choice: fc.nat() });

const NUMBER = /\b(0x[0-9a-fA-F_]+|\d+)(KiB|MiB|GiB|TiB|[KMGTp])?\b/g;
const PROT = /\bprot \w+/g;
const WORD = new RegExp(`\\b(${WORDS.join('|')})\\b`, 'g');

/**
 * Replaces one match of `pattern` in one of the lines that have one: the `line`-th such line
 * (modulo their number) and its `choice`-th match, so that a replacement lands on a word of its
 * kind however few lines hold one.
 */
function replaceIn(lines: string[], pattern: RegExp, line: number, choice: number, replacement: string): void {
  const holders = lines.flatMap((text, i) => (text.match(pattern) ? [i] : []));
  if (holders.length === 0) return;
  const i = holders[line % holders.length] as number;
  const text = lines[i] as string;
  const matches = [...text.matchAll(pattern)];
  const m = matches[choice % matches.length] as RegExpMatchArray;
  const at = m.index ?? 0;
  lines[i] = text.slice(0, at) + replacement + text.slice(at + m[0].length);
}

function mutate(text: string, mutations: readonly Mutation[]): string {
  const lines = text.split('\n');
  const pick = <T>(list: readonly T[], n: number): T => list[n % list.length] as T;
  for (const { kind, line: l, other, choice } of mutations) {
    const i = l % lines.length;
    const line = lines[i] ?? '';
    const statement = !/[{}]/.test(line) && /^\s+\S/.test(line);
    switch (kind) {
      case 0:
        replaceIn(lines, NUMBER, l, choice, pick(NUMBERS, other));
        break;
      case 1:
        replaceIn(lines, PROT, l, choice, `prot ${pick(PROTS, other)}`);
        break;
      case 2:
        replaceIn(lines, WORD, l, choice, pick(WORDS, other));
        break;
      case 3:
        if (statement) lines.splice(i, 1);
        break;
      case 4:
        if (statement) lines.splice(i, 0, line);
        break;
      case 5:
        if (statement) lines.splice(i, 0, (line.match(/^\s*/)?.[0] ?? '') + pick(STATEMENTS, other).trim());
        break;
      case 6: {
        const j = other % lines.length;
        const swapped = lines[j] ?? '{';
        if (statement && !/[{}]/.test(swapped)) {
          lines[i] = swapped;
          lines[j] = line;
        }
        break;
      }
      default: {
        const arch = lines.findIndex((s) => /^\s*arch\b/.test(s));
        if (arch >= 0) lines[arch] = `  ${pick(ARCHES, other)}`;
        else {
          const head = lines.findIndex((s) => s.startsWith('scenario'));
          if (head >= 0) lines.splice(head + 1, 0, `  ${pick(ARCHES, other)}`);
        }
      }
    }
  }
  return lines.join('\n');
}

const budget = fc.record({
  steps: fc.integer({ min: 20, max: 20_000 }),
  tablePages: fc.integer({ min: 8, max: 8192 }),
  entries: fc.integer({ min: 100, max: 2_000_000 }),
  states: fc.integer({ min: 50, max: 20_000 }),
  schedules: fc.integer({ min: 10, max: 20_000 }),
});

describe('engine robustness', () => {
  it('mutated samples run to findings under any budget, never to an exception', () => {
    let ran = 0;
    fc.assert(
      fc.property(fc.nat(BASES.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 }), budget, fc.boolean(), (base, mutations, limits, history) => {
        const text = mutate(BASES[base] as string, mutations);
        const { program, problems } = analyze(text);
        for (const scenario of program.scenarios) {
          const { start, end } = scenario.span;
          if (problems.some((p) => p.severity === 'error' && p.span.start >= start && p.span.end <= end)) continue;
          const where = `scenario at line ${lineOf(text, start)} of:\n${text}`;
          let run;
          try {
            run = runScenario(scenario, { history, budget: limits });
          } catch (e) {
            assert.fail(`the run threw ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\nin the ${where}`);
          }
          ran++;
          for (const f of run.findings) {
            assert.ok(FINDING_CODES.includes(f.code), `unknown finding code ${f.code} in the ${where}`);
            assert.ok(f.span.start >= start && f.span.end <= end && f.span.start <= f.span.end, `${f.code} at ${f.span.start}-${f.span.end} lies outside its scenario (${start}-${end}): ${f.message}\nin the ${where}`);
          }
          if (run.stopped === 'budget') assert.ok(run.findings.some((f) => f.code === 'resource-limit'), `a run stopped by its budget has no resource-limit finding, in the ${where}`);
        }
      }),
      { numRuns: 600 },
    );
    // Most mutations keep the text valid; a mutator whose texts never ran would test nothing.
    assert.ok(ran > 600, `only ${ran} mutated scenarios passed the static checks`);
  });
});
