// The server's one door into the language layer. Every other lsp/ module asks this file, so a
// change in language/index.ts touches one place.

import type { Finding, Program, Span } from '../engine/index';
import { analyze, format, lex, namesInScope, parse, symbolAt as languageSymbolAt, symbols, symbolSpans, type NameSymbol as LanguageSymbol, type ScenarioSymbols, type SymbolKind } from '../language/index';

/** Parses and checks a document. Never throws (language's invariant). */
export function parseAndCheck(text: string): { program: Program; problems: Finding[] } {
  return analyze(text);
}

/** The tokens of `text`, comments and line breaks included (what is layout and what is meaning). */
export function tokensOf(text: string): ReturnType<typeof lex> {
  return lex(text);
}

/** Parses only, for listing scenarios. */
export function parseOnly(text: string): { program: Program; problems: Finding[] } {
  return parse(text);
}

/** The canonical layout of `text`; text with syntax errors comes back unchanged. */
export function formatText(text: string): string {
  return format(text);
}

/** A name and every place it occurs in its scenario. */
export interface NameSymbol {
  name: string;
  kind: SymbolKind;
  /** Where it is bound; undefined for predefined names (`init_mm`). */
  definition: Span | undefined;
  /** Uses that resolve to this binding. */
  references: Span[];
}

/** The symbol index of a program, cached per program object. */
const indexes = new WeakMap<Program, ScenarioSymbols[]>();
function indexOf(program: Program): ScenarioSymbols[] {
  let index = indexes.get(program);
  if (!index) {
    index = symbols(program);
    indexes.set(program, index);
  }
  return index;
}

function toSymbol(symbol: LanguageSymbol): NameSymbol {
  return { name: symbol.name, kind: symbol.kind, definition: symbol.def, references: symbolSpans(symbol).filter((s) => s !== symbol.def) };
}

/** The symbol of the name at `offset`, if one is there. */
export function symbolAt(program: Program, offset: number): NameSymbol | undefined {
  const found = languageSymbolAt(indexOf(program), offset);
  return found ? toSymbol(found.symbol) : undefined;
}

/** Names that may be written at `offset` (bound before it in its scenario). */
export function boundNames(program: Program, offset: number): NameSymbol[] {
  return namesInScope(indexOf(program), offset).map(toSymbol);
}
