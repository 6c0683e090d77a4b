// arm64 set_memory_*, set_memory_valid and set_direct_map_* (seed 003): the pageattr walk, the
// partial-block EINVAL, BBML2 splitting, contiguous runs, the vmalloc caller rule, rodata_full
// aliases, and the flush and barrier counts.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertClean, findingLines, lineOf, only, outputs, run } from '../support';

const LM = '0xffff000000000000';

describe('arm64 pageattr: each helper on a page-mapped range', () => {
  it('changes RDONLY/WRITE, PXN, VALID as the masks say', () => {
    const r = run(`
scenario "helpers" {
  arch arm64 granule=4k va=48
  kernel {
    map ${LM} size 64K phys 0x80000000 prot rw leaf=pte nocont
    set_memory_ro ${LM} pages 2 => ok
    expect prot(${LM}) == r
    expect prot(${LM} + 2p) == rw
    set_memory_rw ${LM} pages 1 => ok
    expect prot(${LM}) == rw
    set_memory_x ${LM} + 3p pages 1 => ok
    expect prot(${LM} + 3p) == rwx
    set_memory_nx ${LM} + 3p pages 1 => ok
    expect prot(${LM} + 3p) == rw
    set_memory_valid ${LM} + 4p pages 2 off => ok
    expect prot(${LM} + 4p) == none
    expect leaf(${LM} + 4p) == pte
    set_memory_valid ${LM} + 4p pages 2 on => ok
    expect prot(${LM} + 5p) == rw
    set_direct_map_invalid ${LM} + 6p => ok
    expect prot(${LM} + 6p) == none
    set_direct_map_default ${LM} + 6p => ok
    expect prot(${LM} + 6p) == rw
    ptdump ${LM} size 64K
  }
}`);
    const findings = findingLines(r, 0, true);
    // set_memory_x leaves a writable and executable page: the per-statement W+X warning.
    assert.deepEqual(findings, ['11: warning wx-mapping']);
    assert.deepEqual(outputs(r, 'ptdump')[0]?.split('\n'), [
      '---[ Linear Mapping start ]---',
      '0xffff000000000000-0xffff000000001000           4K PTE       RW NX SHD AF            UXN    MEM/NORMAL',
      '0xffff000000001000-0xffff000000002000           4K PTE       ro NX SHD AF            UXN    MEM/NORMAL',
      '0xffff000000002000-0xffff000000010000          56K PTE       RW NX SHD AF            UXN    MEM/NORMAL',
    ]);
  });

  it('works the same on 16K and 64K granules', () => {
    for (const [granule, va] of [
      ['16k', '47'],
      ['64k', '48'],
    ]) {
      const base = granule === '16k' ? '0xffff800000000000' : LM;
      const r = run(`
scenario "granule" {
  arch arm64 granule=${granule} va=${va}
  kernel {
    map ${base} size 8p phys 0x80000000 prot rw leaf=pte nocont
    set_memory_ro ${base} + 1p pages 2 => ok
    expect prot(${base}) == rw
    expect prot(${base} + 1p) == r
    expect prot(${base} + 2p) == r
    expect prot(${base} + 3p) == rw
    expect tlb_flushes == 1
    set_memory_rw ${base} + 1p pages 1 => ok
    expect prot(${base} + 1p) == rw
    set_memory_x ${base} + 4p pages 1 => ok
    expect prot(${base} + 4p) == rwx
    set_memory_nx ${base} + 4p pages 1 => ok
    expect prot(${base} + 4p) == rw
    set_memory_valid ${base} + 5p pages 1 off => ok
    expect prot(${base} + 5p) == none
    set_memory_valid ${base} + 5p pages 1 on => ok
    expect prot(${base} + 5p) == rw
    set_direct_map_invalid ${base} + 6p => ok
    expect prot(${base} + 6p) == none
    set_direct_map_default ${base} + 6p => ok
    expect prot(${base} + 6p) == rw
    expect tlb_flushes == 5
  }
}`);
      // set_memory_x leaves a writable and executable page: the per-statement W+X warning.
      assert.deepEqual(findingLines(r, 0, true), ['14: warning wx-mapping']);
    }
  });
});

