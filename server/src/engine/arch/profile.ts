// Architecture profiles: page-table geometry, address-space layout and kernel policy per
// configuration, from kernel-notes/geometry.md (Linux 7.3).
//
// A profile is plain data plus its descriptor codec. Every behaviour that differs between
// architectures reads it from here instead of branching on the architecture name elsewhere.

import type { LevelName } from '../program';
import { arm64Codec, armLpaeCodec, riscvCodec, x86Codec, type DescriptorCodec } from './codec';

export type Family = 'x86' | 'arm64' | 'riscv' | 'arm';

/** Kernel depth numbering, as `pte_hole` reports it: 0 = PGD … 4 = PTE. */
export type Depth = 0 | 1 | 2 | 3 | 4;

export const LEVELS: readonly LevelName[] = ['pgd', 'p4d', 'pud', 'pmd', 'pte'];

export interface LevelGeometry {
  depth: Depth;
  name: LevelName;
  /** log2 of the bytes one entry maps. A folded level has the shift of the level it folds into. */
  shift: number;
  /** Entries per table; 1 when folded. */
  ptrs: number;
  /** Folded at compile time or at run time: no table pages exist at this level. */
  folded: boolean;
  /** The real level whose table holds this level's entry (itself unless folded). */
  tableDepth: Depth;
  /** Whether a kernel mapping may put a leaf (block) here. */
  leaf: boolean;
  /** Entries in a contiguous-hint run at this level, 0 where there is none. */
  cont: number;
  /**
   * The same geometry in the forms hot loops use, made once (a BigInt() conversion costs as much
   * as the arithmetic it feeds): `shift` and `ptrs - 1` as BigInts for indexAt, the bytes one
   * entry maps as a BigInt and as a Number (a power of two, exact up to 2^64), and the offset
   * mask within it.
   */
  shiftBig: bigint;
  indexMask: bigint;
  sizeBig: bigint;
  entryBytes: number;
  offsetMask: bigint;
}

export type RegionId =
  | 'user'
  | 'linear'
  | 'vmalloc'
  | 'modules'
  | 'vmemmap'
  | 'fixmap'
  | 'pci_io'
  | 'kernel_image'
  | 'ldt'
  | 'cpu_entry'
  | 'espfix'
  | 'efi'
  | 'pkmap';

export interface Region {
  id: RegionId;
  label: string;
  start: bigint;
  /** Exclusive. */
  end: bigint;
}

export interface Marker {
  address: bigint;
  name: string;
  /** x86: lines printed before `... N entries skipped ...`. */
  maxLines?: number;
}

export interface ArchOptions {
  arch: 'x86_64' | 'arm64' | 'riscv64' | 'x86_pae' | 'arm_lpae';
  /** x86_64: 4 or 5. */
  levels?: number;
  /** arm64: 4, 16 or 64 (KiB). */
  granuleKiB?: number;
  /** arm64: VA bits. */
  va?: number;
  /** riscv64: sv39, sv48, sv57. */
  mode?: 'sv39' | 'sv48' | 'sv57';
  /** x86: page-table isolation (user PGDs are two pages). */
  pti?: boolean;
}

export interface ArchProfile {
  /** Stable id, e.g. `arm64-4k-48`. */
  id: string;
  family: Family;
  options: ArchOptions;
  /** What a user reads, e.g. `arm64, 4K granule, 48-bit VA, 4 levels`. */
  label: string;
  pageShift: number;
  pageSize: bigint;
  /** The five levels, folded ones included. */
  levels: readonly LevelGeometry[];
  /** Number of levels that have table pages. */
  realLevels: number;
  /** For a real table level: the deepest level its entries alias (itself plus folded levels below). */
  entryDepth: readonly Depth[];
  /** Bits of a virtual address the MMU translates in each half. */
  vaBits: number;
  /** First address of the kernel half (canonical kernel addresses are at or above it). */
  kernelStart: bigint;
  /** End of the user half (exclusive): TASK_SIZE. */
  userEnd: bigint;
  /** Top of the default mmap window (user mappings are placed below it). */
  mmapTop: bigint;
  /** Physical address bits. */
  physBits: number;
  regions: readonly Region[];
  /** ptdump markers in address order. */
  markers: readonly Marker[];
  /** Where the kernel ptdump walk begins. */
  ptdumpStart: bigint;
  /** Where check_wx starts walking (x86 also walks the user half; see ptdump.ts). */
  wxStart: bigint;
  /** Huge vmalloc support: arch_vmap_pmd_supported / arch_vmap_pud_supported. */
  hugeVmap: { pmd: boolean; pud: boolean };
  /** Leaf levels the kernel's linear-map code uses with leaf=auto, largest first. */
  autoLeaves: readonly Depth[];
  /** How a user mm's PGD is allocated: from the page allocator (ctor runs) or a slab cache. */
  pgdAllocator: 'page' | 'kmem_cache' | 'kmalloc';
  /** Bytes of a user PGD (two pages with x86 PTI). */
  pgdBytes: number;
  /** Table bytes at a level (entries × 8), for pgtables_bytes. */
  tableBytes: (depth: Depth) => number;
  /** The three-ish things ptdump prints that differ per arch. */
  ptdumpFormat: 'arm64' | 'x86' | 'riscv' | 'none';
  codec: DescriptorCodec;
}

