// Name resolution: every definition and reference of every name, per scenario (spec §3).
//
// Names are scoped to their scenario and bound in document order. Values, tables and pages
// share one namespace (so a table used as a number is found and reported as the wrong kind);
// processes, thread names (per `concurrent` block), locks and static keys each have their own.
// A second binding of a name makes a new symbol, so go-to-definition from a use finds the
// binding in force there; a later `process p { }` block is a reference to the first.

import type { Expr, Finding, Name, Program, Scenario, Span, Stmt } from '../engine/index';
import { badValue, MSG, unknownName } from './problems';
import { PREDEFINED_LOCKS } from './vocabulary';
import { forEachExpr, forEachStatement, statementExprs } from './walk';

export type SymbolKind = 'value' | 'table' | 'page' | 'process' | 'thread' | 'lock' | 'key';

/** How a symbol came to be; `use` is a static key, declared by its first use. */
export type SymbolOrigin =
  | 'let'
  | 'mmap'
  | 'vmalloc'
  | 'pgtable_alloc'
  | 'alloc_pgtable_page'
  | 'process'
  | 'fork'
  | 'thread'
  | 'predefined'
  | 'use';

/** One bound name. */
export interface NameSymbol {
  name: string;
  kind: SymbolKind;
  origin: SymbolOrigin;
  /** Where the name is bound; absent for predefined names (`init_mm`). */
  def?: Span;
  /** Every use that resolves to this binding, in document order. */
  references: Span[];
}

/** The symbols of one scenario. */
export interface ScenarioSymbols {
  title: string;
  /** The whole scenario, `scenario` keyword to closing brace. */
  span: Span;
  symbols: NameSymbol[];
}

/** The symbols of a scenario plus the naming problems found while resolving it. */
export interface Resolution extends ScenarioSymbols {
  problems: Finding[];
}

type Namespace = 'object' | 'process' | 'thread' | 'lock' | 'key';

const NAMESPACE: Readonly<Record<SymbolKind, Namespace>> = {
  value: 'object',
  table: 'object',
  page: 'object',
  process: 'process',
  thread: 'thread',
  lock: 'lock',
  key: 'key',
};

const KIND_PHRASE: Readonly<Record<SymbolKind, string>> = {
  value: 'a value',
  table: 'a page-table page from `pgtable_alloc`',
  page: 'a page from `alloc_pgtable_page`',
  process: 'a process',
  thread: 'a thread',
  lock: 'a lock',
  key: 'a static key',
};

/** Resolves every scenario of a program. */
export function symbols(program: Program): ScenarioSymbols[] {
  return program.scenarios.map((scenario) => {
    const { title, span, symbols: list } = resolveScenario(scenario);
    return { title, span, symbols: list };
  });
}

/**
 * Resolves one scenario: its symbols, and `unknown-name` (and duplicate-name) problems.
 * `assumed` are names bound by statements the parser dropped (ParseResult.unfinishedBindings):
 * from their position on, a use of such a name is not reported as unknown.
 */
export function resolveScenario(scenario: Scenario, assumed: readonly Name[] = []): Resolution {
  return new Resolver(scenario, assumed).run();
}

/** The symbol whose definition or one of whose references contains `offset`, and that span. */
export function symbolAt(index: readonly ScenarioSymbols[], offset: number): { symbol: NameSymbol; span: Span } | undefined {
  for (const scenario of index) {
    if (offset < scenario.span.start || offset > scenario.span.end) continue;
    for (const symbol of scenario.symbols) {
      for (const span of symbolSpans(symbol)) {
        if (span.start <= offset && offset <= span.end) return { symbol, span };
      }
    }
  }
  return undefined;
}

/** Every span that names the symbol (definition first): what a rename must change. */
export function symbolSpans(symbol: NameSymbol): Span[] {
  return symbol.def ? [symbol.def, ...symbol.references] : [...symbol.references];
}

/**
 * The names that may be written at `offset`: those bound before it in its scenario (the latest
 * binding of each name), predefined locks and all static keys. `kinds` filters by kind.
 */
