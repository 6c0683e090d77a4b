// Hovers: on a diagnostic, the explanation of its code; on a statement keyword, the kernel
// helper it models and what the run did; on a name or number, its value.

import type { Hover, MarkupContent } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { helperDoc, hex16, levelIndices, type AddressInfo, type ArchProfile, type Expr, type Finding, type Name, type Program, type ScenarioRun, type Span, type StepInfo, type Stmt } from '../engine/index';
import { contains, toRange } from './diagnostics';
import { allStatements, scenarioAt, statementAt } from './outline';
import { profileOf } from './run';
import { CODE_EXPLANATIONS, QUERIES, statementInfo } from './vocabulary';

export interface HoverInput {
  document: TextDocument;
  program: Program;
  offset: number;
  /** Static and run findings published for this version. */
  findings: Finding[];
  /** The finished run of the scenario at the offset, when there is one for this version. */
  run: ScenarioRun | undefined;
}

type Node = { kind: 'expr'; expr: Expr } | { kind: 'name'; name: Name };

const EXPR_KINDS = new Set(['number', 'name', 'binary', 'query', 'symbol']);

/** The smallest expression or name inside `stmt` (not its nested statements) that contains `offset`. */
function nodeAt(stmt: Stmt, offset: number): Node | undefined {
  let best: Node | undefined;
  let bestSize = Infinity;
  const visit = (value: unknown, depth: number): void => {
    if (depth > 64 || typeof value !== 'object' || value === null) return;
    if (Array.isArray(value)) {
      for (const item of value) visit(item, depth + 1);
      return;
    }
    const record = value as Record<string, unknown>;
    const span = record.span as Span | undefined;
    if (span && typeof span.start === 'number' && contains(span, offset)) {
      const size = span.end - span.start;
      if (typeof record.kind === 'string' && EXPR_KINDS.has(record.kind) && size < bestSize) {
        best = { kind: 'expr', expr: value as Expr };
        bestSize = size;
      } else if (record.kind === undefined && typeof record.text === 'string' && size < bestSize) {
        best = { kind: 'name', name: value as Name };
        bestSize = size;
      }
    }
    for (const [key, child] of Object.entries(record)) {
      if (key === 'body' || key === 'then' || key === 'else' || key === 'threads' || key === 'span') continue;
      visit(child, depth + 1);
    }
  };
  visit(stmt, 0);
  return best;
}


const UNIT_BYTES: Record<string, bigint> = { K: 1n << 10n, M: 1n << 20n, G: 1n << 30n, T: 1n << 40n };
const U64_MAX = (1n << 64n) - 1n;

/**
 * The value of an expression made of numbers and `let` names bound to such expressions, or
 * undefined when it needs the run (addresses chosen by mmap/vmalloc, queries).
 */
function evaluate(expr: Expr, pageSize: bigint, lets: Map<string, Expr>, depth = 0): bigint | undefined {
  if (depth > 32) return undefined;
  switch (expr.kind) {
    case 'number': {
      const scale = expr.unit === 'p' ? pageSize : expr.unit ? (UNIT_BYTES[expr.unit] ?? 1n) : 1n;
      const value = expr.digits * scale;
      return value <= U64_MAX ? value : undefined;
    }
    case 'name': {
      const bound = lets.get(expr.name.text);
      return bound ? evaluate(bound, pageSize, lets, depth + 1) : undefined;
    }
    case 'binary': {
      const left = evaluate(expr.left, pageSize, lets, depth + 1);
      const right = evaluate(expr.right, pageSize, lets, depth + 1);
      if (left === undefined || right === undefined) return undefined;
      const value = expr.op === '+' ? left + right : expr.op === '-' ? left - right : left * right;
      return value >= 0n && value <= U64_MAX ? value : undefined;
    }
    default:
      return undefined;
  }
}

