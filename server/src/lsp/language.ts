// The server's one door into the language layer. Every other lsp/ module asks this file, so a
// change in language/index.ts touches one place.

import type { Finding, Program, Span } from '../engine/index';
import { parse } from '../language/parser';

/** Parses and checks a document. Never throws (language's invariant). */
export function parseAndCheck(text: string): { program: Program; problems: Finding[] } {
  return parse(text);
}

/** Parses only, for listing scenarios. */
export function parseOnly(text: string): { program: Program; problems: Finding[] } {
  return parse(text);
}

/** The canonical layout of `text`, or undefined when the formatter refuses (syntax errors). */
export function formatText(_text: string): string | undefined {
  return undefined;
}

/** A name and every place it occurs in its scenario. */
export interface NameSymbol {
  name: string;
  /** Where it is bound; undefined for names bound nowhere (unknown names). */
  definition: Span | undefined;
  references: Span[];
}

/** The symbol of the name at `offset`, if one is there. */
export function symbolAt(_text: string, _program: Program, _offset: number): NameSymbol | undefined {
  return undefined;
}