const TOP = 1n << 64n;

function pow2(bits: number): bigint {
  return 1n << BigInt(bits);
}

/**
 * Builds the level table from (depth → shift, ptrs) for the real levels; every other depth is
 * folded into the real level above it.
 */
function buildLevels(
  real: Partial<Record<LevelName, { shift: number; ptrs: number }>>,
  leafLevels: readonly LevelName[],
  cont: Partial<Record<LevelName, number>>,
): { levels: LevelGeometry[]; entryDepth: Depth[]; realLevels: number } {
  const levels: LevelGeometry[] = [];
  let lastReal: Depth = 0;
  for (let d = 0; d < 5; d++) {
    const depth = d as Depth;
    const name = LEVELS[d] as LevelName;
    const geometry = real[name];
    if (geometry) lastReal = depth;
    const above = levels[lastReal];
    const shift = geometry ? geometry.shift : (above?.shift ?? 0);
    const ptrs = geometry ? geometry.ptrs : 1;
    levels.push({
      depth,
      name,
      shift,
      ptrs,
      folded: !geometry,
      tableDepth: lastReal,
      leaf: leafLevels.includes(name),
      cont: cont[name] ?? 0,
      shiftBig: BigInt(shift),
      indexMask: BigInt(ptrs - 1),
      sizeBig: 1n << BigInt(shift),
      entryBytes: 2 ** shift,
      offsetMask: (1n << BigInt(shift)) - 1n,
    });
  }
  const entryDepth: Depth[] = [];
  for (let d = 0; d < 5; d++) {
    let deepest = d;
    while (deepest + 1 < 5 && levels[deepest + 1]?.folded) deepest++;
    entryDepth.push(deepest as Depth);
  }
  return { levels, entryDepth, realLevels: levels.filter((l) => !l.folded).length };
}

function region(id: RegionId, label: string, start: bigint, end: bigint): Region {
  return { id, label, start, end };
}

// ---------------------------------------------------------------------------------------------
// x86_64 (geometry.md §1; ptdump markers from arch/x86/mm/dump_pagetables.c)

