// The remaining madvise advices and mmap flags: population (mm/gup.c faultin_page_range via
// madvise_populate; mm_populate for MAP_POPULATE and MAP_LOCKED), pageout and cold, collapse,
// and merges of new mappings between old ones (vma_merge_new_range).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { only, run } from '../support';
import { ALL_ARCHES, ARCHES, cleanOn } from './helpers';

describe('population', () => {
  it('populate_read maps the zero page, populate_write private pages; holes are ENOMEM', () => {
    cleanOn(ALL_ARCHES, 'populate', `  process p {
    mmap a size 4p prot rw
    madvise a size 4p populate_read => ok
    expect prot(a) == r
    madvise a size 4p populate_write => ok
    expect prot(a + 3p) == rw
    munmap a + 2p size 1p
    madvise a size 4p populate_write => ENOMEM
  }`);
  });

  it('populating against the VMA protection is EINVAL (check_vma_flags)', () => {
    cleanOn(ARCHES, 'populate prot', `  process p {
    mmap r size 2p prot r
    madvise r size 2p populate_write => EINVAL
    mmap n size 2p prot none
    madvise n size 2p populate_read => EINVAL
  }`);
  });

  it('MAP_POPULATE and MAP_LOCKED fault the range in, writable for private writable mappings', () => {
    // populate_vma_page_range: FOLL_WRITE when (vm_flags & (VM_WRITE | VM_SHARED)) == VM_WRITE.
    cleanOn(ARCHES, 'map populate', `  process p {
    mmap a size 4p prot rw populate
    expect prot(a + 3p) == rw
    mmap l size 4p prot rw locked
    expect prot(l) == rw
    mmap r size 4p prot r populate
    expect prot(r) == r
    mmap s size 4p prot rw shared file populate
    expect prot(s) == r
    mmap n size 4p prot none populate
    expect leaf(n) == none
  }`);
  });
});

describe('pageout and cold', () => {
  it('pageout unmaps file pages (their data stays in the page cache) and keeps anonymous ones without swap', () => {
    cleanOn(ARCHES, 'pageout', `  process p {
    mmap f size 2p prot rw shared file
    write f value 3
    mmap a size 2p prot rw
    write a value 4
    madvise f size 2p pageout => ok
    madvise a size 2p pageout => ok
    expect leaf(f) == none
    expect leaf(a) == pte
    read f => value 3
    read a => value 4
  }`);
  });

  it('cold keeps every mapping and value', () => {
    cleanOn(ARCHES, 'cold', `  process p {
    mmap a size 2p prot rw
    write a value 5
    madvise a size 2p cold => ok
    expect prot(a) == rw
    read a => value 5
  }`);
  });

  it('free keeps values while there is no memory pressure', () => {
    cleanOn(ARCHES, 'free', `  process p {
    mmap a size 2p prot rw
    write a value 6
    madvise a size 2p free => ok
    read a => value 6
  }`);
  });
});

describe('collapse', () => {
  it('collapses written small pages into a THP with their values, whatever the sysfs policy', () => {
    cleanOn(ARCHES, 'collapse', `  thp never
  process p {
    mmap a size 2M prot rw
    touch a size 2M write
    write a + 7p value 70
    madvise a size 2M collapse => ok
    expect leaf(a) == pmd
    read a + 7p => value 70
    read a + 8p => value 1
  }`);
  });

  it('refuses read-only ranges, ranges without tables, file mappings and nohugepage VMAs', () => {
    cleanOn(ARCHES, 'collapse refusals', `  process p {
    mmap r size 2M prot r
    touch r size 2M
    madvise r size 2M collapse => EINVAL
    mmap e size 2M prot rw
    madvise e size 2M collapse => EINVAL
    mmap f size 2M prot rw file
    madvise f size 2M collapse => EINVAL
    mmap n size 2M prot rw
    madvise n size 2M nohugepage
    touch n size 2M write
    madvise n size 2M collapse => EINVAL
  }`);
  });
});

describe('new mappings merge with their neighbours', () => {
  it('a MAP_FIXED mapping that fills a hole merges both sides back into one VMA', () => {
    cleanOn(ARCHES, 'merge both', `  process p {
    mmap a size 12p prot rw
    touch a size 12p write
    munmap a + 4p size 4p
    expect vmas == 2
    mmap b at a + 4p size 4p prot rw
    expect vmas == 1
    read a + 8p => value 1
  }`);
  });

  it('file mappings merge only with the same file at contiguous offsets', () => {
    cleanOn(ARCHES, 'file merge', `  process p {
    mmap f size 4p prot rw shared file
    mmap g size 4p prot rw shared file
    expect vmas == 2
  }`);
  });
});

describe('the argument rules every range system call shares', () => {
  it('an unaligned start and a wrapping range are EINVAL, named by the call and its advice; the length is rounded up to pages', () => {
    const r = only(
      run(`scenario "args" {
  process p {
    mmap a size 4p prot rw
    madvise a + 1 size 1p guard_install
    mprotect a + 1 size 1p prot r
    madvise a size 0xffff_ffff_ffff_f000 dontneed
    madvise a + 1p size 1 guard_install => ok
    expect guard(a + 1p) == true
    expect guard(a + 2p) == false
    madvise a + 2p size 1p + 1 guard_install => ok
    expect guard(a + 3p) == true
  }
}`),
    );
    assert.deepEqual(
      r.findings.map((f) => f.message.replace(/0x[0-9a-f]+/g, 'ADDR')),
      [
        'madvise returned EINVAL: madvise guard_install: the start ADDR is not page-aligned',
        'mprotect returned EINVAL: mprotect: the start ADDR is not page-aligned',
        'madvise returned EINVAL: madvise dontneed: the range wraps around the end of the address space',
      ],
    );
  });
});
