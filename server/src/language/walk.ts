// Traversals of the Program tree shared by the checker, the symbol index and the formatter.
//
// Recursion is safe here: the parser caps block nesting, parenthesis nesting and operators per
// statement, so no tree it builds is deeper than a few hundred nodes.

import type { Expr, Stmt } from '../engine/index';
import type { BlockContext } from './vocabulary';

/** Where a statement stands; `concurrent` is the body of a `concurrent` block (threads only). */
export type StmtContext = BlockContext | 'concurrent';

/**
 * Calls `visit` for every statement of `body` in document order, blocks before their contents,
 * with the context the statement stands in. `onLeave` runs after a block's contents.
 */
export function forEachStatement(
  body: readonly Stmt[],
  context: StmtContext,
  visit: (stmt: Stmt, context: StmtContext) => void,
  onLeave?: (stmt: Stmt) => void,
): void {
  for (const stmt of body) {
    visit(stmt, context);
    switch (stmt.kind) {
      case 'kernel':
        forEachStatement(stmt.body, 'kernel', visit, onLeave);
        break;
      case 'process':
        forEachStatement(stmt.body, 'process', visit, onLeave);
        break;
      case 'concurrent':
        forEachStatement(stmt.threads, 'concurrent', visit, onLeave);
        break;
      case 'thread':
        forEachStatement(stmt.body, 'thread', visit, onLeave);
        break;
      case 'if':
        forEachStatement(stmt.then, 'thread', visit, onLeave);
        if (stmt.else) forEachStatement(stmt.else, 'thread', visit, onLeave);
        break;
      default:
        break;
    }
    onLeave?.(stmt);
  }
}

/** The expressions a statement holds itself (not those of nested statements), in text order. */
export function statementExprs(stmt: Stmt): Expr[] {
  const exprs: (Expr | undefined)[] = [];
  switch (stmt.kind) {
    case 'let':
      exprs.push(stmt.value);
      break;
    case 'expect':
      exprs.push(stmt.left, stmt.right);
      break;
    case 'map':
      exprs.push(stmt.va, stmt.size, stmt.phys);
      break;
    case 'unmap':
      exprs.push(stmt.va, stmt.size);
      break;
    case 'vmalloc':
      exprs.push(stmt.size);
      break;
    case 'set_memory':
    case 'set_memory_valid':
      exprs.push(stmt.addr, stmt.pages);
      break;
    case 'set_direct_map':
    case 'populate':
    case 'clear':
    case 'read':
    case 'exec':
    case 'pud_free_pmd_page':
    case 'pmd_free_pte_page':
    case 'load':
      exprs.push(stmt.addr);
      break;
    case 'write':
      exprs.push(stmt.addr, stmt.value);
      break;
    case 'ptdump':
    case 'walk':
      exprs.push(stmt.addr, stmt.size);
      break;
    case 'mmap':
      exprs.push(stmt.at, stmt.size);
      break;
    case 'munmap':
    case 'mprotect':
    case 'madvise':
    case 'mlock':
    case 'munlock':
    case 'touch':
      exprs.push(stmt.addr, stmt.size);
      break;
    case 'mremap':
      exprs.push(stmt.addr, stmt.size, stmt.to, stmt.newSize);
      break;
    case 'rmw':
      exprs.push(stmt.addr);
      for (const item of [...stmt.set, ...stmt.clear]) if (item.kind === 'value') exprs.push(item.value);
      break;
    default:
      break;
  }
  if (stmt.result?.kind === 'value') exprs.push(stmt.result.value);
  return exprs.filter((e): e is Expr => e !== undefined).sort((a, b) => a.span.start - b.span.start);
}

/** Calls `visit` for `expr` and every expression inside it, parents first. */
export function forEachExpr(expr: Expr, visit: (expr: Expr) => void): void {
  visit(expr);
  if (expr.kind === 'binary') {
    forEachExpr(expr.left, visit);
    forEachExpr(expr.right, visit);
  } else if (expr.kind === 'query' && expr.addr) {
    forEachExpr(expr.addr, visit);
  }
}