function x86_64Profile(levels5: boolean, pti: boolean): ArchProfile {
  const geometry = buildLevels(
    levels5
      ? { pgd: { shift: 48, ptrs: 512 }, p4d: { shift: 39, ptrs: 512 }, pud: { shift: 30, ptrs: 512 }, pmd: { shift: 21, ptrs: 512 }, pte: { shift: 12, ptrs: 512 } }
      : { pgd: { shift: 39, ptrs: 512 }, pud: { shift: 30, ptrs: 512 }, pmd: { shift: 21, ptrs: 512 }, pte: { shift: 12, ptrs: 512 } },
    ['pud', 'pmd', 'pte'],
    {},
  );
  const vaBits = levels5 ? 57 : 48;
  const pgdirShift = levels5 ? 48n : 39n;
  // LDT_PGD_ENTRY = -240 and GUARD_HOLE_PGD_ENTRY = -256 in both paging modes.
  const pgdEntry = (index: bigint): bigint => TOP + index * (1n << pgdirShift);
  const guardHoleEnd = pgdEntry(-256n) + 16n * (1n << pgdirShift);
  const ldt = pgdEntry(-240n);
  const pageOffset = levels5 ? 0xff11000000000000n : 0xffff888000000000n;
  const vmallocStart = levels5 ? 0xffa0000000000000n : 0xffffc90000000000n;
  const vmallocSize = levels5 ? 12800n << 40n : 32n << 40n;
  const vmemmapStart = levels5 ? 0xffd4000000000000n : 0xffffea0000000000n;
  const directMapSize = levels5 ? 32n << 50n : 64n << 40n;
  // Without KASLR: KERNEL_IMAGE_SIZE = 512 MiB, so modules start at 0xffffffffa0000000.
  const kernelImage = 0xffffffff80000000n;
  const modules = 0xffffffffa0000000n;
  const modulesEnd = 0xffffffffff000000n;
  // FIXADDR_START is configuration dependent (kernel-notes: "~-11 MiB"); this is a typical value.
  const fixmap = 0xffffffffff578000n;
  const cpuEntry = 0xfffffe0000000000n;
  const espfix = 0xffffff0000000000n;
  const efiEnd = 0xffffffef00000000n;
  const userEnd = levels5 ? pow2(56) - 4096n : pow2(47) - 4096n;
  return {
    id: levels5 ? 'x86_64-5' : 'x86_64-4',
    family: 'x86',
    options: { arch: 'x86_64', levels: levels5 ? 5 : 4, pti },
    label: levels5 ? 'x86_64, 5-level paging (LA57), 57-bit VA' : 'x86_64, 4-level paging, 48-bit VA',
    pageShift: 12,
    pageSize: 4096n,
    ...geometry,
    vaBits,
    kernelStart: TOP - pow2(vaBits - 1),
    userEnd,
    // Above 47 bits only with a hint even under LA57 (geometry.md §1).
    mmapTop: pow2(47) - 4096n,
    physBits: 52,
    regions: [
      region('user', 'user space', 0n, userEnd),
      region('ldt', 'LDT remap (PTI)', ldt, ldt + (1n << pgdirShift)),
      region('linear', 'direct map (linear map)', pageOffset, pageOffset + directMapSize),
      region('vmalloc', 'vmalloc/ioremap', vmallocStart, vmallocStart + vmallocSize),
      region('vmemmap', 'vmemmap', vmemmapStart, vmemmapStart + (levels5 ? 1n << 50n : 1n << 40n)),
      region('cpu_entry', 'cpu_entry_area', cpuEntry, cpuEntry + (1n << 39n)),
      region('espfix', 'ESPFIX stacks', espfix, espfix + (1n << 39n)),
      region('efi', 'EFI runtime services', efiEnd, 0xffffffff00000000n),
      region('kernel_image', 'kernel text mapping', kernelImage, modules),
      region('modules', 'modules', modules, modulesEnd),
      region('fixmap', 'fixmap', fixmap, 0xffffffffff600000n),
    ],
    markers: [
      { address: 0n, name: 'User Space' },
      { address: 1n << 63n, name: 'Kernel Space' },
      { address: ldt, name: 'LDT remap' },
      { address: pageOffset, name: 'Low Kernel Mapping' },
      { address: vmallocStart, name: 'vmalloc() Area' },
      { address: vmemmapStart, name: 'Vmemmap' },
      { address: cpuEntry, name: 'CPU entry Area' },
      { address: espfix, name: 'ESPfix Area', maxLines: 16 },
      { address: efiEnd, name: 'EFI Runtime Services' },
      { address: kernelImage, name: 'High Kernel Mapping' },
      { address: modules, name: 'Modules' },
      { address: modulesEnd, name: 'End Modules' },
      { address: fixmap, name: 'Fixmap Area' },
    ],
    ptdumpStart: 0n,
    wxStart: guardHoleEnd,
    hugeVmap: { pmd: true, pud: true },
    autoLeaves: [2, 3, 4],
    pgdAllocator: 'page',
    pgdBytes: pti ? 8192 : 4096,
    tableBytes: () => 4096,
    ptdumpFormat: 'x86',
    codec: x86Codec,
  };
}

// ---------------------------------------------------------------------------------------------
// arm64 (geometry.md §2; regions from the arch/arm64/include/asm/memory.h macros)

const ARM64_VA: Record<number, readonly number[]> = { 4: [39, 48, 52], 16: [36, 47, 48, 52], 64: [42, 48, 52] };

export function arm64VaSizes(granuleKiB: number): readonly number[] {
  return ARM64_VA[granuleKiB] ?? [];
}

