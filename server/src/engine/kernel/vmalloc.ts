// vmalloc and vfree (mm/vmalloc.c): a VA range in the vmalloc area, fresh physical pages, and,
// with `huge`, PMD/PUD leaves that replace stale lower tables through pmd_free_pte_page /
// pud_free_pmd_page (kernel-notes/pagewalk-and-pageattr.md §4).

import type { Prot } from '../arch/codec';
import { entrySize, indexAt, regionAt, type Depth } from '../arch/profile';
import type { Machine, VmArea } from '../model/machine';
import type { TablePage } from '../model/table';
import type { Span } from '../program';
import { createMapping, unmapRange } from './mapping';

export interface VmallocResult {
  area?: VmArea;
  /** Leaf level used for the bulk of the area. */
  leafDepth?: Depth;
  /** Stale tables freed on the way. */
  tablesFreed: number;
  errno?: 'ENOMEM' | 'EINVAL';
  message?: string;
}

/**
 * vmalloc / vmalloc_huge. The VA is the lowest free range of the vmalloc area, followed by a
 * guard page; huge areas are aligned to their leaf size and rounded up to it.
 */
export function vmalloc(machine: Machine, name: string, size: bigint, prot: Prot, huge: boolean, span: Span): VmallocResult {
  const profile = machine.profile;
  const region = profile.regions.find((r) => r.id === 'vmalloc');
  if (!region) return { tablesFreed: 0, errno: 'ENOMEM', message: 'this architecture profile has no vmalloc area' };
  const page = profile.pageSize;
  let realSize = roundUp(size === 0n ? page : size, page);

  // __vmalloc_node_range(): with VM_ALLOW_HUGE_VMAP, the shift is the largest leaf the arch
  // supports for vmap that the size reaches; the area is aligned and rounded up to it.
  let leafDepth: Depth = 4;
  let contPte = false;
  if (huge) {
    const pud = profile.levels[2];
    const pmd = profile.levels[3];
    const pte = profile.levels[4];
    if (profile.hugeVmap.pud && pud && !pud.folded && realSize >= pud.sizeBig) leafDepth = 2;
    else if (profile.hugeVmap.pmd && pmd && realSize >= pmd.sizeBig) leafDepth = profile.entryDepth[pmd.tableDepth] === 3 ? 3 : 4;
    else if (profile.family === 'arm64' && pte && pte.cont > 0 && realSize >= BigInt(pte.cont) * pte.sizeBig) contPte = true;
  }
  const leafSize = leafDepth === 4 ? (contPte ? BigInt(profile.levels[4]?.cont ?? 1) * page : page) : entrySize(profile, leafDepth);
  realSize = roundUp(realSize, leafSize);
  // Each vm area is followed by a guard page unless VM_NO_GUARD.
  const start = findFreeVa(machine, region.start, region.end, realSize + page, leafSize);
  if (start === undefined) return { tablesFreed: 0, errno: 'ENOMEM', message: `no free ${realSize} bytes left in the vmalloc area` };

  // Backing memory: order-0 pages scattered in RAM, or naturally aligned blocks for huge leaves.
  const order = Math.round(Math.log2(Number(leafSize / page)));
  const pages: { pa: number; order: number }[] = [];
  const count = Number(realSize / leafSize);
  // Every leaf is one entry at least: an area that must cross the budget stops here. An area
  // larger than all of RAM fails the way the page allocator would, without trying page by page.
  machine.expectWrites(BigInt(count));
  if (realSize / BigInt(machine.phys.frameSize) > BigInt(machine.phys.totalFrames)) {
    return { tablesFreed: 0, errno: 'ENOMEM', message: `out of physical memory for the vmalloc area: ${realSize} bytes is more than the RAM` };
  }
  for (let k = 0; k < count; k++) {
    if ((k & 0xffff) === 0xffff) machine.pollStop();
    const pa = order === 0 ? machine.phys.allocPage() : machine.phys.allocBlock(order);
    if (pa === undefined) {
      for (const p of pages) machine.phys.free(p.pa, p.order);
      return { tablesFreed: 0, errno: 'ENOMEM', message: 'out of physical memory for the vmalloc area' };
    }
    pages.push({ pa, order });
  }

  let tablesFreed = 0;
  for (let k = 0; k < count; k++) {
    const va = start + BigInt(k) * leafSize;
    const backing = pages[k];
    if (!backing) continue;
    if (leafDepth < 4) tablesFreed += freeStaleTables(machine, va, leafDepth);
    createMapping(machine, machine.kernel, va, BigInt(backing.pa), leafSize, prot, {
      maxLeaf: leafDepth,
      cont: contPte,
      kernel: true,
    });
  }
  const area: VmArea = { name, start, size: realSize, huge, pages, span, freed: false };
  machine.vmAreas.set(name, area);
  return { area, leafDepth: contPte ? 4 : leafDepth, tablesFreed };
}

