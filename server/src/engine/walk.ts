// The page-table walker: one walker for every consumer, on the kernel's mm_walk_ops contract
// (mm/pagewalk.c, include/linux/pagewalk.h; kernel-notes/pagewalk-and-pageattr.md §1).
//
// Consumers are ops tables (walk-ops/*.ts and the statement modules) with only the callbacks
// they need; per-walk data lives in `walk.state`.

import type { Depth, LevelGeometry } from './arch/profile';
import type { AddressSpace, Machine } from './model/machine';
import type { TablePage } from './model/table';
import { numberToU64, u64InRangeToNumber } from './u64';

/** Descend into the entry's subtree (the default each time a callback is called). */
export const ACTION_SUBTREE = 0;
/** Skip the subtree and continue with the next entry at this level. */
export const ACTION_CONTINUE = 1;
/** Call the callbacks for this entry again (after the callback changed it, e.g. split it). */
export const ACTION_AGAIN = 2;

/** errno values callbacks and the walker return negated, as the kernel does. */
export const EINVAL = 22;
export const ENOMEM = 12;
export const EFAULT = 14;

/**
 * Callback for a PGD/P4D/PUD/PMD entry that is not none.
 *
 * `table[index]` is the entry; `start`/`end` is the part of the walked range it covers. A
 * folded level's callback is called on the same slot as the level it folds into, as in the
 * kernel ("p?d_entry callbacks are called even if those levels are folded"); `walk.isLeaf`
 * answers pXd_leaf() for the level asking.
 */
export type EntryCallback<S> = (walk: Walk<S>, table: TablePage, index: number, start: bigint, end: bigint) => number;

/**
 * Callback for one PTE. Its address is `walk.pteAddress(index)` (computed only when asked, so
 * loops over hundreds of thousands of PTEs allocate nothing).
 */
export type PteCallback<S> = (walk: Walk<S>, table: TablePage, index: number) => number;

/**
 * Callback for a hole: a none entry at `depth` (0 = PGD … 3 = PMD), covering [start, end).
 * Holes in folded levels are reported at the real level holding them (real_depth()). Empty PTEs
 * go to `pte_entry`, never here.
 */
export type HoleCallback<S> = (walk: Walk<S>, start: bigint, end: bigint, depth: Depth) => number;

/**
 * The walk contract (mm_walk_ops).
 *
 * - Every callback returns 0 to continue, a positive value to stop the walk and return that
 *   value to the caller, or a negative errno to stop with that error.
 * - `pud_entry`/`pmd_entry` (and the others) may set `walk.action`: ACTION_SUBTREE (default,
 *   descend), ACTION_CONTINUE (skip this entry's subtree), ACTION_AGAIN (call again for this
 *   entry).
 * - `pte_entry` is called for every PTE in range, empty ones included, unless `install_pte` is
 *   set: then empty PTEs go to `install_pte` (which writes the new entry with
 *   `walk.machine.writeEntry`) and only existing ones to `pte_entry`.
 * - With `install_pte`, missing tables at every level are allocated and linked on the way
 *   (__p4d_alloc … __pte_alloc, accounted as the kernel does) and `pte_hole` is not called for
 *   ranges it populates.
 * - Kernel walks (`mode: 'kernel'`, no VMA) never descend below a leaf. User walks split a huge
 *   leaf before descending when a lower callback exists and the callback left ACTION_SUBTREE
 *   (split_huge_pud/pmd), except that an install-only walk leaves present huge leaves alone.
 * - The walker never descends into a level when no callback at or below it is set.
 */
export interface WalkOps<S> {
  pgd_entry?: EntryCallback<S>;
  p4d_entry?: EntryCallback<S>;
  pud_entry?: EntryCallback<S>;
  pmd_entry?: EntryCallback<S>;
  pte_entry?: PteCallback<S>;
  pte_hole?: HoleCallback<S>;
  install_pte?: PteCallback<S>;
}

