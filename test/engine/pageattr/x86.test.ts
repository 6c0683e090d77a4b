// x86 change_page_attr: set_memory_* splits large pages (split_large_page), keeps them when the
// protection does not change, changes the direct-map alias of vmalloc pages, and counts
// direct_map_splits; set_direct_map_* do not flush. Also x86 PAE and 5-level paging.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertClean, findingLines, only, outputs, run } from '../support';

const DM = '0xffff888000000000';

describe('x86 CPA: splitting large pages', () => {
  it('splits 1G → 2M → 4K where the range covers a large page in part, one flush per split and one at the end', () => {
    const r = run(`
scenario "split" {
  kernel {
    map ${DM} size 2G phys 0 prot rw
    expect leaf(${DM}) == pud
    set_memory_ro ${DM} + 1p pages 1 => ok
    expect leaf(${DM} + 1p) == pte
    expect prot(${DM} + 1p) == r
    expect prot(${DM}) == rw
    expect leaf(${DM} + 2M) == pmd
    expect leaf(${DM} + 1G) == pud
    # split_large_page allocates one table per split: a PMD table, then a PTE table.
    expect tables(kernel, pmd) == 1
    expect tables(kernel, pte) == 1
    expect direct_map_splits == 2
    # flush_tlb_all after each split, then cpa_flush for the change.
    expect tlb_flushes == 3
    expect barriers == 0
  }
}`);
    assertClean(r);
    assert.deepEqual(findingLines(r, 0, true), ['6: information partial-block-overlap']);
    assert.match(only(r).findings[0]?.message ?? '', /split_large_page\(\) split the PUD block 0xffff888000000000-0xffff888040000000 into PMDs; split the PMD block 0xffff888000000000-0xffff888000200000 into PTEs/);
  });

  it('keeps a large page whose protection would not change, and rewrites one that is covered whole', () => {
    const r = run(`
scenario "keep" {
  kernel {
    map ${DM} size 1G phys 0 prot rw
    # The direct map is already NX: "the large page can be preserved", whatever part is asked.
    set_memory_nx ${DM} + 1p pages 1 => ok
    expect leaf(${DM}) == pud
    expect tlb_flushes == 0
    # 2M exactly: the 1G page splits into 2M pages, and that 2M page changes in place.
    set_memory_ro ${DM} + 2M pages 512 => ok
    expect leaf(${DM} + 2M) == pmd
    expect prot(${DM} + 2M) == r
    expect prot(${DM} + 4M) == rw
    expect direct_map_splits == 1
    expect tlb_flushes == 2
    ptdump ${DM} size 6M
  }
}`);
    assertClean(r);
    assert.deepEqual(outputs(r, 'ptdump')[0]?.split('\n'), [
      '---[ Low Kernel Mapping ]---',
      '0xffff888000000000-0xffff888000200000           2M     RW         PSE     GLB NX pmd',
      '0xffff888000200000-0xffff888000400000           2M     ro         PSE     GLB NX pmd',
      '0xffff888000400000-0xffff888000600000           2M     RW         PSE     GLB NX pmd',
    ]);
  });

  it('splits the 2M page for set_direct_map_* but they do not flush; not-present entries lose _PAGE_GLOBAL', () => {
    const r = run(`
scenario "direct map" {
  kernel {
    map ${DM} size 4M phys 0 prot rw
    set_direct_map_invalid ${DM} + 1p => ok
    expect prot(${DM} + 1p) == none
    # Only the split flushed.
    expect tlb_flushes == 1
    set_direct_map_default ${DM} + 1p => ok
    expect prot(${DM} + 1p) == rw
    expect tlb_flushes == 1
    ptdump ${DM} size 2M
  }
}`);
    assertClean(r);
    // pgprot_clear_protnone_bits() dropped GLB, and __set_pages_p sets only PRESENT|RW back.
    assert.deepEqual(outputs(r, 'ptdump')[0]?.split('\n'), [
      '---[ Low Kernel Mapping ]---',
      '0xffff888000000000-0xffff888000001000           4K     RW                 GLB NX pte',
      '0xffff888000001000-0xffff888000002000           4K     RW                     NX pte',
      '0xffff888000002000-0xffff888000200000        2040K     RW                 GLB NX pte',
    ]);
  });

  it('runs each helper on 4K PTEs; set_memory_valid is set_memory_np / set_memory_p, and all flush', () => {
    const r = run(`
scenario "np/p" {
  kernel {
    map ${DM} size 64K phys 0 prot rw leaf=pte
    set_memory_valid ${DM} pages 2 off => ok
    expect prot(${DM}) == none
    expect prot(${DM} + 2p) == rw
    set_memory_valid ${DM} pages 2 on => ok
    expect prot(${DM}) == rw
    expect tlb_flushes == 2
    set_memory_ro ${DM} + 4p pages 1 => ok
    expect prot(${DM} + 4p) == r
    set_memory_rw ${DM} + 4p pages 1 => ok
    expect prot(${DM} + 4p) == rw
    set_memory_x ${DM} + 5p pages 1 => ok
    expect prot(${DM} + 5p) == rwx
    set_memory_nx ${DM} + 5p pages 1 => ok
    expect prot(${DM} + 5p) == rw
    expect tlb_flushes == 6
  }
}`);
    assert.deepEqual(findingLines(r, 0, true), ['15: warning wx-mapping']);
  });
});