function arm64Profile(granuleKiB: number, va: number): ArchProfile {
  const pageShift = granuleKiB === 4 ? 12 : granuleKiB === 16 ? 14 : 16;
  const tableShift = pageShift - 3;
  // ARM64_HW_PGTABLE_LEVELS(va) = (va - 4) / PTDESC_TABLE_SHIFT.
  const hwLevels = Math.floor((va - 4) / tableShift);
  const levelShift = (n: number): number => tableShift * (4 - n) + 3;
  const ptrs = 1 << tableShift;
  const pgdirShift = levelShift(4 - hwLevels);
  const ptrsPerPgd = 1 << (va - pgdirShift);
  // Linux names by the number of levels: 2 → PGD/PTE (PMD folded into PGD), 3 → PGD/PMD/PTE,
  // 4 → PGD/PUD/PMD/PTE, 5 → PGD/P4D/PUD/PMD/PTE.
  const real: Partial<Record<LevelName, { shift: number; ptrs: number }>> = { pgd: { shift: pgdirShift, ptrs: ptrsPerPgd }, pte: { shift: pageShift, ptrs } };
  if (hwLevels >= 3) real.pmd = { shift: levelShift(2), ptrs };
  if (hwLevels >= 4) real.pud = { shift: levelShift(1), ptrs };
  if (hwLevels >= 5) real.p4d = { shift: levelShift(0), ptrs };
  // pud_sect_supported(): PUD blocks only with the 4K granule.
  const leaves: LevelName[] = granuleKiB === 4 ? ['pud', 'pmd', 'pte'] : ['pmd', 'pte'];
  const cont =
    granuleKiB === 4 ? { pte: 16, pmd: 16 } : granuleKiB === 16 ? { pte: 128, pmd: 32 } : { pte: 32, pmd: 32 };
  const geometry = buildLevels(real, leaves, cont);

  // memory.h: PAGE_OFFSET = -(1 << VA_BITS); PAGE_END = -(1 << (VA_BITS_MIN - 1)).
  const vaBitsMin = va > 48 ? (granuleKiB === 16 ? 47 : 48) : va;
  const pageOffset = TOP - pow2(va);
  const pageEnd = TOP - pow2(vaBitsMin - 1);
  const modulesStart = pageEnd;
  const modulesEnd = modulesStart + (2n << 30n);
  const vmemmapEnd = TOP - (1n << 30n);
  // VMEMMAP_SIZE = (PAGE_END - PAGE_OFFSET) >> (PAGE_SHIFT - STRUCT_PAGE_MAX_SHIFT), with 64-byte pages.
  const vmemmapSize = (pageEnd - pageOffset) >> BigInt(pageShift - 6);
  const vmemmapStart = vmemmapEnd - vmemmapSize;
  const vmallocEnd = vmemmapStart - (8n << 20n);
  const pciStart = vmemmapEnd + (8n << 20n);
  const pciEnd = pciStart + (16n << 20n);
  const fixmapTop = TOP - (8n << 20n);
  // FIXADDR_TOT_START depends on the configuration; ptscn places it 4 MiB below FIXADDR_TOP.
  const fixmapStart = fixmapTop - (4n << 20n);
  const pgdBytes = ptrsPerPgd * 8;
  const pageSize = 1 << pageShift;
  return {
    id: `arm64-${granuleKiB}k-${va}`,
    family: 'arm64',
    options: { arch: 'arm64', granuleKiB, va },
    label: `arm64, ${granuleKiB}K granule, ${va}-bit VA, ${hwLevels} levels`,
    pageShift,
    pageSize: BigInt(pageSize),
    ...geometry,
    vaBits: va,
    kernelStart: pageOffset,
    userEnd: pow2(va),
    // DEFAULT_MAP_WINDOW is 48 bits even when 52-bit VA is available.
    mmapTop: pow2(Math.min(va, 48)),
    physBits: va === 52 ? 52 : 48,
    regions: [
      region('user', 'user space (TTBR0)', 0n, pow2(va)),
      region('linear', 'linear map', pageOffset, pageEnd),
      region('modules', 'modules', modulesStart, modulesEnd),
      region('vmalloc', 'vmalloc', modulesEnd, vmallocEnd),
      region('vmemmap', 'vmemmap', vmemmapStart, vmemmapEnd),
      region('pci_io', 'PCI I/O', pciStart, pciEnd),
      region('fixmap', 'fixmap', fixmapStart, fixmapTop),
    ],
    markers: [
      { address: pageOffset, name: 'Linear Mapping start' },
      { address: pageEnd, name: 'Linear Mapping end' },
      { address: modulesStart, name: 'Modules start' },
      { address: modulesEnd, name: 'Modules end' },
      { address: modulesEnd, name: 'vmalloc() area' },
      { address: vmallocEnd, name: 'vmalloc() end' },
      { address: vmemmapStart, name: 'vmemmap start' },
      { address: vmemmapEnd, name: 'vmemmap end' },
      { address: pciStart, name: 'PCI I/O start' },
      { address: pciEnd, name: 'PCI I/O end' },
      { address: fixmapStart, name: 'Fixmap start' },
      { address: fixmapTop, name: 'Fixmap end' },
    ],
    ptdumpStart: pageOffset,
    wxStart: pageOffset,
    hugeVmap: { pmd: true, pud: granuleKiB === 4 },
    autoLeaves: granuleKiB === 4 ? [2, 3, 4] : [3, 4],
    // pgd_alloc(): the page allocator when the PGD is page-sized, else the "pgd_cache" kmem_cache.
    pgdAllocator: pgdBytes === pageSize ? 'page' : 'kmem_cache',
    pgdBytes,
    tableBytes: (depth) => (depth === 0 ? pgdBytes : ptrs * 8),
    ptdumpFormat: 'arm64',
    codec: arm64Codec,
  };
}

