// Static checks on a parsed program: names (spec §3) and values (spec §1, §2, §4–§10).
//
// The checker finds what can be known without running: unbound names, words outside their
// closed sets, numbers that do not fit in 64 bits (after units and constant folding) and
// constant kernel addresses and sizes that are not page multiples. Anything that depends on
// run-time state is the engine's job.

import type { Expr, ExpectStmt, Finding, Name, Program, QueryExpr, Scenario, Span, Stmt, Word } from '../engine/index';
import { isSymbolicQuery } from './parser';
import { badValue, MSG } from './problems';
import { resolveScenario } from './symbols';
import {
  ACCOUNTING_MODES,
  ADVICES,
  ARCHES,
  ARM64_VA_BY_GRANULE,
  BARE_QUERY_WORDS,
  BOOLEANS,
  DIAGNOSTIC_CODES,
  ERRNOS,
  FEATURES,
  GRANULE_PAGE_SIZE,
  isProtection,
  LEAF_CHOICES,
  LEAF_KINDS,
  LEVELS,
  LOCK_MODES,
  RACE_KINDS,
  STATIC_CODES,
  SYMBOLIC_QUERY_NAMES,
  THP_MODES,
  U64_MAX,
  UNIT_BYTES,
  VALID_STATES,
  VARIANTS,
} from './vocabulary';
import { forEachStatement, statementExprs, type StmtContext } from './walk';

/** Optional inputs to `check`. */
export interface CheckOptions {
  /** ParseResult.unfinishedBindings: names to treat as bound from where they stand. */
  assumeBound?: readonly Name[];
}

/**
 * Checks every scenario of `program` (as parsed from `text`) and returns the `unknown-name` and
 * `bad-value` findings, in document order. Never throws. Run it on the program `parse` returned
 * for the same text; it reports nothing about syntax.
 */
export function check(program: Program, text: string, options: CheckOptions = {}): Finding[] {
  const problems: Finding[] = [];
  for (const scenario of program.scenarios) {
    problems.push(...resolveScenario(scenario, options.assumeBound).problems);
    new ScenarioChecker(scenario, text, problems).run();
  }
  return problems.sort((a, b) => a.span.start - b.span.start || a.span.end - b.span.end);
}

/** The base page size a scenario runs with: 4 KiB unless its `arch arm64` picks a granule. */
export function scenarioPageSize(scenario: Scenario): bigint {
  const arch = scenario.body.find((s) => s.kind === 'arch');
  if (arch?.kind !== 'arch' || arch.arch.text !== 'arm64') return 4096n;
  const granule = arch.options.find((o) => o.key.text === 'granule');
  return GRANULE_PAGE_SIZE.get(granule?.value.text ?? '4k') ?? 4096n;
}

function formatBytes(bytes: bigint): string {
  return bytes % 1024n === 0n ? `${bytes / 1024n} KiB` : `${bytes} bytes`;
}

class ScenarioChecker {
  private readonly pageSize: bigint;
  private seenConcurrent = false;
  private readonly seenHeaders = new Set<string>();

  constructor(
    private readonly scenario: Scenario,
    private readonly text: string,
    private readonly problems: Finding[],
  ) {
    this.pageSize = scenarioPageSize(scenario);
  }

  run(): void {
    forEachStatement(this.scenario.body, 'top', (stmt, context) => this.statement(stmt, context));
  }

  private bad(span: Span, message: string): void {
    this.problems.push(badValue(span, message));
  }

  private slice(span: Span): string {
    return this.text.slice(span.start, span.end);
  }

  private oneOf(word: Word | undefined, what: string, choices: readonly string[]): void {
    if (word && !choices.includes(word.text)) this.bad(word.span, MSG.unknownValue(what, word.text, choices));
  }

  private prot(word: Word | undefined): void {
    if (word && !isProtection(word.text)) this.bad(word.span, MSG.badProt(word.text));
  }