/** The per-level split and, after a run, what the address resolves to (engine inspect.ts). */
function addressLines(va: bigint, profile: ArchProfile, described: AddressInfo | undefined): string[] {
  const indices = (described?.indices ?? levelIndices(profile, va).map((index, d) => ({ level: profile.levels[d]?.name ?? '', index, folded: profile.levels[d]?.folded ?? false })))
    .map((i) => (i.folded ? `${i.level} (folded)` : `${i.level} ${i.index}`))
    .join(' · ');
  const lines = [`Indices on ${profile.label}: ${indices}`];
  if (!described) return lines;
  if (described.region) lines.push(`Region: ${described.region}`);
  const entry = described.entry;
  if (entry) {
    const prot = entry.prot ? ` ${entry.prot.read ? 'r' : '-'}${entry.prot.write ? 'w' : '-'}${entry.prot.kexec || entry.prot.uexec ? 'x' : '-'}` : '';
    lines.push(`Resolves to a ${described.leaf} ${entry.kind} at ${entry.level}[${entry.index}] of table #${entry.tableId}: \`${entry.value}\`${prot}`);
    if (entry.bits.length > 0) lines.push(`Bits: ${entry.bits.map((b) => `${b.name} (${b.value})`).join(', ')}`);
  }
  if (described.reason) lines.push(described.reason);
  return lines;
}

/** The address a name holds after the statement ending at `end` ran (mmap, vmalloc, let). */
function boundAddress(run: ScenarioRun | undefined, name: string, end: number): bigint | undefined {
  if (!run) return undefined;
  const step = run.state.stepAtOffset(end);
  if (step < 0) return undefined;
  const bound = run.state.bindingsAt(step).get(name);
  return bound?.kind === 'value' ? bound.value : undefined;
}

/** Where and how a name is bound in the scenario at `offset`, before it. */
function binding(program: Program, scenarioIndex: number, name: string, offset: number): { stmt: Stmt; kind: string } | undefined {
  let found: { stmt: Stmt; kind: string } | undefined;
  for (const { stmt, scenarioIndex: index } of allStatements(program)) {
    if (index !== scenarioIndex || stmt.span.start > offset) continue;
    if ((stmt.kind === 'let' || stmt.kind === 'mmap' || stmt.kind === 'vmalloc' || stmt.kind === 'alloc_pgtable_page' || stmt.kind === 'pgtable_alloc') && stmt.name.text === name) {
      found = { stmt, kind: stmt.kind };
    } else if (stmt.kind === 'process' && stmt.name.text === name && !found) {
      found = { stmt, kind: 'process' };
    } else if (stmt.kind === 'fork' && stmt.child.text === name) {
      found = { stmt, kind: 'process' };
    }
  }
  return found;
}

