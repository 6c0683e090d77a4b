// VMAs: placement (mm/mmap.c unmapped_area_topdown, thp_get_unmapped_area), MAP_FIXED, and the
// split and merge rules of mm/vma.c (vma_merge_new_range, vma_merge_existing_range,
// __split_vma), as mmap, munmap, mprotect, madvise and mlock exercise them.

import { describe, it } from 'node:test';
import { ARCHES, cleanOn } from './helpers';

describe('mmap placement', () => {
  it('places mappings top-down, each below the last, and adjacent compatible ones merge', () => {
    // unmapped_area_topdown; vma_merge_new_range with vm_pgoff = addr >> PAGE_SHIFT for anon.
    cleanOn(ARCHES, 'topdown', `  process p {
    mmap a size 4p prot rw
    mmap b size 4p prot rw
    expect b + 4p == a
    expect vmas == 1
    mmap c size 4p prot r
    expect c + 4p == b
    expect vmas == 2
  }`);
  });

  it('aligns anonymous mappings whose length is a multiple of the PMD size', () => {
    // __get_unmapped_area → thp_get_unmapped_area_vmflags (IS_ALIGNED(len, PMD_SIZE)).
    // With thp always, a write at the start maps a PMD leaf only if the start is PMD-aligned.
    cleanOn(['arch x86_64', 'arch arm64 granule=4k va=48', 'arch riscv64 mode=sv48'], 'thp align', `  thp always
  process p {
    mmap small size 3p prot rw
    mmap big size 4M prot rw
    write big
    expect leaf(big) == pmd
    mmap odd size 3M prot rw
    write odd
    expect leaf(odd) == pte
    # The 3M mapping lands right below the aligned one and merges with it.
    expect odd + 3M == big
    expect vmas == 2
  }`);
  });

  it('fills the highest hole that fits', () => {
    cleanOn(ARCHES, 'hole', `  process p {
    mmap a size 16p prot rw
    munmap a + 4p size 4p
    mmap b size 4p prot r
    expect b == a + 4p
    mmap c size 8p prot r
    expect c + 8p == a
  }`);
  });
});

describe('MAP_FIXED', () => {
  it('replaces what is mapped: old pages are gone, the VMAs around are split', () => {
    cleanOn(ARCHES, 'fixed', `  process p {
    mmap a size 8p prot rw
    write a + 2p value 5
    mmap b at a + 2p size 2p prot r
    expect vmas == 3
    read a + 2p => value 0
    expect prot(a + 2p) == r
  }`);
  });

  it('rejects unaligned addresses (EINVAL), addresses above TASK_SIZE (ENOMEM) and below mmap_min_addr (EPERM)', () => {
    cleanOn(['arch x86_64'], 'fixed errors', `  process p {
    mmap a at 0x10000800 size 1p prot rw => EINVAL
    mmap b at 0x7ffffffff000 size 2p prot rw => ENOMEM
    mmap c at 0x1000 size 1p prot rw => EPERM
    mmap d at 0x10000 size 1p prot rw => ok
  }`);
  });

  it('rejects a zero length (do_mmap: EINVAL)', () => {
    cleanOn(ARCHES, 'zero', `  process p {
    mmap a size 0 prot rw => EINVAL
    mmap b size 1 prot rw => ok
    expect vmas == 1
  }`);
  });
});

describe('munmap', () => {
  it('splits a VMA in three when the middle goes, and takes the pages with it', () => {
    cleanOn(ARCHES, 'middle', `  process p {
    mmap a size 9p prot rw
    touch a size 9p write
    munmap a + 3p size 3p => ok
    expect vmas == 2
    read a + 3p => segv
    read a + 6p => value 1
  }`);
  });

  it('EINVAL for an unaligned start or a zero length; an unmapped range is fine', () => {
    // do_vmi_munmap: offset_in_page(start) and a zero length are EINVAL.
    cleanOn(ARCHES, 'args', `  process p {
    mmap a size 4p prot rw
    munmap a + 1 size 1p => EINVAL
    munmap a size 0 => EINVAL
    munmap a size 1 => ok
    munmap a size 4p => ok
    munmap a size 4p => ok
    expect vmas == 0
  }`);
  });

  it('frees the page tables no remaining VMA needs (free_pgtables floor and ceiling)', () => {
    cleanOn(['arch x86_64'], 'free tables', `  process p {
    mmap a size 2M prot rw
    mmap b size 4p prot rw
    touch a size 2M write
    touch b size 4p write
    let ptes = tables(p, pte)
    munmap a size 2M
    expect tables(p, pte) < ptes
    munmap b size 4p
    expect tables(p, pte) == 0
    expect tables(p, pmd) == 0
    expect tables(p, pud) == 0
    expect pgtables_bytes == 0
  }`);
  });

  it('keeps a PTE table a neighbour still maps into', () => {
    cleanOn(['arch x86_64'], 'shared table', `  process p {
    mmap a size 4p prot rw
    mmap b size 4p prot r
    touch a size 4p write
    touch b size 4p
    expect tables(p, pte) == 1
    munmap a size 4p
    expect tables(p, pte) == 1
    read b => ok
  }`);
  });
});