/**
 * vmap_try_huge_pmd/pud: when a table from an earlier small mapping sits where the leaf goes,
 * free it first with pmd_free_pte_page / pud_free_pmd_page. In 7.3 that happens under a
 * successful mmap_read_trylock(&init_mm), which always succeeds outside `concurrent` blocks;
 * when it fails (inside one, while a thread holds or waits for the write lock) nothing is freed
 * and the caller maps this chunk with the smaller leaves of the table that stays.
 */
function freeStaleTables(machine: Machine, va: bigint, leafDepth: Depth): number {
  const profile = machine.profile;
  // Find the table whose entry would hold the leaf.
  let table: TablePage | undefined = machine.kernel.root;
  while (table && (profile.entryDepth[table.depth] ?? table.depth) < leafDepth) {
    table = table.children?.[indexAt(profile, table.depth, va)];
  }
  if (!table) return 0;
  const index = indexAt(profile, table.depth, va);
  const child = table.children?.[index];
  if (!child) return 0;
  if (!machine.initMmReadTrylock()) return 0;
  return leafDepth === 3 ? pmdFreePtePage(machine, table, index) : pudFreePmdPage(machine, table, index);
}

/** pmd_free_pte_page(): clear the PMD, flush the walk cache, free the PTE table (with dtor). */
export function pmdFreePtePage(machine: Machine, pmdTable: TablePage, index: number): number {
  const pte = machine.unlinkTable(pmdTable, index, false);
  if (!pte) return 0;
  machine.flushTlb();
  machine.freeTable(pte);
  return 1;
}

/**
 * pud_free_pmd_page() as 7.3 has it: every present child PTE table through pmd_free_pte_page(),
 * then pud_clear, flush, pmd_free(). (The seed-004 variant that cleared the PUD first is
 * modelled step by step in the race explorer.)
 */
export function pudFreePmdPage(machine: Machine, pudTable: TablePage, index: number): number {
  const pmd = pudTable.children?.[index];
  if (!pmd) return 0;
  let freed = 0;
  pmd.children?.forEach((_pte, i) => {
    freed += pmdFreePtePage(machine, pmd, i);
  });
  machine.unlinkTable(pudTable, index, false);
  machine.flushTlb();
  machine.freeTable(pmd);
  return freed + 1;
}

/** vfree: unmaps the area (leaves cleared, tables kept), flushes, and frees the pages. */
export function vfree(machine: Machine, area: VmArea): number {
  const state = unmapRange(machine, machine.kernel, area.start, area.start + area.size);
  machine.flushTlb();
  for (const p of area.pages) machine.phys.free(p.pa, p.order);
  area.freed = true;
  machine.vmAreas.delete(area.name);
  return state.cleared;
}

function roundUp(value: bigint, align: bigint): bigint {
  return ((value + align - 1n) / align) * align;
}

/** Lowest free range of `size` bytes at `align` in [lo, hi), skipping live vm areas. */
function findFreeVa(machine: Machine, lo: bigint, hi: bigint, size: bigint, align: bigint): bigint | undefined {
  const areas = [...machine.vmAreas.values()].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  let candidate = roundUp(lo, align);
  for (const a of areas) {
    const aEnd = a.start + a.size + machine.profile.pageSize;
    if (candidate + size <= a.start) break;
    if (aEnd > candidate) candidate = roundUp(aEnd, align);
  }
  if (candidate + size > hi) return undefined;
  // Never hand out a range that a scenario's own `map` put leaves in.
  return regionAt(machine.profile, candidate)?.id === 'vmalloc' ? candidate : undefined;
}