function stepLines(step: StepInfo): string[] {
  const lines = [`**Ran** in \`${step.space}\`: ${step.summary}${step.result ? ` → \`${step.result}\`` : ''}`];
  const changes = [
    step.tablesAllocated.length ? `${step.tablesAllocated.length} table(s) allocated` : '',
    step.tablesFreed.length ? `${step.tablesFreed.length} freed` : '',
    step.entriesWritten ? `${step.entriesWritten} entr${step.entriesWritten === 1 ? 'y' : 'ies'} written` : '',
    step.levelsTouched.length ? `levels ${step.levelsTouched.join(', ')}` : '',
  ].filter(Boolean);
  if (changes.length) lines.push(changes.join(' · '));
  return lines;
}

export function hover(input: HoverInput): Hover | null {
  const { document, program, offset } = input;
  const sections: string[] = [];
  let range: Span | undefined;

  const findings = input.findings.filter((f) => contains(f.span, offset));
  for (const finding of findings) {
    const explanation = CODE_EXPLANATIONS[finding.code];
    // The editor shows the diagnostic's message itself; the hover adds what the code means.
    sections.push(`**${finding.code}**${finding.expected ? ' (expected)' : ''}: ${explanation ?? finding.message}`);
  }

  const placed = statementAt(program, offset);
  const here = scenarioAt(program, offset);
  const run = input.run;
  const profile = run?.state.profile ?? profileOf(here?.scenario);
  if (placed && contains(placed.stmt.keyword.span, offset)) {
    const info = statementInfo(placed.stmt.keyword.text);
    const helper = profile ? helperDoc(profile, placed.stmt.kind) : undefined;
    const lines = [`\`${info?.signature ?? placed.stmt.keyword.text}\``];
    if (info?.doc) lines.push(info.doc);
    if (helper) lines.push(`Models \`${helper.name}\`: ${helper.doc}`);
    const steps = (run?.state.steps() ?? []).filter((step) => step.span.start >= placed.stmt.span.start && step.span.start < placed.stmt.span.end);
    for (const step of steps.slice(0, 5)) lines.push(...stepLines(step));
    sections.unshift(lines.join('\n\n'));
    range = placed.stmt.keyword.span;
  } else if (placed) {
    const node = nodeAt(placed.stmt, offset);
    const lets = new Map<string, Expr>();
    for (const { stmt, scenarioIndex } of allStatements(program)) {
      if (scenarioIndex === here?.index && stmt.kind === 'let' && stmt.span.start < offset) lets.set(stmt.name.text, stmt.value);
    }
    if (node?.kind === 'expr' && node.expr.kind === 'query') {
      const name = node.expr.query;
      const query = QUERIES.find((q) => q.name === name);
      if (query) sections.unshift(`\`${query.signature}\`: ${query.doc}`);
      range = node.expr.span;
    } else if (node?.kind === 'expr' && node.expr.kind !== 'symbol') {
      const value = (profile ? evaluate(node.expr, profile.pageSize, lets) : undefined) ?? (node.expr.kind === 'name' ? boundAddress(run, node.expr.name.text, placed.stmt.span.end) : undefined);
      const lines: string[] = [];
      if (node.expr.kind === 'name' && here) {
        const bound = binding(program, here.index, node.expr.name.text, offset);
        if (bound) lines.push(`\`${node.expr.name.text}\`: bound by \`${bound.kind}\` on line ${document.positionAt(bound.stmt.span.start).line + 1}`);
      }
      if (value !== undefined && profile) {
        lines.push(`= \`${hex16(value)}\` (${value.toString(10)})`);
        const space = placed.block === 'process' ? placed.space : 'kernel';
        const step = run ? run.state.stepAtOffset(placed.stmt.span.end) : -1;
        const described = run && step >= 0 ? run.state.describeAddress(value, step, space) : undefined;
        lines.push(...addressLines(value, profile, described));
      } else if (node.expr.kind === 'name') {
        lines.push('Its value is chosen when the scenario runs.');
      }
      if (lines.length) sections.unshift(lines.join('\n\n'));
      range = node.expr.span;
    } else if (node?.kind === 'name' && here) {
      const bound = binding(program, here.index, node.name.text, offset);
      const lines: string[] = [];
      if (bound) lines.push(`\`${node.name.text}\`: ${bound.kind === 'process' ? 'a process' : `bound by \`${bound.kind}\``} on line ${document.positionAt(bound.stmt.span.start).line + 1}`);
      // A name the statement binds (mmap, vmalloc, let): the address it got, and what maps it.
      const value = bound?.kind === 'process' ? undefined : boundAddress(run, node.name.text, placed.stmt.span.end);
      if (value !== undefined && profile && run) {
        lines.push(`= \`${hex16(value)}\` (${value.toString(10)})`);
        const step = run.state.stepAtOffset(placed.stmt.span.end);
        const space = placed.block === 'process' ? placed.space : 'kernel';
        lines.push(...addressLines(value, profile, step >= 0 ? run.state.describeAddress(value, step, space) : undefined));
      }
      if (lines.length) sections.unshift(lines.join('\n\n'));
      range = node.name.span;
    }
  }

  if (sections.length === 0) return null;
  const contents: MarkupContent = { kind: 'markdown', value: sections.join('\n\n---\n\n') };
  const anchor = range ?? findings[0]?.span;
  return anchor ? { contents, range: toRange(document, anchor) } : { contents };
}
