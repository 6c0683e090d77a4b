// Guard markers (seed 002) as the kernel implements them: mm/madvise.c madvise_guard_install
// and madvise_guard_remove, and the behaviour tools/testing/selftests/mm/guard-regions.c pins
// down. Each test names the selftest or kernel function its expectation comes from.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findingLines } from '../support';
import { ALL_ARCHES, ARCHES, clean, cleanOn, runText, scenario } from './helpers';

describe('guard markers: install and remove (guard-regions.c "basic")', () => {
  it('a guard page faults on access and its neighbours do not; remove restores access', () => {
    cleanOn(ALL_ARCHES, 'basic', `  process p {
    mmap buf size 10p prot rw
    touch buf size 10p write
    madvise buf size 1p guard_install => ok
    read buf => segv
    write buf => segv
    read buf + 1p => ok
    madvise buf + 9p size 1p guard_install => ok
    read buf + 9p => segv
    madvise buf size 1p guard_remove => ok
    read buf => value 0
    write buf => ok
    # A range over backed pages: they are zapped, then guarded.
    madvise buf size 3p guard_install => ok
    read buf + 2p => segv
    read buf + 3p => value 1
    madvise buf size 10p guard_remove => ok
    read buf + 2p => ok
    expect guard(buf + 9p) == false
  }`);
  });

  it('installs markers without any extra VMA and without splitting the VMA', () => {
    // "markers need no extra VMA" (seed 002 cover letter); vma_set_atomic_flag does not split.
    cleanOn(ARCHES, 'no vma', `  process p {
    mmap buf size 64p prot rw
    madvise buf + 7p size 1p guard_install
    madvise buf + 30p size 5p guard_install
    expect vmas == 1
    expect guard(buf + 7p) == true
    expect guard(buf + 8p) == false
  }`);
  });

  it('a second install over the same range changes nothing (guard_install_pte_entry counts existing markers)', () => {
    const r = clean(
      scenario('twice', 'arch x86_64', `  process p {
    mmap buf size 4p prot rw
    madvise buf size 4p guard_install => ok
    let t = tables(p, pte)
    madvise buf size 4p guard_install => ok
    expect tables(p, pte) == t
    expect guard(buf + 3p) == true
  }`),
    );
    const steps = r.state.steps();
    const second = steps.find((s, i) => i > 2 && s.helper === 'madvise_walk_vmas');
    assert.equal(second?.entriesWritten, 0, 'the second install writes no entry');
  });

  it('install allocates the missing tables with ctor and pgtables_bytes, as install_pte walks do', () => {
    // walk_pgd_range with install_pte calls __pud_alloc, __pmd_alloc, __pte_alloc.
    cleanOn(['arch x86_64'], 'alloc', `  process p {
    mmap buf size 4p prot rw
    expect pgtables_bytes == 0
    madvise buf size 1p guard_install
    expect tables(p, pte) == 1
    expect tables(p, pmd) == 1
    expect tables(p, pud) == 1
    expect pgtables_bytes == 12K
    expect accounted(p) == 16K
  }`);
  });

  it('remove clears only markers: populated pages keep their values (guard-regions.c "basic")', () => {
    cleanOn(ARCHES, 'remove keeps', `  process p {
    mmap buf size 10p prot rw
    touch buf size 10p write
    write buf + 4p value 44
    madvise buf + 2p size 1p guard_install
    madvise buf size 10p guard_remove => ok
    read buf + 4p => value 44
    read buf + 2p => value 0
  }`);
  });
});