// ---------------------------------------------------------------------------------------------
// riscv64 (geometry.md §3; Documentation/arch/riscv/vm-layout.rst)

function riscvProfile(mode: 'sv39' | 'sv48' | 'sv57'): ArchProfile {
  const t = { ptrs: 512 };
  const real: Partial<Record<LevelName, { shift: number; ptrs: number }>> =
    mode === 'sv39'
      ? { pgd: { shift: 30, ...t }, pmd: { shift: 21, ...t }, pte: { shift: 12, ...t } }
      : mode === 'sv48'
        ? { pgd: { shift: 39, ...t }, pud: { shift: 30, ...t }, pmd: { shift: 21, ...t }, pte: { shift: 12, ...t } }
        : { pgd: { shift: 48, ...t }, p4d: { shift: 39, ...t }, pud: { shift: 30, ...t }, pmd: { shift: 21, ...t }, pte: { shift: 12, ...t } };
  // best_map_size(): P4D leaves only with Sv57, PUD leaves only with 4 or 5 levels.
  const leaves: LevelName[] = mode === 'sv39' ? ['pmd', 'pte'] : mode === 'sv48' ? ['pud', 'pmd', 'pte'] : ['p4d', 'pud', 'pmd', 'pte'];
  const geometry = buildLevels(real, leaves, {});
  const layout = {
    sv39: { fixmap: 0xffffffc4fea00000n, pci: 0xffffffc4ff000000n, vmemmap: 0xffffffc500000000n, vmalloc: 0xffffffc600000000n, linear: 0xffffffd600000000n, linearEnd: 0xfffffff600000000n, va: 39 },
    sv48: { fixmap: 0xffff8d7ffea00000n, pci: 0xffff8d7fff000000n, vmemmap: 0xffff8d8000000000n, vmalloc: 0xffff8f8000000000n, linear: 0xffffaf8000000000n, linearEnd: 0xffffef8000000000n, va: 48 },
    sv57: { fixmap: 0xff1bfffffea00000n, pci: 0xff1bffffff000000n, vmemmap: 0xff1c000000000000n, vmalloc: 0xff20000000000000n, linear: 0xff60000000000000n, linearEnd: 0xffdf000000000000n, va: 57 },
  }[mode];
  const modules = 0xffffffff00000000n;
  const kernel = 0xffffffff80000000n;
  const kernelStart = TOP - pow2(layout.va - 1);
  const userEnd = pow2(layout.va - 1);
  return {
    id: `riscv64-${mode}`,
    family: 'riscv',
    options: { arch: 'riscv64', mode },
    label: `riscv64, ${mode.toUpperCase()} (${layout.va}-bit VA, ${geometry.realLevels} levels)`,
    pageShift: 12,
    pageSize: 4096n,
    ...geometry,
    vaBits: layout.va,
    kernelStart,
    userEnd,
    mmapTop: mode === 'sv39' ? userEnd : pow2(47),
    // Sv39-57 PTEs hold 56-bit physical addresses; the engine keeps physical addresses as exact
    // numbers, so it models the first 52 bits.
    physBits: 52,
    regions: [
      region('user', 'user space', 0n, userEnd),
      region('fixmap', 'fixmap', layout.fixmap, layout.pci),
      region('pci_io', 'PCI I/O', layout.pci, layout.vmemmap),
      region('vmemmap', 'vmemmap', layout.vmemmap, layout.vmalloc),
      region('vmalloc', 'vmalloc/ioremap', layout.vmalloc, layout.linear),
      region('linear', 'direct map (linear map)', layout.linear, layout.linearEnd),
      region('modules', 'modules, BPF', modules, kernel),
      region('kernel_image', 'kernel', kernel, TOP),
    ],
    markers: [
      { address: layout.fixmap, name: 'Fixmap start' },
      { address: layout.pci, name: 'Fixmap end' },
      { address: layout.pci, name: 'PCI I/O start' },
      { address: layout.vmemmap, name: 'PCI I/O end' },
      { address: layout.vmemmap, name: 'vmemmap start' },
      { address: layout.vmalloc, name: 'vmemmap end' },
      { address: layout.vmalloc, name: 'vmalloc() area' },
      { address: layout.linear, name: 'vmalloc() end' },
      { address: layout.linear, name: 'Linear mapping' },
      { address: modules, name: 'Modules/BPF mapping' },
      { address: kernel, name: 'Kernel mapping' },
    ],
    ptdumpStart: kernelStart,
    wxStart: kernelStart,
    hugeVmap: { pmd: true, pud: mode !== 'sv39' },
    autoLeaves: mode === 'sv39' ? [3, 4] : mode === 'sv48' ? [2, 3, 4] : [1, 2, 3, 4],
    pgdAllocator: 'page',
    pgdBytes: 4096,
    tableBytes: () => 4096,
    ptdumpFormat: 'riscv',
    codec: riscvCodec,
  };
}

