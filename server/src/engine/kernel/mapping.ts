// Creating and removing kernel mappings: `map` (__create_pgd_mapping and its per-arch
// equivalents) and `unmap`/`vfree` (vunmap_range: leaves cleared, tables kept).
//
// Mapping creation is its own descent, as in the kernel (alloc_init_pud … alloc_init_cont_pte on
// arm64, phys_pud_init … on x86, create_pgd_mapping on riscv), because it installs leaves at
// upper levels, which the pagewalk install_pte contract cannot do.

import type { Prot } from '../arch/codec';
import { entrySize, type Depth, type LevelGeometry } from '../arch/profile';
import type { AddressSpace, Machine } from '../model/machine';
import type { TablePage } from '../model/table';
import { walkRange, type WalkOps } from '../walk';

export interface MapPolicy {
  /** Deepest-first limit: the largest leaf level the statement allows (2 = PUD … 4 = PTE). */
  maxLeaf: Depth;
  /** Allow the contiguous hint. */
  cont: boolean;
  /** Kernel (init_mm) leaf attributes rather than user ones. */
  kernel: boolean;
}

export interface MapStats {
  leaves: Map<Depth, number>;
  contEntries: number;
  tablesAllocated: number;
}

const template = new Uint32Array(2);
const address = new Uint32Array(2);

/**
 * Maps [va, va + size) to [pa, pa + size) with `prot`, choosing at each step the largest leaf
 * that the address, the physical address and the remaining size allow (leaf=auto), within the
 * policy. The caller has checked alignment and that nothing is mapped in the range.
 */
export function createMapping(machine: Machine, space: AddressSpace, va: bigint, pa: bigint, size: bigint, prot: Prot, policy: MapPolicy): MapStats {
  const stats: MapStats = { leaves: new Map(), contEntries: 0, tablesAllocated: 0 };
  // At least one entry per leaf of the largest size allowed: a range that must cross the budget
  // stops before any of it is written.
  for (let depth = 1; depth <= 4; depth++) {
    if (!leafAllowed(machine, depth as Depth, policy)) continue;
    machine.expectWrites(size >> (machine.profile.levels[depth] as LevelGeometry).shiftBig);
    break;
  }
  fill(machine, space, space.root, va, va + size, pa - va, prot, policy, stats);
  return stats;
}

/** Whether a leaf at `depth` may be used by this profile and policy (before alignment). */
function leafAllowed(machine: Machine, depth: Depth, policy: MapPolicy): boolean {
  const geometry = machine.profile.levels[depth];
  if (!geometry?.leaf || depth < policy.maxLeaf) return false;
  if (depth < 4 && machine.has('no_block_mappings')) return false;
  return depth === 4 || machine.profile.autoLeaves.includes(depth);
}

