// Walking the syntax tree for editor features: every statement with the block it stands in,
// document symbols and folding ranges.

import { FoldingRangeKind, SymbolKind, type DocumentSymbol, type FoldingRange } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { Program, Scenario, Span, Stmt } from '../engine/index';
import { toRange } from './diagnostics';
import type { BlockKind } from './vocabulary';

export interface PlacedStmt {
  stmt: Stmt;
  scenarioIndex: number;
  block: BlockKind;
  /** `kernel`, a process name or a thread name; empty at a scenario's top level. */
  space: string;
}

function* walkBody(stmts: readonly Stmt[], scenarioIndex: number, block: BlockKind, space: string): Generator<PlacedStmt> {
  for (const stmt of stmts) {
    yield { stmt, scenarioIndex, block, space };
    switch (stmt.kind) {
      case 'kernel':
        yield* walkBody(stmt.body, scenarioIndex, 'kernel', 'kernel');
        break;
      case 'process':
        yield* walkBody(stmt.body, scenarioIndex, 'process', stmt.name.text);
        break;
      case 'concurrent':
        yield* walkBody(stmt.threads, scenarioIndex, 'concurrent', '');
        break;
      case 'thread':
        yield* walkBody(stmt.body, scenarioIndex, 'thread', stmt.name.text);
        break;
      case 'if':
        yield* walkBody(stmt.then, scenarioIndex, 'thread', space);
        if (stmt.else) yield* walkBody(stmt.else, scenarioIndex, 'thread', space);
        break;
      default:
        break;
    }
  }
}

/** Every statement of the program, in source order, with its block. */
export function* allStatements(program: Program): Generator<PlacedStmt> {
  for (const [index, scenario] of program.scenarios.entries()) yield* walkBody(scenario.body, index, 'scenario', '');
}

/** The innermost statement whose span contains `offset`. */
export function statementAt(program: Program, offset: number): PlacedStmt | undefined {
  let found: PlacedStmt | undefined;
  for (const placed of allStatements(program)) {
    const { start, end } = placed.stmt.span;
    if (start <= offset && offset <= end) found = placed;
  }
  return found;
}

export function scenarioAt(program: Program, offset: number): { scenario: Scenario; index: number } | undefined {
  const index = program.scenarios.findIndex((s) => s.span.start <= offset && offset <= s.span.end);
  const scenario = program.scenarios[index];
  return scenario ? { scenario, index } : undefined;
}

function symbol(document: TextDocument, name: string, detail: string, kind: SymbolKind, span: Span, selection: Span, children: DocumentSymbol[] = []): DocumentSymbol {
  return { name: name || '(unnamed)', detail, kind, range: toRange(document, span), selectionRange: toRange(document, selection), children };
}

function bodySymbols(document: TextDocument, stmts: readonly Stmt[]): DocumentSymbol[] {
  const out: DocumentSymbol[] = [];
  for (const stmt of stmts) {
    switch (stmt.kind) {
      case 'kernel':
        out.push(symbol(document, 'kernel', 'init_mm', SymbolKind.Namespace, stmt.span, stmt.keyword.span, bodySymbols(document, stmt.body)));
        break;
      case 'process':
        out.push(symbol(document, stmt.name.text, 'process', SymbolKind.Module, stmt.span, stmt.name.span, bodySymbols(document, stmt.body)));
        break;
      case 'concurrent':
        out.push(symbol(document, 'concurrent', '', SymbolKind.Namespace, stmt.span, stmt.keyword.span, bodySymbols(document, stmt.threads)));
        break;
      case 'thread':
        out.push(symbol(document, stmt.name.text, 'thread', SymbolKind.Function, stmt.span, stmt.name.span, bodySymbols(document, stmt.body)));
        break;
      case 'mmap':
      case 'vmalloc':
        out.push(symbol(document, stmt.name.text, stmt.kind, SymbolKind.Variable, stmt.span, stmt.name.span));
        break;
      case 'let':
        out.push(symbol(document, stmt.name.text, 'let', SymbolKind.Constant, stmt.span, stmt.name.span));
        break;
      case 'pgtable_alloc':
        out.push(symbol(document, stmt.name.text, `${stmt.level.text} table`, SymbolKind.Object, stmt.span, stmt.name.span));
        break;
      case 'alloc_pgtable_page':
        out.push(symbol(document, stmt.name.text, 'page-table page', SymbolKind.Object, stmt.span, stmt.name.span));
        break;
      case 'fork':
        out.push(symbol(document, stmt.child.text, `fork of ${stmt.parent.text}`, SymbolKind.Module, stmt.span, stmt.child.span));
        break;
      default:
        break;
    }
  }
  return out;
}

export function documentSymbols(document: TextDocument, program: Program): DocumentSymbol[] {
  return program.scenarios.map((scenario) =>
    symbol(document, scenario.title, 'scenario', SymbolKind.Class, scenario.span, scenario.titleSpan, bodySymbols(document, scenario.body)),
  );
}

/** Folds scenarios, blocks and runs of two or more comment lines. */
export function foldingRanges(document: TextDocument, program: Program): FoldingRange[] {
  const ranges: FoldingRange[] = [];
  const fold = (span: Span, close: Span): void => {
    const startLine = document.positionAt(span.start).line;
    const endLine = document.positionAt(close.start).line - 1;
    if (endLine > startLine) ranges.push({ startLine, endLine });
  };
  for (const scenario of program.scenarios) fold(scenario.span, scenario.closeSpan);
  for (const { stmt } of allStatements(program)) {
    if (stmt.kind === 'kernel' || stmt.kind === 'process' || stmt.kind === 'concurrent' || stmt.kind === 'thread') fold(stmt.span, stmt.closeSpan);
  }
  const lines = document.getText().split(/\r?\n/);
  let runStart = -1;
  for (let line = 0; line <= lines.length; line++) {
    const isComment = line < lines.length && /^\s*#/.test(lines[line] ?? '');
    if (isComment && runStart < 0) runStart = line;
    if (!isComment && runStart >= 0) {
      if (line - 1 > runStart) ranges.push({ startLine: runStart, endLine: line - 1, kind: FoldingRangeKind.Comment });
      runStart = -1;
    }
  }
  return ranges;
}