// ---------------------------------------------------------------------------------------------
// 32-bit three-level configurations (geometry.md §4), modelled for geometry and accounting.

function pae32Profile(arch: 'x86_pae' | 'arm_lpae'): ArchProfile {
  const geometry = buildLevels(
    { pgd: { shift: 30, ptrs: 4 }, pmd: { shift: 21, ptrs: 512 }, pte: { shift: 12, ptrs: 512 } },
    ['pmd', 'pte'],
    {},
  );
  const pageOffset = 0xc0000000n;
  const x86 = arch === 'x86_pae';
  // 896 MiB of lowmem, then an 8 MiB hole and vmalloc up to the pkmap/fixmap area.
  const lowmemEnd = pageOffset + (896n << 20n);
  const vmallocStart = lowmemEnd + (8n << 20n);
  const vmallocEnd = x86 ? 0xff800000n : 0xff000000n;
  const userEnd = x86 ? pageOffset : pageOffset - (16n << 20n);
  return {
    id: arch,
    family: x86 ? 'x86' : 'arm',
    options: { arch },
    label: x86 ? 'x86 PAE (32-bit, 3 levels)' : 'ARM LPAE (32-bit, 3 levels)',
    pageShift: 12,
    pageSize: 4096n,
    ...geometry,
    vaBits: 32,
    kernelStart: pageOffset,
    userEnd,
    mmapTop: userEnd,
    physBits: x86 ? 36 : 40,
    regions: [
      region('user', 'user space', 0n, userEnd),
      ...(x86 ? [] : [region('modules', 'modules', userEnd, pageOffset)]),
      region('linear', 'lowmem (linear map)', pageOffset, lowmemEnd),
      region('vmalloc', 'vmalloc', vmallocStart, vmallocEnd),
      region('fixmap', 'fixmap', 0xfff00000n, 1n << 32n),
    ],
    markers: x86
      ? [
          { address: 0n, name: 'User Space' },
          { address: pageOffset, name: 'Kernel Mapping' },
          { address: vmallocStart, name: 'vmalloc() Area' },
          { address: vmallocEnd, name: 'vmalloc() End' },
          { address: 0xff800000n, name: 'Persistent kmap() Area' },
          { address: 0xfff00000n, name: 'Fixmap area' },
        ]
      : [],
    ptdumpStart: 0n,
    wxStart: 0n,
    // x86-32 PAE pmd_free_pte_page() refuses live tables; both use 2 MiB sections only.
    hugeVmap: { pmd: x86, pud: false },
    autoLeaves: [3, 4],
    // seed 000: "kmem_cache at pgd level if PAE" (x86), "kmalloc at pgd level if LPAE" (arm).
    pgdAllocator: x86 ? 'kmem_cache' : 'kmalloc',
    pgdBytes: 32,
    tableBytes: (depth) => (depth === 0 ? 32 : 4096),
    ptdumpFormat: x86 ? 'x86' : 'none',
    codec: x86 ? x86Codec : armLpaeCodec,
  };
}

