// Splitting live kernel leaf mappings: arm64's split_kernel_leaf_mapping cascade and
// range_split_to_ptes (arch/arm64/mm/mmu.c, BBML2), x86's split_large_page
// (arch/x86/mm/pat/set_memory.c) and riscv's __split_linear_mapping_* (arch/riscv/mm/pageattr.c).
//
// Every split builds the next-level table in full with the block's attributes, then installs it
// in place of the block (kernel-notes/pagewalk-and-pageattr.md §2.4, §3). What each split did is
// appended to a SplitLog, so statements can report it; splits of the linear map count in
// `direct_map_splits`.

import { entrySize, indexAt, regionAt, type Depth } from '../arch/profile';
import type { Machine } from '../model/machine';
import type { TablePage } from '../model/table';
import { ACTION_CONTINUE, walkRange, type Walk, type WalkOps } from '../walk';

/** One entry of the kernel tables, found by descending from swapper_pg_dir (pXd_offset). */
export interface Slot {
  table: TablePage;
  index: number;
  /** The deepest level the entry aliases: a leaf here is a leaf of this level. */
  depth: Depth;
  /** First address the entry maps, and the bytes it maps. */
  base: bigint;
  size: bigint;
}

export interface SplitRecord {
  /** `block`: a block became a table; `cont`: a contiguous run lost its hint. */
  kind: 'block' | 'cont';
  depth: Depth;
  start: bigint;
  end: bigint;
  /** What the block became: `cont_pmd`, `pmd`, `cont_pte` or `pte` entries. */
  into: string;
  /** In the linear map (counted in direct_map_splits when a block). */
  linear: boolean;
}

export type SplitLog = SplitRecord[];

/**
 * The entry that holds level `level` for `va`: the slot of the real table whose levels include
 * `level`. Undefined when the descent stops earlier at a none entry or a leaf.
 */
export function slotAt(machine: Machine, va: bigint, level: Depth): Slot | undefined {
  const profile = machine.profile;
  let table = machine.kernel.root;
  for (;;) {
    const geometry = profile.levels[table.depth];
    if (!geometry) return undefined;
    const index = indexAt(profile, table.depth, va);
    const depth = profile.entryDepth[table.depth] ?? table.depth;
    if (level <= depth) return { table, index, depth, base: va - (va & geometry.offsetMask), size: geometry.sizeBig };
    const child = table.children?.[index];
    if (!child) return undefined;
    table = child;
  }
}

export function slotOf(machine: Machine, table: TablePage, index: number, va: bigint): Slot {
  const profile = machine.profile;
  const size = entrySize(profile, table.depth);
  return { table, index, depth: profile.entryDepth[table.depth] ?? table.depth, base: va - (va & (size - 1n)), size };
}

function isLinear(machine: Machine, va: bigint): boolean {
  return regionAt(machine.profile, va)?.id === 'linear';
}

function present(machine: Machine, slot: Slot): boolean {
  const kind = machine.profile.codec.classify(slot.depth, slot.table.lo(slot.index), slot.table.hi(slot.index), slot.depth === 4);
  return kind === 'table' || kind === 'leaf';
}

/** pXd_leaf() of level `level` at the slot (false when the slot's entry belongs to a deeper level). */
function leafAt(machine: Machine, slot: Slot, level: Depth): boolean {
  if (slot.depth !== level) return false;
  return machine.profile.codec.classify(level, slot.table.lo(slot.index), slot.table.hi(slot.index), level === 4) === 'leaf';
}

/**
 * Fills a fresh table with `ptrs` entries mapping `pa + i * step` with the attributes
 * (`attrLo`, `attrHi`), accounts the writes, and links it where the block was.
 */
function installSplitTable(
  machine: Machine,
  slot: Slot,
  childDepth: Depth,
  pa: number,
  step: number,
  attrLo: number,
  attrHi: number,
  noctor: boolean,
  tableBits?: readonly [number, number],
): TablePage {
  const codec = machine.profile.codec;
  const child = machine.allocTable(machine.kernel, childDepth, { noctor });
  machine.touch(child);
  child.setLeafRun(0, child.ptrs, codec.addressField(pa), codec.addressField(step), attrLo, attrHi);
  machine.countWrites(child, child.ptrs, (attrLo & 1) !== 0);
  machine.linkTable(slot.table, slot.index, child, false, tableBits);
  return child;
}

// ---------------------------------------------------------------------------------------------
// arm64 (arch/arm64/mm/mmu.c, 7.3)

