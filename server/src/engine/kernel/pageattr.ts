// Permission changes on kernel mappings: set_memory_ro|rw|x|nx, set_memory_valid and
// set_direct_map_invalid|default, per architecture (kernel-notes/pagewalk-and-pageattr.md §2-3).
//
// arm64 (seed 003): change_memory_common's caller rule in the vmalloc area, the rodata_full
// update of the linear alias, split_kernel_leaf_mapping with BBML2, then the lockless pageattr
// walk inside lazy MMU mode, then flush_tlb_kernel_range unless only making entries valid.
// x86: change_page_attr (cpa.ts), which splits large pages. riscv: __set_memory, which splits
// the linear map and changes any other block whole. ARM LPAE is not modelled here.

import { entrySize, regionAt, isCanonical } from '../arch/profile';
import type { ExecContext } from '../exec/context';
import { errno, ok, type Errno, type Outcome } from '../exec/outcome';
import type { Finding, FixData, Related } from '../findings';
import type { Machine, VmArea } from '../model/machine';
import type { Expr, SetDirectMapStmt, SetMemoryStmt, SetMemoryValidStmt, Span } from '../program';
import { hex16, sizeText } from '../u64';
import { arm64PageattrOps, pageattrWalk, riscvPageattrOps, type LeafHit, type Masks } from '../walk-ops/pageattr-ops';
import { changePageAttr, type CpaResult } from './cpa';
import { inLinearRegion, linearAliasOf, linearPhysOf } from './linear';
import { arm64RangeSplitToPtes, arm64SplitKernelLeafMapping, riscvSplitLinearMapping, slotAt, type SplitLog, type SplitRecord } from './split';

/** What a permission change asks for, in the statement's terms. */
export type PageattrOp = 'ro' | 'rw' | 'x' | 'nx' | 'valid' | 'invalid' | 'direct_invalid' | 'direct_default';

const HI = (bit: number): number => (1 << (bit - 32)) >>> 0;

/** arm64 masks (§2.2), with PTE_MAYBE_GP = 0 (no BTI kernel) and PTE_MAYBE_NG = 0 (no nG kernel mappings). */
const ARM64_MASKS: Record<PageattrOp, Masks> = {
  ro: { setLo: 0x80, setHi: 0, clrLo: 0, clrHi: HI(51) },
  rw: { setLo: 0, setHi: HI(51), clrLo: 0x80, clrHi: 0 },
  nx: { setLo: 0, setHi: HI(53), clrLo: 0, clrHi: 0 },
  x: { setLo: 0, setHi: 0, clrLo: 0, clrHi: HI(53) },
  valid: { setLo: 0x1, setHi: 0, clrLo: 0x800, clrHi: 0 },
  invalid: { setLo: 0x800, setHi: 0, clrLo: 0x1, clrHi: 0 },
  direct_invalid: { setLo: 0x800, setHi: 0, clrLo: 0x1, clrHi: 0 },
  direct_default: { setLo: 0x1, setHi: HI(51), clrLo: 0x800 | 0x80, clrHi: 0 },
};

/**
 * x86 masks: set_memory_ro clears RW and DIRTY, set_memory_x/nx clear/set NX, set_memory_p/np
 * (what ptscn's set_memory_valid means on x86) set/clear PRESENT, __set_pages_np/p clear/set
 * PRESENT|RW.
 */
const X86_MASKS: Record<PageattrOp, Masks> = {
  ro: { setLo: 0, setHi: 0, clrLo: 0x42, clrHi: 0 },
  rw: { setLo: 0x2, setHi: 0, clrLo: 0, clrHi: 0 },
  nx: { setLo: 0, setHi: HI(63), clrLo: 0, clrHi: 0 },
  x: { setLo: 0, setHi: 0, clrLo: 0, clrHi: HI(63) },
  valid: { setLo: 0x1, setHi: 0, clrLo: 0, clrHi: 0 },
  invalid: { setLo: 0, setHi: 0, clrLo: 0x1, clrHi: 0 },
  direct_invalid: { setLo: 0, setHi: 0, clrLo: 0x3, clrHi: 0 },
  direct_default: { setLo: 0x3, setHi: 0, clrLo: 0, clrHi: 0 },
};

/**
 * riscv masks: set_memory_ro sets READ and clears WRITE, rw sets READ|WRITE, x/nx set/clear
 * EXEC; set_memory_valid is __kernel_map_pages' PRESENT toggle; set_direct_map_default sets
 * PAGE_KERNEL (R|W|V|A|D|G) and clears EXEC.
 */