export interface WalkOptions {
  mode: 'kernel' | 'user';
  /**
   * User walks: split the huge leaf at `table[index]` into a table of the next level
   * (split_huge_pud/pmd). Must leave a table entry there.
   */
  splitHuge?: (walk: Walk<unknown>, table: TablePage, index: number) => void;
}

/**
 * One walk in progress (struct mm_walk). walkRange reuses these objects (`walks`, one per
 * nesting level): `begin` sets the fields below for each walk, and between two walks one holds
 * no caller state, only the last walk's machine and ops until the run ends (`forgetWalks`).
 */
export class Walk<S> {
  action = ACTION_SUBTREE;
  /** Where the current PTE range starts (an exact Number, see walkTable), and its index. */
  private pteStart = 0;
  private pteFirst = 0;
  /** The range the entry callbacks being called cover, as walk positions (see walkTable). */
  private entryStart = 0;
  private entryEnd = 0;
  machine!: Machine;
  space!: AddressSpace;
  ops!: WalkOps<S>;
  state!: S;
  options!: WalkOptions;
  /** The ops table with its pruning answers worked out (see planOf). */
  plan!: WalkPlan<S>;
  /**
   * The ops table walked before the current one, and its plan: a guard install alternates
   * between its own ops and the zap's, and a WeakMap lookup per walk was a fifth of its setup.
   */
  private otherOps: WalkOps<S> | undefined;
  private otherPlan: WalkPlan<S> | undefined;
  /** The PTE level's constants (page size, shift, offset mask). */
  private page!: LevelGeometry;
  /** The walked range as given, and page-rounded as the Numbers walkTable computes with. */
  private rangeStart = 0n;
  private rangeEnd = 0n;
  /** The same ends as Numbers, exact below 2^53 (enterRange compares these, not the BigInts). */
  private rangeStartExact = -1;
  private rangeEndExact = -1;
  private rangeStartN = 0;
  private rangeEndN = 0;
  /** The PTE level the ends were rounded to (walks of other machines take the same walk objects). */
  private rangePage: LevelGeometry | undefined;

  /** Sets the walk up to walk [start, end) of `space` with `ops`. */
  begin(machine: Machine, space: AddressSpace, ops: WalkOps<S>, state: S, options: WalkOptions): void {
    this.action = ACTION_SUBTREE;
    if (this.machine !== machine) {
      this.machine = machine;
      this.page = machine.profile.levels[4] as LevelGeometry;
    }
    if (this.space !== space) this.space = space;
    if (this.ops !== ops) {
      const other = this.otherOps === ops ? this.otherPlan : undefined;
      this.otherOps = this.ops;
      this.otherPlan = this.plan;
      this.ops = ops;
      this.plan = other ?? planOf(ops);
    }
    this.state = state;
    if (this.options !== options) this.options = options;
  }

  /**
   * Lets go of the caller's state. The machine, space, ops and options stay until the next walk
   * or `forgetWalks`: the walks of one run set the same ones again and again, and comparing
   * costs less than storing (each pointer store into this long-lived object is a write barrier).
   */
  end(): void {
    this.state = undefined!;
  }

  /** Lets go of everything, so an idle walk keeps no run alive. */
  forget(): void {
    this.machine = undefined!;
    this.space = undefined!;
    this.ops = undefined!;
    this.plan = undefined!;
    this.otherOps = undefined;
    this.otherPlan = undefined;
    this.options = undefined!;
    this.page = undefined!;
    this.rangePage = undefined;
  }

  /** Virtual address of entry 0 of the PTE table being walked. */
  get pteBase(): bigint {
    return numberToU64(this.pteStart - this.pteFirst * this.page.entryBytes);
  }

  /** Records the PTE range being walked (the walker's bookkeeping for pteAddress). */
  enterPtes(start: number, first: number): void {
    this.pteStart = start;
    this.pteFirst = first;
  }

