// The execution context statements run in: the machine, the scenario's names, the address space
// of the enclosing block, expression evaluation and queries.

import type { Finding } from '../findings';
import type { Depth } from '../arch/profile';
import type { AddressSpace, Machine } from '../model/machine';
import type { TablePage } from '../model/table';
import { UNIT_BYTES, type Expr, type LevelName, type QueryExpr, type Span, type Stmt } from '../program';
import type { Outcome } from './outcome';
import { U64_MAX, numberToU64, u64InRangeToNumber } from '../u64';
import { leafKind, translate } from '../walk-ops/translate-ops';
import { checkWx } from '../kernel/ptdump';
import { protText } from '../arch/codec';

/** What a name is bound to. Names are scoped to their scenario (spec §3). */
export type Binding =
  | { kind: 'value'; value: bigint; span: Span }
  | { kind: 'table'; table: TablePage; span: Span }
  | { kind: 'page'; pa: number; span: Span };

/** A value an expression evaluates to: a number, or a symbol from a symbolic query. */
export type Value = bigint | string;

/** An expression could not be evaluated; the statement does not run. */
export class EvalError extends Error {
  constructor(
    readonly finding: Omit<Finding, 'severity'> & { severity?: Finding['severity'] },
  ) {
    super(finding.message);
  }
}

/** The byte units of number literals (`p`, the page size, depends on the profile). */
const UNIT_FACTORS = { K: 1n << 10n, M: 1n << 20n, G: 1n << 30n, T: 1n << 40n } as const;

/** Hooks the process model provides to queries (implemented in process/). */
export interface ProcessQueries {
  vmaCount(space: AddressSpace): number;
  /** The value last written to the page at `va`, without faulting; undefined outside memory. */
  pageValue(space: AddressSpace, va: bigint): bigint | undefined;
  isGuard(space: AddressSpace, va: bigint): boolean;
}

export class ExecContext {
  readonly names = new Map<string, Binding>();
  /** The address space of the enclosing block (init_mm at top level and in `kernel { }`). */
  space: AddressSpace;
  /** `kernel`, `process` or `top`: where queries may omit their space. */
  block: 'kernel' | 'process' | 'top' | 'thread' = 'top';
  processQueries: ProcessQueries | undefined;
  /** The host's cancellation poll, for statements that run long loops (the race explorer). */
  shouldStop: (() => boolean) | undefined;
  /**
   * Settles a statement's `=> RESULT` and reports a failure without one, as the runner does for
   * its own statements (`fresh`: the findings the statement reported). The race explorer calls
   * it for the kernel statements of a thread in the canonical schedule.
   */
  settle: ((stmt: Stmt, outcome: Outcome, fresh: Finding[]) => void) | undefined;

  /** The base page size (the `p` unit) as a Number, for `exactNum`. */
  private readonly pageBytes: number;

  constructor(readonly machine: Machine) {
    this.space = machine.kernel;
    this.pageBytes = Number(machine.profile.pageSize);
  }

  /** Every binding made during the run, in order, with the step that made it (for hovers). */
  readonly bindingLog: { name: string; step: number; binding: Binding }[] = [];

  bind(name: string, binding: Binding): void {
    this.names.set(name, binding);
    this.bindingLog.push({ name, step: this.machine.step, binding });
  }

  lookup(name: string, span: Span): Binding {
    const binding = this.names.get(name);
    if (!binding) throw new EvalError({ code: 'unknown-name', span, message: `\`${name}\` is not bound at this point of the scenario` });
    return binding;
  }

  /**
   * Evaluates to an exact unsigned 64-bit number; symbols and overflow are `bad-value`. Numbers,
   * names and arithmetic are evaluated here, not through `eval`, because every small statement
   * evaluates its arguments. Values a double holds exactly (addresses below 2^53, sizes) are
   * worked out in Numbers first (`exactNum`); a value past 2^53, a name that is not a number,
   * a query or an error takes the BigInt path (`bigNum`), which gives the exact value or the
   * finding.
   */
  num(expr: Expr): bigint {
    const exact = this.exactNum(expr);
    return exact >= 0 ? numberToU64(exact) : this.bigNum(expr);
  }

