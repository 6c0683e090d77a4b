// The thread program compiler: the statements of each `thread` become a flat list of
// instructions, each executed as one or more atomic steps (steps.ts), with the accesses each
// instruction may make, so the search can tell which steps commute.

import { bitMask, findBit } from '../arch/codec';
import { entrySize, indexAt, type Depth } from '../arch/profile';
import { EvalError, levelDepth, type ExecContext } from '../exec/context';
import { mapPacked } from '../list';
import type { BitsItem, ConcurrentBlock, FreeVariant, KernelOnlyStmt, Span, TableStmt, ThreadStmt } from '../program';
import { hex16, split64 } from '../u64';
import {
  ALL_DEPTHS,
  CLEAR,
  FREE,
  KEY_READ,
  KEY_WRITE,
  LOCK,
  MACHINE,
  READ,
  TOP_UNITS,
  WRITE,
  everywhere,
  objectAccess,
  slotAccess,
  units,
  type Access,
} from './footprint';
import type { World } from './model';

/** A kernel or table statement a thread runs as one atomic step through its own handler. */
export type KernelStmtInThread = Exclude<KernelOnlyStmt | TableStmt, { kind: 'clear' }>;

export type Instr =
  | { op: 'lock' | 'unlock'; lock: number; write: boolean; span: Span }
  | { op: 'key'; key: number; on: boolean; span: Span }
  | { op: 'branch'; key: number; elseTo: number; span: Span }
  | { op: 'jump'; to: number; span: Span }
  | {
      op: 'walk';
      /** Root indices of the first and last entry, and the range in 4 KiB units. */
      first: number;
      last: number;
      lo: number;
      hi: number;
      span: Span;
    }
  | {
      op: 'free';
      /** Real depth of the table holding the entry (the PUD or PMD entry). */
      parentDepth: Depth;
      /** Real depth of the table it frees (the PMD or PTE table). */
      childDepth: Depth;
      /** `pud` or `pmd`: which helper. */
      level: 'pud' | 'pmd';
      va: bigint;
      /** Index of `va` in a table of each real depth. */
      ix: number[];
      /** `va` in 4 KiB units. */
      u: number;
      variant: FreeVariant;
      span: Span;
    }
  | { op: 'load' | 'clear'; depth: Depth; va: bigint; ix: number[]; u: number; span: Span; level: string }
  | { op: 'rmw'; depth: Depth; va: bigint; ix: number[]; u: number; set: [number, number]; clear: [number, number]; span: Span; level: string; text: string }
  | {
      op: 'kernel';
      stmt: KernelStmtInThread;
      /** What the statement may read (READ accesses); it also writes, see `Thread.fp`. */
      reads: Access[];
      /** Whether it changes machine state besides entries (MACHINE). */
      machine: boolean;
      /** Whether it may take init_mm's lock with a trylock (vmalloc … huge). */
      trylock: boolean;
      span: Span;
    };

export interface Thread {
  name: string;
  instrs: Instr[];
  /** Accesses instruction pc may make. */
  fp: Access[][];
  /** Accesses instructions pc.. may make (both arms of every branch). */
  suffix: Access[][];
}

const TOP = 1n << 64n;

/** Compiles every thread of a block. Throws EvalError for an address that does not evaluate. */
export function compileBlock(ctx: ExecContext, world: World, block: ConcurrentBlock): Thread[] {
  return mapPacked(block.threads, (thread) => {
    const instrs: Instr[] = [];
    compileBody(ctx, world, thread.body, instrs);
    const fp = mapPacked(instrs, (instr) => footprint(ctx, world, instr));
    const suffix: Access[][] = new Array<Access[]>(instrs.length + 1);
    suffix[instrs.length] = [];
    for (let pc = instrs.length - 1; pc >= 0; pc--) suffix[pc] = [...(fp[pc] ?? []), ...(suffix[pc + 1] ?? [])];
    return { name: thread.name.text, instrs, fp, suffix };
  });
}

/** Index of `va` in a table of each real depth. */
function indices(world: World, va: bigint): number[] {
  return mapPacked(world.profile.levels, (geometry) => indexAt(world.profile, geometry.depth, va));
}