const RISCV_MASKS: Record<PageattrOp, Masks> = {
  ro: { setLo: 0x2, setHi: 0, clrLo: 0x4, clrHi: 0 },
  rw: { setLo: 0x6, setHi: 0, clrLo: 0, clrHi: 0 },
  x: { setLo: 0x8, setHi: 0, clrLo: 0, clrHi: 0 },
  nx: { setLo: 0, setHi: 0, clrLo: 0x8, clrHi: 0 },
  valid: { setLo: 0x1, setHi: 0, clrLo: 0, clrHi: 0 },
  invalid: { setLo: 0, setHi: 0, clrLo: 0x1, clrHi: 0 },
  direct_invalid: { setLo: 0, setHi: 0, clrLo: 0x1, clrHi: 0 },
  direct_default: { setLo: 0xe7, setHi: 0, clrLo: 0x8, clrHi: 0 },
};

const INT_MAX = 2n ** 31n - 1n;

/** Everything one statement's permission change did, for its outcome and findings. */
interface Change {
  /** The helper as the kernel names it, e.g. `set_memory_ro`. */
  helper: string;
  start: bigint;
  end: bigint;
  ptes: number;
  blocks: number;
  emptyRewritten: number;
  splits: SplitLog;
  aliasSplits: SplitLog;
  aliases: number;
  /** arm64: the block that stopped a walk with -EINVAL, and the alias page when it was one. */
  partial?: { hit: LeafHit; alias?: { va: bigint; page: bigint; area: string } };
  /** riscv: blocks changed whole though the range covered them in part. */
  overchanged: LeafHit[];
  flushesBefore: number;
}

function newChange(machine: Machine, helper: string, start: bigint, pages: bigint): Change {
  return {
    helper,
    start,
    end: start + pages * machine.profile.pageSize,
    ptes: 0,
    blocks: 0,
    emptyRewritten: 0,
    splits: [],
    aliasSplits: [],
    aliases: 0,
    overchanged: [],
    flushesBefore: machine.counters.tlbFlushes,
  };
}

// ---------------------------------------------------------------------------------------------
// Statements

export function execSetMemory(ctx: ExecContext, stmt: SetMemoryStmt): Outcome {
  const start = ctx.num(stmt.addr);
  const pages = ctx.num(stmt.pages);
  const problem = checkRange(ctx, stmt.addr, stmt.pages, start, pages);
  if (problem) return errno('EINVAL', problem.message, [problem]);
  return setMemory(ctx, stmt.op, start, pages, stmt.span);
}

export function execSetMemoryValid(ctx: ExecContext, stmt: SetMemoryValidStmt): Outcome {
  const start = ctx.num(stmt.addr);
  const pages = ctx.num(stmt.pages);
  const problem = checkRange(ctx, stmt.addr, stmt.pages, start, pages);
  if (problem) return errno('EINVAL', problem.message, [problem]);
  return setMemory(ctx, stmt.valid.text === 'off' ? 'invalid' : 'valid', start, pages, stmt.span);
}

export function execSetDirectMap(ctx: ExecContext, stmt: SetDirectMapStmt): Outcome {
  const machine = ctx.machine;
  const va = ctx.num(stmt.addr);
  const page = machine.profile.pageSize;
  const helper = `set_direct_map_${stmt.op}_noflush`;
  let problem: Finding | undefined;
  if (va % page !== 0n) problem = badValue(ctx, stmt.addr.span, `${hex16(va)} is not aligned to the ${sizeText(page)} page size`);
  else if (!inLinearRegion(machine, va)) problem = badValue(ctx, stmt.addr.span, `${helper}() takes a page of the linear map (page_address() of a struct page); ${hex16(va)} is not in the linear map`);
  else if (linearPhysOf(machine, va) === undefined) problem = badValue(ctx, stmt.addr.span, `no \`map\` of the linear map covers ${hex16(va)}, so there is no page there`);
  if (problem) return errno('EINVAL', problem.message, [problem]);
  const op: PageattrOp = stmt.op === 'invalid' ? 'direct_invalid' : 'direct_default';
  const change = newChange(machine, helper, va, 1n);
  switch (machine.profile.family) {
    case 'arm64': {
      // can_set_direct_map() is true (rodata_full defaults on in 7.x): update_range_prot(), no flush.
      const ret = arm64UpdateRangeProt(machine, va, page, ARM64_MASKS[op], change, 'primary');
      return finish(ctx, change, ret);
    }
    case 'x86': {
      // __set_pages_np/p: CPA_NO_CHECK_ALIAS, and no flush of their own.
      const res = x86Cpa(machine, va, 1, X86_MASKS[op], false, false, change);
      return finish(ctx, change, res.ret, res);
    }
    case 'riscv':
      // __set_memory(page_address(page), 1, …), which ends with flush_tlb_all().
      return finish(ctx, change, riscvSetMemory(ctx, va, 1n, RISCV_MASKS[op], change));
    case 'arm':
      // ARM does not select ARCH_HAS_SET_DIRECT_MAP: the generic stubs return 0 and do nothing.
      return ok(`${helper}: ARM has no ARCH_HAS_SET_DIRECT_MAP; the generic stub returns 0 and changes nothing`);
  }
}