describe('arm64 pageattr: a range that enters a block part-way, without BBML2', () => {
  it('is EINVAL at a PMD block, names the block, relates the map and offers the aligned range', () => {
    const text = `
scenario "pmd" {
  arch arm64 granule=4k va=48
  kernel {
    map ${LM} size 4M phys 0x80000000 prot rw
    set_memory_ro ${LM} + 1p pages 1
  }
}`;
    const r = run(text);
    const f = only(r).findings.find((x) => x.code === 'partial-block-overlap');
    assert.ok(f);
    assert.equal(f.severity, 'error');
    assert.equal(lineOf(text, f.span.start), 6);
    assert.match(f.message, /PMD block 0xffff000000000000-0xffff000000200000 \(2M\)/);
    assert.deepEqual(
      f.related?.map((x) => lineOf(text, x.span.start)),
      [5],
    );
    assert.deepEqual(f.fix, { kind: 'partial-block', alignedStart: 0xffff000000000000n, alignedPages: 512n, bbml2Helps: true });
    // Without `=> EINVAL` the failure is also a statement-failed warning.
    assert.deepEqual(findingLines(r, 0, true), ['6: error partial-block-overlap', '6: warning statement-failed']);
  });

  it('is expected (information) with `=> EINVAL`, and leaves the entries before the block changed', () => {
    const r = run(`
scenario "entries before the block" {
  arch arm64 granule=4k va=48
  kernel {
    map ${LM} size 2M phys 0x80000000 prot rw leaf=pte nocont
    map ${LM} + 2M size 2M phys 0x80200000 prot rw
    let f = tlb_flushes
    let b = barriers
    set_memory_ro ${LM} pages 513 => EINVAL
    expect prot(${LM}) == r
    expect prot(${LM} + 511p) == r
    expect prot(${LM} + 2M) == rw
    expect leaf(${LM} + 2M) == pmd
    # The flush still happens, and the lazy MMU section still ends with its one barrier.
    expect tlb_flushes == f + 1
    expect barriers == b + 1
  }
}`);
    assertClean(r);
    assert.deepEqual(findingLines(r, 0, true), ['9: information partial-block-overlap']);
    assert.match(only(r).findings[0]?.message ?? '', /512 entries written before it stay changed/);
  });

  it('is EINVAL at a PUD block (1G), and a whole PUD changes in place', () => {
    const r = run(`
scenario "pud" {
  arch arm64 granule=4k va=48
  kernel {
    map ${LM} + 1G size 1G phys 0x80000000 prot rw
    expect leaf(${LM} + 1G) == pud
    set_memory_nx ${LM} + 1G pages 512 => EINVAL
    set_memory_ro ${LM} + 1G pages 262144 => ok
    expect leaf(${LM} + 1G) == pud
    expect prot(${LM} + 1G + 5M) == r
    expect tables(kernel, pmd) == 0
  }
}`);
    assertClean(r);
    const f = only(r).findings[0];
    assert.match(f?.message ?? '', /PUD block 0xffff000040000000-0xffff000080000000 \(1G\)/);
    assert.deepEqual(f?.fix, { kind: 'partial-block', alignedStart: 0xffff000040000000n, alignedPages: 262144n, bbml2Helps: true });
  });

  it('is EINVAL at a 32M PMD block on 16K and a 512M block on 64K', () => {
    for (const [granule, va, base, size] of [
      ['16k', '47', '0xffff800000000000', '32M'],
      ['64k', '48', LM, '512M'],
    ]) {
      const r = run(`
scenario "granule" {
  arch arm64 granule=${granule} va=${va}
  kernel {
    map ${base} size ${size} phys 0x80000000 prot rw
    expect leaf(${base}) == pmd
    set_memory_ro ${base} + 1p pages 1 => EINVAL
    expect prot(${base} + 1p) == rw
  }
}`);
      assertClean(r);
      assert.match(only(r).findings[0]?.message ?? '', new RegExp(`PMD block .*\\(${size}\\)`));
    }
  });

  it('aligns the quick fix to the whole contiguous run when the block has PTE_CONT', () => {
    const r = run(`
scenario "cont pmd" {
  arch arm64 granule=4k va=48
  kernel {
    map ${LM} size 32M phys 0x80000000 prot rw
    expect leaf(${LM}) == cont_pmd
    set_memory_ro ${LM} + 2M + 1p pages 1 => EINVAL
  }
}`);
    assertClean(r);
    assert.deepEqual(only(r).findings[0]?.fix, { kind: 'partial-block', alignedStart: 0xffff000000000000n, alignedPages: 8192n, bbml2Helps: true });
  });

  it('set_direct_map_invalid in a block is EINVAL too, without a flush', () => {
    const r = run(`
scenario "direct map" {
  arch arm64 granule=4k va=48
  kernel {
    map ${LM} size 2M phys 0x80000000 prot rw
    set_direct_map_invalid ${LM} + 1p => EINVAL
    expect tlb_flushes == 0
  }
}`);
    assertClean(r);
    assert.deepEqual(findingLines(r, 0, true), ['6: information partial-block-overlap']);
  });
});