  /**
   * `expr` as a Number when it and every value on the way are integers from 0 to 2^53 - 1, else
   * -1. The operands are exact and rounding is monotonic with 2^53 representable, so a sum or
   * product at or past 2^53 never rounds below it: the bound check catches every inexact result.
   * This path reads a literal's `exact` (inside the node) rather than its `digits` (a BigInt
   * elsewhere in the heap), a `+` chain's sum from its top node rather than the nodes under it,
   * and allocates one BigInt per expression instead of one per operation. The nodes of a long
   * scenario are rarely in the cache: evaluating the address of `madvise r + 256M + 12p size 1p
   * guard_install` node by node took about a sixth of that statement. Statements whose
   * arguments are page arithmetic (process/syscall.ts rangeArgs) call it directly.
   */
  exactNum(expr: Expr): number {
    switch (expr.kind) {
      case 'number': {
        const unit = expr.unit;
        const value = unit === undefined ? expr.exact : expr.exact * (unit === 'p' ? this.pageBytes : UNIT_BYTES[unit]);
        return value >= 0 && value <= Number.MAX_SAFE_INTEGER ? value : -1;
      }
      case 'name':
        return this.exactName(expr.name.text);
      case 'binary': {
        if (expr.sumBytes >= 0) {
          // A `+` chain summed when parsed (program.ts `binary`): this node, not the ones under it.
          let value = expr.sumBytes + expr.sumPages * this.pageBytes;
          if (expr.sumName !== undefined) {
            const base = this.exactName(expr.sumName);
            if (base < 0) return -1;
            value += base;
          }
          return value <= Number.MAX_SAFE_INTEGER ? value : -1;
        }
        const left = this.exactNum(expr.left);
        if (left < 0) return -1;
        const right = this.exactNum(expr.right);
        if (right < 0) return -1;
        const value = expr.op === '+' ? left + right : expr.op === '-' ? left - right : left * right;
        return value >= 0 && value <= Number.MAX_SAFE_INTEGER ? value : -1;
      }
      default:
        return -1;
    }
  }

  /** A name bound to a number below 2^53, as a Number; else -1. */
  private exactName(name: string): number {
    const binding = this.names.get(name);
    if (binding === undefined || binding.kind !== 'value') return -1;
    const value = u64InRangeToNumber(binding.value);
    return value <= Number.MAX_SAFE_INTEGER ? value : -1;
  }

  private bigNum(expr: Expr): bigint {
    switch (expr.kind) {
      case 'number': {
        const unit = expr.unit;
        const value = unit === undefined ? expr.digits : expr.digits * (unit === 'p' ? this.machine.profile.pageSize : UNIT_FACTORS[unit]);
        // Digits and units are never negative: a literal can only be too large.
        return value > U64_MAX ? this.checked(value, expr.span) : value;
      }
      case 'name': {
        const binding = this.lookup(expr.name.text, expr.span);
        if (binding.kind === 'value') return binding.value;
        if (binding.kind === 'page') return this.linearAlias(binding.pa, expr.span);
        throw new EvalError({ code: 'unknown-name', span: expr.span, message: `\`${expr.name.text}\` names a table page, not a number` });
      }
      case 'binary': {
        const left = this.bigNum(expr.left);
        const right = this.bigNum(expr.right);
        // Of two values in range, a difference can only go below zero, a sum or product above.
        const value = expr.op === '+' ? left + right : expr.op === '-' ? left - right : left * right;
        return (expr.op === '-' ? value < 0n : value > U64_MAX) ? this.checked(value, expr.span) : value;
      }
      case 'symbol':
      case 'query': {
        const value = this.eval(expr);
        if (typeof value !== 'bigint') {
          throw new EvalError({ code: 'bad-value', span: expr.span, message: `expected a number here, found \`${value}\`` });
        }
        return value;
      }
    }
  }

  /** Evaluates to a number, or to a symbol for a symbol or a symbolic query (`leaf`, `prot`, `guard`). */
  eval(expr: Expr): Value {
    switch (expr.kind) {
      case 'symbol':
        return expr.text;
      case 'query':
        return this.query(expr);
      default:
        return this.num(expr);
    }
  }