function setMemory(ctx: ExecContext, op: PageattrOp, start: bigint, pages: bigint, span: Span): Outcome {
  const machine = ctx.machine;
  const helper = op === 'valid' || op === 'invalid' ? 'set_memory_valid' : `set_memory_${op}`;
  switch (machine.profile.family) {
    case 'arm64':
      return arm64SetMemory(ctx, op, helper, start, pages);
    case 'x86': {
      const x86Helper = op === 'valid' ? 'set_memory_p' : op === 'invalid' ? 'set_memory_np' : helper;
      const change = newChange(machine, x86Helper, start, pages);
      // set_memory_x/nx skip the alias in effect (NX is masked off for it) but still force flush_tlb_all.
      const res = x86Cpa(machine, start, Number(pages), X86_MASKS[op], true, true, change);
      return finish(ctx, change, res.ret, res);
    }
    case 'riscv': {
      const change = newChange(machine, op === 'valid' || op === 'invalid' ? '__set_memory' : helper, start, pages);
      return finish(ctx, change, riscvSetMemory(ctx, start, pages, RISCV_MASKS[op], change));
    }
    case 'arm': {
      const f = badValue(
        ctx,
        span,
        `${helper} is not modelled for ${machine.profile.label}: the kernel's change_memory_common() only accepts module or vmalloc ranges and changes them with apply_to_page_range(), which handles PTE-mapped ranges only (WARN and -EINVAL on a section); ptscn models ARM LPAE for table geometry and accounting`,
      );
      return errno('EINVAL', f.message, [f]);
    }
  }
}

function badValue(ctx: ExecContext, span: Span, message: string): Finding {
  return ctx.machine.report('bad-value', 'error', message, { span });
}

