// The .ptscn parser: tokens to the engine's Program tree (spec §1–§9), with error recovery.
//
// Recursive descent over the token stream, one statement at a time. A statement that cannot be
// parsed reports one `syntax` error and the parser skips to the end of that statement (newline,
// `;` or `}`, jumping over balanced braces), so every broken line is reported once and the rest
// of the file still parses. Statements are parsed the same way in every block and then checked
// against the block they stand in; a misplaced one is reported and dropped. Block and
// parenthesis nesting is capped, so no input can exhaust the stack.

import type {
  ArchOption,
  BitsItem,
  CompareOp,
  Expr,
  Finding,
  FreeTableStmt,
  IfStmt,
  KernelStmt,
  Name,
  ProcessStmt,
  Program,
  QueryExpr,
  QueryName,
  ResultSpec,
  Scenario,
  SetMemoryOp,
  Span,
  Stmt,
  SymbolExpr,
  ThreadBlock,
  ThreadStmt,
  TopStmt,
  Word,
} from '../engine/index';
import { binary, exactDigits } from '../engine/index';
import { lex, type Token, type TokenKind } from './lexer';
import { describeFound, MSG, quote, syntaxError } from './problems';
import {
  type BlockContext,
  COUNTER_QUERIES,
  HEADER_KEYWORDS,
  KERNEL_KEYWORDS,
  MMAP_FLAGS,
  PROCESS_KEYWORDS,
  QUERY_NAMES,
  SYMBOLIC_QUERY_NAMES,
  TABLE_KEYWORDS,
  THREAD_KEYWORDS,
  TOP_KEYWORDS,
} from './vocabulary';

/** What `parse` returns: the tree (always complete enough to walk) and its syntax problems. */
export interface ParseResult {
  program: Program;
  problems: Finding[];
  /**
   * Names that statements dropped for syntax errors were binding (`mmap buf size` with the
   * rest missing). The checker treats them as bound, so one broken line does not turn every
   * later use of its name into an `unknown-name` error.
   */
  unfinishedBindings: Name[];
}

/** Deepest nesting of blocks, and separately of parentheses, that the parser accepts. */
export const MAX_NESTING = 64;

/**
 * Most binary operators one statement may hold. With the nesting cap this bounds the depth of
 * every expression tree, so recursive consumers (checker, engine) cannot exhaust the stack.
 */
export const MAX_OPERATORS = 256;

/** Thrown after a problem has been recorded, to abandon the current statement. */
class StatementAbort {}
const ABORT = new StatementAbort();

type Placement = 'header' | 'common' | 'kernel' | 'table' | 'process' | 'thread' | 'top' | 'threadBlock';

const PLACEMENT = new Map<string, Placement>();
for (const k of HEADER_KEYWORDS) PLACEMENT.set(k, 'header');
for (const k of KERNEL_KEYWORDS) PLACEMENT.set(k, 'kernel');
for (const k of TABLE_KEYWORDS) PLACEMENT.set(k, 'table');
for (const k of PROCESS_KEYWORDS) PLACEMENT.set(k, 'process');
for (const k of THREAD_KEYWORDS) PLACEMENT.set(k, 'thread');
for (const k of TOP_KEYWORDS) PLACEMENT.set(k, 'top');
PLACEMENT.set('let', 'common');
PLACEMENT.set('expect', 'common');
PLACEMENT.set('thread', 'threadBlock');

const ALLOWED: Readonly<Record<Placement, readonly BlockContext[]>> = {
  header: ['top'],
  common: ['top', 'kernel', 'process'],
  kernel: ['kernel', 'thread'],
  table: ['kernel', 'process', 'thread'],
  process: ['process'],
  thread: ['thread'],
  top: ['top'],
  threadBlock: [],
};

const WHERE_ALLOWED: Readonly<Record<Placement, string>> = {
  header: 'at the start of a scenario, before its other statements',
  common: 'at the top level of a scenario and in `kernel` and `process` blocks',
  kernel: 'in `kernel { }` blocks and in threads',
  table: 'in `kernel`, `process` and `thread` blocks',
  process: 'in `process NAME { }` blocks',
  thread: 'in `thread NAME { }` blocks inside `concurrent`',
  top: 'at the top level of a scenario',
  threadBlock: 'inside `concurrent { }`',
};

const CONTEXT_NAME: Readonly<Record<BlockContext, string>> = {
  top: 'at the top level of a scenario',
  kernel: 'in a `kernel` block',
  process: 'in a `process` block',
  thread: 'in a thread',
};

const SET_MEMORY_OPS: ReadonlyMap<string, SetMemoryOp> = new Map([
  ['set_memory_ro', 'ro'],
  ['set_memory_rw', 'rw'],
  ['set_memory_x', 'x'],
  ['set_memory_nx', 'nx'],
]);

const END_KINDS: ReadonlySet<TokenKind> = new Set(['newline', 'semicolon', 'rbrace', 'eof']);

function spanOf(token: Token): Span {
  return { start: token.start, end: token.end };
}

function join(a: Span, b: Span): Span {
  return { start: a.start, end: b.end };
}

/**
 * Parses a whole document. Never throws: any input, however broken, gives a Program (possibly
 * with no scenarios) and the syntax problems found, in document order.
 */
export function parse(text: string): ParseResult {
  const parser = new Parser(text);
  try {
    return { program: parser.parseFile(), problems: parser.problems, unfinishedBindings: parser.unfinishedBindings };
  } catch (error) {
    // A bug, not a user mistake: report it as a finding rather than break the caller.
    const detail = error instanceof Error ? error.message : String(error);
    parser.problems.push(syntaxError({ start: 0, end: 0 }, MSG.internal(detail)));
    return { program: { scenarios: [] }, problems: parser.problems, unfinishedBindings: [] };
  }
}

