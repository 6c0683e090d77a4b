// Kernel mappings: leaf choice, descriptor values, bad values, overlaps, unmap and vmalloc, on
// the architectures' own rules (kernel-notes/geometry.md, descriptors.md, pagewalk-and-pageattr.md §4).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertClean, findingLines, run } from '../support';

describe('map chooses leaves like __create_pgd_mapping', () => {
  it('uses PMD blocks, contiguous PTEs and PTEs on arm64 4K', () => {
    const r = run(`scenario "arm64 leaves" {
  arch arm64 granule=4k va=48
  kernel {
    map 0xffff000000000000 size 4M phys 0x80000000 prot rw
    expect leaf(0xffff000000000000) == pmd
    expect leaf(0xffff000000200000) == pmd
    map 0xffff000000400000 size 96K phys 0x80400000 prot rw
    expect leaf(0xffff000000400000) == cont_pte
    expect leaf(0xffff000000410000) == pte
    expect tables(kernel, pte) == 1
    expect tables(kernel, pmd) == 1
    expect tables(kernel, pud) == 1
    expect tables(kernel, pgd) == 1
  }
}`);
    assertClean(r);
  });

  it('uses a PUD block and contiguous PMDs where alignment allows', () => {
    const r = run(`scenario "big" {
  arch arm64
  kernel {
    map 0xffff000040000000 size 1G phys 0x40000000 prot rw
    expect leaf(0xffff000040000000) == pud
    map 0xffff000080000000 size 64M phys 0x80000000 prot rw
    expect leaf(0xffff000080000000) == cont_pmd
  }
}`);
    assertClean(r);
  });

  it('honours no_block_mappings, no_cont_mappings and nocont', () => {
    const r = run(`scenario "features" {
  arch arm64
  feature no_block_mappings
  kernel {
    map 0xffff000000000000 size 2M phys 0x80000000 prot rw
    expect leaf(0xffff000000000000) == cont_pte
  }
}
scenario "no cont" {
  arch arm64
  feature no_cont_mappings
  kernel {
    map 0xffff000000000000 size 64K phys 0x80000000 prot rw
    expect leaf(0xffff000000000000) == pte
  }
}
scenario "nocont option" {
  arch arm64
  kernel {
    map 0xffff000000000000 size 64K phys 0x80000000 prot rw nocont
    expect leaf(0xffff000000000000) == pte
  }
}`);
    for (let i = 0; i < 3; i++) assertClean(r, i);
  });

  it('uses 1G, 2M and 4K pages on x86_64 and no contiguous hint', () => {
    const r = run(`scenario "x86" {
  kernel {
    map 0xffff888000000000 size 1G + 4M + 8K phys 0 prot rw
    expect leaf(0xffff888000000000) == pud
    expect leaf(0xffff888040000000) == pmd
    expect leaf(0xffff888040400000) == pte
    map 0xffff888100000000 size 64K phys 0x100000000 prot rw
    expect leaf(0xffff888100000000) == pte
  }
}`);
    assertClean(r);
  });

  it('uses only PMD leaves on Sv39 and P4D leaves on Sv57 (best_map_size)', () => {
    const r = run(`scenario "sv39" {
  arch riscv64 mode=sv39
  kernel {
    map 0xffffffd600000000 size 1G phys 0x80000000 prot rw
    expect leaf(0xffffffd600000000) == pmd
  }
}
scenario "sv48" {
  arch riscv64 mode=sv48
  kernel {
    map 0xffffaf8000000000 size 1G phys 0x80000000 prot rw
    expect leaf(0xffffaf8000000000) == pud
  }
}`);
    assertClean(r, 0);
    assertClean(r, 1);
  });

  it('keeps every physical address of a run of leaves that crosses a 2^32 step of the descriptor word', () => {
    // x86 holds PA bits in place, so its low descriptor word wraps at 4 GiB; riscv holds the
    // PPN at bit 10, so its word wraps at 16 GiB. Each map below writes its PTEs as one run.
    const r = run(`scenario "x86" {
  kernel {
    map 0xffff888000000000 size 64K phys 0xffff8000 prot rw leaf=pte
  }
}
scenario "riscv" {
  arch riscv64 mode=sv39
  kernel {
    map 0xffffffd800000000 size 64K phys 0x3ffff8000 prot rw leaf=pte
  }
}`);
    const pas = (scenario: number, base: bigint): (string | undefined)[] =>
      [7n, 8n, 9n].map((page) => r.runs[scenario]?.state.describeAddress(base + page * 4096n, 0).entry?.pa);
    assert.deepEqual(pas(0, 0xffff888000000000n), ['0xfffff000', '0x100000000', '0x100001000']);
    assert.deepEqual(pas(1, 0xffffffd800000000n), ['0x3fffff000', '0x400000000', '0x400001000']);
  });

  it('forces the leaf size with leaf=pte|pmd', () => {
    const r = run(`scenario "forced" {
  kernel {
    map 0xffff888000000000 size 1G phys 0 prot rw leaf=pmd
    expect leaf(0xffff888000000000) == pmd
    expect tables(kernel, pmd) == 1
    map 0xffff888040000000 size 2M phys 0x40000000 prot rw leaf=pte
    expect leaf(0xffff888040000000) == pte
  }
}`);
    assertClean(r);
  });

  it('maps on 16K and 64K granules with their block and cont sizes', () => {
    const r = run(`scenario "16k" {
  arch arm64 granule=16k va=47
  kernel {
    map 0xffff800000000000 size 32M phys 0x80000000 prot rw
    expect leaf(0xffff800000000000) == pmd
    map 0xffff800002000000 size 2M phys 0x82000000 prot rw
    expect leaf(0xffff800002000000) == cont_pte
  }
}
scenario "64k" {
  arch arm64 granule=64k va=48
  kernel {
    map 0xffff000000000000 size 512M phys 0x80000000 prot rw
    expect leaf(0xffff000000000000) == pmd
    expect tables(kernel, pud) == 0
  }
}`);
    assertClean(r, 0);
    assertClean(r, 1);
  });
});