describe('arm64 pageattr: contiguous runs the range covers in part', () => {
  it('changes part of a contiguous PTE run and warns about the misprogrammed run', () => {
    const r = run(`
scenario "cont pte" {
  arch arm64 granule=4k va=48
  kernel {
    map ${LM} size 64K phys 0x80000000 prot rw leaf=pte
    expect leaf(${LM}) == cont_pte
    set_memory_ro ${LM} + 4p pages 2 => ok
    expect prot(${LM} + 4p) == r
    expect prot(${LM} + 6p) == rw
  }
}`);
    const f = only(r).findings;
    assert.deepEqual(findingLines(r, 0, true), ['7: warning partial-block-overlap']);
    assert.match(f[0]?.message ?? '', /contiguous run 0xffff000000000000-0xffff000000010000 \(16 PTEs with PTE_CONT\)/);
    assert.deepEqual(f[0]?.fix, { kind: 'partial-block', alignedStart: 0xffff000000000000n, alignedPages: 16n, bbml2Helps: true });
    assert.deepEqual(
      f[0]?.related?.map((x) => lineOf(r.text, x.span.start)),
      [5],
    );
  });

  it('does the same for whole PMDs inside a contiguous PMD run (the kernel checks only the PMD size)', () => {
    const r = run(`
scenario "cont pmd" {
  arch arm64 granule=4k va=48
  kernel {
    map ${LM} size 32M phys 0x80000000 prot rw
    set_memory_ro ${LM} + 2M pages 512 => ok
    expect prot(${LM} + 2M) == r
    expect prot(${LM} + 4M) == rw
    expect leaf(${LM} + 2M) == cont_pmd
  }
}`);
    assert.deepEqual(findingLines(r, 0, true), ['6: warning partial-block-overlap']);
    assert.match(only(r).findings[0]?.message ?? '', /16 PMDs with PTE_CONT/);
  });

  it('does not warn when the run is covered whole or nothing changes', () => {
    const r = run(`
scenario "whole run" {
  arch arm64 granule=4k va=48
  kernel {
    map ${LM} size 128K phys 0x80000000 prot rw leaf=pte
    set_memory_ro ${LM} pages 16 => ok
    set_memory_nx ${LM} + 16p pages 3 => ok
    expect prot(${LM} + 16p) == rw
  }
}`);
    assertClean(r);
    assert.deepEqual(findingLines(r), []);
  });
});

