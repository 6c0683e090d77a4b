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

/**
 * Per family: [writable lo mask, hi mask, writable when set?, executable lo mask, hi mask,
 * executable when set?] — the same rule as isWxLeaf, as bit tests for the hot loop.
 */
const WX_TESTS: Record<'arm64' | 'arm' | 'x86' | 'riscv', [number, number, boolean, number, number, boolean]> = {
  // arm64: writable when PTE_RDONLY (bit 7) is clear, executable when PTE_PXN (bit 53) is clear.
  arm64: [0x80, 0, false, 0, 1 << (53 - 32), false],
  arm: [0x80, 0, false, 0, 1 << (53 - 32), false],
  // x86: _PAGE_RW (bit 1) set, _PAGE_NX (bit 63) clear.
  x86: [0x2, 0, true, 0, 0x80000000, false],
  // riscv: _PAGE_WRITE (bit 2) and _PAGE_EXEC (bit 3) set.
  riscv: [0x4, 0, true, 0x8, 0, true],
};

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
  // W+X entries are rare, so test the W and X bits first with the family's masks and only then
  // classify the entry and compare it with the state before the step.
  const [wLo, wHi, wSet, xLo, xHi, xSet] = WX_TESTS[profile.family];
  for (const table of record.tablesWritten) {
    if (table.space !== 'kernel' || table.freed) continue;
    const depth = (profile.entryDepth[table.depth] ?? table.depth) as Depth;
    const perEntry = (1n << BigInt(profile.levels[table.depth]?.shift ?? 12)) / profile.pageSize;
    const e = table.e;
    // Without history every entry is looked at; with it, the ones the step's log names.
    const changes = machine.historyEnabled ? table.changesIn(record.index) : 'all';
    if (changes === undefined) continue;
    const all = changes === 'all';
    const count = all ? table.ptrs : changes.length / 3;
    let seen: Set<number> | undefined;
    for (let k = 0; k < count; k++) {
      const i = all ? k : (changes[3 * k] as number);
      // int32 reads: values with bit 31 set stay small integers in this hot loop.
      const lo32 = (e[2 * i] ?? 0) | 0;
      const hi32 = (e[2 * i + 1] ?? 0) | 0;
      if ((((lo32 & wLo) | (hi32 & wHi)) !== 0) !== wSet) continue;
      if ((((lo32 & xLo) | (hi32 & xHi)) !== 0) !== xSet) continue;
      if (lo32 === 0 && hi32 === 0) continue;
      const lo = lo32 >>> 0;
      const hi = hi32 >>> 0;
      // A logged index may repeat: count each entry once.
      seen ??= new Set<number>();
      if (seen.has(i)) continue;
      seen.add(i);
      if (machine.historyEnabled) {
        const [blo, bhi] = table.entryAt(i, record.index - 1);
        if (blo === lo && bhi === hi && table.bornStep < record.index) continue;
      }
      if (profile.codec.classify(depth, lo, hi, depth === 4) !== 'leaf') continue;
      pages += perEntry;
      const va = entryVa(profile, table, i);
      if (first === undefined || va < first) first = va;
    }
  }
  if (pages === 0n || first === undefined) return undefined;
  return { pages, firstText: hex16(first), rule: RULES[profile.family] };
}