describe('guard markers survive what zaps and protection changes do', () => {
  it('MADV_DONTNEED keeps markers and refaults the rest (guard-regions.c "dontneed")', () => {
    cleanOn(ALL_ARCHES, 'dontneed', `  process p {
    mmap buf size 10p prot rw
    touch buf size 10p write
    madvise buf size 1p guard_install
    madvise buf + 2p size 1p guard_install
    madvise buf size 10p dontneed => ok
    read buf => segv
    read buf + 2p => segv
    read buf + 1p => value 0
    expect guard(buf + 2p) == true
  }`);
  });

  it('file-backed shared memory keeps its data under the markers (guard-regions.c "dontneed", file)', () => {
    cleanOn(ARCHES, 'dontneed file', `  process p {
    mmap f size 10p prot rw shared file
    touch f size 10p write
    madvise f size 1p guard_install
    madvise f size 10p dontneed
    read f => segv
    read f + 1p => value 1
    madvise f size 1p guard_remove
    read f => value 1
  }`);
  });

  it('MADV_FREE keeps markers (guard-regions.c "lazyfree")', () => {
    cleanOn(ARCHES, 'free', `  process p {
    mmap buf size 10p prot rw
    madvise buf size 10p guard_install
    madvise buf size 10p free => ok
    read buf + 5p => segv
  }`);
  });

  it('MADV_COLD and MADV_PAGEOUT keep markers (guard-regions.c "cold_pageout")', () => {
    cleanOn(ARCHES, 'cold', `  process p {
    mmap buf size 10p prot rw
    madvise buf size 10p guard_install
    madvise buf size 10p cold => ok
    read buf => segv
    madvise buf size 10p pageout => ok
    read buf + 9p => segv
  }`);
  });

  it('mprotect leaves markers in place (guard-regions.c "mprotect")', () => {
    cleanOn(ALL_ARCHES, 'mprotect', `  process p {
    mmap buf size 10p prot rw
    madvise buf + 5p size 2p guard_install
    mprotect buf + 5p size 2p prot r => ok
    read buf + 5p => segv
    madvise buf + 5p size 2p guard_install => ok
    read buf + 6p => segv
    madvise buf size 10p guard_remove => ok
    read buf + 5p => ok
  }`);
  });

  it('markers stay through VMA splits and merges (guard-regions.c "split_merge")', () => {
    cleanOn(ARCHES, 'split merge', `  process p {
    mmap buf size 10p prot rw
    madvise buf size 10p guard_install
    munmap buf + 2p size 1p
    munmap buf + 5p size 1p
    munmap buf + 8p size 1p
    expect vmas == 4
    read buf + 1p => segv
    read buf + 7p => segv
    # Mapping the holes again brings fresh, unguarded pages: munmap removed those markers.
    mmap a at buf + 2p size 1p prot rw
    mmap b at buf + 5p size 1p prot rw
    mmap c at buf + 8p size 1p prot rw
    read buf + 2p => ok
    read buf + 3p => segv
    madvise buf size 10p guard_install
    mprotect buf size 3p prot r
    mprotect buf + 7p size 3p prot r
    expect vmas == 3
    read buf + 8p => segv
    mprotect buf size 3p prot rw
    mprotect buf + 7p size 3p prot rw
    expect vmas == 1
    read buf + 4p => segv
    madvise buf size 10p guard_remove
    read buf + 4p => ok
  }`);
  });

  it('munmap and MAP_FIXED remove markers (guard-regions.c "munmap")', () => {
    cleanOn(ARCHES, 'munmap', `  process p {
    mmap buf size 10p prot rw
    madvise buf size 1p guard_install
    madvise buf + 9p size 1p guard_install
    munmap buf size 1p
    mmap again at buf size 1p prot rw
    read buf => ok
    # MAP_FIXED over a guarded page replaces it (mmap_region unmaps first).
    mmap over at buf + 9p size 1p prot rw
    read buf + 9p => ok
  }`);
  });
});

describe('guard markers and mremap (guard-regions.c "mremap_*")', () => {
  it('a move keeps the markers at the same offsets', () => {
    cleanOn(ALL_ARCHES, 'move', `  process p {
    mmap buf size 5p prot rw
    madvise buf size 1p guard_install
    madvise buf + 4p size 1p guard_install
    mmap dst size 5p prot none
    mremap buf size 5p to dst => ok
    read dst => segv
    read dst + 4p => segv
    read dst + 2p => ok
    expect guard(dst + 4p) == true
  }`);
  });

  it('growing keeps markers where they were; shrinking drops the ones cut off', () => {
    cleanOn(ARCHES, 'resize', `  process p {
    mmap buf size 5p prot rw
    madvise buf size 1p guard_install
    madvise buf + 4p size 1p guard_install
    mremap buf size 5p to buf size 3p => ok
    read buf => segv
    read buf + 2p => ok
    mremap buf size 3p to buf size 5p => ok
    read buf => segv
    read buf + 4p => ok
  }`);
  });
});

describe('guard markers and fork (guard-regions.c "fork", "fork_cow", "fork_wipeonfork")', () => {
  it('the child inherits the markers; its remove does not touch the parent', () => {
    cleanOn(ARCHES, 'fork', `  process p {
    mmap buf size 10p prot rw
    madvise buf size 5p guard_install
  }
  fork p as c
  process c {
    read buf + 4p => segv
    read buf + 5p => ok
    madvise buf size 10p guard_remove
    read buf => ok
  }
  process p { read buf => segv }`);
  });

  it('a file-backed VMA copies its markers too: VM_MAYBE_GUARD is a copy-on-fork flag', () => {
    // vma_needs_copy(): VM_COPY_ON_FORK includes VM_MAYBE_GUARD (7.x), though a shared file
    // VMA has no anon_vma.
    cleanOn(ARCHES, 'fork file', `  process p {
    mmap f size 4p prot rw shared file
    madvise f + 1p size 1p guard_install
  }
  fork p as c
  process c { read f + 1p => segv }`);
  });

  it('guard install then remove in the child leaves it reading zeroes, the parent its data', () => {
    cleanOn(ARCHES, 'fork cow', `  process p {
    mmap buf size 4p prot rw
    write buf + 1p value 42
  }
  fork p as c
  process c {
    read buf + 1p => value 42
    madvise buf size 4p guard_install
    madvise buf size 4p guard_remove
    read buf + 1p => value 0
  }
  process p { read buf + 1p => value 42 }`);
  });

  it('wipeonfork VMAs reach the child without markers', () => {
    cleanOn(ARCHES, 'wipeonfork', `  process p {
    mmap buf size 10p prot rw
    madvise buf size 10p wipeonfork
    madvise buf size 5p guard_install
  }
  fork p as c
  process c { read buf => ok }
  process p { read buf => segv }`);
  });
});