describe('arm64 pageattr with BBML2: split_kernel_leaf_mapping', () => {
  it('splits a PUD only at the two ends: PUD → contiguous PMDs → PMDs → contiguous PTEs → PTEs', () => {
    const r = run(`
scenario "pud cascade" {
  arch arm64 granule=4k va=48
  feature bbml2
  kernel {
    map ${LM} size 1G phys 0x80000000 prot rw
    let f = tlb_flushes
    let b = barriers
    set_memory_ro ${LM} + 1p pages 1 => ok
    expect prot(${LM} + 1p) == r
    expect prot(${LM}) == rw
    expect leaf(${LM} + 1p) == pte
    expect leaf(${LM} + 16p) == cont_pte
    # The first contiguous PMD run lost its hint; the next runs keep it.
    expect leaf(${LM} + 2M) == pmd
    expect leaf(${LM} + 32M) == cont_pmd
    expect tables(kernel, pmd) == 1
    expect tables(kernel, pte) == 1
    expect direct_map_splits == 2
    # No flush for the split (BBML2): one for the permission change.
    expect tlb_flushes == f + 1
    # Two lazy MMU sections: the split's and the walk's.
    expect barriers == b + 2
    ptdump ${LM} size 64M
  }
}`);
    assertClean(r);
    assert.deepEqual(findingLines(r, 0, true), ['9: information partial-block-overlap']);
    assert.match(only(r).findings[0]?.message ?? '', /split the PUD block .* into contiguous PMDs; cleared the contiguous hint of the PMD contiguous run .*; split the PMD block .* into contiguous PTEs; cleared the contiguous hint of the PTE contiguous run/);
    assert.deepEqual(outputs(r, 'ptdump')[0]?.split('\n'), [
      '---[ Linear Mapping start ]---',
      '0xffff000000000000-0xffff000000001000           4K PTE       RW NX SHD AF            UXN    MEM/NORMAL',
      '0xffff000000001000-0xffff000000002000           4K PTE       ro NX SHD AF            UXN    MEM/NORMAL',
      '0xffff000000002000-0xffff000000010000          56K PTE       RW NX SHD AF            UXN    MEM/NORMAL',
      '0xffff000000010000-0xffff000000200000        1984K PTE       RW NX SHD AF    CON     UXN    MEM/NORMAL',
      '0xffff000000200000-0xffff000002000000          30M PMD       RW NX SHD AF        BLK UXN    MEM/NORMAL',
      '0xffff000002000000-0xffff000004000000          32M PMD       RW NX SHD AF    CON BLK UXN    MEM/NORMAL',
    ]);
  });

  it('splits at both ends of a longer range and leaves the middle blocks whole', () => {
    const r = run(`
scenario "both ends" {
  arch arm64 granule=4k va=48
  feature bbml2
  kernel {
    map ${LM} size 8M phys 0x80000000 prot rw
    set_memory_ro ${LM} + 1M pages 1024 => ok
    expect leaf(${LM} + 1M) == cont_pte
    expect leaf(${LM} + 2M) == pmd
    expect prot(${LM} + 2M) == r
    expect leaf(${LM} + 5M) == cont_pte
    expect prot(${LM} + 5M - 1p) == r
    expect prot(${LM} + 5M) == rw
    expect tables(kernel, pte) == 2
    expect direct_map_splits == 2
  }
}`);
    assertClean(r);
  });

  it('at a contiguous PTE boundary only clears the hint of that run', () => {
    const r = run(`
scenario "cont only" {
  arch arm64 granule=4k va=48
  feature bbml2
  kernel {
    map ${LM} size 128K phys 0x80000000 prot rw leaf=pte
    set_memory_ro ${LM} + 4p pages 2 => ok
    expect leaf(${LM}) == pte
    expect leaf(${LM} + 16p) == cont_pte
    expect direct_map_splits == 0
  }
}`);
    assertClean(r);
    assert.match(only(r).findings[0]?.message ?? '', /cleared the contiguous hint of the PTE contiguous run 0xffff000000000000-0xffff000000010000$/);
  });

  it('splits 32M PMDs on 16K into 128-entry contiguous PTE runs', () => {
    const base = '0xffff800000000000';
    const r = run(`
scenario "16k" {
  arch arm64 granule=16k va=47
  feature bbml2
  kernel {
    map ${base} size 64M phys 0x80000000 prot rw
    set_memory_ro ${base} + 1p pages 1 => ok
    expect leaf(${base} + 1p) == pte
    expect leaf(${base} + 2M) == cont_pte
    expect leaf(${base} + 32M) == pmd
  }
}`);
    assertClean(r);
  });

  it('also splits for set_memory_valid and set_direct_map_*', () => {
    const r = run(`
scenario "valid" {
  arch arm64 granule=4k va=48
  feature bbml2
  kernel {
    map ${LM} size 4M phys 0x80000000 prot rw
    set_memory_valid ${LM} + 1p pages 1 off => ok
    expect prot(${LM} + 1p) == none
    set_direct_map_invalid ${LM} + 2M + 1p => ok
    expect prot(${LM} + 2M + 1p) == none
    expect direct_map_splits == 2
  }
}`);
    assertClean(r);
  });
});

