// Page-table pages of seed 001: where every page-table page comes from (the engine's own table
// allocations through Machine.allocTable, and alloc_pgtable_page), the cache of pte-mapped pages
// refilled a PMD-sized block at a time, and write-protecting each page's linear-map alias.
//
// Without the cache, each page comes from anywhere in RAM, so making its alias read-only splits
// a different large mapping of the direct map almost every time. With the cache, pages come from
// a block whose direct-map mapping was split once when the block entered the cache.

import { EvalError, type ExecContext } from '../exec/context';
import { errno, ok, type Outcome } from '../exec/outcome';
import type { Finding } from '../findings';
import type { Machine, PgtablePageSource } from '../model/machine';
import type { AllocPgtablePageStmt, FreePgtablePageStmt } from '../program';
import { hex16 } from '../u64';
import type { LeafHit } from '../walk-ops/pageattr-ops';
import { linearAliasOf } from './linear';
import { brokenRunMessage, reportBrokenRun, reportUnprotectable, setLinearPageReadonly, splitLinearToPtes, unprotectableMessage, type BrokenRun } from './pageattr';

/** The page-table page source of one run (installed by configurePgtablePages). */
export class PgtablePages implements PgtablePageSource {
  /** Pages whose linear alias this source made read-only, to restore on free. */
  private readonly readonlyAliases = new Set<number>();
  /** Pages handed out by alloc_pgtable_page and not yet freed. */
  readonly named = new Set<number>();
  /**
   * Set while a protection or refill runs: the tables its splits allocate come from plain pages
   * and are not protected themselves (split_large_page's alloc_pages, riscv's alloc_page), which
   * also keeps a split from recursing into another protection.
   */
  private busy = false;
  /** Blocks taken into the pte-mapped cache. */
  refills = 0;
  /** Why the last page handed out could not be protected, if it could not. */
  lastFailure: Finding | undefined;
  /** The finding of this statement's protection failures, updated with their count. */
  private failure: { step: number; finding: Finding; count: number; hit: LeafHit } | undefined;
  /** The finding of this statement's protections that broke contiguous runs, with their count. */
  private broken: { step: number; finding: Finding; count: number; run: BrokenRun } | undefined;

  constructor(
    readonly cache: boolean,
    readonly writeProtect: boolean,
  ) {}

  alloc(machine: Machine): number | undefined {
    if (this.busy) return machine.phys.allocPage();
    this.busy = true;
    this.lastFailure = undefined;
    try {
      const pa = this.cache ? this.fromCache(machine) : machine.phys.allocPage();
      if (pa !== undefined && this.writeProtect) this.protect(machine, pa);
      return pa;
    } finally {
      this.busy = false;
    }
  }

  free(machine: Machine, pa: number): void {
    if (this.readonlyAliases.has(pa)) {
      this.readonlyAliases.delete(pa);
      const va = linearAliasOf(machine, pa);
      const busy = this.busy;
      this.busy = true;
      try {
        if (va !== undefined) setLinearPageReadonly(machine, va, false);
      } finally {
        this.busy = busy;
      }
    }
    // Pages of a cache block go back to the cache (PhysAllocator keeps that list).
    machine.phys.free(pa);
  }

  /**
   * Everything alloc, free and alloc_pgtable_page change: the page sets by content, the flags and
   * counters, and this statement's findings with the count and message they had (they are
   * updated in place as more pages fail).
   */
  save(): () => void {
    const readonlyAliases = this.readonlyAliases.size === 0 ? undefined : [...this.readonlyAliases];
    const named = this.named.size === 0 ? undefined : [...this.named];
    const { busy, refills, lastFailure, failure, broken } = this;
    const failureCount = failure?.count ?? 0;
    const failureMessage = failure?.finding.message ?? '';
    const brokenCount = broken?.count ?? 0;
    const brokenMessage = broken?.finding.message ?? '';
    return () => {
      refill(this.readonlyAliases, readonlyAliases);
      refill(this.named, named);
      this.busy = busy;
      this.refills = refills;
      this.lastFailure = lastFailure;
      this.failure = failure;
      this.broken = broken;
      if (failure) {
        failure.count = failureCount;
        failure.finding.message = failureMessage;
      }
      if (broken) {
        broken.count = brokenCount;
        broken.finding.message = brokenMessage;
      }
    };
  }

  isReadonly(pa: number): boolean {
    return this.readonlyAliases.has(pa);
  }

  /**
   * A page from the pte-mapped cache; an empty cache is refilled with a PMD-sized block whose
   * linear mapping is split to PTEs once. If no such block is free, an order-0 page.
   */
  private fromCache(machine: Machine): number | undefined {
    // Before the scenario maps a linear map there is no direct map to keep pte-mapped, and the
    // RAM the allocator hands out changes once it does: no caching until then.
    if (machine.linearMaps.length === 0) return machine.phys.allocPage();
    const cached = machine.phys.takePteMapped();
    if (cached !== undefined) return cached;
    const profile = machine.profile;
    const order = (profile.levels[3]?.shift ?? profile.pageShift) - profile.pageShift;
    const base = machine.phys.allocBlock(order);
    if (base === undefined) return machine.phys.allocPage();
    machine.phys.refillPteMapped(base, order);
    this.refills++;
    const va = linearAliasOf(machine, base);
    if (va !== undefined) splitLinearToPtes(machine, va, profile.pageSize << BigInt(order));
    return machine.phys.takePteMapped();
  }