  /** Records the range the entry callbacks about to be called cover (the walker's bookkeeping for firstPte and lastPte). */
  enterEntry(start: number, end: number): void {
    this.entryStart = start;
    this.entryEnd = end;
  }

  /**
   * The PTE indices [firstPte, lastPte] under the PMD entry whose pmd_entry is being called:
   * pte_offset() of its range's start and of its end - 1, where zap_pte_range and the other
   * PTE loops start and stop. From the walker's exact positions (the end one page-rounded up),
   * so a callback's PTE loop converts no BigInt.
   */
  get firstPte(): number {
    return Math.floor(this.entryStart / this.page.entryBytes) & (this.page.ptrs - 1);
  }

  get lastPte(): number {
    return (this.entryEnd / this.page.entryBytes - 1) & (this.page.ptrs - 1);
  }

  pteAddress(index: number): bigint {
    return this.address(this.pteStart + (index - this.pteFirst) * this.page.entryBytes);
  }

  /**
   * Sets the range walkRange walks (`start < end`, with `startN`/`endN` their Numbers), and its
   * page-rounded ends as Numbers (firstPosition, lastPosition). Walks that follow one another
   * take the same idle walk, and the walks of one statement (a guard install's walk, zap and
   * walk again) cover one range: its ends are rounded and stored once. The test for the same
   * range compares Numbers, exact below 2^53 (`startN < endN`, so `endN` bounds both); BigInt
   * comparisons are runtime calls.
   */
  enterRange(start: bigint, end: bigint, startN: number, endN: number): void {
    if (startN === this.rangeStartExact && endN === this.rangeEndExact && endN < 2 ** 53 && this.page === this.rangePage) return;
    this.rangeStart = start;
    this.rangeEnd = end;
    this.rangeStartExact = startN;
    this.rangeEndExact = endN;
    this.rangePage = this.page;
    this.rangeStartN = pagePosition(start, startN, this.page, false);
    this.rangeEndN = pagePosition(end, endN, this.page, true);
  }

  get firstPosition(): number {
    return this.rangeStartN;
  }

  get lastPosition(): number {
    return this.rangeEndN;
  }

  /**
   * The address a walk position stands for: the walked range's own ends exactly as given
   * (they need not be page-aligned), every other position (an entry boundary) as it is.
   */
  address(position: number): bigint {
    if (position === this.rangeStartN) return this.rangeStart;
    if (position === this.rangeEndN) return this.rangeEnd;
    return numberToU64(position);
  }

  /**
   * pXd_leaf() for the level `depth` asking about `table[index]`: a leaf belongs to the deepest
   * level its slot aliases, so a folded level above it sees no leaf (arm64's pgd_leaf() is
   * false even where a 1 GiB block sits in a PGD slot of a 3-level table).
   */
  isLeaf(table: TablePage, index: number, depth: Depth): boolean {
    const profile = this.machine.profile;
    if (profile.entryDepth[table.depth] !== depth) return false;
    return profile.codec.classify(depth, table.lo(index), table.hi(index), table.depth === 4) === 'leaf';
  }
}

type EntryCallbackName = 'pgd_entry' | 'p4d_entry' | 'pud_entry' | 'pmd_entry';
const ENTRY_CALLBACKS: readonly EntryCallbackName[] = ['pgd_entry', 'p4d_entry', 'pud_entry', 'pmd_entry'];

/**
 * `address` (whose Number is `n`) rounded down (or up) to its page, as an exact Number. Below
 * 2^53 the Number is exact and the rounding is done on it; above, only a page-aligned address
 * converts exactly, so an unaligned one is rounded as a BigInt first (page numbers fit in 52
 * bits).
 */
function pagePosition(address: bigint, n: number, page: LevelGeometry, up: boolean): number {
  const size = page.entryBytes;
  if (n < 2 ** 53) return (up ? Math.ceil(n / size) : Math.floor(n / size)) * size;
  if ((address & page.offsetMask) === 0n) return n;
  return Number((up ? address + page.offsetMask : address) >> page.shiftBig) * size;
}