function compileBody(ctx: ExecContext, world: World, body: ThreadStmt[], out: Instr[]): void {
  const profile = world.profile;
  for (const stmt of body) {
    switch (stmt.kind) {
      case 'lock':
      case 'unlock':
        out.push({ op: stmt.kind, lock: world.lockIndex(stmt.lock.text), write: stmt.mode.text === 'write', span: stmt.span });
        break;
      case 'static_branch_enable':
      case 'static_branch_disable':
        out.push({ op: 'key', key: world.keyIndex(stmt.key.text), on: stmt.kind === 'static_branch_enable', span: stmt.span });
        break;
      case 'if': {
        const branch: Instr = { op: 'branch', key: world.keyIndex(stmt.key.text), elseTo: 0, span: stmt.span };
        out.push(branch);
        compileBody(ctx, world, stmt.then, out);
        if (stmt.else) {
          const jump: Instr = { op: 'jump', to: 0, span: stmt.span };
          out.push(jump);
          branch.elseTo = out.length;
          compileBody(ctx, world, stmt.else, out);
          jump.to = out.length;
        } else {
          branch.elseTo = out.length;
        }
        break;
      }
      case 'walk': {
        let lo = profile.ptdumpStart;
        let hi = TOP;
        if (stmt.addr) {
          lo = ctx.num(stmt.addr);
          hi = stmt.size ? lo + ctx.num(stmt.size) : lo + profile.pageSize;
          if (hi <= lo) throw new EvalError({ code: 'bad-value', span: stmt.size?.span ?? stmt.span, message: 'the walk range is empty' });
        }
        const [ulo, uhi] = units(lo, hi);
        out.push({ op: 'walk', first: indexAt(profile, 0, lo), last: indexAt(profile, 0, hi - 1n), lo: ulo, hi: uhi, span: stmt.span });
        break;
      }
      case 'pud_free_pmd_page':
      case 'pmd_free_pte_page': {
        const levelDepthOf = stmt.kind === 'pud_free_pmd_page' ? 2 : 3;
        const geometry = profile.levels[levelDepthOf];
        const below = profile.levels[levelDepthOf + 1];
        if (!geometry || !below) break;
        const va = ctx.num(stmt.addr) & ~geometry.offsetMask;
        out.push({
          op: 'free',
          parentDepth: geometry.tableDepth,
          childDepth: below.tableDepth,
          level: stmt.kind === 'pud_free_pmd_page' ? 'pud' : 'pmd',
          va,
          ix: indices(world, va),
          u: Number(va >> 12n),
          variant: (stmt.variant?.text as FreeVariant | undefined) ?? 'static_key',
          span: stmt.span,
        });
        break;
      }
      case 'load':
      case 'clear': {
        const depth = levelDepth(stmt.level.text) ?? 4;
        const va = ctx.num(stmt.addr);
        out.push({ op: stmt.kind, depth: profile.levels[depth]?.tableDepth ?? depth, va, ix: indices(world, va), u: Number(va >> 12n), span: stmt.span, level: stmt.level.text });
        break;
      }
      case 'rmw': {
        const depth = levelDepth(stmt.level.text) ?? 4;
        const set = bits(ctx, world, stmt.set);
        const clear = bits(ctx, world, stmt.clear);
        const text = [stmt.set.length > 0 ? `set ${itemsText(stmt.set)}` : '', stmt.clear.length > 0 ? `clear ${itemsText(stmt.clear)}` : ''].filter((x) => x).join(' ');
        const va = ctx.num(stmt.addr);
        out.push({ op: 'rmw', depth: profile.levels[depth]?.tableDepth ?? depth, va, ix: indices(world, va), u: Number(va >> 12n), set, clear, span: stmt.span, level: stmt.level.text, text });
        break;
      }
      default: {
        const inspects = stmt.kind === 'ptdump' || stmt.kind === 'check_wx';
        out.push({
          op: 'kernel',
          stmt,
          reads: inspects ? [readRange(ctx, world, stmt)] : [everywhere(READ)],
          machine: !inspects,
          trylock: stmt.kind === 'vmalloc' && stmt.huge !== undefined,
          span: stmt.span,
        });
        break;
      }
    }
  }
}

function itemsText(items: BitsItem[]): string {
  return items.map((item) => (item.kind === 'bit' ? item.name.text : 'value')).join('|');
}

/** A `set`/`clear` operand as lo/hi masks. */
function bits(ctx: ExecContext, world: World, items: BitsItem[]): [number, number] {
  let mask = 0n;
  for (const item of items) {
    if (item.kind === 'value') {
      mask |= ctx.num(item.value);
      continue;
    }
    const bit = findBit(world.profile.codec, item.name.text);
    if (!bit) {
      throw new EvalError({ code: 'bad-value', span: item.name.span, message: `\`${item.name.text}\` is not a descriptor bit of ${world.profile.label}` });
    }
    mask |= bitMask(bit);
  }
  return split64(mask);
}

/** What ptdump [ADDR size S] / check_wx reads: their range of the kernel's tables. */
function readRange(ctx: ExecContext, world: World, stmt: Extract<KernelStmtInThread, { kind: 'ptdump' | 'check_wx' }>): Access {
  if (stmt.kind === 'ptdump' && stmt.addr) {
    const range = evaluated(() => {
      const lo = ctx.num(stmt.addr as NonNullable<typeof stmt.addr>);
      return units(lo, stmt.size ? lo + ctx.num(stmt.size) : TOP);
    });
    if (range) return slotAccess(READ, ALL_DEPTHS, range[0], range[1]);
  }
  const [lo] = units(world.profile.ptdumpStart, TOP);
  return slotAccess(READ, ALL_DEPTHS, lo, TOP_UNITS);
}

/** A value computed from expressions, or undefined when one does not evaluate yet. */
function evaluated<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch (e) {
    if (e instanceof EvalError) return undefined;
    throw e;
  }
}