describe('arm64 pageattr: the vmalloc caller rule and rodata_full aliases', () => {
  it('accepts one whole non-huge area (its guard page included), refuses anything else', () => {
    const r = run(`
scenario "caller rule" {
  arch arm64 granule=4k va=48
  kernel {
    vmalloc buf size 4p
    vmalloc big size 2M huge
    set_memory_ro buf pages 4 => ok
    expect prot(buf) == r
    set_memory_ro buf + 1p pages 4 => ok
    set_memory_ro buf pages 6 => EINVAL
    set_memory_ro big pages 1 => EINVAL
    set_memory_ro buf + 5p pages 1 => EINVAL
    set_memory_ro buf pages 0 => ok
    # set_memory_valid has no caller rule.
    set_memory_valid big pages 512 off => ok
  }
}`);
    assertClean(r);
    const steps = only(r).state.steps();
    // The guard page's empty PTE is rewritten too (pageattr_pte_entry does not skip none entries).
    assert.match(steps.find((s) => lineOf(r.text, s.span.start) === 9)?.summary ?? '', /1 empty PTE rewritten/);
  });

  it('changes each backing page\'s linear alias first, one flush and one barrier each', () => {
    const r = run(`
scenario "aliases" {
  arch arm64 granule=4k va=48
  kernel {
    map ${LM} size 1G phys 0x80000000 prot rw leaf=pte
    vmalloc buf size 4p
    let f = tlb_flushes
    let b = barriers
    set_memory_ro buf pages 4 => ok
    expect tlb_flushes == f + 5
    expect barriers == b + 5
    # set_memory_nx is not an RDONLY change: no aliases.
    set_memory_nx buf pages 4 => ok
    expect tlb_flushes == f + 6
  }
}`);
    assertClean(r);
    const state = only(r).state;
    const last = state.stepCount - 1;
    const buf = state.describeAddress(0xffff800080000000n, last);
    const pa = BigInt(buf.entry?.pa ?? '0');
    const alias = state.describeAddress(0xffff000000000000n + (pa - 0x80000000n), last);
    assert.equal(alias.entry?.prot?.write, false);
    assert.equal(buf.entry?.prot?.write, false);
  });

  it('fails with EINVAL when an alias lies in a linear-map block (no quick fix on the vmalloc range)', () => {
    const r = run(`
scenario "alias in a block" {
  arch arm64 granule=4k va=48
  kernel {
    map ${LM} size 2G phys 0x80000000 prot rw
    vmalloc buf size 1p
    set_memory_ro buf pages 1 => EINVAL
    expect prot(buf) == rw
  }
}`);
    assertClean(r);
    const f = only(r).findings[0];
    assert.equal(f?.code, 'partial-block-overlap');
    assert.match(f?.message ?? '', /linear-map alias .* of page 0 of `buf`/);
    assert.equal(f?.fix, undefined);
  });
});

describe('arm64 pageattr: TLB flushes and barriers', () => {
  it('counts one barrier per entry outside lazy MMU and one per section inside it', () => {
    const r = run(`
scenario "lazy mmu" {
  arch arm64 granule=4k va=48
  kernel {
    # map writes 256 PTEs and 3 table entries outside lazy MMU mode: 259 barriers.
    map ${LM} size 1M phys 0x80000000 prot rw leaf=pte
    expect barriers == 259
    # set_memory_ro writes the same 256 PTEs inside one lazy MMU section: 1 barrier.
    set_memory_ro ${LM} pages 256 => ok
    expect barriers == 260
    expect tlb_flushes == 1
  }
}`);
    assertClean(r);
  });

  it('skips the flush only for a pure invalid → valid change, and set_direct_map_* never flush', () => {
    const r = run(`
scenario "flushes" {
  arch arm64 granule=4k va=48
  kernel {
    map ${LM} size 64K phys 0x80000000 prot rw leaf=pte nocont
    set_memory_valid ${LM} pages 4 off => ok
    expect tlb_flushes == 1
    # Writing invalid entries needs no barrier.
    expect barriers == 19
    set_memory_valid ${LM} pages 4 on => ok
    expect tlb_flushes == 1
    expect barriers == 20
    set_direct_map_invalid ${LM} + 8p => ok
    set_direct_map_default ${LM} + 8p => ok
    expect tlb_flushes == 1
    # An empty range is -EINVAL from walk_kernel_page_table_range_lockless().
    set_memory_valid ${LM} pages 0 off => EINVAL
    expect tlb_flushes == 2
  }
}`);
    assertClean(r);
  });
});