describe('x86 CPA: vmalloc pages and their direct-map alias', () => {
  it('makes the alias read-only too (splitting the direct map), but leaves its NX alone', () => {
    const r = run(`
scenario "alias" {
  kernel {
    map ${DM} size 4G phys 0 prot rw
    vmalloc v size 2p
    set_memory_ro v pages 2 => ok
    expect prot(v) == r
    expect direct_map_splits == 4
    # Only the final flush: cpa_process_alias forces it to be flush_tlb_all, still one.
    let t = tlb_flushes
    set_memory_x v pages 2 => ok
    expect prot(v) == rx
    expect tlb_flushes == t + 1
    expect direct_map_splits == 4
    expect wx_pages == 0
  }
}`);
    assertClean(r);
    const f = only(r).findings.find((x) => x.severity === 'information');
    assert.match(f?.message ?? '', /linear-map aliases of 2 pages split 4 linear-map blocks/);
    const state = only(r).state;
    const last = state.stepCount - 1;
    const pa = BigInt(state.describeAddress(0xffffc90000000000n, last).entry?.pa ?? '0');
    const alias = state.describeAddress(0xffff888000000000n + pa, last);
    assert.equal(alias.leaf, 'pte');
    assert.equal(alias.entry?.prot?.write, false);
    assert.equal(alias.entry?.prot?.kexec, false);
  });

  it('skips holes inside the direct map ("expected to have holes")', () => {
    const r = run(`
scenario "direct map holes" {
  kernel {
    map ${DM} size 2M phys 0 prot rw
    map ${DM} + 64G size 2M phys 0x1000000000 prot rw
    set_memory_ro ${DM} pages 16777216 + 512 => ok
    expect prot(${DM} + 64G) == r
    expect tlb_flushes == 1
  }
}`);
    assertClean(r);
  });

  it('fails with EFAULT at a hole outside the direct map, keeping the pages before it changed', () => {
    const r = run(`
scenario "hole" {
  kernel {
    map 0xffffc90001000000 size 4p phys 0x100000 prot rw
    set_memory_ro 0xffffc90001000000 pages 6 => EFAULT
    expect prot(0xffffc90001000000 + 3p) == r
    # Something changed, so the flush happens (cpa_flush_all on error).
    expect tlb_flushes == 1
  }
}`);
    assertClean(r);
  });
});

describe('x86 CPA on other paging modes', () => {
  it('splits 2M lowmem pages on x86 PAE', () => {
    const r = run(`
scenario "pae" {
  arch x86_pae
  kernel {
    map 0xc0000000 size 8M phys 0 prot rw
    expect leaf(0xc0000000) == pmd
    set_memory_ro 0xc0001000 pages 1 => ok
    expect leaf(0xc0000000) == pte
    expect leaf(0xc0200000) == pmd
    expect direct_map_splits == 1
    ptdump 0xc0000000 size 4M
  }
}`);
    assertClean(r);
    assert.deepEqual(outputs(r, 'ptdump')[0]?.split('\n'), [
      '---[ Kernel Mapping ]---',
      '0xc0000000-0xc0001000           4K     RW                 GLB NX pte',
      '0xc0001000-0xc0002000           4K     ro                 GLB NX pte',
      '0xc0002000-0xc0200000        2040K     RW                 GLB NX pte',
      '0xc0200000-0xc0400000           2M     RW         PSE     GLB NX pmd',
    ]);
  });

  it('splits the same way with 5-level paging', () => {
    const r = run(`
scenario "la57" {
  arch x86_64 levels=5
  kernel {
    map 0xff11000000000000 size 1G phys 0 prot rw
    set_memory_ro 0xff11000000001000 pages 1 => ok
    expect leaf(0xff11000000001000) == pte
    expect direct_map_splits == 2
  }
}`);
    assertClean(r);
  });
});
