// The per-statement W+X check behind the `wx-mapping` warning: did this statement leave kernel
// leaves writable and executable, by the architecture's own rule (descriptors.md §4)?

import type { Depth } from '../arch/profile';
import type { Machine, StepRecord } from '../model/machine';
import { hex16 } from '../u64';
import { entryVa } from '../model/entry-va';

export interface WxLeft {
  pages: bigint;
  firstText: string;
  rule: string;
}

const RULES = {
  arm64: 'PTE_RDONLY and PTE_PXN both clear (the rule of arm64 note_prot_wx)',
  arm: 'PTE_RDONLY and PTE_PXN both clear',
  x86: '_PAGE_RW set and _PAGE_NX clear (the rule of x86 note_wx)',
  riscv: '_PAGE_WRITE and _PAGE_EXEC both set (the rule of riscv note_prot_wx)',
} as const;

/** Whether a kernel leaf is W+X by the family's checker rule. */
export function isWxLeaf(machine: Machine, lo: number, hi: number): boolean {
  switch (machine.profile.family) {
    case 'arm64':
    case 'arm':
      return (lo & 0x80) === 0 && (hi & (1 << (53 - 32))) === 0;
    case 'x86':
      return (lo & 0x2) !== 0 && (hi & 0x80000000) === 0;
    case 'riscv':
      return (lo & 0x4) !== 0 && (lo & 0x8) !== 0;
  }
}

/**
 * Counts the kernel leaves this step wrote (compared with the state before it) that are W+X.
 * Undefined when there are none.
 */
export function wxLeftBy(machine: Machine, record: StepRecord): WxLeft | undefined {
  const profile = machine.profile;
  if (record.validWrites === 0) return undefined;
  let pages = 0n;
  let first: bigint | undefined;
  for (const table of record.tablesWritten) {
    if (table.space !== 'kernel' || table.freed) continue;
    const depth = (profile.entryDepth[table.depth] ?? table.depth) as Depth;
    const before = table.contentAt(record.index - 1)?.e;
    const perEntry = (1n << BigInt(profile.levels[table.depth]?.shift ?? 12)) / profile.pageSize;
    for (let i = 0; i < table.ptrs; i++) {
      const lo = table.e[2 * i] ?? 0;
      const hi = table.e[2 * i + 1] ?? 0;
      if (lo === 0 && hi === 0) continue;
      if (before && before !== table.e && before[2 * i] === lo && before[2 * i + 1] === hi) continue;
      if (profile.codec.classify(depth, lo, hi, depth === 4) !== 'leaf') continue;
      if (!isWxLeaf(machine, lo, hi)) continue;
      pages += perEntry;
      if (first === undefined) first = entryVa(profile, table, i);
    }
  }
  if (pages === 0n || first === undefined) return undefined;
  return { pages, firstText: hex16(first), rule: RULES[profile.family] };
}