/** Slots of every depth in a byte range, or everywhere when the range does not evaluate. */
function rangeAccess(k: typeof WRITE | typeof FREE, range: [bigint, bigint] | undefined): Access {
  if (!range) return everywhere(k);
  const [lo, hi] = units(range[0], range[1] > range[0] ? range[1] : range[0] + 1n);
  return slotAccess(k, ALL_DEPTHS, lo, hi);
}

/**
 * What a kernel statement may write or free, from what the statement says and the regions it
 * works in; where that is not known before it runs, everywhere. Statements that may allocate or
 * protect page-table pages also write the linear map where the features make them
 * (write_protect_pgtables, pte_mapped_cache), as do permission changes (aliases).
 */
function kernelWrites(ctx: ExecContext, world: World, stmt: KernelStmtInThread): Access[] {
  const profile = world.profile;
  const region = (id: string): [bigint, bigint] | undefined => {
    const r = profile.regions.find((x) => x.id === id);
    return r ? [r.start, r.end] : undefined;
  };
  const pgtablePagesTouchLinear = world.machine.has('write_protect_pgtables') || world.machine.has('pte_mapped_cache');
  const linear = rangeAccess(WRITE, region('linear'));
  const page = profile.pageSize;
  const out: Access[] = [];
  switch (stmt.kind) {
    case 'map':
      out.push(rangeAccess(WRITE, evaluated(() => [ctx.num(stmt.va), ctx.num(stmt.va) + ctx.num(stmt.size)])));
      break;
    case 'unmap':
      out.push(rangeAccess(WRITE, evaluated(() => [ctx.num(stmt.va), ctx.num(stmt.va) + ctx.num(stmt.size)])));
      break;
    case 'vmalloc':
    case 'vfree':
      out.push(rangeAccess(WRITE, region('vmalloc')), rangeAccess(FREE, region('vmalloc')));
      break;
    case 'set_memory':
    case 'set_memory_valid':
      out.push(rangeAccess(WRITE, evaluated(() => [ctx.num(stmt.addr), ctx.num(stmt.addr) + ctx.num(stmt.pages) * page])), linear);
      break;
    case 'set_direct_map':
    case 'alloc_pgtable_page':
    case 'free_pgtable_page':
      out.push(linear);
      break;
    case 'populate':
      out.push(rangeAccess(WRITE, evaluated(() => [ctx.num(stmt.addr), ctx.num(stmt.addr) + 1n])));
      break;
    case 'pgtable_free':
      // The table's place is known only when the statement runs.
      out.push(everywhere(FREE));
      break;
    case 'pgtable_alloc':
    case 'pgtable_ctor':
    case 'pgtable_dtor':
    case 'ptdump':
    case 'check_wx':
      break;
  }
  if (pgtablePagesTouchLinear && stmt.kind !== 'ptdump' && stmt.kind !== 'check_wx') out.push(linear);
  return out;
}

/** Every access an instruction may make, conservatively. */
export function footprint(ctx: ExecContext, world: World, instr: Instr): Access[] {
  const init = world.lockIndex('init_mm');
  switch (instr.op) {
    case 'lock':
    case 'unlock':
      return [objectAccess(LOCK, instr.lock)];
    case 'key':
      return [objectAccess(KEY_WRITE, instr.key)];
    case 'branch':
      return [objectAccess(KEY_READ, instr.key)];
    case 'jump':
      return [];
    case 'walk':
      return [slotAccess(READ, ALL_DEPTHS, instr.lo, instr.hi)];
    case 'free': {
      const size = Number(entrySize(world.profile, instr.level === 'pud' ? 2 : 3)) / 4096;
      const end = instr.u + Math.max(1, size);
      const below = ALL_DEPTHS & ~((1 << (instr.parentDepth + 1)) - 1);
      // It clears the entry it is given and, for a PUD entry, the PMD entries of the table it
      // frees (never a PTE entry); it frees that table and, under a PUD entry, its PTE tables.
      const writes = (1 << instr.parentDepth) | (instr.level === 'pud' ? 1 << instr.childDepth : 0);
      const out = [
        slotAccess(READ, ALL_DEPTHS, instr.u, end),
        slotAccess(CLEAR, writes, instr.u, end),
        slotAccess(FREE, below, instr.u, end),
        objectAccess(MACHINE, 0),
      ];
      if (instr.variant !== 'unpatched') out.push(objectAccess(LOCK, init));
      if (instr.variant === 'static_key') out.push(objectAccess(KEY_READ, world.keyIndex('ptdump_lock')));
      return out;
    }
    case 'load':
      return [slotAccess(READ, ALL_DEPTHS, instr.u, instr.u + 1)];
    case 'clear':
    case 'rmw':
      return [slotAccess(READ, ALL_DEPTHS, instr.u, instr.u + 1), slotAccess(WRITE, 1 << instr.depth, instr.u, instr.u + 1)];
    case 'kernel': {
      const out = [...instr.reads, ...kernelWrites(ctx, world, instr.stmt)];
      if (instr.machine) out.push(objectAccess(MACHINE, 0));
      if (instr.trylock) out.push(objectAccess(LOCK, init));
      return out;
    }
  }
}

export function vaText(va: bigint): string {
  return hex16(va);
}
