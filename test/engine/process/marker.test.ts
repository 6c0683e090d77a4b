// The guard marker's bits per architecture: make_pte_marker(PTE_MARKER_GUARD) is
// swp_entry(SWP_PTE_MARKER = 31, BIT(2)) encoded by the arch's __swp_entry and
// __swp_entry_to_pte (include/linux/swapops.h, include/linux/swap.h):
//   x86_64/PAE: (~offset << SWP_OFFSET_SHIFT(14) >> SWP_TYPE_BITS(5)) | type << 59, the offset
//     inverted for L1TF (arch/x86/include/asm/pgtable_64.h, pgtable-3level.h);
//   arm64: type << 6 | offset << 12 (__SWP_TYPE_SHIFT 6, __SWP_OFFSET_SHIFT 12, since 6.9);
//   riscv: type << 7 | offset << 12 (__SWP_TYPE_SHIFT 7).
// Each must be non-present to the architecture's pte_present and pte_none.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clean, scenario } from './helpers';

const U64 = (1n << 64n) - 1n;
const x86 = (((~4n & U64) << 14n) & U64) >> 5n | (31n << 59n);

const CASES: [string, bigint][] = [
  ['arch x86_64', x86],
  ['arch x86_64 levels=5', x86],
  ['arch x86_pae', x86],
  ['arch arm64 granule=4k va=48', (31n << 6n) | (4n << 12n)],
  ['arch arm64 granule=64k va=42', (31n << 6n) | (4n << 12n)],
  ['arch riscv64 mode=sv48', (31n << 7n) | (4n << 12n)],
];

describe('guard marker encoding', () => {
  for (const [arch, value] of CASES) {
    it(`${arch}: 0x${value.toString(16)}`, () => {
      const r = clean(
        scenario('marker', arch, `  process p {
    mmap a size 1p prot rw
    madvise a size 1p guard_install
    expect guard(a) == true
  }`),
      );
      const steps = r.state.steps();
      const install = steps.findIndex((s) => s.helper === 'madvise_walk_vmas');
      const created = steps.find((s) => s.helper === 'do_mmap');
      assert.ok(created);
      const va = BigInt(created.summary.match(/0x[0-9a-f]+/)?.[0] ?? '0');
      const info = r.state.describeAddress(va, install, 'p');
      assert.equal(info.entry?.kind, 'marker');
      assert.equal(BigInt(info.entry?.value ?? '0'), value);
      assert.equal(info.leaf, 'none');
    });
  }
});
