// Helpers for the language tests: wrapping snippets into scenarios, printing tree shapes and
// listing problems as [code, text] pairs.

import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { Expr, Finding, Program, Stmt } from '../../server/src/engine/index';
import { analyze, lex, parse } from '../../server/src/language/index';

/** The repository root, from out/test/language at run time. */
export const ROOT = path.resolve(__dirname, '../../..');

/** Wraps `line` in a scenario, inside a block of the given kind. */
export function wrap(block: 'top' | 'kernel' | 'process' | 'thread', line: string): string {
  switch (block) {
    case 'top':
      return `scenario "t" {\n${line}\n}\n`;
    case 'kernel':
      return `scenario "t" {\nkernel {\n${line}\n}\n}\n`;
    case 'process':
      return `scenario "t" {\nprocess p {\n${line}\n}\n}\n`;
    case 'thread':
      return `scenario "t" {\nconcurrent {\nthread a {\n${line}\n}\n}\n}\n`;
  }
}

/** The first statement of the innermost block `wrap` made. */
export function firstStatement(program: Program, block: 'top' | 'kernel' | 'process' | 'thread'): Stmt | undefined {
  const top = program.scenarios[0]?.body[0];
  if (block === 'top') return top;
  if (block === 'thread') return top?.kind === 'concurrent' ? top.threads[0]?.body[0] : undefined;
  return top?.kind === 'kernel' || top?.kind === 'process' ? top.body[0] : undefined;
}

const SKIPPED_KEYS = new Set(['span', 'keyword', 'closeSpan', 'queryName', 'titleSpan', 'headSpan', 'elseKeyword', 'kind']);

/** A compact, span-free rendering of an expression. */
export function showExpr(expr: Expr): string {
  switch (expr.kind) {
    case 'number':
      return `${expr.digits}${expr.unit ?? ''}`;
    case 'name':
      return expr.name.text;
    case 'symbol':
      return `'${expr.text}`;
    case 'binary':
      return `(${expr.op} ${showExpr(expr.left)} ${showExpr(expr.right)})`;
    case 'query': {
      const args = [expr.space?.text, expr.level?.text, expr.addr && showExpr(expr.addr)].filter((a) => a !== undefined);
      return args.length > 0 || expr.span.end > expr.queryName.span.end ? `${expr.query}(${args.join(',')})` : expr.query;
    }
  }
}

/** A compact, span-free rendering of any tree node: `kind{field=value …}`. */
export function show(node: unknown): string {
  if (Array.isArray(node)) return `[${node.map(show).join(' ')}]`;
  if (typeof node === 'bigint' || typeof node === 'number' || typeof node === 'string') return String(node);
  if (typeof node !== 'object' || node === null) return String(node);
  const record = node as Record<string, unknown>;
  const kind = record['kind'];
  if (kind === 'number' || kind === 'name' || kind === 'symbol' || kind === 'binary' || kind === 'query') return showExpr(node as Expr);
  if (kind === 'bit') return show(record['name']);
  if (kind === 'value' && !('span' in record)) return show(record['value']);
  if (!('kind' in record) && 'text' in record && 'span' in record) return String(record['text']);
  const fields = Object.keys(record)
    .filter((k) => !SKIPPED_KEYS.has(k) && record[k] !== undefined)
    .map((k) => `${k}=${show(record[k])}`);
  return `${String(kind ?? '')}{${fields.join(' ')}}`;
}

/** Problems as [code, the text their span covers]. */
export function problemPairs(text: string, problems: readonly Finding[]): [string, string][] {
  return problems.map((p) => [p.code, text.slice(p.span.start, p.span.end)]);
}

/** Asserts that `text` parses and checks with no problem at all, and returns its tree. */
export function clean(text: string): Program {
  const { program, problems } = analyze(text);
  assert.deepEqual(problemPairs(text, problems), [], `unexpected problems in:\n${text}`);
  return program;
}

/** The 1-based line of an offset. */
export function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text[i] === '\n') line++;
  return line;
}

/** The token sequence a formatter must keep: no blanks, newline runs collapsed. */
export function significantTokens(text: string): string[] {
  const out: string[] = [];
  for (const token of lex(text)) {
    if (token.kind === 'eof') break;
    if (token.kind === 'newline') {
      if (out.length > 0 && out[out.length - 1] !== '⏎') out.push('⏎');
    } else {
      out.push(`${token.kind}:${token.text}`);
    }
  }
  while (out[out.length - 1] === '⏎') out.pop();
  return out;
}

export { parse, analyze };