describe('mprotect splits and merges', () => {
  it('splits around the changed part and merges back when the protection returns', () => {
    cleanOn(ARCHES, 'split merge', `  process p {
    mmap a size 16p prot rw
    touch a size 16p write
    mprotect a + 4p size 4p prot r => ok
    expect vmas == 3
    expect prot(a + 4p) == r
    expect prot(a) == rw
    mprotect a + 4p size 4p prot rw => ok
    expect vmas == 1
    expect prot(a + 4p) == rw
    mprotect a size 16p prot none
    expect prot(a) == none
    read a => segv
  }`);
  });

  it('a range with a hole is ENOMEM after changing what precedes it; a start outside any VMA too', () => {
    // do_mprotect_pkey: "if (vma->vm_start != tmp) error = -ENOMEM".
    cleanOn(ARCHES, 'hole', `  process p {
    mmap a size 8p prot rw
    munmap a + 4p size 2p
    mprotect a size 8p prot r => ENOMEM
    expect prot(a) == none
    touch a size 4p
    expect prot(a) == r
    mprotect a + 4p size 1p prot r => ENOMEM
    mprotect a + 1 size 1p prot r => EINVAL
    mprotect a size 0 prot r => ok
  }`);
  });

  it('a written private page becomes writable again at once; a zero-page PTE does not', () => {
    // change_pte_range with MM_CP_TRY_CHANGE_WRITABLE: can_change_pte_writable wants an
    // exclusive anonymous page.
    cleanOn(ARCHES, 'writable', `  process p {
    mmap a size 2p prot rw
    write a
    read a + 1p
    mprotect a size 2p prot r
    expect prot(a) == r
    mprotect a size 2p prot rw
    expect prot(a) == rw
    expect prot(a + 1p) == r
  }`);
  });

  it('does not merge VMAs whose anon_vmas differ', () => {
    // is_mergeable_anon_vma / are_anon_vmas_compatible.
    cleanOn(ARCHES, 'anon_vma', `  process p {
    mmap a size 12p prot rw
    mprotect a + 4p size 4p prot r
    mprotect a + 8p size 4p prot rw
    write a
    write a + 8p
    mprotect a + 4p size 4p prot rw
    expect vmas == 2
  }`);
  });
});

describe('madvise flag advices split and merge like mprotect', () => {
  it('hugepage, dontfork and wipeonfork split the VMA; their inverses merge it back', () => {
    cleanOn(ARCHES, 'flags', `  process p {
    mmap a size 12p prot rw
    madvise a size 4p hugepage
    expect vmas == 2
    madvise a size 4p nohugepage
    expect vmas == 2
    madvise a + 4p size 4p dontfork
    expect vmas == 3
    madvise a + 4p size 4p dofork
    madvise a + 8p size 4p wipeonfork
    madvise a + 8p size 4p keeponfork
    madvise a size 4p hugepage
    madvise a size 4p nohugepage
    expect vmas == 2
  }`);
  });

  it('wipeonfork is only for private anonymous memory', () => {
    cleanOn(ARCHES, 'wipe', `  process p {
    mmap s size 4p prot rw shared
    madvise s size 4p wipeonfork => EINVAL
    mmap f size 4p prot rw file
    madvise f size 4p wipeonfork => EINVAL
    mmap w size 4p prot rw shared wipeonfork => EINVAL
    mmap v size 4p prot rw wipeonfork => ok
  }`);
  });

  it('free is only for anonymous memory; dontneed, free, cold and pageout refuse mlocked VMAs', () => {
    cleanOn(ARCHES, 'refusals', `  process p {
    mmap f size 4p prot rw file
    madvise f size 4p free => EINVAL
    mmap l size 4p prot rw locked
    madvise l size 4p dontneed => EINVAL
    madvise l size 4p free => EINVAL
    madvise l size 4p cold => EINVAL
    madvise l size 4p pageout => EINVAL
  }`);
  });

  it('EINVAL for an unaligned start, ok for a zero length, ENOMEM when nothing is mapped', () => {
    cleanOn(ARCHES, 'args', `  process p {
    mmap a size 4p prot rw
    madvise a + 8 size 1p dontneed => EINVAL
    madvise a size 0 dontneed => ok
    munmap a size 4p
    madvise a size 4p dontneed => ENOMEM
  }`);
  });
});

describe('mlock', () => {
  it('locks with a split, populates, and unlocks with a merge', () => {
    cleanOn(ARCHES, 'mlock', `  process p {
    mmap a size 8p prot rw
    mlock a + 2p size 2p => ok
    expect vmas == 3
    expect prot(a + 2p) == rw
    expect prot(a) == none
    munlock a + 2p size 2p => ok
    expect vmas == 1
  }`);
  });

  it('onfault locks without populating; a hole is ENOMEM', () => {
    cleanOn(ARCHES, 'onfault', `  process p {
    mmap a size 8p prot rw
    mlock a size 8p onfault => ok
    expect prot(a) == none
    munmap a + 4p size 1p
    munlock a size 8p => ENOMEM
    mlock a + 5p size 1p => ok
  }`);
  });
});