function fill(
  machine: Machine,
  space: AddressSpace,
  table: TablePage,
  start: bigint,
  end: bigint,
  /** pa - va, so the physical address of va is va + delta. */
  delta: bigint,
  prot: Prot,
  policy: MapPolicy,
  stats: MapStats,
): void {
  const profile = machine.profile;
  const depth = table.depth;
  const entryDepth = profile.entryDepth[depth] ?? depth;
  const geometry = profile.levels[entryDepth];
  const { shiftBig: shift, indexMask: mask, sizeBig: size } = profile.levels[depth] as LevelGeometry;
  const contRun = policy.cont && !machine.has('no_cont_mappings') ? (geometry?.cont ?? 0) : 0;
  const contBytes = BigInt(contRun) * size;
  const codec = profile.codec;

  if (entryDepth === 4) {
    // A PTE table: write the run with one template, adding each page's address bits.
    codec.leafTemplate(prot, { kernel: policy.kernel, block: false, cont: false }, template);
    const tlo = template[0] ?? 0;
    const thi = template[1] ?? 0;
    const [clo, chi] = codec.contMask;
    const first = Number((start >> shift) & mask);
    const last = Number(((end - 1n) >> shift) & mask);
    const pageBytes = Number(size);
    const firstPa = Number(start + delta);
    const fieldStep = codec.addressField(pageBytes);
    // Index of entry 0 of this table, so contiguous chunks can be found by index.
    const tableVa = start - (BigInt(first) << shift);
    machine.touch(table);
    let written = 0;
    for (let i = first; i <= last; ) {
      // Contiguous-hint chunks are contRun entries aligned by index; decide once per chunk.
      const chunkEnd = contRun > 0 ? Math.min(last + 1, (Math.floor(i / contRun) + 1) * contRun) : last + 1;
      const cont = contRun > 0 && i % contRun === 0 && chunkEnd - i === contRun && inContChunk(tableVa + (BigInt(i) << shift), delta, start, end, contBytes);
      const extraLo = cont ? clo : 0;
      const extraHi = cont ? chi : 0;
      table.setLeafRun(i, chunkEnd - i, codec.addressField(firstPa + (i - first) * pageBytes), fieldStep, tlo | extraLo, thi | extraHi);
      written += chunkEnd - i;
      i = chunkEnd;
      if (cont) stats.contEntries += contRun;
    }
    machine.countWrites(table, written, (tlo & 1) !== 0);
    stats.leaves.set(4, (stats.leaves.get(4) ?? 0) + written);
    return;
  }

  for (let addr = start; addr < end; ) {
    const i = Number((addr >> shift) & mask);
    const entryBase = addr - (addr & (size - 1n));
    const next = entryBase + size < end ? entryBase + size : end;
    const phys = addr + delta;
    const aligned = ((addr | next | phys) & (size - 1n)) === 0n;
    if (table.isNone(i) && aligned && leafAllowed(machine, entryDepth, policy)) {
      const cont = contRun > 0 && inContChunk(addr, delta, start, end, contBytes);
      codec.leafTemplate(prot, { kernel: policy.kernel, block: true, cont }, template);
      codec.addressBits(Number(phys), address);
      machine.writeEntry(table, i, ((address[0] ?? 0) | (template[0] ?? 0)) >>> 0, ((address[1] ?? 0) | (template[1] ?? 0)) >>> 0);
      stats.leaves.set(entryDepth, (stats.leaves.get(entryDepth) ?? 0) + 1);
      if (cont) stats.contEntries++;
    } else {
      let child = table.children?.[i];
      if (!child) {
        child = machine.allocTable(space, (entryDepth + 1) as Depth);
        machine.linkTable(table, i, child, true);
        stats.tablesAllocated++;
      }
      fill(machine, space, child, addr, next, delta, prot, policy, stats);
    }
    addr = next;
  }
}

/** Whether `addr` lies in a contiguous-hint chunk that is aligned in VA and PA and fully mapped. */
function inContChunk(addr: bigint, delta: bigint, start: bigint, end: bigint, contBytes: bigint): boolean {
  if (contBytes === 0n) return false;
  const chunk = addr - (addr % contBytes);
  if (chunk < start || chunk + contBytes > end) return false;
  return ((chunk + delta) % contBytes) === 0n;
}

/**
 * The first address where `leaf=auto` would put a block over an existing table (a table left by
 * an earlier mapping that was unmapped). arm64's alloc_init_pmd/pud would overwrite the table
 * entry with the block and BUG in pgattr_change_is_safe(); x86 and riscv reuse the table.
 */
export function findBlockOverTable(machine: Machine, space: AddressSpace, va: bigint, pa: bigint, size: bigint, policy: MapPolicy): bigint | undefined {
  return probe(machine, space.root, va, va + size, pa - va, policy);
}