const KERNEL_WALK: WalkOptions = { mode: 'kernel' };

/**
 * Walks [start, end) of `space` (walk_pgd_range), two addresses in [0, 2^64]. Returns 0, a
 * callback's positive stop value, or a negative errno. `start >= end` is -EINVAL, as in
 * walk_kernel_page_table_range().
 *
 * The ends are converted to Numbers once (u64InRangeToNumber, no BigInt comparison) and compared
 * as Numbers when both are exact (below 2^53), as BigInts only past that.
 */
export function walkRange<S>(
  machine: Machine,
  space: AddressSpace,
  start: bigint,
  end: bigint,
  ops: WalkOps<S>,
  state: S,
  options: WalkOptions = KERNEL_WALK,
): number {
  const startN = u64InRangeToNumber(start);
  const endN = u64InRangeToNumber(end);
  if (endN < 2 ** 53 ? startN >= endN : start >= end) return -EINVAL;
  const depth = walksInUse++;
  const walk = (walks[depth] ??= new Walk<unknown>()) as Walk<S>;
  walk.begin(machine, space, ops, state, options);
  walk.enterRange(start, end, startN, endN);
  try {
    return walkTable(walk, space.root, walk.firstPosition, walk.lastPosition);
  } finally {
    walk.end();
    walksInUse = depth;
  }
}

/**
 * The walk objects, one per nesting level: walks[n] serves a walk started while n others are in
 * progress (a callback may start another walk). A small madvise walks three times (guard
 * install: walk, zap, walk again), and a walk object per walk was a quarter of what such a
 * statement allocated; taken by depth, one needs no array push and pop per walk.
 */
const walks: Walk<unknown>[] = [];
let walksInUse = 0;

/**
 * The end of a run: the idle walks let go of its machine, so a run nobody holds can be collected
 * (its table memory then goes back to the pool, model/table.ts EntryArena). No walk is in
 * progress between two steps of a run, and a walk of another run sets everything again.
 */
export function forgetWalks(): void {
  if (walksInUse !== 0) return;
  for (const walk of walks) walk.forget();
}

/**
 * An ops table with the walker's questions about it answered once: the entry callback of each
 * depth, whether any callback listens at or below a depth (the kernel's pruning test), and
 * whether a walk is install-only below a depth (it leaves present huge leaves alone). Ops
 * tables are module constants, so this is worked out once per table, not per walk.
 */
interface WalkPlan<S> {
  entry: readonly (EntryCallback<S> | undefined)[];
  pte: PteCallback<S> | undefined;
  install: PteCallback<S> | undefined;
  hole: HoleCallback<S> | undefined;
  wantsFrom: readonly boolean[];
  installOnlyBelow: readonly boolean[];
}

const plans = new WeakMap<object, unknown>();

function planOf<S>(ops: WalkOps<S>): WalkPlan<S> {
  let plan = plans.get(ops) as WalkPlan<S> | undefined;
  if (!plan) {
    const entry = ENTRY_CALLBACKS.map((name) => ops[name]);
    const lower = Boolean(ops.pte_entry || ops.install_pte || ops.pte_hole);
    const wantsFrom = [0, 1, 2, 3, 4].map((depth) => lower || entry.slice(depth).some(Boolean));
    const installOnlyBelow = [0, 1, 2, 3, 4].map((depth) => Boolean(ops.install_pte) && !ops.pte_entry && !entry.slice(depth + 1).some(Boolean));
    plan = { entry, pte: ops.pte_entry, install: ops.install_pte, hole: ops.pte_hole, wantsFrom, installOnlyBelow };
    plans.set(ops, plan);
  }
  return plan;
}