describe('where guard install is refused or partial', () => {
  it('mlocked VMAs refuse install with EINVAL but allow remove (guard-regions.c "mlock")', () => {
    cleanOn(ARCHES, 'mlock', `  process p {
    mmap buf size 10p prot rw
    touch buf size 10p write
    mlock buf size 10p => ok
    madvise buf size 10p guard_install => EINVAL
    munlock buf size 10p
    madvise buf size 5p guard_install => ok
    # Locking the guarded part fails: populating it hits the markers (EFAULT → ENOMEM).
    mlock buf size 10p => ENOMEM
    madvise buf size 10p guard_remove => ok
    read buf => ok
  }`);
  });

  it('a range with holes is ENOMEM, and the mapped parts are still guarded (guard-regions.c "multi_vma")', () => {
    cleanOn(ARCHES, 'holes', `  process p {
    mmap r size 100p prot none
    mmap a at r size 10p prot rw
    mmap b at r + 50p size 5p prot rw
    mmap c at r + 80p size 20p prot rw
    munmap r + 10p size 40p
    munmap r + 55p size 25p
    madvise r size 100p guard_install => ENOMEM
    read r + 9p => segv
    read r + 54p => segv
    read r + 99p => segv
    madvise r size 100p guard_remove => ENOMEM
    read r + 9p => ok
  }`);
  });

  it('MADV_POPULATE_READ and _WRITE fail with EFAULT over markers (guard-regions.c "populate")', () => {
    cleanOn(ARCHES, 'populate', `  process p {
    mmap buf size 10p prot rw
    madvise buf size 10p guard_install
    madvise buf size 10p populate_read => EFAULT
    madvise buf size 10p populate_write => EFAULT
  }`);
  });

  it('read-only anonymous memory and the zero page can be guarded (guard-regions.c "anon_zeropage")', () => {
    cleanOn(ARCHES, 'zeropage', `  process p {
    mmap buf size 10p prot r
    touch buf size 10p
    madvise buf size 1p guard_install => ok
    read buf => segv
    madvise buf size 10p guard_remove => ok
    read buf => value 0
  }`);
  });

  it('the SIGSEGV names the guard marker', () => {
    const r = runText(scenario('reason', 'arch x86_64', `  process p {
    mmap buf size 2p prot rw
    madvise buf size 1p guard_install
    read buf
  }`));
    assert.deepEqual(findingLines(r), ['6: statement-failed']);
    assert.match(r.runs[0]?.findings[0]?.message ?? '', /guard marker/);
  });
});

describe('guard markers and THP', () => {
  it('a guard inside a PMD THP splits it; remove leaves huge leaves alone', () => {
    cleanOn(['arch x86_64', 'arch arm64 granule=4k va=48', 'arch riscv64 mode=sv48'], 'thp', `  thp always
  process p {
    mmap buf size 4M prot rw
    write buf + 3p value 3
    expect leaf(buf) == pmd
    madvise buf + 1p size 1p guard_install => ok
    expect leaf(buf) == pte
    read buf + 1p => segv
    read buf + 3p => value 3
    # Removing over a range that also has a huge leaf leaves that leaf huge.
    write buf + 2M
    expect leaf(buf + 2M) == pmd
    madvise buf size 4M guard_remove => ok
    expect leaf(buf + 2M) == pmd
    read buf + 1p => value 0
  }`);
  });

  it('collapse fails with EINVAL while a guard remains, and works once it is removed', () => {
    // guard-regions.c "collapse"; khugepaged scan: SCAN_PTE_NON_PRESENT on a guard marker.
    cleanOn(ARCHES, 'collapse', `  process p {
    mmap buf size 2M prot rw
    madvise buf size 2M nohugepage
    touch buf size 2M write
    madvise buf size 1p guard_install
    madvise buf size 2M hugepage
    madvise buf size 2M collapse => EINVAL
    read buf => segv
    madvise buf size 1p guard_remove
    madvise buf size 2M collapse => ok
    expect leaf(buf) == pmd
  }`);
  });

  it('installing over a whole THP zaps it and installs markers in a fresh PTE table', () => {
    // guard_install_pmd_entry returns 1; zap_huge_pmd frees the THP and its deposit.
    cleanOn(['arch x86_64'], 'whole thp', `  thp always
  process p {
    mmap buf size 2M prot rw
    write buf
    expect pgtables_bytes == 12K
    madvise buf size 2M guard_install => ok
    expect leaf(buf) == none
    expect guard(buf + 511p) == true
    expect pgtables_bytes == 12K
    expect tables(p, pte) == 1
  }`);
  });
});