  private checked(value: bigint, span: Span): bigint {
    if (value < 0n || value > U64_MAX) {
      throw new EvalError({ code: 'bad-value', span, message: `${value < 0n ? 'underflows' : 'overflows'} an unsigned 64-bit value` });
    }
    return value;
  }

  /** The linear-map address of a physical page (a page named by alloc_pgtable_page). */
  private linearAlias(pa: number, span: Span): bigint {
    for (const m of this.machine.linearMaps) {
      const p = BigInt(pa);
      if (p >= m.pa && p < m.pa + m.size) return m.va + (p - m.pa);
    }
    throw new EvalError({ code: 'bad-value', span, message: `physical page 0x${pa.toString(16)} is not covered by the linear map` });
  }

  /** The address space a query names, or the enclosing block's. */
  private querySpace(q: QueryExpr): AddressSpace {
    if (q.space) {
      const name = q.space.text;
      const space = this.machine.spaces.get(name === 'init_mm' ? 'kernel' : name);
      if (!space) throw new EvalError({ code: 'unknown-name', span: q.space.span, message: `no process \`${name}\` exists at this point` });
      return space;
    }
    return this.space;
  }

  query(q: QueryExpr): Value {
    const machine = this.machine;
    switch (q.query) {
      case 'vmas': {
        const space = this.querySpace(q);
        if (space.kernel) throw new EvalError({ code: 'bad-value', span: q.span, message: 'vmas() counts the VMAs of a process; init_mm has none' });
        return BigInt(this.processQueries?.vmaCount(space) ?? 0);
      }
      case 'tables': {
        const space = this.querySpace(q);
        const depth = levelDepth(q.level?.text);
        if (depth === undefined) throw new EvalError({ code: 'bad-value', span: q.level?.span ?? q.span, message: 'tables() needs a level: pgd, p4d, pud, pmd or pte' });
        if (machine.profile.levels[depth]?.folded) return 0n;
        const live = machine.liveTablesOf(space, depth).length;
        // swapper_pg_dir is not in the ledger but is a live PGD of init_mm.
        return BigInt(live + (space.kernel && depth === 0 ? 1 : 0));
      }
      case 'pgtables_bytes':
        return BigInt(this.querySpace(q).pgtablesBytes);
      case 'accounted':
        return BigInt(machine.accountedBytes(this.querySpace(q)));
      case 'leaf':
      case 'prot':
      case 'guard':
      case 'value': {
        const space = this.querySpace(q);
        if (!q.addr) throw new EvalError({ code: 'bad-value', span: q.span, message: `${q.query}() needs an address` });
        const va = this.num(q.addr);
        if (q.query === 'value') {
          if (space.kernel) throw new EvalError({ code: 'bad-value', span: q.span, message: 'value() reads process memory; use it inside a process block or as value(p, ADDR)' });
          return this.processQueries?.pageValue(space, va) ?? 0n;
        }
        if (q.query === 'guard') return this.processQueries?.isGuard(space, va) ? 'true' : 'false';
        const t = translate(machine, space, va);
        if (q.query === 'leaf') return leafKind(machine, t);
        if (t.kind !== 'leaf' || !t.prot.valid) return 'none';
        return protText({ r: t.prot.read, w: t.prot.logicalWrite && t.prot.read, x: space.kernel ? t.prot.kexec : t.prot.uexec });
      }
      case 'wx_pages':
        return checkWx(machine).wxPages;
      case 'nonuxn_pages':
        return checkWx(machine).uxnPages;
      case 'tlb_flushes':
        return BigInt(machine.counters.tlbFlushes);
      case 'barriers':
        return BigInt(machine.counters.barriers);
      case 'direct_map_splits':
        return BigInt(machine.counters.directMapSplits);
    }
  }
}

export function levelDepth(name: string | undefined): Depth | undefined {
  const index = ['pgd', 'p4d', 'pud', 'pmd', 'pte'].indexOf(name ?? '');
  return index < 0 ? undefined : (index as Depth);
}

export function isLevelName(name: string): name is LevelName {
  return levelDepth(name) !== undefined;
}