function probe(machine: Machine, table: TablePage, start: bigint, end: bigint, delta: bigint, policy: MapPolicy): bigint | undefined {
  const profile = machine.profile;
  const entryDepth = profile.entryDepth[table.depth] ?? table.depth;
  if (entryDepth === 4) return undefined;
  const { shiftBig: shift, indexMask: mask, sizeBig: size } = profile.levels[table.depth] as LevelGeometry;
  for (let addr = start; addr < end; ) {
    const i = Number((addr >> shift) & mask);
    const entryBase = addr - (addr & (size - 1n));
    const next = entryBase + size < end ? entryBase + size : end;
    const child = table.children?.[i];
    if (child) {
      if (((addr | next | (addr + delta)) & (size - 1n)) === 0n && leafAllowed(machine, entryDepth, policy)) return addr;
      const found = probe(machine, child, addr, next, delta, policy);
      if (found !== undefined) return found;
    }
    addr = next;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// What is in a range

export interface RangeContents {
  /** Leaves (pages or blocks) found. */
  leaves: number;
  /** A table that would be replaced by a leaf the mapping wants. */
  firstLeaf?: bigint;
}

const findLeavesOps: WalkOps<RangeContents> = {
  pgd_entry: leafProbe(0),
  p4d_entry: leafProbe(1),
  pud_entry: leafProbe(2),
  pmd_entry: leafProbe(3),
  pte_entry: (walk, table, index) => {
    if (!table.isNone(index)) {
      walk.state.leaves++;
      walk.state.firstLeaf ??= walk.pteAddress(index);
      return 1;
    }
    return 0;
  },
};

function leafProbe(depth: Depth) {
  return (walk: Parameters<NonNullable<WalkOps<RangeContents>['pgd_entry']>>[0], table: TablePage, index: number, start: bigint): number => {
    if (walk.isLeaf(table, index, depth)) {
      walk.state.leaves++;
      walk.state.firstLeaf ??= start;
      return 1;
    }
    return 0;
  };
}

/** Finds the first leaf or non-none PTE in [start, end) of `space`. */
export function findMapped(machine: Machine, space: AddressSpace, start: bigint, end: bigint): RangeContents {
  const state: RangeContents = { leaves: 0 };
  walkRange(machine, space, start, end, findLeavesOps, state, { mode: 'kernel' });
  return state;
}

// ---------------------------------------------------------------------------------------------
// Unmapping (vunmap_range)

export interface UnmapState {
  cleared: number;
  /** Blocks the range covered only in part; the kernel clears them whole with a WARN. */
  partialBlocks: { start: bigint; end: bigint; depth: Depth }[];
}

function unmapUpper(depth: Depth) {
  return (walk: Parameters<NonNullable<WalkOps<UnmapState>['pgd_entry']>>[0], table: TablePage, index: number, start: bigint, end: bigint): number => {
    if (!walk.isLeaf(table, index, depth)) return 0;
    const size = entrySize(walk.machine.profile, depth);
    if (end - start !== size) {
      const blockStart = start - (start % size);
      walk.state.partialBlocks.push({ start: blockStart, end: blockStart + size, depth });
    }
    // pmd_clear_huge()/pud_clear_huge(): the whole block goes, whatever part was asked for.
    walk.machine.writeEntry(table, index, 0, 0);
    walk.state.cleared++;
    return 0;
  };
}

const unmapOps: WalkOps<UnmapState> = {
  pud_entry: unmapUpper(2),
  p4d_entry: unmapUpper(1),
  pmd_entry: unmapUpper(3),
  pte_entry: (walk, table, index) => {
    if (table.isNone(index)) return 0;
    walk.machine.touch(table);
    table.set(index, 0, 0);
    walk.machine.countWrites(table, 1, false);
    walk.state.cleared++;
    return 0;
  },
};

/** Clears the leaves in [start, end) of `space`; table pages stay, as vunmap leaves them. */
export function unmapRange(machine: Machine, space: AddressSpace, start: bigint, end: bigint): UnmapState {
  const state: UnmapState = { cleared: 0, partialBlocks: [] };
  walkRange(machine, space, start, end, unmapOps, state, { mode: 'kernel' });
  return state;
}
