// riscv __set_memory (split_linear_mapping, whole-block changes elsewhere, flush_tlb_all) and
// ARM LPAE, which ptscn does not model for permission changes.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertClean, findingLines, only, outputs, run } from '../support';

const LM = '0xffffaf8000000000';

describe('riscv __set_memory', () => {
  it('splits linear-map leaves the range covers in part, and flushes everything once', () => {
    const r = run(`
scenario "linear" {
  arch riscv64 mode=sv48
  kernel {
    map ${LM} size 2G phys 0x80000000 prot rw
    expect leaf(${LM}) == pud
    set_memory_ro ${LM} + 1p pages 1 => ok
    expect leaf(${LM} + 1p) == pte
    expect prot(${LM} + 1p) == r
    expect leaf(${LM} + 2M) == pmd
    expect leaf(${LM} + 1G) == pud
    expect direct_map_splits == 2
    expect tlb_flushes == 1
  }
}`);
    assertClean(r);
    assert.match(only(r).findings[0]?.message ?? '', /split_linear_mapping\(\) split the PUD block .* into PMDs; split the PMD block .* into PTEs/);
  });

  it('runs each helper with the riscv masks; set_direct_map_* flush too', () => {
    const r = run(`
scenario "helpers" {
  arch riscv64
  kernel {
    map ${LM} size 64K phys 0x80000000 prot rw leaf=pte
    set_memory_x ${LM} pages 1 => ok
    expect prot(${LM}) == rwx
    set_memory_nx ${LM} pages 1 => ok
    set_memory_ro ${LM} + 1p pages 1 => ok
    expect prot(${LM} + 1p) == r
    set_memory_rw ${LM} + 1p pages 1 => ok
    expect prot(${LM} + 1p) == rw
    set_memory_valid ${LM} + 2p pages 1 off => ok
    expect prot(${LM} + 2p) == none
    set_direct_map_invalid ${LM} + 3p => ok
    expect prot(${LM} + 3p) == none
    set_direct_map_default ${LM} + 3p => ok
    expect prot(${LM} + 3p) == rw
    expect tlb_flushes == 7
    ptdump ${LM} size 16K
  }
}`);
    assert.deepEqual(findingLines(r, 0, true), ['6: warning wx-mapping']);
    assert.deepEqual(outputs(r, 'ptdump')[0]?.split('\n'), [
      '---[ Linear mapping ]---',
      '0xffffaf8000000000-0xffffaf8000002000    0x0000000080000000         8K PTE .   ..     ..   D A G . . W R V',
      '0xffffaf8000002000-0xffffaf8000003000    0x0000000080002000         4K PTE .   ..     ..   D A G . . W R .',
      '0xffffaf8000003000-0xffffaf8000004000    0x0000000080003000         4K PTE .   ..     ..   D A G . . W R V',
    ]);
  });

  it('changes a whole huge vmalloc block for one page of it, and warns', () => {
    const r = run(`
scenario "huge vmalloc" {
  arch riscv64
  kernel {
    vmalloc h size 4M huge
    set_memory_ro h pages 1 => ok
    expect prot(h + 1M) == r
    expect prot(h + 2M) == rw
  }
}`);
    assert.deepEqual(findingLines(r, 0, true), ['6: warning partial-block-overlap']);
    assert.match(only(r).findings[0]?.message ?? '', /pageattr_pmd_entry\(\) changes the whole block: 2M changed where 4K was asked for/);
  });

  it('changes the linear alias of vmalloc pages too (for every helper), splitting the linear map', () => {
    const r = run(`
scenario "alias" {
  arch riscv64
  kernel {
    map ${LM} size 4G phys 0x80000000 prot rw
    vmalloc v size 1p
    set_memory_ro v pages 1 => ok
    expect prot(v) == r
    expect direct_map_splits == 2
    expect tlb_flushes == 1
    # A vmalloc address with no vm area: the kernel dereferences NULL.
    set_memory_ro 0xffff8f8000100000 pages 1 => EINVAL
  }
}`);
    assertClean(r);
    const state = only(r).state;
    const last = state.stepCount - 1;
    const pa = BigInt(state.describeAddress(0xffff8f8000000000n, last).entry?.pa ?? '0');
    assert.equal(state.describeAddress(0xffffaf8000000000n + pa - 0x80000000n, last).entry?.prot?.write, false);
  });

  it('has no PUD leaves to split in Sv39', () => {
    const r = run(`
scenario "sv39" {
  arch riscv64 mode=sv39
  kernel {
    map 0xffffffd600000000 size 4M phys 0x80000000 prot rw
    set_memory_ro 0xffffffd600001000 pages 1 => ok
    expect leaf(0xffffffd600000000) == pte
    expect direct_map_splits == 1
  }
}`);
    assertClean(r);
  });
});

describe('ARM LPAE', () => {
  it('reports set_memory_* as not modelled, and set_direct_map_* as the generic no-op', () => {
    const r = run(`
scenario "lpae" {
  arch arm_lpae
  kernel {
    map 0xc0000000 size 4M phys 0 prot rw
    set_memory_ro 0xc0000000 pages 1 => EINVAL
    set_direct_map_invalid 0xc0000000 => ok
    expect tlb_flushes == 0
  }
}`);
    assertClean(r);
    assert.deepEqual(findingLines(r, 0, true), ['6: information bad-value']);
  });
});
