// The canonical layout of a .ptscn document.
//
// The formatter re-spaces tokens and re-indents lines; it never moves a token to another line,
// adds one or drops one, so the statements and their meaning are unchanged. Spacing is one blank
// between tokens except where the parse tree says tokens belong together: a query name and its
// `(`, `key=value` options, `A|B` bit lists and hyphenated diagnostic codes.

import type { Program, Span } from '../engine/index';
import { lex, type Token } from './lexer';
import { parse } from './parser';
import { forEachExpr, forEachStatement, statementExprs } from './walk';

/** Spaces per block level. */
const INDENT = '  ';

/**
 * Returns `text` in canonical layout: two spaces of indentation per open block, one space
 * between tokens (none inside `( )` or before `,` and `;`), comments kept, runs of blank lines
 * collapsed to one, and a final newline. The result formats to itself. Text with syntax errors
 * is returned unchanged, because its structure is not known.
 */
export function format(text: string): string {
  const { program, problems } = parse(text);
  if (problems.some((p) => p.code === 'syntax')) return text;
  const tokens = lex(text);
  const glued = gluedTokens(program, tokens, text);
  const firstBreak = tokens.find((t) => t.kind === 'newline');
  const eol = firstBreak?.text === '\r\n' ? '\r\n' : '\n';
  const bom = text.charCodeAt(0) === 0xfeff ? '\ufeff' : '';

  const lines: string[] = [];
  let depth = 0;
  let line: Token[] = [];
  let blankPending = false;
  const flush = (): void => {
    if (line.length === 0) {
      if (lines.length > 0) blankPending = true;
      return;
    }
    if (blankPending) lines.push('');
    blankPending = false;
    const first = line[0] as Token;
    const level = Math.max(0, first.kind === 'rbrace' ? depth - 1 : depth);
    let out = INDENT.repeat(level);
    let previous: Token | undefined;
    for (const token of line) {
      if (previous && !isGlued(previous, token, glued)) out += ' ';
      out += token.text;
      if (token.kind === 'lbrace') depth++;
      if (token.kind === 'rbrace') depth = Math.max(0, depth - 1);
      previous = token;
    }
    lines.push(out);
    line = [];
  };
  for (const token of tokens) {
    if (token.kind === 'eof') break;
    if (token.kind === 'newline') flush();
    else line.push(token);
  }
  flush();
  return lines.length === 0 ? '' : bom + lines.join(eol) + eol;
}

function isGlued(previous: Token, token: Token, glued: ReadonlySet<number>): boolean {
  if (token.kind === 'comment') return false;
  if (token.kind === 'rparen' || token.kind === 'comma' || token.kind === 'semicolon') return true;
  if (previous.kind === 'lparen') return true;
  return glued.has(token.start);
}

/** Start offsets of tokens written with no space before them. */
function gluedTokens(program: Program, tokens: readonly Token[], text: string): Set<number> {
  const glued = new Set<number>();
  const letAssigns = new Set<number>();
  const codeSpans: Span[] = [];
  for (const scenario of program.scenarios) {
    forEachStatement(scenario.body, 'top', (stmt) => {
      if (stmt.kind === 'let') letAssigns.add(text.indexOf('=', stmt.name.span.end));
      if (stmt.kind === 'expect_diagnostic') codeSpans.push(stmt.code.span);
      for (const expr of statementExprs(stmt)) {
        forEachExpr(expr, (e) => {
          // The `(` after a query name is the first non-blank character after it.
          if (e.kind === 'query' && e.span.end > e.queryName.span.end) glued.add(text.indexOf('(', e.queryName.span.end));
        });
      }
    });
  }
  let code = 0;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] as Token;
    const next = tokens[i + 1];
    if ((token.kind === 'assign' && !letAssigns.has(token.start)) || token.kind === 'pipe') {
      glued.add(token.start);
      if (next) glued.add(next.start);
    }
    while (code < codeSpans.length && (codeSpans[code] as Span).end <= token.start) code++;
    const span = codeSpans[code];
    if (span && token.start > span.start && token.end <= span.end) glued.add(token.start);
  }
  return glued;
}