const A_VALID = 0x1;
const A_TYPE_MASK = 0x3;
const A_NG = 0x800; // PTE_NG, PTE_PRESENT_INVALID when not valid
const A_CONT_HI = 1 << (52 - 32);
const A_PXN_HI = 1 << (53 - 32);
const A_TABLE_PXN_HI = 1 << (59 - 32);
// Output address bits [47:12] (the codec's address field); everything else is attributes.
const A_ATTR_LO = 0xfff;
const A_ATTR_HI = 0xffff0000;

/**
 * split_pud / split_pmd: a PUD block becomes a table of PMD blocks, a PMD block a table of
 * pages, with the block's attributes, PTE_CONT on every entry when `toCont`, and an invalid
 * (present-invalid) block's entries kept invalid. The table entry gets TABLE_UXN|TABLE_AF, and
 * TABLE_PXN when the block was PXN. No TLB flush: BBML2 lets old and new sizes coexist.
 */
function arm64SplitBlock(machine: Machine, slot: Slot, toCont: boolean, log: SplitLog): void {
  const codec = machine.profile.codec;
  const lo = slot.table.lo(slot.index);
  const hi = slot.table.hi(slot.index);
  const childDepth = (slot.depth + 1) as Depth;
  const toPtes = childDepth === 4;
  let attrLo = (lo & A_ATTR_LO & ~A_TYPE_MASK) | (toPtes ? 0x3 : 0x1);
  let attrHi = hi & A_ATTR_HI & ~A_CONT_HI;
  if ((lo & A_VALID) === 0) attrLo = (attrLo & ~A_VALID) | A_NG;
  if (toCont) attrHi |= A_CONT_HI;
  const pa = codec.address(lo, hi);
  const step = Number(entrySize(machine.profile, childDepth));
  const tableBits: [number, number] = [0, (hi & A_PXN_HI) !== 0 ? A_TABLE_PXN_HI : 0];
  installSplitTable(machine, slot, childDepth, pa, step, attrLo >>> 0, attrHi >>> 0, false, tableBits);
  const linear = isLinear(machine, slot.base);
  if (linear) machine.counters.directMapSplits++;
  const name = machine.profile.levels[childDepth]?.name ?? 'pte';
  log.push({ kind: 'block', depth: slot.depth, start: slot.base, end: slot.base + slot.size, into: toCont ? `cont_${name}` : name, linear });
}

/** split_contpte / split_contpmd: clear PTE_CONT on every entry of the aligned run. */
function arm64SplitCont(machine: Machine, slot: Slot, log: SplitLog): void {
  const run = machine.profile.levels[slot.depth]?.cont ?? 0;
  if (run <= 1) return;
  const first = slot.index - (slot.index % run);
  for (let i = first; i < first + run; i++) {
    const lo = slot.table.lo(i);
    const hi = slot.table.hi(i);
    machine.writeEntry(slot.table, i, lo, (hi & ~A_CONT_HI) >>> 0);
  }
  const runBytes = BigInt(run) * slot.size;
  const start = slot.base - (slot.base % runBytes);
  const name = machine.profile.levels[slot.depth]?.name ?? 'pte';
  log.push({ kind: 'cont', depth: slot.depth, start, end: start + runBytes, into: name, linear: isLinear(machine, start) });
}

function isCont(slot: Slot): boolean {
  return (slot.table.hi(slot.index) & A_CONT_HI) !== 0;
}

/** split_kernel_leaf_mapping_locked(): make `addr` a leaf boundary, splitting only what it must. */
function arm64SplitAt(machine: Machine, addr: bigint, log: SplitLog): void {
  const levels = machine.profile.levels;
  const aligned = (size: bigint): boolean => addr % size === 0n;
  // PGD and P4D: aligned means already a boundary; nothing present means nothing to split.
  for (const level of [0, 1] as const) {
    if (aligned(entrySize(machine.profile, level))) return;
    const slot = slotAt(machine, addr, level);
    if (!slot || !present(machine, slot)) return;
  }
  // PUD: a block becomes contiguous PMDs.
  if (aligned(entrySize(machine.profile, 2))) return;
  const pud = slotAt(machine, addr, 2);
  if (!pud || !present(machine, pud)) return;
  if (leafAt(machine, pud, 2)) arm64SplitBlock(machine, pud, true, log);
  // CONT_PMD, then PMD: a contiguous PMD loses its hint; a block becomes contiguous PTEs.
  const pmdSize = entrySize(machine.profile, 3);
  if (aligned(pmdSize * BigInt(Math.max(1, levels[3]?.cont ?? 1)))) return;
  const pmd = slotAt(machine, addr, 3);
  if (!pmd || !present(machine, pmd)) return;
  if (leafAt(machine, pmd, 3)) {
    if (isCont(pmd)) arm64SplitCont(machine, pmd, log);
    if (aligned(pmdSize)) return;
    arm64SplitBlock(machine, pmd, true, log);
  }
  // CONT_PTE: a contiguous PTE run loses its hint.
  if (aligned(machine.profile.pageSize * BigInt(Math.max(1, levels[4]?.cont ?? 1)))) return;
  const pte = slotAt(machine, addr, 4);
  if (!pte || !present(machine, pte)) return;
  if (isCont(pte)) arm64SplitCont(machine, pte, log);
}