/**
 * Profiles made so far, per builder and arguments. A profile is never changed after it is built,
 * so every run of one configuration shares one: the engine's optimized code then keeps seeing
 * the same objects instead of being thrown away when an earlier run's profile is collected.
 */
const built = new Map<object, Map<string, ArchProfile>>();

function shared<A extends (string | number | boolean)[]>(build: (...args: A) => ArchProfile, ...args: A): ArchProfile {
  let profiles = built.get(build);
  if (!profiles) built.set(build, (profiles = new Map()));
  const key = args.join('/');
  let profile = profiles.get(key);
  if (!profile) profiles.set(key, (profile = build(...args)));
  return profile;
}

/** The arch header of a scenario, already checked by the language layer. */
export function resolveProfile(options: ArchOptions): ArchProfile {
  switch (options.arch) {
    case 'x86_64':
      return shared(x86_64Profile, options.levels === 5, options.pti ?? false);
    case 'arm64':
      return shared(arm64Profile, options.granuleKiB ?? 4, options.va ?? 48);
    case 'riscv64':
      return shared(riscvProfile, options.mode ?? 'sv48');
    case 'x86_pae':
    case 'arm_lpae':
      return shared(pae32Profile, options.arch);
  }
}

/** Every configuration the spec lists, for tests and the accounting table. */
export function allProfiles(): ArchProfile[] {
  const profiles = [x86_64Profile(false, false), x86_64Profile(true, false)];
  for (const granule of [4, 16, 64]) for (const va of arm64VaSizes(granule)) profiles.push(arm64Profile(granule, va));
  for (const mode of ['sv39', 'sv48', 'sv57'] as const) profiles.push(riscvProfile(mode));
  profiles.push(pae32Profile('x86_pae'), pae32Profile('arm_lpae'));
  return profiles;
}

export function regionAt(profile: ArchProfile, va: bigint): Region | undefined {
  // Later regions win where ranges nest (x86's kernel image lies inside nothing else, but the
  // LDT slot sits inside the guard hole region of the PGD).
  let found: Region | undefined;
  for (const r of profile.regions) if (va >= r.start && va < r.end) found = r;
  return found;
}

/** Canonical: in the user half or in the kernel half, nothing in between. */
export function isCanonical(profile: ArchProfile, va: bigint): boolean {
  if (profile.vaBits === 32) return va < 1n << 32n;
  return va < pow2(profile.family === 'arm64' ? profile.vaBits : profile.vaBits - 1) || va >= profile.kernelStart;
}

/** Bytes one entry maps at a depth. */
export function entrySize(profile: ArchProfile, depth: Depth): bigint {
  return (profile.levels[depth] as LevelGeometry).sizeBig;
}

/** PAGE_SHIFT as a BigInt (the PTE level's, made once). */
export function pageShiftOf(profile: ArchProfile): bigint {
  return (profile.levels[4] as LevelGeometry).shiftBig;
}

/** The index `va` selects in a table of depth `depth` (pgd_index … pte_index; 0 at a folded level). */
export function indexAt(profile: ArchProfile, depth: Depth, va: bigint): number {
  const level = profile.levels[depth] as LevelGeometry;
  // Below 2^53 (every user address) Number(va) is exact and so is the division by the entry
  // size, a power of two: no BigInt is made (each BigInt operation allocates one), and `&`
  // keeps the low bits of the entry number as the mask does.
  const n = Number(va);
  if (n < 2 ** 53) return Math.floor(n / level.entryBytes) & (level.ptrs - 1);
  return Number((va >> level.shiftBig) & level.indexMask);
}

/** The index an address selects at each of the five levels (0 for folded ones). */
export function levelIndices(profile: ArchProfile, va: bigint): number[] {
  return profile.levels.map((l) => indexAt(profile, l.depth, va));
}