  private protect(machine: Machine, pa: number): void {
    const va = linearAliasOf(machine, pa);
    if (va === undefined) return;
    const result = setLinearPageReadonly(machine, va, true);
    if (result.ret === 0) {
      this.readonlyAliases.add(pa);
      if (result.brokenRun) {
        if (this.broken && this.broken.step === machine.step) {
          this.broken.count++;
          this.broken.finding.message = brokenRunMessage(this.broken.run, this.broken.count);
        } else {
          this.broken = { step: machine.step, finding: reportBrokenRun(machine, result.brokenRun, 1), count: 1, run: result.brokenRun };
        }
      }
      return;
    }
    if (!result.partial) return;
    // One finding per statement, counting the pages it could not protect.
    if (this.failure && this.failure.step === machine.step) {
      this.failure.count++;
      this.failure.finding.message = unprotectableMessage(machine, this.failure.hit, this.failure.count);
    } else {
      this.failure = { step: machine.step, finding: reportUnprotectable(machine, result.partial, 1), count: 1, hit: result.partial };
    }
    this.lastFailure = this.failure.finding;
  }
}

/** Makes `set` hold exactly `content` (undefined: nothing). */
function refill(set: Set<number>, content: readonly number[] | undefined): void {
  if (set.size === 0 && content === undefined) return;
  set.clear();
  if (content) for (const x of content) set.add(x);
}

/** Installs the page-table page source the scenario's features ask for. */
export function configurePgtablePages(machine: Machine): void {
  machine.pgtablePages = new PgtablePages(machine.has('pte_mapped_cache'), machine.has('write_protect_pgtables'));
}

function sourceOf(machine: Machine): PgtablePages {
  if (machine.pgtablePages instanceof PgtablePages) return machine.pgtablePages;
  const source = new PgtablePages(machine.has('pte_mapped_cache'), machine.has('write_protect_pgtables'));
  machine.pgtablePages = source;
  return source;
}

export function execAllocPgtablePage(ctx: ExecContext, stmt: AllocPgtablePageStmt): Outcome {
  const machine = ctx.machine;
  const source = sourceOf(machine);
  const splitsBefore = machine.counters.directMapSplits;
  const refillsBefore = source.refills;
  const pa = source.alloc(machine);
  if (pa === undefined) return errno('ENOMEM', 'no free page is left for a page-table page');
  source.named.add(pa);
  ctx.bind(stmt.name.text, { kind: 'page', pa, span: stmt.name.span });
  const alias = linearAliasOf(machine, pa);
  const parts = [`${stmt.name.text}: page-table page at physical 0x${pa.toString(16)}`];
  if (source.refills > refillsBefore) parts.push('the pte-mapped cache was refilled with a PMD-sized block');
  if (alias === undefined) parts.push('no linear map covers it');
  else if (source.isReadonly(pa)) parts.push(`its linear alias ${hex16(alias)} is now read-only`);
  else parts.push(`linear alias ${hex16(alias)}`);
  const splits = machine.counters.directMapSplits - splitsBefore;
  if (splits > 0) parts.push(`${splits} direct-map split${splits === 1 ? '' : 's'}`);
  const summary = parts.join('; ');
  if (source.lastFailure) {
    const outcome = errno('EINVAL', source.lastFailure.message, [source.lastFailure]);
    if (outcome.kind === 'errno') outcome.summary = summary;
    return outcome;
  }
  return ok(summary);
}

export function execFreePgtablePage(ctx: ExecContext, stmt: FreePgtablePageStmt): Outcome {
  const machine = ctx.machine;
  const source = sourceOf(machine);
  const binding = ctx.lookup(stmt.name.text, stmt.name.span);
  if (binding.kind !== 'page') {
    throw new EvalError({ code: 'unknown-name', span: stmt.name.span, message: `\`${stmt.name.text}\` does not name a page from alloc_pgtable_page` });
  }
  if (!source.named.has(binding.pa)) {
    const f = machine.report('bad-value', 'error', `\`${stmt.name.text}\` (physical 0x${binding.pa.toString(16)}) has already been freed`, { span: stmt.name.span });
    return errno('EINVAL', f.message, [f]);
  }
  const wasReadonly = source.isReadonly(binding.pa);
  source.named.delete(binding.pa);
  source.free(machine, binding.pa);
  const back = machine.phys.isUsed(binding.pa) ? 'back to the pte-mapped cache' : 'back to the page allocator';
  return ok(`${stmt.name.text}: freed ${back}${wasReadonly ? '; its linear alias is writable again' : ''}`);
}