/**
 * Walks [start, end) of `table`. Positions are Numbers, not BigInts: every position is a
 * page-aligned address (walkRange rounds the ends; entry boundaries are multiples of the entry
 * size), and a multiple of 2^12 below 2^64 has at most 52 significant bits, so a double holds
 * it exactly and division by a power of two and floor stay exact. An entry's index within its
 * table is `& (ptrs - 1)`, not `% ptrs`: ToInt32 is exact modulo 2^32 for any integral double,
 * `ptrs` is a power of two below 2^32, and `%` on doubles beyond int32 is a call to fmod (about
 * five times the cost, and a one-page walk computes ten indices). Callbacks still get
 * BigInt addresses (Walk.address), built only when one is called. This keeps a one-page walk,
 * run for every small madvise/mprotect, free of the dozens of BigInt allocations per level it
 * used to make.
 */
function walkTable<S>(walk: Walk<S>, table: TablePage, start: number, end: number): number {
  const machine = walk.machine;
  const profile = machine.profile;
  const depth = table.depth;
  const level = profile.levels[depth] as LevelGeometry;
  const size = level.entryBytes;
  const ptrs = level.ptrs;
  const plan = walk.plan;

  if (depth === 4) {
    // A walk never crosses its parent entry, so the range lies inside this one table.
    const first = Math.floor(start / size) & (ptrs - 1);
    const last = first + (end - start) / size - 1;
    walk.enterPtes(start, first);
    const pte = plan.pte;
    const install = plan.install;
    for (let i = first; i <= last; i++) {
      let r = 0;
      if (install && table.isNone(i)) r = install(walk, table, i);
      else if (pte) r = pte(walk, table, i);
      if (r !== 0) return r;
    }
    return 0;
  }

  const entryDepth = profile.entryDepth[depth] ?? depth;
  const lowerWanted = entryDepth < 4 && (plan.wantsFrom[entryDepth + 1] as boolean);
  const codec = profile.codec;

  for (let addr = start; addr < end; ) {
    const entryIndex = Math.floor(addr / size);
    const i = entryIndex & (ptrs - 1);
    const entryEnd = (entryIndex + 1) * size;
    const next = entryEnd < end ? entryEnd : end;
    let again = 0;
    entry: for (;;) {
      if (++again > 8) return -EINVAL;
      if (table.isNone(i)) {
        if (plan.install) {
          const child = machine.allocTable(walk.space, (entryDepth + 1) as Depth);
          machine.linkTable(table, i, child, true);
        } else {
          if (plan.hole) {
            const r = plan.hole(walk, walk.address(addr), walk.address(next), depth);
            if (r !== 0) return r;
          }
          break entry;
        }
      }
      // Callbacks for this level and every folded level aliasing the same slot.
      walk.enterEntry(addr, next);
      for (let d = depth; d <= entryDepth; d++) {
        const callback = plan.entry[d];
        if (!callback) continue;
        walk.action = ACTION_SUBTREE;
        const r = callback(walk, table, i, walk.address(addr), walk.address(next));
        if (r !== 0) return r;
        if (walk.action === ACTION_AGAIN) continue entry;
        if (walk.action === ACTION_CONTINUE) break entry;
      }
      if (!lowerWanted) break entry;
      const kind = codec.classify(entryDepth, table.lo(i), table.hi(i), false);
      if (kind === 'leaf') {
        if (walk.options.mode === 'kernel') break entry;
        // Install-only walks leave present huge leaves alone; others split before descending.
        if (plan.installOnlyBelow[entryDepth]) break entry;
        if (!walk.options.splitHuge) break entry;
        walk.options.splitHuge(walk as Walk<unknown>, table, i);
        continue entry;
      }
      if (kind !== 'table') break entry;
      const child = table.children?.[i];
      if (!child) break entry;
      const r = walkTable(walk, child, addr, next);
      if (r !== 0) return r;
      break entry;
    }
    addr = next;
  }
  return 0;
}