  /**
   * Checks one statement where it stands. Expressions are checked once each (numbers, folding,
   * query shapes); then the statement's own words are checked against their closed sets.
   */
  private statement(stmt: Stmt, context: StmtContext): void {
    this.result(stmt);
    if (stmt.kind === 'expect') this.expect(stmt, context);
    for (const expr of statementExprs(stmt)) {
      if (stmt.kind !== 'expect' || (expr !== stmt.left && expr !== stmt.right)) this.numeric(expr, context);
    }
    switch (stmt.kind) {
      // Headers and their closed sets (spec §2).
      case 'arch':
        this.header(stmt.keyword);
        this.arch(stmt);
        break;
      case 'feature':
        for (const feature of stmt.features) this.oneOf(feature, 'feature', FEATURES);
        break;
      case 'thp':
        this.header(stmt.keyword);
        this.oneOf(stmt.mode, 'thp mode', THP_MODES);
        break;
      case 'accounting':
        this.header(stmt.keyword);
        this.oneOf(stmt.mode, 'accounting mode', ACCOUNTING_MODES);
        break;
      // A bare query word in an expression is always the query (see parser.ts), so a name
      // spelled like one would be bound but never readable.
      case 'let':
      case 'mmap':
      case 'vmalloc':
        if (BARE_QUERY_WORDS.has(stmt.name.text)) this.bad(stmt.name.span, MSG.bindsQuery(stmt.name.text));
        if (stmt.kind === 'mmap') this.prot(stmt.prot);
        if (stmt.kind === 'vmalloc') this.prot(stmt.prot);
        break;
      // Constant kernel addresses and sizes must be page multiples (spec §4, §10 `bad-value`).
      case 'map':
        this.prot(stmt.prot);
        this.oneOf(stmt.leaf, 'leaf size', LEAF_CHOICES);
        this.pageMultiple(stmt.va, 'the address');
        this.pageMultiple(stmt.size, 'the size');
        this.pageMultiple(stmt.phys, 'the physical address');
        break;
      case 'unmap':
        this.pageMultiple(stmt.va, 'the address');
        this.pageMultiple(stmt.size, 'the size');
        break;
      case 'mprotect':
        this.prot(stmt.prot);
        break;
      case 'madvise':
        this.oneOf(stmt.advice, 'advice', ADVICES);
        break;
      case 'set_memory_valid':
        this.oneOf(stmt.valid, 'state', VALID_STATES);
        break;
      case 'pgtable_alloc':
      case 'clear':
      case 'load':
      case 'rmw':
        this.oneOf(stmt.level, 'level', LEVELS);
        break;
      case 'lock':
      case 'unlock':
        this.oneOf(stmt.mode, 'lock mode', LOCK_MODES);
        break;
      case 'walk':
        if (stmt.space.text !== 'kernel') this.bad(stmt.space.span, MSG.walkSpace(stmt.space.text));
        break;
      case 'pud_free_pmd_page':
      case 'pmd_free_pte_page':
        this.oneOf(stmt.variant, 'variant', VARIANTS);
        break;
      // Races are only reachable from a `concurrent` block before the expectation (spec §9).
      case 'concurrent':
        this.seenConcurrent = true;
        break;
      case 'expect_race':
        this.oneOf(stmt.race, 'race kind', RACE_KINDS);
        if (!this.seenConcurrent) this.bad(stmt.keyword.span, MSG.raceBeforeConcurrent());
        break;
      case 'expect_diagnostic': {
        const codes: readonly string[] = DIAGNOSTIC_CODES;
        if (!codes.includes(stmt.code.text)) this.oneOf(stmt.code, 'diagnostic code', DIAGNOSTIC_CODES.filter((c) => !STATIC_CODES.has(c)));
        else if (STATIC_CODES.has(stmt.code.text)) this.bad(stmt.code.span, MSG.staticCode(stmt.code.text));
        break;
      }
      default:
        break;
    }
  }

  /** A scenario has one architecture, one THP mode and one accounting mode. */
  private header(keyword: Word): void {
    if (this.seenHeaders.has(keyword.text)) this.bad(keyword.span, MSG.duplicateHeader(keyword.text));
    this.seenHeaders.add(keyword.text);
  }

  /** The architecture and its options (spec §2); x86_pae and arm_lpae take none. */
  private arch(stmt: Extract<Stmt, { kind: 'arch' }>): void {
    const options = ARCHES.get(stmt.arch.text);
    if (!options) {
      this.oneOf(stmt.arch, 'architecture', [...ARCHES.keys()]);
      return;
    }
    const seen = new Set<string>();
    for (const option of stmt.options) {
      const key = option.key.text;
      if (options.size === 0) {
        this.bad(option.key.span, MSG.archNoOptions(stmt.arch.text));
        continue;
      }
      const values = options.get(key);
      if (!values) {
        this.bad(option.key.span, MSG.unknownArchOption(stmt.arch.text, key, [...options.keys()]));
        continue;
      }
      if (seen.has(key)) this.bad(option.key.span, MSG.duplicateOption(key));
      seen.add(key);
      if (stmt.arch.text === 'arm64' && key === 'va') continue;
      this.oneOf(option.value, `\`${key}\``, values);
    }
    if (stmt.arch.text === 'arm64') {
      // VA sizes depend on the granule (kernel-notes/geometry.md, arch/arm64/Kconfig).
      const granule = stmt.options.find((o) => o.key.text === 'granule')?.value.text ?? '4k';
      const allowed = ARM64_VA_BY_GRANULE.get(granule);
      const va = stmt.options.find((o) => o.key.text === 'va');
      if (allowed && va && !allowed.includes(va.value.text)) this.bad(va.value.span, MSG.badVa(granule, va.value.text, allowed));
    }
  }

  private result(stmt: Stmt): void {
    if (stmt.result?.kind === 'errno') this.oneOf(stmt.result.errno, 'errno', ERRNOS);
  }

  /** A constant kernel address or size must be a multiple of the page size (spec §4). */
  private pageMultiple(expr: Expr, what: string): void {
    const value = this.constant(expr);
    if (value !== undefined && value % this.pageSize !== 0n) {
      this.bad(expr.span, MSG.notPageMultiple(`${what} ${this.slice(expr.span)}`, formatBytes(this.pageSize)));
    }
  }