export function namesInScope(index: readonly ScenarioSymbols[], offset: number, kinds?: readonly SymbolKind[]): NameSymbol[] {
  const scenario = index.find((s) => s.span.start <= offset && offset <= s.span.end);
  if (!scenario) return [];
  const latest = new Map<string, NameSymbol>();
  for (const symbol of scenario.symbols) {
    if (kinds && !kinds.includes(symbol.kind)) continue;
    const inScope = symbol.def === undefined || symbol.kind === 'key' || symbol.def.end <= offset;
    if (inScope) latest.set(`${NAMESPACE[symbol.kind]}:${symbol.name}`, symbol);
  }
  return [...latest.values()];
}

/** Levenshtein distance, stopping early once it exceeds `limit`. */
export function editDistance(a: string, b: string, limit = Infinity): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const value = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin > limit) return limit + 1;
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** Up to three of `names` closest to `name`, nearest first, within a distance that suits its length. */
export function closestNames(name: string, names: Iterable<string>): string[] {
  const limit = Math.max(2, Math.floor(name.length / 2));
  const scored: { name: string; distance: number }[] = [];
  for (const candidate of new Set(names)) {
    if (candidate === name) continue;
    const distance = editDistance(name, candidate, limit);
    if (distance <= limit) scored.push({ name: candidate, distance });
  }
  scored.sort((a, b) => a.distance - b.distance || a.name.localeCompare(b.name));
  return scored.slice(0, 3).map((s) => s.name);
}

class Resolver {
  private readonly all: NameSymbol[] = [];
  private readonly problems: Finding[] = [];
  /** The binding in force for each namespace-qualified name. */
  private readonly bound = new Map<string, NameSymbol>();

  constructor(
    private readonly scenario: Scenario,
    private readonly assumed: readonly Name[],
  ) {}

  private isAssumed(name: Name): boolean {
    return this.assumed.some((a) => a.text === name.text && a.span.end <= name.span.start && a.span.start >= this.scenario.span.start);
  }

  run(): Resolution {
    for (const lock of PREDEFINED_LOCKS) this.bind('lock', lock, undefined, 'predefined');
    forEachStatement(
      this.scenario.body,
      'top',
      (stmt) => this.statement(stmt),
      (stmt) => {
        if (stmt.kind === 'concurrent') this.clearNamespace('thread');
      },
    );
    return { title: this.scenario.title, span: this.scenario.span, symbols: this.all, problems: this.problems };
  }

  private key(namespace: Namespace, name: string): string {
    return `${namespace}:${name}`;
  }

  private lookup(namespace: Namespace, name: string): NameSymbol | undefined {
    return this.bound.get(this.key(namespace, name));
  }

  private bind(kind: SymbolKind, name: string, def: Span | undefined, origin: SymbolOrigin): NameSymbol {
    const symbol: NameSymbol = { name, kind, origin, references: [], ...(def && { def }) };
    this.all.push(symbol);
    this.bound.set(this.key(NAMESPACE[kind], name), symbol);
    return symbol;
  }

  private clearNamespace(namespace: Namespace): void {
    for (const key of [...this.bound.keys()]) if (key.startsWith(`${namespace}:`)) this.bound.delete(key);
  }

  private boundNames(kinds: readonly SymbolKind[]): string[] {
    return [...this.bound.values()].filter((s) => kinds.includes(s.kind)).map((s) => s.name);
  }

  /**
   * Resolves a use of `name` that needs one of `kinds`. A name bound as another kind is the
   * wrong kind of name; either way the problem is `unknown-name`.
   */
  private use(name: Name, kinds: readonly SymbolKind[], expected: string, unknownMessage: string, accept?: (s: NameSymbol) => boolean): void {
    const namespace = NAMESPACE[kinds[0] ?? 'value'];
    const symbol = this.lookup(namespace, name.text);
    if (symbol && kinds.includes(symbol.kind) && (accept?.(symbol) ?? true)) {
      symbol.references.push(name.span);
      return;
    }
    const candidates = closestNames(name.text, this.boundNames(kinds));
    if (symbol) {
      const found = accept && kinds.includes(symbol.kind) ? `bound by \`${symbol.origin}\`` : KIND_PHRASE[symbol.kind];
      this.problems.push(unknownName(name.span, MSG.wrongKind(name.text, found, expected), candidates));
      return;
    }
    if (this.isAssumed(name)) return;
    for (const other of ['object', 'process', 'thread'] as const) {
      const elsewhere = other === namespace ? undefined : this.lookup(other, name.text);
      if (elsewhere) {
        this.problems.push(unknownName(name.span, MSG.wrongKind(name.text, KIND_PHRASE[elsewhere.kind], expected), candidates));
        return;
      }
    }
    this.problems.push(unknownName(name.span, unknownMessage, candidates));
  }