class Parser {
  readonly problems: Finding[] = [];
  readonly unfinishedBindings: Name[] = [];
  /** The name the current statement binds, once read; kept if the statement then breaks. */
  private binding: Name | undefined;
  private readonly tokens: Token[];
  private pos = 0;
  private lastEnd = 0;
  private blockDepth = 0;
  private parenDepth = 0;
  /** Optional parts that may still follow the statement being parsed, for "unexpected" messages. */
  private extras: string[] = [];
  private operators = 0;

  constructor(private readonly text: string) {
    this.tokens = lex(text).filter((t) => t.kind !== 'comment');
  }

  // ---------------------------------------------------------------------------------------------
  // Token cursor

  private peek(ahead = 0): Token {
    const last = this.tokens[this.tokens.length - 1] as Token;
    return this.tokens[this.pos + ahead] ?? last;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== 'eof') {
      this.pos++;
      this.lastEnd = token.end;
    }
    return token;
  }

  private isWord(token: Token, text?: string): boolean {
    return token.kind === 'word' && (text === undefined || token.text === text);
  }

  private atStatementEnd(): boolean {
    const kind = this.peek().kind;
    return END_KINDS.has(kind) || kind === 'arrow';
  }

  /** The span to blame for something missing: the token found, or its start at a line's end. */
  private blame(token: Token): Span {
    if (token.kind === 'newline' || token.kind === 'eof') return { start: token.start, end: token.start };
    return spanOf(token);
  }

  private report(span: Span, message: string): void {
    this.problems.push(syntaxError(span, message));
  }

  private fail(span: Span, message: string): never {
    this.report(span, message);
    throw ABORT;
  }

  private failExpected(what: string, where: string): never {
    const token = this.peek();
    return this.fail(this.blame(token), MSG.expected(what, where, describeFound(token.kind, token.text)));
  }

  private word(token: Token): Word {
    return { text: token.text, span: spanOf(token) };
  }

  private expectKeyword(keyword: string, where: string): Word {
    if (!this.isWord(this.peek(), keyword)) this.failExpected(`\`${keyword}\``, where);
    return this.word(this.next());
  }

  private expectWord(what: string, where: string): Word {
    if (!this.isWord(this.peek())) this.failExpected(what, where);
    return this.word(this.next());
  }

  private expectName(what: string, where: string): Name {
    return this.expectWord(what, where);
  }

  /** Reads the name a statement binds, remembering it in case the statement breaks later. */
  private bindingName(what: string, where: string): Name {
    this.binding = this.expectName(what, where);
    return this.binding;
  }

  /**
   * Skips the rest of a broken statement: up to (not over) the next newline, `;` or `}` at this
   * level, jumping over balanced `{ … }` so a broken block head does not spill its body.
   */
  private sync(): void {
    let depth = 0;
    for (;;) {
      const token = this.peek();
      if (token.kind === 'eof') return;
      if (depth === 0 && (token.kind === 'newline' || token.kind === 'semicolon' || token.kind === 'rbrace')) return;
      if (token.kind === 'lbrace') depth++;
      if (token.kind === 'rbrace') depth--;
      this.next();
    }
  }

  private skipSeparators(): void {
    while (this.peek().kind === 'newline' || this.peek().kind === 'semicolon') this.next();
  }

  /** A `scenario "…"` head at statement start: a sign that a `}` is missing above it. */
  private atScenarioHead(): boolean {
    return this.isWord(this.peek(), 'scenario') && this.peek(1).kind === 'string';
  }

  // ---------------------------------------------------------------------------------------------
  // File and scenarios

  parseFile(): Program {
    const scenarios: Scenario[] = [];
    for (;;) {
      this.skipSeparators();
      const token = this.peek();
      if (token.kind === 'eof') break;
      if (this.isWord(token, 'scenario')) {
        scenarios.push(this.parseScenario());
        continue;
      }
      this.report(this.blame(token), MSG.expectedScenario(describeFound(token.kind, token.text)));
      if (token.kind === 'rbrace') this.next();
      else this.sync();
    }
    return { scenarios };
  }

  private parseScenario(): Scenario {
    const keyword = this.next();
    let title = '';
    let titleSpan: Span = { start: keyword.end, end: keyword.end };
    const titleToken = this.peek();
    if (titleToken.kind === 'string') {
      this.next();
      if (titleToken.error !== undefined) this.report(spanOf(titleToken), titleToken.error);
      title = titleToken.str ?? '';
      titleSpan = spanOf(titleToken);
    } else {
      this.report(this.blame(titleToken), MSG.expected('a title string', 'after `scenario`', describeFound(titleToken.kind, titleToken.text)));
    }
    const headSpan = join(spanOf(keyword), titleSpan);
    let open = this.peek();
    if (open.kind !== 'lbrace') {
      this.report(this.blame(open), MSG.expected('`{`', 'after the scenario title', describeFound(open.kind, open.text)));
      // A `{` on the next line is still taken as the opening brace, so one mistake is one error.
      let ahead = 0;
      while (this.peek(ahead).kind === 'newline') ahead++;
      if (this.peek(ahead).kind === 'lbrace') {
        this.pos += ahead;
        open = this.next();
      } else {
        this.sync();
      }
    } else {
      this.next();
    }
    const { body, close } = this.parseBody('top', open, 'the scenario');
    return {
      title,
      titleSpan,
      span: { start: keyword.start, end: Math.max(close.end, headSpan.end) },
      headSpan,
      closeSpan: close,
      body: body as TopStmt[],
    };
  }

  /**
   * Parses statements up to the `}` matching `open`. Statements that do not belong in `context`
   * are reported and dropped; header statements after other statements are reported and kept.
   */
  private parseBody(context: BlockContext, open: Token, what: string): { body: Stmt[]; close: Span } {
    const body: Stmt[] = [];
    let seenNonHeader = false;
    for (;;) {
      this.skipSeparators();
      const token = this.peek();
      if (token.kind === 'rbrace') {
        this.next();
        return { body, close: spanOf(token) };
      }
      if (token.kind === 'eof') {
        this.report(open.kind === 'lbrace' ? spanOf(open) : this.blame(token), MSG.unclosed(`the \`{\` of ${what}`));
        return { body, close: { start: token.start, end: token.start } };
      }
      if (this.atScenarioHead()) {
        this.report(this.blame(token), MSG.missingClose(what));
        return { body, close: { start: token.start, end: token.start } };
      }
      const stmt = this.parseStatementLine(context);
      if (stmt === undefined) continue;
      // `expect race` and `expect diagnostic` share their keyword with `expect` but are top-level only.
      const isTopExpect = stmt.kind === 'expect_race' || stmt.kind === 'expect_diagnostic';
      const placement = isTopExpect ? 'top' : (PLACEMENT.get(stmt.keyword.text) ?? 'top');
      if (!ALLOWED[placement].includes(context)) {
        this.report(stmt.keyword.span, MSG.misplaced(stmt.keyword.text, WHERE_ALLOWED[placement]));
        continue;
      }
      if (placement === 'header') {
        if (seenNonHeader) this.report(stmt.keyword.span, MSG.headerLate(stmt.keyword.text));
      } else {
        seenNonHeader = true;
      }
      body.push(stmt);
    }
  }

  /** One statement and its end; on a syntax error, skips to the end of the statement. */
  private parseStatementLine(context: BlockContext): Stmt | undefined {
    try {
      this.extras = [];
      this.operators = 0;
      this.binding = undefined;
      const stmt = this.parseStatement(context);
      if (this.peek().kind === 'arrow') {
        stmt.result = this.parseResult();
        stmt.span = { start: stmt.span.start, end: this.lastEnd };
      }
      // A block cut short by the next scenario's head has already reported the missing `}`.
      if (!END_KINDS.has(this.peek().kind) && !this.atScenarioHead()) {
        // The statement itself is sound, so it stays in the tree (its bindings with it); only
        // the rest of the line is skipped.
        const token = this.peek();
        const allowed = stmt.result ? [';'] : [...this.extras, ';', '=>'];
        this.report(this.blame(token), MSG.unexpectedAfter(describeFound(token.kind, token.text), stmt.keyword.text, allowed));
        this.sync();
      }
      return stmt;
    } catch (error) {
      if (error !== ABORT) throw error;
      if (this.binding) this.unfinishedBindings.push(this.binding);
      this.sync();
      return undefined;
    }
  }

  private parseStatement(context: BlockContext): Stmt {
    const token = this.peek();
    if (token.kind !== 'word') {
      const message = token.kind === 'invalid' && token.error !== undefined ? token.error : MSG.notAStatement(describeFound(token.kind, token.text));
      return this.fail(this.blame(token), message);
    }
    const keyword = this.word(this.next());
    const stmt = this.parseKeywordStatement(keyword, context);
    if (stmt === undefined) {
      const message = token.text === 'else' ? '`else` must follow the `}` of an `if` block' : MSG.unknownStatement(token.text, CONTEXT_NAME[context]);
      return this.fail(keyword.span, message);
    }
    return stmt;
  }

  private stmtSpan(keyword: Word): Span {
    return { start: keyword.span.start, end: this.lastEnd };
  }

  // ---------------------------------------------------------------------------------------------
  // Statements

  /**
   * Every statement parser is entered with the keyword consumed and returns with the cursor on
   * the first token after the statement's own words (`=>` and the statement end are handled by
   * the caller). Required arguments come in the spec's order, so a missing one can be named.
   * Headers (§2), `let`/`expect` (§3, §7), blocks and top-level statements are handled here;
   * the per-block tables below take the rest.
   */
  private parseKeywordStatement(keyword: Word, context: BlockContext): Stmt | undefined {
    const k = keyword.text;
    const setMemoryOp = SET_MEMORY_OPS.get(k);
    if (setMemoryOp !== undefined) {
      const addr = this.expr('an address', `after \`${k}\``);
      this.expectKeyword('pages', `after the address in \`${k}\``);
      const pages = this.expr('a page count', 'after `pages`');
      return { kind: 'set_memory', keyword, op: setMemoryOp, addr, pages, span: this.stmtSpan(keyword) };
    }
    switch (k) {
      case 'arch':
        return this.parseArch(keyword);
      case 'feature': {
        const features: Word[] = [this.expectWord('a feature name', 'after `feature`')];
        while (this.isWord(this.peek())) features.push(this.word(this.next()));
        return { kind: 'feature', keyword, features, span: this.stmtSpan(keyword) };
      }
      case 'thp':
      case 'accounting': {
        const mode = this.expectWord(k === 'thp' ? '`always`, `madvise` or `never`' : '`series` or `legacy`', `after \`${k}\``);
        return { kind: k, keyword, mode, span: this.stmtSpan(keyword) };
      }
      case 'let': {
        const name = this.bindingName('a name', 'after `let`');
        if (this.peek().kind !== 'assign') this.failExpected('`=`', `after \`let ${name.text}\``);
        this.next();
        const value = this.expr('a value', `after \`let ${name.text} =\``);
        return { kind: 'let', keyword, name, value, span: this.stmtSpan(keyword) };
      }
      case 'expect':
        return this.parseExpect(keyword);
      case 'kernel': {
        const open = this.openBrace('after `kernel`');
        const { body, close } = this.parseNested('kernel', open, 'the `kernel` block');
        return { kind: 'kernel', keyword, body: body as KernelStmt[], closeSpan: close, span: this.stmtSpan(keyword) };
      }
      case 'process': {
        const name = this.bindingName('a process name', 'after `process`');
        const open = this.openBrace(`after \`process ${name.text}\``);
        const { body, close } = this.parseNested('process', open, `the \`process ${name.text}\` block`);
        return { kind: 'process', keyword, name, body: body as ProcessStmt[], closeSpan: close, span: this.stmtSpan(keyword) };
      }
      case 'concurrent':
        return this.parseConcurrent(keyword);
      case 'thread':
        return this.parseThread(keyword);
      case 'fork': {
        const parent = this.expectName('a process name', 'after `fork`');
        this.expectKeyword('as', `after \`fork ${parent.text}\``);
        const child = this.bindingName('a name for the child process', 'after `as`');
        return { kind: 'fork', keyword, parent, child, span: this.stmtSpan(keyword) };
      }
      case 'exit': {
        const process = this.expectName('a process name', 'after `exit`');
        return { kind: 'exit', keyword, process, span: this.stmtSpan(keyword) };
      }
      default:
        return (
          this.parseKernelStatement(keyword) ??
          this.parseTableStatement(keyword) ??
          this.parseProcessStatement(keyword) ??
          this.parseThreadStatement(keyword, context)
        );
    }
  }

  /** `arch NAME [KEY=VALUE]…` (spec §2); which keys and values are valid is the checker's call. */
  private parseArch(keyword: Word): Stmt {
    const arch = this.expectWord('an architecture (`x86_64`, `arm64`, `riscv64`, `x86_pae` or `arm_lpae`)', 'after `arch`');
    const options: ArchOption[] = [];
    while (this.isWord(this.peek())) {
      const key = this.word(this.next());
      if (this.peek().kind !== 'assign') this.failExpected('`=`', `after the option \`${key.text}\``);
      this.next();
      options.push({ key, value: this.optionValue(key.text), span: this.stmtSpan(key) });
    }
    return { kind: 'arch', keyword, arch, options, span: this.stmtSpan(keyword) };
  }

  /** An option value is taken as written: `4k`, `48` and `sv39` are all plain words here. */
  private optionValue(key: string): Word {
    const token = this.peek();
    if (token.kind !== 'word' && token.kind !== 'number') this.failExpected('a value', `after \`${key}=\``);
    return this.word(this.next());
  }

  /**
   * `expect EXPR OP EXPR` (spec §7), `expect race KIND` and `expect diagnostic CODE` (§6, §9).
   * Against a symbolic query (`leaf`, `prot`, `guard`) the other side is a bare word, kept as a
   * SymbolExpr so that `pmd` is never looked up as a name.
   */
  private parseExpect(keyword: Word): Stmt {
    const first = this.peek();
    const second = this.peek(1);
    const third = this.peek(2);
    if (this.isWord(first, 'race') && this.isWord(second) && (END_KINDS.has(third.kind) || third.kind === 'arrow')) {
      this.next();
      const race = this.word(this.next());
      return { kind: 'expect_race', keyword, race, span: this.stmtSpan(keyword) };
    }
    if (this.isWord(first, 'diagnostic') && this.isWord(second)) {
      this.next();
      return { kind: 'expect_diagnostic', keyword, code: this.diagnosticCode(), span: this.stmtSpan(keyword) };
    }
    let left = this.expr('a query or value', 'after `expect`');
    const opToken = this.peek();
    if (opToken.kind !== 'compare') this.failExpected('a comparison (`==`, `!=`, `<`, `<=`, `>` or `>=`)', 'in `expect`');
    this.next();
    const op = opToken.text as CompareOp;
    let right: Expr;
    const rightToken = this.peek();
    const isQueryCall = this.isWord(rightToken) && QUERY_NAMES.has(rightToken.text) && this.peek(1).kind === 'lparen';
    if (isSymbolicQuery(left) && this.isWord(rightToken) && !isQueryCall) {
      this.next();
      right = { kind: 'symbol', text: rightToken.text, span: spanOf(rightToken) };
    } else {
      right = this.expr(isSymbolicQuery(left) ? 'a symbol such as `pmd`, `rw` or `true`' : 'a value', `after \`${op}\``);
      if (isSymbolicQuery(right) && left.kind === 'name') {
        const symbol: SymbolExpr = { kind: 'symbol', text: left.name.text, span: left.span };
        left = symbol;
      }
    }
    return { kind: 'expect', keyword, left, op, right, span: this.stmtSpan(keyword) };
  }

  /** A diagnostic code: words joined by `-` with nothing in between (`partial-block-overlap`). */
  private diagnosticCode(): Word {
    const first = this.next();
    let end = first.end;
    while (this.peek().kind === 'minus' && this.peek().start === end && this.isWord(this.peek(1)) && this.peek(1).start === this.peek().end) {
      this.next();
      end = this.next().end;
    }
    return { text: this.text.slice(first.start, end), span: { start: first.start, end } };
  }

  /** `=> ok | segv | value EXPR | ERRNO` (spec §6); an unknown word is left to the checker. */
  private parseResult(): ResultSpec {
    this.next();
    const token = this.peek();
    if (!this.isWord(token)) this.failExpected('a result (`ok`, `segv`, `value N` or an errno such as `EINVAL`)', 'after `=>`');
    this.next();
    switch (token.text) {
      case 'ok':
        return { kind: 'ok', span: spanOf(token) };
      case 'segv':
        return { kind: 'segv', span: spanOf(token) };
      case 'value': {
        const value = this.expr('a value', 'after `=> value`');
        return { kind: 'value', value, span: { start: token.start, end: this.lastEnd } };
      }
      default:
        return { kind: 'errno', errno: this.word(token), span: spanOf(token) };
    }
  }

  /** Kernel statements (spec §4): `map`, `vmalloc`, `set_memory_*`, `ptdump` and the rest. */
  private parseKernelStatement(keyword: Word): Stmt | undefined {
    const k = keyword.text;
    switch (k) {
      case 'map': {
        const va = this.expr('an address', 'after `map`');
        this.expectKeyword('size', 'after the address in `map`');
        const size = this.expr('a size', 'after `size`');
        this.expectKeyword('phys', 'after the size in `map`');
        const phys = this.expr('a physical address', 'after `phys`');
        this.expectKeyword('prot', 'after the physical address in `map`');
        const prot = this.protWord();
        let leaf: Word | undefined;
        let nocont: Word | undefined;
        for (;;) {
          this.extras = [...(leaf ? [] : ['leaf=']), ...(nocont ? [] : ['nocont'])];
          const token = this.peek();
          if (this.isWord(token, 'leaf') && this.peek(1).kind === 'assign') {
            if (leaf) this.fail(spanOf(token), MSG.duplicateOption('leaf='));
            this.next();
            this.next();
            leaf = this.optionValue('leaf');
          } else if (this.isWord(token, 'nocont')) {
            if (nocont) this.fail(spanOf(token), MSG.duplicateOption('nocont'));
            nocont = this.word(this.next());
          } else {
            break;
          }
        }
        return { kind: 'map', keyword, va, size, phys, prot, ...(leaf && { leaf }), ...(nocont && { nocont }), span: this.stmtSpan(keyword) };
      }
      case 'unmap': {
        const va = this.expr('an address', 'after `unmap`');
        this.expectKeyword('size', 'after the address in `unmap`');
        const size = this.expr('a size', 'after `size`');
        return { kind: 'unmap', keyword, va, size, span: this.stmtSpan(keyword) };
      }
      case 'vmalloc': {
        const name = this.bindingName('a name', 'after `vmalloc`');
        this.expectKeyword('size', `after \`vmalloc ${name.text}\``);
        const size = this.expr('a size', 'after `size`');
        let prot: Word | undefined;
        let huge: Word | undefined;
        for (;;) {
          this.extras = [...(prot ? [] : ['prot']), ...(huge ? [] : ['huge'])];
          const token = this.peek();
          if (this.isWord(token, 'prot')) {
            if (prot) this.fail(spanOf(token), MSG.duplicateOption('prot'));
            this.next();
            prot = this.protWord();
          } else if (this.isWord(token, 'huge')) {
            if (huge) this.fail(spanOf(token), MSG.duplicateOption('huge'));
            huge = this.word(this.next());
          } else {
            break;
          }
        }
        return { kind: 'vmalloc', keyword, name, size, ...(prot && { prot }), ...(huge && { huge }), span: this.stmtSpan(keyword) };
      }
      case 'vfree': {
        const name = this.expectName('a vmalloc name', 'after `vfree`');
        return { kind: 'vfree', keyword, name, span: this.stmtSpan(keyword) };
      }
      case 'set_memory_valid': {
        const addr = this.expr('an address', 'after `set_memory_valid`');
        this.expectKeyword('pages', 'after the address in `set_memory_valid`');
        const pages = this.expr('a page count', 'after `pages`');
        const valid = this.expectWord('`on` or `off`', 'after the page count in `set_memory_valid`');
        return { kind: 'set_memory_valid', keyword, addr, pages, valid, span: this.stmtSpan(keyword) };
      }
      case 'set_direct_map_invalid':
      case 'set_direct_map_default': {
        const addr = this.expr('an address', `after \`${k}\``);
        const op = k === 'set_direct_map_invalid' ? 'invalid' : 'default';
        return { kind: 'set_direct_map', keyword, op, addr, span: this.stmtSpan(keyword) };
      }
      case 'alloc_pgtable_page':
      case 'free_pgtable_page': {
        const name = k === 'alloc_pgtable_page' ? this.bindingName('a page name', `after \`${k}\``) : this.expectName('a page name', `after \`${k}\``);
        return { kind: k, keyword, name, span: this.stmtSpan(keyword) };
      }
      case 'ptdump': {
        if (this.atStatementEnd()) return { kind: 'ptdump', keyword, span: this.stmtSpan(keyword) };
        const addr = this.expr('an address', 'after `ptdump`');
        this.expectKeyword('size', 'after the address in `ptdump`');
        const size = this.expr('a size', 'after `size`');
        return { kind: 'ptdump', keyword, addr, size, span: this.stmtSpan(keyword) };
      }
      case 'check_wx':
        return { kind: 'check_wx', keyword, span: this.stmtSpan(keyword) };
      default:
        return undefined;
    }
  }

  /** Table-page statements (spec §8), valid in kernel, process and thread blocks. */
  private parseTableStatement(keyword: Word): Stmt | undefined {
    const k = keyword.text;
    switch (k) {
      case 'pgtable_alloc': {
        const level = this.expectWord('a level (`pgd`, `p4d`, `pud`, `pmd` or `pte`)', 'after `pgtable_alloc`');
        this.expectKeyword('as', `after \`pgtable_alloc ${level.text}\``);
        const name = this.bindingName('a table name', 'after `as`');
        this.extras = ['noctor'];
        const noctor = this.isWord(this.peek(), 'noctor') ? this.word(this.next()) : undefined;
        return { kind: 'pgtable_alloc', keyword, level, name, ...(noctor && { noctor }), span: this.stmtSpan(keyword) };
      }
      case 'pgtable_ctor':
      case 'pgtable_dtor': {
        const name = this.expectName('a table name', `after \`${k}\``);
        return { kind: k, keyword, name, span: this.stmtSpan(keyword) };
      }
      case 'pgtable_free': {
        const name = this.expectName('a table name', 'after `pgtable_free`');
        this.extras = ['nodtor'];
        const nodtor = this.isWord(this.peek(), 'nodtor') ? this.word(this.next()) : undefined;
        return { kind: 'pgtable_free', keyword, name, ...(nodtor && { nodtor }), span: this.stmtSpan(keyword) };
      }
      case 'populate': {
        const addr = this.expr('an address', 'after `populate`');
        this.expectKeyword('with', 'after the address in `populate`');
        const name = this.expectName('a table name', 'after `with`');
        return { kind: 'populate', keyword, addr, name, span: this.stmtSpan(keyword) };
      }
      case 'clear': {
        const level = this.expectWord('a level (`pgd`, `p4d`, `pud`, `pmd` or `pte`)', 'after `clear`');
        const addr = this.expr('an address', `after \`clear ${level.text}\``);
        return { kind: 'clear', keyword, level, addr, span: this.stmtSpan(keyword) };
      }
      default:
        return undefined;
    }
  }

  /** Process statements (spec §5): the system calls and accesses of one mm. */
  private parseProcessStatement(keyword: Word): Stmt | undefined {
    const k = keyword.text;
    switch (k) {
      case 'mmap': {
        // `at` is optional and comes before `size`, as MAP_FIXED's address does in the spec.
        const name = this.bindingName('a name', 'after `mmap`');
        let at: Expr | undefined;
        if (this.isWord(this.peek(), 'at')) {
          this.next();
          at = this.expr('an address', 'after `at`');
        }
        this.expectKeyword('size', at ? 'after the address in `mmap`' : `after \`mmap ${name.text}\``);
        const size = this.expr('a size', 'after `size`');
        this.expectKeyword('prot', 'after the size in `mmap`');
        const prot = this.protWord();
        const flags: Word[] = [];
        for (;;) {
          const remaining: string[] = MMAP_FLAGS.filter((f) => !flags.some((w) => w.text === f));
          this.extras = remaining;
          const token = this.peek();
          if (!this.isWord(token) || !(MMAP_FLAGS as readonly string[]).includes(token.text)) break;
          if (!remaining.includes(token.text)) this.fail(spanOf(token), MSG.duplicateOption(token.text));
          flags.push(this.word(this.next()));
        }
        return { kind: 'mmap', keyword, name, ...(at && { at }), size, prot, flags, span: this.stmtSpan(keyword) };
      }
      case 'munmap':
      case 'munlock': {
        const addr = this.expr('an address', `after \`${k}\``);
        this.expectKeyword('size', `after the address in \`${k}\``);
        const size = this.expr('a size', 'after `size`');
        return { kind: k, keyword, addr, size, span: this.stmtSpan(keyword) };
      }
      case 'mprotect': {
        const addr = this.expr('an address', 'after `mprotect`');
        this.expectKeyword('size', 'after the address in `mprotect`');
        const size = this.expr('a size', 'after `size`');
        this.expectKeyword('prot', 'after the size in `mprotect`');
        const prot = this.protWord();
        return { kind: 'mprotect', keyword, addr, size, prot, span: this.stmtSpan(keyword) };
      }
      case 'madvise': {
        const addr = this.expr('an address', 'after `madvise`');
        this.expectKeyword('size', 'after the address in `madvise`');
        const size = this.expr('a size', 'after `size`');
        const advice = this.expectWord('an advice such as `dontneed` or `guard_install`', 'after the size in `madvise`');
        return { kind: 'madvise', keyword, addr, size, advice, span: this.stmtSpan(keyword) };
      }
      case 'mremap': {
        const addr = this.expr('an address', 'after `mremap`');
        this.expectKeyword('size', 'after the address in `mremap`');
        const size = this.expr('a size', 'after `size`');
        this.expectKeyword('to', 'after the size in `mremap`');
        const to = this.expr('an address', 'after `to`');
        let newSize: Expr | undefined;
        this.extras = ['size', 'dontunmap'];
        if (this.isWord(this.peek(), 'size')) {
          this.next();
          newSize = this.expr('a size', 'after `size`');
        }
        this.extras = ['dontunmap'];
        const dontunmap = this.isWord(this.peek(), 'dontunmap') ? this.word(this.next()) : undefined;
        return { kind: 'mremap', keyword, addr, size, to, ...(newSize && { newSize }), ...(dontunmap && { dontunmap }), span: this.stmtSpan(keyword) };
      }
      case 'mlock': {
        const addr = this.expr('an address', 'after `mlock`');
        this.expectKeyword('size', 'after the address in `mlock`');
        const size = this.expr('a size', 'after `size`');
        this.extras = ['onfault'];
        const onfault = this.isWord(this.peek(), 'onfault') ? this.word(this.next()) : undefined;
        return { kind: 'mlock', keyword, addr, size, ...(onfault && { onfault }), span: this.stmtSpan(keyword) };
      }
      case 'read':
      case 'exec': {
        const addr = this.expr('an address', `after \`${k}\``);
        return { kind: k, keyword, addr, span: this.stmtSpan(keyword) };
      }
      case 'write': {
        const addr = this.expr('an address', 'after `write`');
        this.extras = ['value'];
        let value: Expr | undefined;
        if (this.isWord(this.peek(), 'value')) {
          this.next();
          value = this.expr('a value', 'after `value`');
        }
        return { kind: 'write', keyword, addr, ...(value && { value }), span: this.stmtSpan(keyword) };
      }
      case 'touch': {
        const addr = this.expr('an address', 'after `touch`');
        this.expectKeyword('size', 'after the address in `touch`');
        const size = this.expr('a size', 'after `size`');
        this.extras = ['read', 'write'];
        const token = this.peek();
        const access = this.isWord(token, 'read') || this.isWord(token, 'write') ? this.word(this.next()) : undefined;
        return { kind: 'touch', keyword, addr, size, ...(access && { access }), span: this.stmtSpan(keyword) };
      }
      default:
        return undefined;
    }
  }

  /** Thread-only statements (spec §9): locks, static keys, walks, table frees, loads and rmw. */
  private parseThreadStatement(keyword: Word, context: BlockContext): Stmt | undefined {
    const k = keyword.text;
    switch (k) {
      case 'lock':
      case 'unlock': {
        const lock = this.expectName('a lock name such as `init_mm`', `after \`${k}\``);
        const mode = this.expectWord('`read` or `write`', `after \`${k} ${lock.text}\``);
        return { kind: k, keyword, lock, mode, span: this.stmtSpan(keyword) };
      }
      case 'static_branch_enable':
      case 'static_branch_disable': {
        const key = this.expectName('a static key name', `after \`${k}\``);
        return { kind: k, keyword, key, span: this.stmtSpan(keyword) };
      }
      case 'if':
        return this.parseIf(keyword, context);
      case 'walk': {
        const space = this.expectWord('`kernel`', 'after `walk`');
        if (this.atStatementEnd()) return { kind: 'walk', keyword, space, span: this.stmtSpan(keyword) };
        const addr = this.expr('an address', `after \`walk ${space.text}\``);
        this.expectKeyword('size', 'after the address in `walk`');
        const size = this.expr('a size', 'after `size`');
        return { kind: 'walk', keyword, space, addr, size, span: this.stmtSpan(keyword) };
      }
      case 'pud_free_pmd_page':
      case 'pmd_free_pte_page': {
        const addr = this.expr('an address', `after \`${k}\``);
        this.extras = ['variant='];
        const stmt: FreeTableStmt = { kind: k, keyword, addr, span: keyword.span };
        if (this.isWord(this.peek(), 'variant') && this.peek(1).kind === 'assign') {
          this.next();
          this.next();
          stmt.variant = this.optionValue('variant');
          this.extras = [];
        }
        stmt.span = this.stmtSpan(keyword);
        return stmt;
      }
      case 'load': {
        const level = this.expectWord('a level (`pgd`, `p4d`, `pud`, `pmd` or `pte`)', 'after `load`');
        const addr = this.expr('an address', `after \`load ${level.text}\``);
        return { kind: 'load', keyword, level, addr, span: this.stmtSpan(keyword) };
      }
      case 'rmw':
        return this.parseRmw(keyword);
      default:
        return undefined;
    }
  }

  /** `rmw LEVEL ADDR set BITS clear BITS`: either part may be left out, in either order. */
  private parseRmw(keyword: Word): Stmt {
    const level = this.expectWord('a level (`pgd`, `p4d`, `pud`, `pmd` or `pte`)', 'after `rmw`');
    const addr = this.expr('an address', `after \`rmw ${level.text}\``);
    let set: BitsItem[] | undefined;
    let clear: BitsItem[] | undefined;
    for (;;) {
      this.extras = [...(set ? [] : ['set']), ...(clear ? [] : ['clear'])];
      const token = this.peek();
      if (this.isWord(token, 'set') || this.isWord(token, 'clear')) {
        if ((token.text === 'set' ? set : clear) !== undefined) this.fail(spanOf(token), MSG.duplicateOption(token.text));
        this.next();
        const bits = this.bits(token.text);
        if (token.text === 'set') set = bits;
        else clear = bits;
      } else {
        break;
      }
    }
    if (set === undefined && clear === undefined) this.failExpected('`set` or `clear`', 'after the address in `rmw`');
    return { kind: 'rmw', keyword, level, addr, set: set ?? [], clear: clear ?? [], span: this.stmtSpan(keyword) };
  }

  /** BITS: `|`-separated descriptor bit names as the kernel spells them, or numbers. */
  private bits(part: string): BitsItem[] {
    const items: BitsItem[] = [];
    for (;;) {
      const token = this.peek();
      if (this.isWord(token)) {
        items.push({ kind: 'bit', name: this.word(this.next()) });
      } else {
        const where = items.length === 0 ? `after \`${part}\`` : 'after `|`';
        items.push({ kind: 'value', value: this.expr('a bit name such as `PTE_RDONLY` or a number', where) });
      }
      if (this.peek().kind !== 'pipe') return items;
      this.next();
    }
  }

  /** `if KEY { … } [else { … }]`: a static-branch test inside a thread (spec §9). */
  private parseIf(keyword: Word, context: BlockContext): IfStmt {
    const key = this.expectName('a static key name', 'after `if`');
    const open = this.openBrace(`after \`if ${key.text}\``);
    const then = this.parseNested(context, open, `the \`if ${key.text}\` block`);
    const stmt: IfStmt = { kind: 'if', keyword, key, then: then.body as ThreadStmt[], span: keyword.span };
    // `else` may follow the `}` on the same line or start the next line.
    let ahead = 0;
    while (this.peek(ahead).kind === 'newline') ahead++;
    if (this.isWord(this.peek(ahead), 'else')) {
      this.pos += ahead;
      stmt.elseKeyword = this.word(this.next());
      const elseOpen = this.openBrace('after `else`');
      stmt.else = this.parseNested(context, elseOpen, 'the `else` block').body as ThreadStmt[];
    }
    stmt.span = this.stmtSpan(keyword);
    return stmt;
  }

  /** `concurrent { thread NAME { … } … }`: only thread blocks stand directly inside (spec §9). */
  private parseConcurrent(keyword: Word): Stmt {
    const open = this.openBrace('after `concurrent`');
    const threads: ThreadBlock[] = [];
    this.enterBlock(open);
    try {
      for (;;) {
        this.skipSeparators();
        const token = this.peek();
        if (token.kind === 'rbrace') {
          this.next();
          return { kind: 'concurrent', keyword, threads, closeSpan: spanOf(token), span: this.stmtSpan(keyword) };
        }
        if (token.kind === 'eof') this.report(spanOf(open), MSG.unclosed('the `{` of the `concurrent` block'));
        else if (this.atScenarioHead()) this.report(this.blame(token), MSG.missingClose('the `concurrent` block'));
        if (token.kind === 'eof' || this.atScenarioHead()) {
          return { kind: 'concurrent', keyword, threads, closeSpan: { start: token.start, end: token.start }, span: this.stmtSpan(keyword) };
        }
        if (!this.isWord(token, 'thread')) {
          this.report(this.blame(token), MSG.onlyThreads(describeFound(token.kind, token.text)));
          this.sync();
          continue;
        }
        const thread = this.parseStatementLine('thread');
        if (thread?.kind === 'thread') threads.push(thread);
      }
    } finally {
      this.blockDepth--;
    }
  }

  /** `thread NAME { … }`; parsed anywhere, accepted only inside `concurrent`. */
  private parseThread(keyword: Word): ThreadBlock {
    const name = this.expectName('a thread name', 'after `thread`');
    const open = this.openBrace(`after \`thread ${name.text}\``);
    const { body, close } = this.parseNested('thread', open, `\`thread ${name.text}\``);
    return { kind: 'thread', keyword, name, body: body as ThreadStmt[], closeSpan: close, span: this.stmtSpan(keyword) };
  }

  private openBrace(where: string): Token {
    if (this.peek().kind !== 'lbrace') this.failExpected('`{`', where);
    return this.next();
  }

  private enterBlock(open: Token): void {
    this.blockDepth++;
    if (this.blockDepth > MAX_NESTING) {
      this.blockDepth--;
      this.report(spanOf(open), MSG.tooDeep(MAX_NESTING));
      this.skipBlockRest();
      throw ABORT;
    }
  }

  /** Skips to just past the `}` that closes an already opened block, without recursion. */
  private skipBlockRest(): void {
    let depth = 1;
    for (;;) {
      const token = this.next();
      if (token.kind === 'eof') return;
      if (token.kind === 'lbrace') depth++;
      if (token.kind === 'rbrace' && --depth === 0) return;
    }
  }

  private parseNested(context: BlockContext, open: Token, what: string): { body: Stmt[]; close: Span } {
    this.enterBlock(open);
    try {
      return this.parseBody(context, open, what);
    } finally {
      this.blockDepth--;
    }
  }

  private protWord(): Word {
    return this.expectWord('a protection (`r`, `rw`, `rx`, `rwx` or `none`)', 'after `prot`');
  }

  // ---------------------------------------------------------------------------------------------
  // Expressions: `+ -` below `*`, left-associative; operands are numbers, names, queries and
  // parenthesised expressions (spec §1, §7).

  private expr(what: string, where: string): Expr {
    const token = this.peek();
    if (!startsOperand(token)) this.failExpected(what, where);
    return this.additive();
  }

  private additive(): Expr {
    let left = this.term();
    while (this.peek().kind === 'plus' || this.peek().kind === 'minus') {
      this.countOperator();
      const op = this.next().text as '+' | '-';
      const right = this.operand(`after \`${op}\``, () => this.term());
      left = binary(op, left, right, join(left.span, right.span));
    }
    return left;
  }

  private term(): Expr {
    let left = this.primary();
    while (this.peek().kind === 'star') {
      this.countOperator();
      this.next();
      const right = this.operand('after `*`', () => this.primary());
      left = binary('*', left, right, join(left.span, right.span));
    }
    return left;
  }

  private countOperator(): void {
    if (++this.operators > MAX_OPERATORS) this.fail(spanOf(this.peek()), MSG.tooManyOperators(MAX_OPERATORS));
  }

  private operand(where: string, parse: () => Expr): Expr {
    if (!startsOperand(this.peek())) this.failExpected('a number, a name or `(`', where);
    return parse();
  }

  private primary(): Expr {
    const token = this.peek();
    switch (token.kind) {
      case 'number': {
        this.next();
        if (token.value === undefined) this.fail(spanOf(token), token.error ?? `${quote(token.text)} is not a number`);
        return { kind: 'number', digits: token.value, exact: exactDigits(token.value), ...(token.unit && { unit: token.unit }), span: spanOf(token) };
      }
      case 'lparen': {
        this.next();
        this.enterParen(token);
        try {
          const inner = this.expr('an expression', 'after `(`');
          if (this.peek().kind !== 'rparen') this.failExpected('`)`', 'to close the `(`');
          const close = this.next();
          // The span covers the parentheses, so a binary node around it spans its whole text.
          return { ...inner, span: join(spanOf(token), spanOf(close)) };
        } finally {
          this.parenDepth--;
        }
      }
      case 'word': {
        this.next();
        const name: Name = this.word(token);
        // Address queries need their `(`; alone, `value` or `leaf` is an ordinary name, so
        // `let value = 1` stays usable. The other query words are queries even when bare.
        if (QUERY_NAMES.has(token.text)) {
          const query = token.text as QueryName;
          const isAddressQuery = query === 'leaf' || query === 'prot' || query === 'guard' || query === 'value';
          if (!isAddressQuery || this.peek().kind === 'lparen') return this.query(query, name);
        }
        return { kind: 'name', name, span: name.span };
      }
      default:
        return this.failExpected('a number, a name or `(`', 'here');
    }
  }

  private enterParen(open: Token): void {
    this.parenDepth++;
    if (this.parenDepth > MAX_NESTING) {
      this.parenDepth--;
      this.fail(spanOf(open), MSG.tooDeep(MAX_NESTING));
    }
  }

  /** A query of spec §7 whose name has just been read. */
  private query(query: QueryName, queryName: Word): QueryExpr {
    const base: QueryExpr = { kind: 'query', query, queryName, span: queryName.span };
    const open = this.peek();
    if (COUNTER_QUERIES.has(query)) {
      if (open.kind === 'lparen') this.fail(spanOf(open), MSG.queryNoArgs(query));
      return base;
    }
    if (open.kind !== 'lparen') return base;
    this.next();
    this.enterParen(open);
    try {
      switch (query) {
        case 'vmas':
        case 'pgtables_bytes':
        case 'accounted':
          base.space = this.expectName('a process name or `kernel`', `in \`${query}(…)\``);
          break;
        case 'tables': {
          const first = this.expectWord('a level or a process name', 'in `tables(…)`');
          if (this.peek().kind === 'comma') {
            this.next();
            base.space = first;
            base.level = this.expectWord('a level (`pgd`, `p4d`, `pud`, `pmd` or `pte`)', `after \`tables(${first.text},\``);
          } else {
            base.level = first;
          }
          break;
        }
        default: {
          const first = this.expr('an address', `in \`${query}(…)\``);
          if (this.peek().kind === 'comma') {
            if (first.kind !== 'name') this.fail(first.span, MSG.queryArgs(query, `an address, or a process name and an address: ${query}(p, ADDR)`));
            this.next();
            base.space = first.name;
            base.addr = this.expr('an address', `after \`${query}(${first.name.text},\``);
          } else {
            base.addr = first;
          }
        }
      }
      if (this.peek().kind !== 'rparen') this.failExpected('`)`', `to close \`${query}(\``);
      base.span = join(queryName.span, spanOf(this.next()));
      return base;
    } finally {
      this.parenDepth--;
    }
  }
}

function startsOperand(token: Token): boolean {
  return token.kind === 'number' || token.kind === 'word' || token.kind === 'lparen';
}

/** A symbolic query standing alone (not inside arithmetic), whose value is a word. */
export function isSymbolicQuery(expr: Expr): expr is QueryExpr {
  return expr.kind === 'query' && SYMBOLIC_QUERY_NAMES.has(expr.query);
}