/** Index of the lowest set bit (__ffs). */
function ffs(value: bigint): number {
  let n = 0;
  while (value !== 0n && (value & 1n) === 0n) {
    value >>= 1n;
    n++;
  }
  return n;
}

/**
 * split_kernel_leaf_mapping(start, end) with BBML2: splits at the two ends only (at the less
 * aligned one for a single page), inside its own lazy MMU section. Without BBML2 it does nothing
 * and the permission walk meets the block (the kernel returns 0 here and lets pageattr warn).
 */
export function arm64SplitKernelLeafMapping(machine: Machine, start: bigint, end: bigint, log: SplitLog): void {
  if (!machine.has('bbml2')) return;
  machine.enterLazyMmu();
  try {
    if (end - start === machine.profile.pageSize) {
      arm64SplitAt(machine, ffs(start) < ffs(end) ? start : end, log);
    } else {
      arm64SplitAt(machine, start, log);
      arm64SplitAt(machine, end, log);
    }
  } finally {
    machine.leaveLazyMmu();
  }
}

interface SplitWalkState {
  log: SplitLog;
}

/** split_to_ptes_ops: every block and contiguous run in the range down to plain PTEs. */
const splitToPtesOps: WalkOps<SplitWalkState> = {
  pud_entry: (walk, table, index, start) => {
    if (walk.isLeaf(table, index, 2)) arm64SplitBlock(walk.machine, slotOf(walk.machine, table, index, start), false, walk.state.log);
    return 0;
  },
  pmd_entry: (walk, table, index, start) => {
    if (!walk.isLeaf(table, index, 3)) return 0;
    const slot = slotOf(walk.machine, table, index, start);
    if (isCont(slot)) arm64SplitCont(walk.machine, slot, walk.state.log);
    arm64SplitBlock(walk.machine, slot, false, walk.state.log);
    walk.action = ACTION_CONTINUE;
    return 0;
  },
  pte_entry: (walk: Walk<SplitWalkState>, table, index) => {
    if ((table.hi(index) & A_CONT_HI) === 0) return 0;
    arm64SplitCont(walk.machine, slotOf(walk.machine, table, index, walk.pteAddress(index)), walk.state.log);
    return 0;
  },
};

/**
 * range_split_to_ptes(): what arm64 does to make a range page-mapped (the KFENCE pool, and here
 * a pte-mapped cache block). Needs BBML2; without it nothing is split.
 */
export function arm64RangeSplitToPtes(machine: Machine, start: bigint, end: bigint, log: SplitLog): void {
  if (!machine.has('bbml2')) return;
  machine.enterLazyMmu();
  try {
    walkRange(machine, machine.kernel, start, end, splitToPtesOps, { log }, { mode: 'kernel' });
  } finally {
    machine.leaveLazyMmu();
  }
}

// ---------------------------------------------------------------------------------------------
// x86 (arch/x86/mm/pat/set_memory.c, 7.3)

const X_P = 0x1;
const X_PSE = 0x80;
const X_PAT = 0x80;
const X_G = 0x100;
const X_PAT_LARGE = 0x1000;
// Output address bits [51:12]; bit 12 is _PAGE_PAT_LARGE in a large leaf.
const X_ATTR_LO = 0xfff;
const X_ATTR_HI = 0xfff00000;

/** pgprot_large_2_4k(): clears PSE and moves the PAT bit from bit 12 to bit 7. */
export function x86Large2To4k(lo: number): number {
  return ((lo & ~(X_PAT | X_PAT_LARGE)) | ((lo & X_PAT_LARGE) !== 0 ? X_PAT : 0)) >>> 0;
}

/** pgprot_4k_2_large(): moves the PAT bit from bit 7 to bit 12. */
export function x86_4kToLarge(lo: number): number {
  return ((lo & ~(X_PAT | X_PAT_LARGE)) | ((lo & X_PAT) !== 0 ? X_PAT_LARGE : 0)) >>> 0;
}

/** pgprot_clear_protnone_bits(): a non-present entry must not keep _PAGE_GLOBAL (PROTNONE). */
export function x86ClearProtnone(lo: number): number {
  return (lo & X_P) === 0 ? (lo & ~X_G) >>> 0 : lo;
}