describe('map refuses what the kernel refuses', () => {
  it('reports unaligned and out-of-range values as bad-value and EINVAL', () => {
    const r = run(`scenario "bad" {
  arch arm64
  let va = 0xffff000000000000
  kernel {
    map va + 0x800 size 4K phys 0x80000000 prot rw
    map 0x0000400000000000 size 4K phys 0x80000000 prot rw => EINVAL
    map va size 4K phys 0x80000000 prot rw leaf=pmd => EINVAL
  }
}`);
    assert.deepEqual(findingLines(r, 0, true), [
      '5: warning statement-failed',
      '5: error bad-value',
      '6: information bad-value',
      '7: information bad-value',
    ]);
  });

  it('refuses an overlapping mapping', () => {
    const r = run(`scenario "overlap" {
  kernel {
    map 0xffff888000000000 size 2M phys 0 prot rw
    map 0xffff888000100000 size 4K phys 0x100000 prot rw => EINVAL
  }
}`);
    assertClean(r);
  });

  it('refuses a block over a stale table on arm64, as pgattr_change_is_safe would BUG', () => {
    const r = run(`scenario "stale" {
  arch arm64
  kernel {
    map 0xffff000000000000 size 2M phys 0x80000000 prot rw leaf=pte
    unmap 0xffff000000000000 size 2M
    map 0xffff000000000000 size 2M phys 0x80000000 prot rw => EINVAL
    map 0xffff000000000000 size 2M phys 0x80000000 prot rw leaf=pte => ok
  }
}
scenario "x86 reuses the table" {
  kernel {
    map 0xffff888000000000 size 2M phys 0 prot rw leaf=pte
    unmap 0xffff888000000000 size 2M
    map 0xffff888000000000 size 2M phys 0 prot rw => ok
    expect leaf(0xffff888000000000) == pte
  }
}`);
    assertClean(r, 0);
    assertClean(r, 1);
  });
});

describe('unmap and vmalloc', () => {
  it('keeps table pages after unmap, and warns when it clears a block it only partly covered', () => {
    const r = run(`scenario "unmap" {
  kernel {
    map 0xffff888000000000 size 4M phys 0 prot rw
    unmap 0xffff888000000000 size 4K
    expect leaf(0xffff888000000000) == none
    expect leaf(0xffff888000200000) == pmd
    expect tables(kernel, pmd) == 1
    expect tlb_flushes == 1
  }
}`);
    assert.deepEqual(findingLines(r, 0, true), ['4: warning partial-block-overlap']);
  });

  it('frees a stale PTE table through pmd_free_pte_page when a huge area lands on it', () => {
    const r = run(`scenario "stale table" {
  arch arm64
  kernel {
    vmalloc small size 2M
    expect leaf(small) == pte
    expect tables(kernel, pte) == 1
    vfree small
    let flushes = tlb_flushes
    vmalloc big size 2M huge
    expect big == small
    expect leaf(big) == pmd
    expect tables(kernel, pte) == 0
    expect tlb_flushes == flushes + 1
  }
}`);
    assertClean(r);
  });

  it('places areas in the vmalloc region with a guard page between them', () => {
    const r = run(`scenario "placement" {
  kernel {
    vmalloc a size 8K
    vmalloc b size 4K
    expect a == 0xffffc90000000000
    expect b == a + 12K
    vmalloc h size 4M huge
    expect h == 0xffffc90000200000
    expect leaf(h) == pmd
  }
}`);
    assertClean(r);
  });

  it('counts no TLB flush for map and vmalloc, one for unmap and vfree', () => {
    const r = run(`scenario "flushes" {
  arch arm64
  kernel {
    map 0xffff000000000000 size 2M phys 0x80000000 prot rw
    vmalloc v size 16K
    expect tlb_flushes == 0
    vfree v
    unmap 0xffff000000000000 size 2M
    expect tlb_flushes == 2
  }
}`);
    assertClean(r);
  });

  it('counts a barrier per valid kernel entry written outside lazy MMU mode on arm64', () => {
    const r = run(`scenario "barriers" {
  arch arm64
  kernel {
    map 0xffff000000000000 size 16K phys 0x80000000 prot rw
    # 4 PTEs plus the table entries linking a new PUD, PMD and PTE table.
    expect barriers == 7
  }
}
scenario "x86 has none" {
  kernel {
    map 0xffff888000000000 size 16K phys 0 prot rw
    expect barriers == 0
  }
}`);
    assertClean(r, 0);
    assertClean(r, 1);
  });
});
