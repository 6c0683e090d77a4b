// The thread program compiler: the statements of each `thread` become a flat list of
// instructions, each executed as one or more atomic steps (steps.ts), with the accesses each
// instruction may make, so the search can tell which steps commute.

import { bitMask, findBit } from '../arch/codec';
import type { Depth } from '../arch/profile';
import { EvalError, levelDepth, type ExecContext } from '../exec/context';
import type { BitsItem, ConcurrentBlock, FreeVariant, Span, ThreadStmt } from '../program';
import { hex16 } from '../u64';
import { ALL_DEPTHS, FREE, KEY_READ, KEY_WRITE, LOCK, READ, WRITE, objectAccess, slotAccess, type Access } from './footprint';
import type { World } from './model';

export type Instr =
  | { op: 'lock' | 'unlock'; lock: number; write: boolean; span: Span }
  | { op: 'key'; key: number; on: boolean; span: Span }
  | { op: 'branch'; key: number; elseTo: number; span: Span }
  | { op: 'jump'; to: number; span: Span }
  | { op: 'walk'; lo: bigint; hi: bigint; span: Span }
  | {
      op: 'free';
      /** Real depth of the table holding the entry (the PUD or PMD entry). */
      parentDepth: Depth;
      /** `pud` or `pmd`: which helper. */
      level: 'pud' | 'pmd';
      va: bigint;
      size: bigint;
      variant: FreeVariant;
      span: Span;
    }
  | { op: 'load' | 'clear'; depth: Depth; va: bigint; span: Span; level: string }
  | { op: 'rmw'; depth: Depth; va: bigint; set: [number, number]; clear: [number, number]; span: Span; level: string; text: string }
  | { op: 'skip'; span: Span; text: string };

export interface Thread {
  name: string;
  instrs: Instr[];
  /** Accesses instruction pc may make. */
  fp: Access[][];
  /** Accesses instructions pc.. may make (both arms of every branch). */
  suffix: Access[][];
}

/** Statements a thread may run that the explorer does not model step by step yet. */
export interface Skipped {
  span: Span;
  text: string;
}

const TOP = 1n << 64n;

/** Compiles every thread of a block. Throws EvalError for an address that does not evaluate. */
export function compileBlock(ctx: ExecContext, world: World, block: ConcurrentBlock, skipped: Skipped[]): Thread[] {
  return block.threads.map((thread) => {
    const instrs: Instr[] = [];
    compileBody(ctx, world, thread.body, instrs, skipped);
    const fp = instrs.map((instr) => footprint(world, instr));
    const suffix: Access[][] = new Array<Access[]>(instrs.length + 1);
    suffix[instrs.length] = [];
    for (let pc = instrs.length - 1; pc >= 0; pc--) suffix[pc] = [...(fp[pc] ?? []), ...(suffix[pc + 1] ?? [])];
    return { name: thread.name.text, instrs, fp, suffix };
  });
}

function compileBody(ctx: ExecContext, world: World, body: ThreadStmt[], out: Instr[], skipped: Skipped[]): void {
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
        compileBody(ctx, world, stmt.then, out, skipped);
        if (stmt.else) {
          const jump: Instr = { op: 'jump', to: 0, span: stmt.span };
          out.push(jump);
          branch.elseTo = out.length;
          compileBody(ctx, world, stmt.else, out, skipped);
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
        out.push({ op: 'walk', lo, hi, span: stmt.span });
        break;
      }
      case 'pud_free_pmd_page':
      case 'pmd_free_pte_page': {
        const levelDepthOf = stmt.kind === 'pud_free_pmd_page' ? 2 : 3;
        const geometry = profile.levels[levelDepthOf];
        if (!geometry) break;
        const size = 1n << BigInt(geometry.shift);
        const va = ctx.num(stmt.addr) & ~(size - 1n);
        out.push({
          op: 'free',
          parentDepth: geometry.tableDepth,
          level: stmt.kind === 'pud_free_pmd_page' ? 'pud' : 'pmd',
          va,
          size,
          variant: (stmt.variant?.text as FreeVariant | undefined) ?? 'static_key',
          span: stmt.span,
        });
        break;
      }
      case 'load':
      case 'clear': {
        const depth = levelDepth(stmt.level.text) ?? 4;
        out.push({ op: stmt.kind, depth: profile.levels[depth]?.tableDepth ?? depth, va: ctx.num(stmt.addr), span: stmt.span, level: stmt.level.text });
        break;
      }
      case 'rmw': {
        const depth = levelDepth(stmt.level.text) ?? 4;
        const set = bits(ctx, world, stmt.set);
        const clear = bits(ctx, world, stmt.clear);
        const text = [stmt.set.length > 0 ? `set ${itemsText(stmt.set)}` : '', stmt.clear.length > 0 ? `clear ${itemsText(stmt.clear)}` : ''].filter((x) => x).join(' ');
        out.push({ op: 'rmw', depth: profile.levels[depth]?.tableDepth ?? depth, va: ctx.num(stmt.addr), set, clear, span: stmt.span, level: stmt.level.text, text });
        break;
      }
      default:
        // FIXME(#7): other kernel and table statements inside a thread are not explored yet.
        skipped.push({ span: stmt.span, text: stmt.keyword.text });
        out.push({ op: 'skip', span: stmt.span, text: stmt.keyword.text });
        break;
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
  return [Number(mask & 0xffffffffn), Number((mask >> 32n) & 0xffffffffn)];
}

/** Every access an instruction may make, conservatively. */
export function footprint(world: World, instr: Instr): Access[] {
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
    case 'skip':
      return [];
    case 'walk':
      return [slotAccess(READ, ALL_DEPTHS, instr.lo, instr.hi)];
    case 'free': {
      const end = instr.va + instr.size;
      const below = ALL_DEPTHS & ~((1 << (instr.parentDepth + 1)) - 1);
      const out = [
        slotAccess(READ, ALL_DEPTHS, instr.va, end),
        slotAccess(WRITE, (1 << instr.parentDepth) | below, instr.va, end),
        slotAccess(FREE, below, instr.va, end),
      ];
      if (instr.variant !== 'unpatched') out.push(objectAccess(LOCK, init));
      if (instr.variant === 'static_key') out.push(objectAccess(KEY_READ, world.keyIndex('ptdump_lock')));
      return out;
    }
    case 'load':
      return [slotAccess(READ, ALL_DEPTHS, instr.va, instr.va + 1n)];
    case 'clear':
    case 'rmw':
      return [slotAccess(READ, ALL_DEPTHS, instr.va, instr.va + 1n), slotAccess(WRITE, 1 << instr.depth, instr.va, instr.va + 1n)];
  }
}

export function vaText(va: bigint): string {
  return hex16(va);
}
