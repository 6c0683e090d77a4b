// The catalogue of static problems: every message the parser and checker emit is built here, so
// wording stays consistent and tests can rely on codes and spans alone.

import type { Finding, FixData, Span } from '../engine/index';

/** A `syntax` error (spec §10): the text cannot be parsed. */
export function syntaxError(span: Span, message: string): Finding {
  return { code: 'syntax', severity: 'error', span, message };
}

/** A `bad-value` error: a value outside its closed set, an overflow, a misaligned constant. */
export function badValue(span: Span, message: string): Finding {
  return { code: 'bad-value', severity: 'error', span, message };
}

/** An `unknown-name` error, with the closest bound names as quick-fix candidates. */
export function unknownName(span: Span, message: string, candidates: string[]): Finding {
  const fix: FixData = { kind: 'unknown-name', candidates };
  return { code: 'unknown-name', severity: 'error', span, message, fix };
}

/**
 * Quotes source text for a message, shortening long slices and spelling control characters as
 * code points, so a message is always one printable line.
 */
export function quote(text: string): string {
  const shown = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this replaces.
  const printable = shown.replace(/[\u0000-\u001f\u007f]/g, (c) => `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
  return `\`${printable}\``;
}

/** Lists choices as `a`, `b` or `c`. */
export function oneOf(choices: readonly string[]): string {
  const quoted = choices.map((c) => `\`${c}\``);
  if (quoted.length <= 1) return quoted.join('');
  return `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1] ?? ''}`;
}

/** Describes the token found where something else was expected. */
export function describeFound(kind: string, text: string): string {
  switch (kind) {
    case 'newline':
      return 'the end of the line';
    case 'eof':
      return 'the end of the file';
    case 'string':
      return 'a string';
    case 'comment':
      return 'a comment';
    default:
      return quote(text);
  }
}

/** Message wording, one function per situation. */
export const MSG = {
  expected: (what: string, where: string, found: string): string => `expected ${what} ${where}, found ${found}`,
  unexpectedAfter: (found: string, stmt: string, extras: readonly string[]): string =>
    `unexpected ${found} after the \`${stmt}\` statement; expected ${[...extras].map((e) => `\`${e}\``).join(', ')} or the end of the line`,
  unknownStatement: (word: string, where: string): string => `unknown statement ${quote(word)} ${where}`,
  notAStatement: (found: string): string => `expected a statement, found ${found}`,
  expectedScenario: (found: string): string =>
    `expected \`scenario "title" {\` at the top of the file, found ${found}`,
  misplaced: (keyword: string, allowed: string): string => `\`${keyword}\` is allowed only ${allowed}`,
  headerLate: (keyword: string): string =>
    `\`${keyword}\` is a header statement and must come before the other statements of the scenario`,
  unclosed: (what: string): string => `${what} is never closed: expected \`}\``,
  missingClose: (what: string): string => `expected \`}\` to close ${what} before the next scenario`,
  tooDeep: (limit: number): string => `nesting is deeper than ${limit} levels`,
  tooManyOperators: (limit: number): string => `a statement may hold at most ${limit} operators`,
  duplicateOption: (option: string): string => `\`${option}\` is given twice`,
  onlyThreads: (found: string): string => `expected \`thread NAME {\` inside \`concurrent\`, found ${found}`,
  queryArgs: (query: string, shape: string): string => `\`${query}\` takes ${shape}`,
  queryNoArgs: (query: string): string => `\`${query}\` takes no arguments: write it bare`,
  internal: (detail: string): string => `internal parser error (please report it): ${detail}`,

  unknownName: (name: string): string => `${quote(name)} is not bound here: bind it with \`let\`, \`mmap\` or \`vmalloc\` before using it`,
  wrongKind: (name: string, found: string, expected: string): string => `${quote(name)} is ${found}, expected ${expected}`,
  unknownProcess: (name: string): string =>
    `unknown process ${quote(name)}: create it with \`process ${name} { … }\` or \`fork P as ${name}\` first`,
  unknownTable: (name: string): string => `unknown table ${quote(name)}: bind it with \`pgtable_alloc LEVEL as ${name}\` first`,
  unknownPage: (name: string): string => `unknown page ${quote(name)}: bind it with \`alloc_pgtable_page ${name}\` first`,
  unknownLock: (name: string): string => `unknown lock ${quote(name)}: the lock threads can take is \`init_mm\``,
  notVmalloc: (name: string): string => `${quote(name)} was not bound by \`vmalloc\`; \`vfree\` takes a vmalloc name`,
  processExists: (name: string): string => `process ${quote(name)} already exists`,
  duplicateThread: (name: string): string => `a second thread named ${quote(name)} in the same \`concurrent\` block`,
  bindsQuery: (name: string): string => `${quote(name)} is a query; a name spelled like it could never be read back`,

  unknownValue: (what: string, value: string, choices: readonly string[]): string =>
    `unknown ${what} ${quote(value)}: expected ${oneOf(choices)}`,
  archNoOptions: (arch: string): string => `\`arch ${arch}\` takes no options`,
  unknownArchOption: (arch: string, key: string, keys: readonly string[]): string =>
    `\`arch ${arch}\` has no option ${quote(key)}: expected ${oneOf(keys)}`,
  badVa: (granule: string, value: string, choices: readonly string[]): string =>
    `arm64 with the ${granule} granule does not support va=${value}: expected ${oneOf(choices)}`,
  duplicateHeader: (keyword: string): string => `a second \`${keyword}\` header; a scenario has one`,
  badProt: (value: string): string =>
    `${quote(value)} is not a protection: write \`r\`, \`w\`, \`x\` in that order (\`r\`, \`rw\`, \`rx\`, \`rwx\`) or \`none\``,
  overflow: (what: string): string => `${what} does not fit in 64 bits (the largest value is 0xffff_ffff_ffff_ffff)`,
  underflow: (): string => 'this subtraction is negative; values are unsigned 64-bit',
  notPageMultiple: (what: string, pageSize: string): string => `${what} is not a multiple of the page size (${pageSize})`,
  needsSpace: (query: string, example: string): string => `\`${query}\` at top level needs the address space first: write \`${example}\``,
  tablesNeedsLevel: (): string => '`tables` needs a level: write `tables(pte)` in a block or `tables(p, pte)` at top level',
  symbolicInArithmetic: (query: string): string => `\`${query}\` is symbolic: compare it with \`==\` or \`!=\` in an \`expect\``,
  symbolicOp: (op: string): string => `\`${op}\` cannot compare symbols: use \`==\` or \`!=\``,
  raceBeforeConcurrent: (): string => '`expect race` must come after a `concurrent` block',
  staticCode: (code: string): string =>
    `\`${code}\` is found before the run, and a scenario that has it does not run; expect a run-time diagnostic instead`,
  walkSpace: (value: string): string => `\`walk\` walks the kernel address space: write \`walk kernel\`, not ${quote(value)}`,
};
