// The public surface of the language layer: parse, check, index names and format .ptscn text.
//
// Everything here is pure and synchronous and never throws on any input. Spans are UTF-16
// offsets into the text that was passed in; callers convert them to lines and columns.

import type { Finding, Program } from '../engine/index';
import { check } from './check';
import { parse } from './parser';

export type * from './ast';
export { lex } from './lexer';
export { parse, MAX_NESTING, MAX_OPERATORS } from './parser';
export { check, scenarioPageSize } from './check';
export type { CheckOptions } from './check';
export { format } from './format';
export { symbols, symbolAt, symbolSpans, namesInScope, closestNames } from './symbols';
export type { NameSymbol, ScenarioSymbols, SymbolKind, SymbolOrigin } from './symbols';
export * as vocabulary from './vocabulary';
export type { BlockContext } from './vocabulary';

/** A document's tree and every static problem (syntax, names, values), sorted by offset. */
export interface Analysis {
  program: Program;
  problems: Finding[];
}

/**
 * Parses and checks `text`. `problems` holds the parser's `syntax` errors and the checker's
 * `unknown-name` and `bad-value` findings, ordered by start offset (then end offset). A scenario
 * with any error among them must not be run.
 */
export function analyze(text: string): Analysis {
  const { program, problems, unfinishedBindings } = parse(text);
  const all = [...problems, ...check(program, text, { assumeBound: unfinishedBindings })];
  all.sort((a, b) => a.span.start - b.span.start || a.span.end - b.span.end);
  return { program, problems: all };
}