/** Address and page-count checks shared by set_memory_* and set_memory_valid. */
function checkRange(ctx: ExecContext, addrExpr: Expr, pagesExpr: Expr, start: bigint, pages: bigint): Finding | undefined {
  const profile = ctx.machine.profile;
  if (start % profile.pageSize !== 0n) return badValue(ctx, addrExpr.span, `${hex16(start)} is not aligned to the ${sizeText(profile.pageSize)} page size`);
  if (!isCanonical(profile, start)) return badValue(ctx, addrExpr.span, `${hex16(start)} is not canonical for ${profile.label}`);
  if (start < profile.kernelStart) return badValue(ctx, addrExpr.span, `${hex16(start)} is below the kernel half of the address space (which starts at ${hex16(profile.kernelStart)})`);
  if (pages > INT_MAX) return badValue(ctx, pagesExpr.span, `${pages} pages does not fit the kernel's \`int numpages\``);
  const end = start + pages * profile.pageSize;
  if (end > 1n << 64n || (pages > 0n && end < 1n << 64n && !isCanonical(profile, end - 1n))) {
    return badValue(ctx, pagesExpr.span, `the range ends outside the kernel half of the address space`);
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// arm64

function isPureValid(m: Masks): boolean {
  const v = ARM64_MASKS.valid;
  return m.setLo === v.setLo && m.setHi === v.setHi && m.clrLo === v.clrLo && m.clrHi === v.clrHi;
}

/**
 * update_range_prot(): split_kernel_leaf_mapping (BBML2), then the lockless pageattr walk inside
 * one lazy MMU section. Returns 0 or -EINVAL.
 */
function arm64UpdateRangeProt(machine: Machine, start: bigint, size: bigint, masks: Masks, change: Change, role: 'primary' | 'alias'): number {
  arm64SplitKernelLeafMapping(machine, start, start + size, role === 'primary' ? change.splits : change.aliasSplits);
  machine.enterLazyMmu();
  let result: ReturnType<typeof pageattrWalk>;
  try {
    result = pageattrWalk(machine, start, start + size, arm64PageattrOps, masks);
  } finally {
    machine.leaveLazyMmu();
  }
  const st = result.state;
  change.ptes += st.ptes;
  change.blocks += st.blocks;
  change.emptyRewritten += st.emptyRewritten;
  if (st.partial) change.partial = { hit: st.partial };
  return result.ret;
}

/** __change_memory_common(): update_range_prot, then a flush unless only making entries valid. */
function arm64ChangeCommon(machine: Machine, start: bigint, size: bigint, masks: Masks, change: Change, role: 'primary' | 'alias'): number {
  const ret = arm64UpdateRangeProt(machine, start, size, masks, change, role);
  if (!isPureValid(masks)) machine.flushTlb();
  return ret;
}

/** find_vm_area(): the live vm_struct whose range (guard page included) holds `va`. */
function findVmArea(machine: Machine, va: bigint): VmArea | undefined {
  const page = machine.profile.pageSize;
  for (const area of machine.vmAreas.values()) {
    if (!area.freed && va >= area.start && va < area.start + area.size + page) return area;
  }
  return undefined;
}

/** area->pages[idx]: the physical address of page `idx` of a vm area, if it is mapped. */
function vmAreaPage(machine: Machine, area: VmArea, idx: bigint): number | undefined {
  const page = machine.profile.pageSize;
  if (idx * page >= area.size || area.pages.length === 0) return undefined;
  const chunk = area.size / BigInt(area.pages.length);
  const backing = area.pages[Number((idx * page) / chunk)];
  if (!backing) return undefined;
  return backing.pa + Number((idx * page) % chunk);
}

function arm64SetMemory(ctx: ExecContext, op: PageattrOp, helper: string, start: bigint, pages: bigint): Outcome {
  const machine = ctx.machine;
  const page = machine.profile.pageSize;
  const size = pages * page;
  const masks = ARM64_MASKS[op];
  const change = newChange(machine, helper, start, pages);
  if (op === 'valid' || op === 'invalid') {
    // set_memory_valid() goes straight to __change_memory_common(): no vm area rule, and an
    // empty range is -EINVAL from walk_kernel_page_table_range_lockless().
    return finish(ctx, change, arm64ChangeCommon(machine, start, size, masks, change, 'primary'));
  }
  // change_memory_common(): in the vmalloc area, one whole VM_ALLOC area that is not huge.
  let area: VmArea | undefined;
  if (regionAt(machine.profile, start)?.id === 'vmalloc') {
    area = findVmArea(machine, start);
    if (!area) return errno('EINVAL', `change_memory_common(): no vmalloc area holds ${hex16(start)}`);
    if (start + size > area.start + area.size + page) {
      return errno('EINVAL', `change_memory_common(): the range ends beyond the vmalloc area \`${area.name}\` (${hex16(area.start)}, ${sizeText(area.size)} and its guard page)`);
    }
    if (area.huge) {
      return errno('EINVAL', `change_memory_common(): \`${area.name}\` was allocated with VM_ALLOW_HUGE_VMAP (vmalloc … huge), and set_memory_* refuses those so that no block is ever split`);
    }
  }
  if (pages === 0n) return ok(`${helper}: 0 pages, nothing to do`);
  // rodata_full: a change of exactly PTE_RDONLY is applied to each backing page's linear alias
  // first, one __change_memory_common (and one flush) per page.
  if (area && (op === 'ro' || op === 'rw') && machine.linearMaps.length > 0) {
    const first = (start - area.start) / page;
    for (let idx = first; idx < first + pages; idx++) {
      const pa = vmAreaPage(machine, area, idx);
      const alias = pa === undefined ? undefined : linearAliasOf(machine, pa);
      if (alias === undefined) continue;
      change.aliases++;
      const ret = arm64ChangeCommon(machine, alias, page, masks, change, 'alias');
      if (ret !== 0) {
        if (change.partial) change.partial.alias = { va: alias, page: idx, area: area.name };
        return finish(ctx, change, ret);
      }
    }
  }
  return finish(ctx, change, arm64ChangeCommon(machine, start, size, masks, change, 'primary'));
}

// ---------------------------------------------------------------------------------------------
// x86

function x86Cpa(machine: Machine, start: bigint, pages: number, masks: Masks, checkAlias: boolean, finalFlush: boolean, change: Change): CpaResult {
  const req = { start, pages, setLo: masks.setLo, setHi: masks.setHi, clrLo: masks.clrLo, clrHi: masks.clrHi, forceSplit: false, checkAlias };
  const res = changePageAttr(machine, req, true);
  // change_page_attr_set_clr(): one flush when anything changed (cpa_flush_all on error).
  if (finalFlush && res.changed) machine.flushTlb();
  change.ptes += res.ptes;
  change.blocks += res.blocks;
  change.aliases += res.aliases;
  change.splits.push(...res.splits);
  change.aliasSplits.push(...res.aliasSplits);
  return res;
}

// ---------------------------------------------------------------------------------------------
// riscv

/**
 * __set_memory(): vmalloc and module addresses change each backing page's linear alias first
 * (split_linear_mapping, then a walk), linear addresses split and walk their own range, and then
 * the range itself is walked; flush_tlb_all() at the end whatever happened.
 */
function riscvSetMemory(ctx: ExecContext, start: bigint, pages: bigint, masks: Masks, change: Change): number | Outcome {
  const machine = ctx.machine;
  if (pages === 0n) return 0;
  const page = machine.profile.pageSize;
  const end = start + pages * page;
  const region = regionAt(machine.profile, start)?.id;
  const walk = (from: bigint, to: bigint): number => {
    const { ret, state } = pageattrWalk(machine, from, to, riscvPageattrOps, masks);
    change.ptes += state.ptes;
    change.blocks += state.blocks;
    change.emptyRewritten += state.emptyRewritten;
    change.overchanged.push(...state.overchanged);
    return ret;
  };
  try {
    if (region === 'vmalloc' || region === 'modules') {
      const area = findVmArea(machine, start);
      if (!area) {
        const f = badValue(ctx, machine.span, `find_vm_area() finds no vm_struct at ${hex16(start)}, and riscv's __set_memory() dereferences it without a check: the kernel would oops here`);
        return errno('EINVAL', f.message, [f]);
      }
      const first = (start - area.start) / page;
      for (let idx = first; idx < first + pages; idx++) {
        const pa = vmAreaPage(machine, area, idx);
        if (pa === undefined) {
          const f = badValue(ctx, machine.span, `page ${idx} is beyond the pages of the vmalloc area \`${area.name}\`: riscv's __set_memory() would read area->pages[${idx}] past its end`);
          return errno('EINVAL', f.message, [f]);
        }
        const alias = linearAliasOf(machine, pa);
        if (alias === undefined) continue;
        change.aliases++;
        riscvSplitLinearMapping(machine, alias, alias + page, change.aliasSplits);
        const ret = walk(alias, alias + page);
        if (ret !== 0) return ret;
      }
    } else if (region === 'linear') {
      riscvSplitLinearMapping(machine, start, end, change.splits);
      const ret = walk(start, end);
      if (ret !== 0) return ret;
    }
    return walk(start, end);
  } finally {
    machine.flushTlb();
  }
}

// ---------------------------------------------------------------------------------------------
// Outcomes and findings

function levelName(machine: Machine, depth: number): string {
  return (machine.profile.levels[depth]?.name ?? 'pte').toUpperCase();
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The statement that created the leaf at `table[index]` (a leaf with the same output address). */
function leafOrigin(machine: Machine, table: LeafHit['table'], index: number, depth: LeafHit['depth'], what: string): Related[] {
  const codec = machine.profile.codec;
  const pa = codec.address(table.lo(index), table.hi(index));
  const span = machine.entryOrigin(table, index, (lo, hi) => codec.classify(depth, lo, hi, depth === 4) === 'leaf' && codec.address(lo, hi) === pa);
  return span ? [{ span, message: `${what} was created here` }] : [];
}

function blockText(machine: Machine, depth: number, start: bigint, end: bigint): string {
  return `the ${levelName(machine, depth)} block ${hex16(start)}-${hex16(end)}`;
}

function describeSplit(machine: Machine, r: SplitRecord): string {
  const what = `${levelName(machine, r.depth)} ${r.kind === 'cont' ? 'contiguous run' : 'block'} ${hex16(r.start)}-${hex16(r.end)}`;
  return r.kind === 'cont' ? `cleared the contiguous hint of the ${what}` : `split the ${what} into ${r.into.toUpperCase().replace('CONT_', 'contiguous ')}s`;
}

function finish(ctx: ExecContext, change: Change, ret: number | Outcome, cpa?: CpaResult): Outcome {
  if (typeof ret !== 'number') return ret;
  const machine = ctx.machine;
  const causes: Finding[] = [];
  const family = machine.profile.family;

  if (change.partial && ret !== 0) causes.push(reportPartial(machine, change));
  if (family === 'arm64') reportContRuns(machine, change);
  for (const hit of change.overchanged) {
    machine.report(
      'partial-block-overlap',
      'warning',
      `${change.helper} covers only part of the ${levelName(machine, hit.depth)} block ${hex16(hit.blockStart)}-${hex16(hit.blockEnd)}, and riscv's pageattr_${levelName(machine, hit.depth).toLowerCase()}_entry() changes the whole block: ${sizeText(hit.blockEnd - hit.blockStart)} changed where ${sizeText(overlap(change, hit))} was asked for`,
      { related: leafOrigin(machine, hit.table, hit.index, hit.depth, blockText(machine, hit.depth, hit.blockStart, hit.blockEnd)), fix: alignedFix(machine, change, hit.blockStart, hit.blockEnd, false) },
    );
  }
  // Where the engine splits instead of failing, the overlap is information (spec §10).
  if (change.splits.length > 0) {
    const how = family === 'arm64' ? 'split_kernel_leaf_mapping() (BBML2) first ' : family === 'x86' ? 'split_large_page() ' : 'split_linear_mapping() ';
    machine.report('partial-block-overlap', 'information', `${change.helper}: the range ${hex16(change.start)}-${hex16(change.end)} covers part of a larger mapping, so ${how}${change.splits.map((r) => describeSplit(machine, r)).join('; ')}`);
  }
  if (change.aliasSplits.length > 0) {
    const blocks = change.aliasSplits.filter((r) => r.kind === 'block').length;
    machine.report(
      'partial-block-overlap',
      'information',
      `${change.helper}: changing the linear-map aliases of ${plural(change.aliases, 'page')} split ${plural(blocks, 'linear-map block')}${change.aliasSplits.length > blocks ? ` and cleared ${plural(change.aliasSplits.length - blocks, 'contiguous hint')}` : ''} (direct-map fragmentation)`,
    );
  }

  const flushes = machine.counters.tlbFlushes - change.flushesBefore;
  const parts: string[] = [];
  parts.push(`${plural(change.ptes, 'PTE')}${change.blocks > 0 ? ` and ${plural(change.blocks, 'block')}` : ''} written`);
  if (change.emptyRewritten > 0) parts.push(`${plural(change.emptyRewritten, 'empty PTE')} rewritten (pageattr_pte_entry does not skip none entries)`);
  if (change.aliases > 0) parts.push(`${plural(change.aliases, 'linear-map alias', 'linear-map aliases')} changed`);
  const splitBlocks = change.splits.length + change.aliasSplits.length;
  if (splitBlocks > 0) parts.push(`${plural(splitBlocks, 'split')}`);
  parts.push(`${plural(flushes, 'TLB flush', 'TLB flushes')}`);
  const summary = `${change.helper}: ${parts.join('; ')}`;
  if (ret === 0) return ok(summary);

  const code: Errno = ret === -14 ? 'EFAULT' : ret === -12 ? 'ENOMEM' : 'EINVAL';
  let message: string;
  if (cpa?.fault !== undefined) {
    message = `CPA: called for zero pte. vaddr = ${cpa.fault.toString(16)}: nothing maps this address outside the direct map (WARN in __cpa_process_fault)`;
  } else if (change.partial) {
    message = causes[0]?.message ?? 'partial block';
  } else if (ret === -22 && change.end === change.start) {
    message = `walk_kernel_page_table_range_lockless() returns -EINVAL for an empty range`;
  } else {
    message = `${change.helper} failed with ${code}`;
  }
  const outcome = errno(code, message, causes.length > 0 ? causes : undefined);
  if (outcome.kind === 'errno') outcome.summary = summary;
  return outcome;
}

function overlap(change: Change, hit: LeafHit): bigint {
  const from = change.start > hit.blockStart ? change.start : hit.blockStart;
  const to = change.end < hit.blockEnd ? change.end : hit.blockEnd;
  return to > from ? to - from : 0n;
}

function alignedFix(machine: Machine, change: Change, blockStart: bigint, blockEnd: bigint, bbml2Helps: boolean): FixData {
  const alignedStart = change.start < blockStart ? change.start : blockStart;
  const alignedEnd = change.end > blockEnd ? change.end : blockEnd;
  return { kind: 'partial-block', alignedStart, alignedPages: (alignedEnd - alignedStart) / machine.profile.pageSize, bbml2Helps };
}

/** The block (or the contiguous run it belongs to) that stopped an arm64 walk. */
function blockUnit(machine: Machine, hit: LeafHit): { start: bigint; end: bigint; cont: boolean } {
  const run = machine.profile.levels[hit.depth]?.cont ?? 0;
  const cont = run > 1 && (hit.table.hi(hit.index) & HI(52)) !== 0;
  if (!cont) return { start: hit.blockStart, end: hit.blockEnd, cont };
  const bytes = BigInt(run) * (hit.blockEnd - hit.blockStart);
  const start = hit.blockStart - (hit.blockStart % bytes);
  return { start, end: start + bytes, cont };
}

/** The `partial-block-overlap` error of an arm64 -EINVAL: block, level, creator, quick fix. */
function reportPartial(machine: Machine, change: Change): Finding {
  const partial = change.partial;
  if (!partial) throw new Error('no partial block');
  const hit = partial.hit;
  const level = levelName(machine, hit.depth);
  const unit = blockUnit(machine, hit);
  const block = `${level} block ${hex16(hit.blockStart)}-${hex16(hit.blockEnd)} (${sizeText(hit.blockEnd - hit.blockStart)}${unit.cont ? `, in the contiguous run ${hex16(unit.start)}-${hex16(unit.end)}` : ''})`;
  const where = partial.alias
    ? `the linear-map alias ${hex16(partial.alias.va)} of page ${partial.alias.page} of \`${partial.alias.area}\` (rodata_full applies RDONLY changes to it first) lies inside the ${block}`
    : `the range ${hex16(change.start)}-${hex16(change.end)} ${change.start > hit.blockStart && change.start < hit.blockEnd ? 'starts' : 'ends'} inside the ${block}`;
  const done = change.ptes + change.blocks;
  const message =
    `${change.helper}: ${where}. arm64 cannot split a live kernel block without BBML2, so pageattr_${level.toLowerCase()}_entry() returns -EINVAL (WARN_ON_ONCE) and the walk stops there` +
    (done > 0 ? `; the ${plural(done, 'entry', 'entries')} written before it stay changed` : '') +
    `. Align the range to the block, map it with smaller leaves, or add \`feature bbml2\`.`;
  const options: { related: Related[]; fix?: FixData } = { related: leafOrigin(machine, hit.table, hit.index, hit.depth, blockText(machine, hit.depth, hit.blockStart, hit.blockEnd)) };
  if (!partial.alias) options.fix = alignedFix(machine, change, unit.start, unit.end, !machine.has('bbml2'));
  return machine.report('partial-block-overlap', 'error', message, options);
}

/** A contiguous run this statement wrote whose entries now disagree. */
export interface BrokenRun {
  start: bigint;
  end: bigint;
  level: 3 | 4;
  entries: number;
  table: LeafHit['table'];
  first: number;
}

/** The contiguous run around `boundary` at `level`, if this statement left it inconsistent. */
function brokenRunAt(machine: Machine, boundary: bigint, level: 3 | 4): BrokenRun | undefined {
  const run = machine.profile.levels[level]?.cont ?? 0;
  if (run <= 1) return undefined;
  const size = entrySize(machine.profile, level);
  const runBytes = BigInt(run) * size;
  if (boundary % runBytes === 0n) return undefined;
  const slot = slotAt(machine, boundary, level);
  if (!slot || slot.depth !== level || slot.table.touchedStep !== machine.step) return undefined;
  const first = slot.index - (slot.index % run);
  if (!contRunDisagrees(slot.table, first, run)) return undefined;
  const start = boundary - (boundary % runBytes);
  return { start, end: start + runBytes, level, entries: run, table: slot.table, first };
}

/**
 * The hazard raised in seed 003's review: a range that covers only part of a contiguous run is
 * not detected by pageattr_pte_entry/pmd_entry, which change their entries and leave the run's
 * entries disagreeing. Checked at the two ends of the range, on runs this statement wrote.
 */
function reportContRuns(machine: Machine, change: Change): void {
  const seen = new Set<bigint>();
  for (const boundary of [change.start, change.end]) {
    for (const level of [4, 3] as const) {
      const broken = brokenRunAt(machine, boundary, level);
      if (!broken || seen.has(broken.start)) continue;
      seen.add(broken.start);
      const entry = level === 4 ? 'PTE' : 'PMD';
      const runText = `the contiguous run ${hex16(broken.start)}-${hex16(broken.end)}`;
      machine.report(
        'partial-block-overlap',
        'warning',
        `${change.helper} changed only part of ${runText} (${broken.entries} ${entry}s with PTE_CONT): its entries now disagree, and the TLB may use any of them for the whole run (a misprogrammed contiguous range). pageattr_${entry.toLowerCase()}_entry() does not check this (seed 003 review); with BBML2, split_kernel_leaf_mapping() clears the hint first.`,
        { related: leafOrigin(machine, broken.table, broken.first, level, runText), fix: alignedFix(machine, change, broken.start, broken.end, !machine.has('bbml2')) },
      );
    }
  }
}

function contRunDisagrees(table: LeafHit['table'], first: number, run: number): boolean {
  let anyCont = false;
  const lo0 = table.lo(first) & 0xfff;
  const hi0 = table.hi(first) & 0xffff0000;
  let differ = false;
  for (let i = first; i < first + run; i++) {
    if ((table.hi(i) & HI(52)) !== 0) anyCont = true;
    if ((table.lo(i) & 0xfff) !== lo0 || (table.hi(i) & 0xffff0000) !== hi0) differ = true;
  }
  return anyCont && differ;
}

// ---------------------------------------------------------------------------------------------
// Seed 001: protecting one linear-map page, and making a block of it page-mapped

export interface LinearPageChange {
  /** 0 or a negative errno. */
  ret: number;
  /** The block that made arm64 fail, when it did. */
  partial?: LeafHit;
  /** arm64: the contiguous run the change left disagreeing, when it did. */
  brokenRun?: BrokenRun;
  splits: SplitLog;
}

/**
 * Makes one page of the linear map read-only (or writable again), as write-protected page tables
 * do with each page-table page's alias: x86 set_memory_ro/rw (CPA, splitting the direct map),
 * arm64 __change_memory_common on the alias (BBML2 splits, else -EINVAL on a block), riscv
 * __set_memory on the linear address. ARM LPAE: nothing (not modelled).
 */
export function setLinearPageReadonly(machine: Machine, va: bigint, readonly: boolean): LinearPageChange {
  const op: PageattrOp = readonly ? 'ro' : 'rw';
  const page = machine.profile.pageSize;
  const change = newChange(machine, readonly ? 'set_memory_ro' : 'set_memory_rw', va, 1n);
  let ret = 0;
  switch (machine.profile.family) {
    case 'arm64': {
      ret = arm64ChangeCommon(machine, va, page, ARM64_MASKS[op], change, 'primary');
      const broken = ret === 0 ? brokenRunAt(machine, va, 4) : undefined;
      if (broken) {
        const result: LinearPageChange = { ret, brokenRun: broken, splits: change.splits };
        return result;
      }
      break;
    }
    case 'x86':
      ret = x86Cpa(machine, va, 1, X86_MASKS[op], true, true, change).ret;
      break;
    case 'riscv': {
      riscvSplitLinearMapping(machine, va, va + page, change.splits);
      for (let pass = 0; pass < 2; pass++) pageattrWalk(machine, va, va + page, riscvPageattrOps, RISCV_MASKS[op]);
      machine.flushTlb();
      break;
    }
    case 'arm':
      break;
  }
  const result: LinearPageChange = { ret, splits: change.splits };
  if (change.partial) result.partial = change.partial.hit;
  return result;
}

/**
 * Makes [va, va + size) of the linear map page-mapped, as a refill of the pte-mapped cache needs:
 * x86 set_memory_4k (CPA with force_split), arm64 range_split_to_ptes (BBML2 only), riscv the
 * split __set_memory does for a page of the block, then flush_tlb_all.
 */
export function splitLinearToPtes(machine: Machine, va: bigint, size: bigint): SplitLog {
  const log: SplitLog = [];
  switch (machine.profile.family) {
    case 'x86': {
      const res = changePageAttr(machine, { start: va, pages: Number(size / machine.profile.pageSize), setLo: 0, setHi: 0, clrLo: 0, clrHi: 0, forceSplit: true, checkAlias: true }, true);
      if (res.changed) machine.flushTlb();
      log.push(...res.splits);
      break;
    }
    case 'arm64':
      arm64RangeSplitToPtes(machine, va, va + size, log);
      break;
    case 'riscv':
      riscvSplitLinearMapping(machine, va, va + machine.profile.pageSize, log);
      if (log.length > 0) machine.flushTlb();
      break;
    case 'arm':
      break;
  }
  return log;
}

/** The message of a page-table page whose alias could not be protected (arm64 without BBML2). */
export function unprotectableMessage(machine: Machine, hit: LeafHit, count: number): string {
  const level = levelName(machine, hit.depth);
  return `write_protect_pgtables: ${plural(count, 'page-table page')} could not be made read-only: the linear-map alias lies inside the ${level} block ${hex16(hit.blockStart)}-${hex16(hit.blockEnd)}, which arm64 cannot split without BBML2 (pageattr_${level.toLowerCase()}_entry() returns -EINVAL). Map the linear map with leaf=pte (what arm64 does without BBML2 when rodata_full is on) or add \`feature bbml2\`.`;
}

/** The partial-block error for page-table pages whose alias could not be protected. */
export function reportUnprotectable(machine: Machine, hit: LeafHit, count: number): Finding {
  return machine.report('partial-block-overlap', 'error', unprotectableMessage(machine, hit, count), {
    related: leafOrigin(machine, hit.table, hit.index, hit.depth, blockText(machine, hit.depth, hit.blockStart, hit.blockEnd)),
    fix: { kind: 'partial-block', alignedStart: hit.blockStart, alignedPages: (hit.blockEnd - hit.blockStart) / machine.profile.pageSize, bbml2Helps: true },
  });
}

/** The message of page-table pages whose protection left a contiguous run disagreeing (arm64). */
export function brokenRunMessage(broken: BrokenRun, count: number): string {
  return `write_protect_pgtables: making the linear-map alias of ${plural(count, 'page-table page')} read-only changed only one entry of a contiguous PTE run (the first: ${hex16(broken.start)}-${hex16(broken.end)}): the run's entries now disagree (a misprogrammed contiguous range). arm64 maps the linear map without contiguous hints when it cannot split it (map it with leaf=pte nocont), or add \`feature bbml2\` so that split_kernel_leaf_mapping() clears the hint first.`;
}

export function reportBrokenRun(machine: Machine, broken: BrokenRun, count: number): Finding {
  const runText = `the contiguous run ${hex16(broken.start)}-${hex16(broken.end)}`;
  return machine.report('partial-block-overlap', 'warning', brokenRunMessage(broken, count), {
    related: leafOrigin(machine, broken.table, broken.first, broken.level, runText),
    fix: { kind: 'partial-block', alignedStart: broken.start, alignedPages: (broken.end - broken.start) / machine.profile.pageSize, bbml2Helps: true },
  });
}