/** The physical address of an x86 leaf at `depth`, with the large-page PAT bit masked off. */
export function x86LeafPa(machine: Machine, depth: Depth, lo: number, hi: number): number {
  const pa = machine.profile.codec.address(depth === 4 ? lo : lo & ~X_PAT_LARGE, hi);
  const size = Number(entrySize(machine.profile, depth));
  return pa - (pa % size);
}

/**
 * split_large_page() + __split_large_page(): a 1G leaf becomes 512 2M leaves (PSE and the large
 * PAT bit kept, PSE dropped when not present), a 2M leaf 512 4K PTEs (pgprot_large_2_4k). The
 * table page comes from pte_alloc_one_kernel (ctor as for kernel PTE tables), is installed with
 * _KERNPG_TABLE, and flush_tlb_all() follows. Direct-map splits count (split_page_count).
 */
export function x86SplitLargePage(machine: Machine, slot: Slot, log: SplitLog): void {
  const lo = slot.table.lo(slot.index);
  const hi = slot.table.hi(slot.index);
  const childDepth = (slot.depth + 1) as Depth;
  const pa = x86LeafPa(machine, slot.depth, lo, hi);
  let attrLo = lo & X_ATTR_LO;
  if (slot.depth === 3 || childDepth === 4) {
    attrLo = x86Large2To4k(attrLo | (lo & X_PAT_LARGE));
  } else {
    attrLo |= lo & X_PAT_LARGE;
    if ((attrLo & X_P) === 0) attrLo &= ~X_PSE;
  }
  attrLo = x86ClearProtnone(attrLo);
  const attrHi = hi & X_ATTR_HI;
  const step = Number(entrySize(machine.profile, childDepth));
  const noctor = !machine.ctorApplies(machine.kernel, 4, 'page');
  installSplitTable(machine, slot, childDepth, pa, step, attrLo >>> 0, attrHi >>> 0, noctor);
  const linear = isLinear(machine, slot.base);
  if (linear) machine.counters.directMapSplits++;
  machine.flushTlb();
  log.push({ kind: 'block', depth: slot.depth, start: slot.base, end: slot.base + slot.size, into: machine.profile.levels[childDepth]?.name ?? 'pte', linear });
}

// ---------------------------------------------------------------------------------------------
// riscv (arch/riscv/mm/pageattr.c)

// PFN bits [53:10]; everything else is attributes.
const R_ATTR_LO = 0x3ff;
const R_ATTR_HI = 0xffc00000;

/**
 * The split in __split_linear_mapping_{p4d,pud,pmd}: a leaf becomes a table of leaves of the
 * next level with the same attributes. The page comes from alloc_page(GFP_KERNEL) (no ctor) and
 * is installed with PAGE_TABLE; __set_memory flushes everything afterwards.
 */
function riscvSplitLeaf(machine: Machine, slot: Slot, log: SplitLog): void {
  const lo = slot.table.lo(slot.index);
  const hi = slot.table.hi(slot.index);
  const childDepth = (slot.depth + 1) as Depth;
  const pa = machine.profile.codec.address(lo, hi);
  const step = Number(entrySize(machine.profile, childDepth));
  installSplitTable(machine, slot, childDepth, pa, step, (lo & R_ATTR_LO) >>> 0, (hi & R_ATTR_HI) >>> 0, true);
  machine.counters.directMapSplits++;
  log.push({ kind: 'block', depth: slot.depth, start: slot.base, end: slot.base + slot.size, into: machine.profile.levels[childDepth]?.name ?? 'pte', linear: true });
}

/**
 * split_linear_mapping(start, end): at the P4D, PUD and PMD levels in turn, every leaf the range
 * covers only in part is split; leaves it covers whole stay (their protection changes whole).
 */
export function riscvSplitLinearMapping(machine: Machine, start: bigint, end: bigint, log: SplitLog): void {
  splitLevel(machine, 1, start, end, log);
}

function splitLevel(machine: Machine, level: 1 | 2 | 3, start: bigint, end: bigint, log: SplitLog): void {
  const size = entrySize(machine.profile, level);
  for (let v = start; v < end; ) {
    const base = v - (v & (size - 1n));
    const next = base + size < end ? base + size : end;
    // "If [vaddr; end] contains [vaddr & MASK; next], we don't need to split."
    if (!(next - v >= size && v === base && end >= next)) {
      const slot = slotAt(machine, v, level);
      if (slot && present(machine, slot)) {
        if (leafAt(machine, slot, level)) riscvSplitLeaf(machine, slot, log);
        if (level < 3) splitLevel(machine, (level + 1) as 2 | 3, v, next, log);
      }
    }
    v = next;
  }
}