  /**
   * `expect` (spec §7): numeric comparisons take any operator; a symbolic query compares only for
   * equality, against a word from its own set.
   */
  private expect(stmt: ExpectStmt, context: StmtContext): void {
    const { left, right } = stmt;
    const symbolic = isSymbolicQuery(left) ? left : isSymbolicQuery(right) ? right : undefined;
    if (!symbolic) {
      this.numeric(left, context);
      this.numeric(right, context);
      return;
    }
    if (stmt.op !== '==' && stmt.op !== '!=') {
      const start = this.text.indexOf(stmt.op, left.span.end);
      this.bad({ start, end: start + stmt.op.length }, MSG.symbolicOp(stmt.op));
    }
    for (const side of [left, right]) {
      if (isSymbolicQuery(side)) this.query(side, context);
      else if (side.kind === 'symbol') this.symbolValue(symbolic, side.text, side.span);
      else {
        this.numeric(side, context);
        this.bad(side.span, MSG.symbolicInArithmetic(symbolic.query));
      }
    }
  }

  /** The words each symbolic query can yield (spec §7). */
  private symbolValue(query: QueryExpr, value: string, span: Span): void {
    if (query.query === 'leaf' && !(LEAF_KINDS as readonly string[]).includes(value)) this.bad(span, MSG.unknownValue('leaf kind', value, LEAF_KINDS));
    if (query.query === 'prot' && !isProtection(value)) this.bad(span, MSG.badProt(value));
    if (query.query === 'guard' && !(BOOLEANS as readonly string[]).includes(value)) this.bad(span, MSG.unknownValue('guard state', value, BOOLEANS));
  }

  /** An expression that must be a number: no symbolic query may appear in it. */
  private numeric(expr: Expr, context: StmtContext): void {
    this.constant(expr, context);
  }

  /**
   * Folds `expr` where it is constant, reporting every literal and every operation that leaves
   * the unsigned 64-bit range, and checks the queries inside it. Returns the value when the whole
   * expression is constant and in range. With no `context`, queries are not checked (the caller
   * has already checked this expression once).
   */
  private constant(expr: Expr, context?: StmtContext): bigint | undefined {
    switch (expr.kind) {
      case 'number':
        return this.literal(expr, context !== undefined);
      case 'name':
      case 'symbol':
        return undefined;
      case 'query':
        if (context !== undefined) {
          if (SYMBOLIC_QUERY_NAMES.has(expr.query)) this.bad(expr.span, MSG.symbolicInArithmetic(expr.query));
          this.query(expr, context);
        }
        return undefined;
      case 'binary': {
        const left = this.constant(expr.left, context);
        const right = this.constant(expr.right, context);
        if (left === undefined || right === undefined) return undefined;
        const value = expr.op === '+' ? left + right : expr.op === '-' ? left - right : left * right;
        if (value < 0n || value > U64_MAX) {
          if (context !== undefined) this.bad(expr.span, value < 0n ? MSG.underflow() : MSG.overflow(`the result of ${this.slice(expr.span)}`));
          return undefined;
        }
        return value;
      }
    }
  }

  /** A number with its unit applied; digits and the product must both fit in 64 bits (spec §1). */
  private literal(expr: Extract<Expr, { kind: 'number' }>, report: boolean): bigint | undefined {
    if (expr.digits > U64_MAX) {
      if (report) this.bad(expr.span, MSG.overflow(`the number ${this.slice(expr.span)}`));
      return undefined;
    }
    const unit = expr.unit === undefined ? 1n : expr.unit === 'p' ? this.pageSize : UNIT_BYTES[expr.unit];
    const value = expr.digits * unit;
    if (value > U64_MAX) {
      if (report) this.bad(expr.span, MSG.overflow(`${this.slice(expr.span)} in bytes`));
      return undefined;
    }
    return value;
  }

  /** A query's shape where it stands (spec §7): what must be spelled out at top level, levels. */
  private query(query: QueryExpr, context: StmtContext): void {
    if (query.addr) this.numeric(query.addr, context);
    const atTop = context === 'top';
    switch (query.query) {
      case 'vmas':
      case 'pgtables_bytes':
      case 'accounted':
        if (atTop && !query.space) this.bad(query.span, MSG.needsSpace(query.query, `${query.query}(p)`));
        break;
      case 'tables':
        if (!query.level) this.bad(query.span, MSG.tablesNeedsLevel());
        else {
          this.oneOf(query.level, 'level', LEVELS);
          if (atTop && !query.space) this.bad(query.span, MSG.needsSpace('tables', `tables(p, ${query.level.text})`));
        }
        break;
      case 'leaf':
      case 'prot':
      case 'guard':
      case 'value':
        if (atTop && !query.space) {
          const addr = query.addr ? this.slice(query.addr.span) : 'ADDR';
          this.bad(query.span, MSG.needsSpace(query.query, `${query.query}(p, ${addr})`));
        }
        break;
      default:
        break;
    }
  }
}