  /** A number: a `let`/`mmap`/`vmalloc` value, or a page from `alloc_pgtable_page` (its linear-map address). */
  private useValue(name: Name): void {
    this.use(name, ['value', 'page'], 'a number', MSG.unknownName(name.text));
  }

  private useProcess(name: Name): void {
    this.use(name, ['process'], 'a process', MSG.unknownProcess(name.text));
  }

  private useTable(name: Name): void {
    this.use(name, ['table'], 'a table from `pgtable_alloc`', MSG.unknownTable(name.text));
  }

  private expr(expr: Expr): void {
    forEachExpr(expr, (e) => {
      if (e.kind === 'name') this.useValue(e.name);
      else if (e.kind === 'query' && e.space && e.space.text !== 'kernel') this.useProcess(e.space);
    });
  }

  /** Uses first, then bindings, so `let x = x + 1` reads the previous `x`. */
  private statement(stmt: Stmt): void {
    for (const expr of statementExprs(stmt)) this.expr(expr);
    switch (stmt.kind) {
      case 'let':
        this.bind('value', stmt.name.text, stmt.name.span, 'let');
        break;
      case 'mmap':
      case 'vmalloc':
        this.bind('value', stmt.name.text, stmt.name.span, stmt.kind);
        break;
      case 'vfree':
        this.use(stmt.name, ['value'], 'a name bound by `vmalloc`', MSG.unknownName(stmt.name.text), (s) => s.origin === 'vmalloc');
        break;
      case 'alloc_pgtable_page':
        this.bind('page', stmt.name.text, stmt.name.span, 'alloc_pgtable_page');
        break;
      case 'free_pgtable_page':
        this.use(stmt.name, ['page'], 'a page from `alloc_pgtable_page`', MSG.unknownPage(stmt.name.text));
        break;
      case 'pgtable_alloc':
        this.bind('table', stmt.name.text, stmt.name.span, 'pgtable_alloc');
        break;
      case 'pgtable_ctor':
      case 'pgtable_dtor':
      case 'pgtable_free':
      case 'populate':
        this.useTable(stmt.name);
        break;
      case 'lock':
      case 'unlock':
        this.use(stmt.lock, ['lock'], 'a lock', MSG.unknownLock(stmt.lock.text));
        break;
      case 'static_branch_enable':
      case 'static_branch_disable':
      case 'if':
        this.useKey(stmt.key);
        break;
      case 'fork': {
        this.useProcess(stmt.parent);
        if (this.lookup('process', stmt.child.text)) this.problems.push(badValue(stmt.child.span, MSG.processExists(stmt.child.text)));
        this.bind('process', stmt.child.text, stmt.child.span, 'fork');
        break;
      }
      case 'exit':
        this.useProcess(stmt.process);
        break;
      case 'process': {
        const existing = this.lookup('process', stmt.name.text);
        if (existing) existing.references.push(stmt.name.span);
        else this.bind('process', stmt.name.text, stmt.name.span, 'process');
        break;
      }
      case 'thread':
        if (this.lookup('thread', stmt.name.text)) this.problems.push(badValue(stmt.name.span, MSG.duplicateThread(stmt.name.text)));
        this.bind('thread', stmt.name.text, stmt.name.span, 'thread');
        break;
      default:
        break;
    }
  }

  /** Static keys are declared by use: the first use is the definition. */
  private useKey(key: Name): void {
    const symbol = this.lookup('key', key.text);
    if (symbol) symbol.references.push(key.span);
    else this.bind('key', key.text, key.span, 'use');
  }
}
