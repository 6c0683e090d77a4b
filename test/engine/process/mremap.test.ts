// mremap (mm/mremap.c): the argument rules, in-place resizing, moves with move_page_tables
// (entries, whole PTE tables, huge PMDs), MREMAP_DONTUNMAP, and the 6.17 multi-VMA move.

import { describe, it } from 'node:test';
import { ARCHES, clean, cleanOn, scenario } from './helpers';

describe('mremap arguments (SYSCALL_DEFINE5(mremap), mremap_to)', () => {
  it('EINVAL for an unaligned address, a zero new length or overlapping ranges; EFAULT without a VMA', () => {
    cleanOn(ARCHES, 'args', `  process p {
    mmap a size 8p prot rw
    mremap a + 1 size 1p to a + 4p => EINVAL
    mremap a size 1p to a size 0 => EINVAL
    mremap a size 4p to a + 2p => EINVAL
    munmap a size 8p
    mmap b size 2p prot rw
    mremap a size 1p to b => EFAULT
  }`);
  });

  it('EFAULT when the old range runs past its VMA; dontunmap needs the same length and a move', () => {
    cleanOn(ARCHES, 'dontunmap args', `  process p {
    mmap a size 4p prot rw
    mmap d size 8p prot none
    mmap c size 4p prot r
    mremap c size 8p to 0x10000000 size 12p => EFAULT
    mremap a size 4p to d size 8p dontunmap => EINVAL
    mremap a size 4p to a dontunmap => EINVAL
  }`);
  });
});

describe('resizing in place', () => {
  it('shrinks by unmapping the tail and grows into free space after the VMA', () => {
    cleanOn(ARCHES, 'resize', `  process p {
    mmap a size 8p prot rw
    touch a size 8p write
    mremap a size 8p to a size 4p => ok
    read a + 4p => segv
    read a + 3p => value 1
    mremap a size 4p to a size 6p => ok
    read a + 5p => value 0
    expect vmas == 1
  }`);
  });

  it('cannot grow into another VMA without MREMAP_MAYMOVE (ENOMEM)', () => {
    cleanOn(ARCHES, 'blocked', `  process p {
    mmap b size 4p prot r
    mmap a size 4p prot rw
    mremap a size 4p to a size 8p => ENOMEM
  }`);
  });
});

describe('moving', () => {
  it('moves pages with their values, leaves nothing behind, and merges at the new place', () => {
    cleanOn(ARCHES, 'move', `  process p {
    mmap a size 4p prot rw
    write a + 1p value 21
    mmap d size 8p prot none
    mremap a size 4p to d => ok
    read d + 1p => value 21
    read a => segv
    expect vmas == 2
  }`);
  });

  it('relinks a whole PTE table when both addresses are PMD-aligned (move_normal_pmd)', () => {
    clean(scenario('pmd move', 'arch x86_64', `  process p {
    mmap a size 2M prot rw
    touch a size 2M write
    mmap d size 2M prot none
    let before = tables(p, pte)
    mremap a size 2M to d => ok
    expect tables(p, pte) == before
    read d + 511p => value 1
    expect pgtables_bytes == 12K
  }`));
  });

  it('moves a THP as one huge PMD with its deposit (move_huge_pmd)', () => {
    cleanOn(ARCHES, 'thp move', `  thp always
  process p {
    mmap a size 2M prot rw
    write a value 3
    mmap d size 2M prot none
    mremap a size 2M to d => ok
    expect leaf(d) == pmd
    read d => value 3
  }`);
  });

  it('dontunmap leaves the old VMA in place, empty', () => {
    cleanOn(ARCHES, 'dontunmap', `  process p {
    mmap a size 4p prot rw
    write a value 5
    mmap d size 4p prot none
    mremap a size 4p to d dontunmap => ok
    read d => value 5
    read a => value 0
    expect vmas == 2
  }`);
  });

  it('a pure move may span several anonymous VMAs (remap_move, 6.17)', () => {
    cleanOn(ARCHES, 'multi', `  process p {
    mmap a size 8p prot rw
    mprotect a + 4p size 4p prot r
    write a value 1
    mmap d size 8p prot none
    mremap a size 8p to d => ok
    read d => value 1
    expect prot(d + 4p) == none
    read d + 4p => ok
    read a => segv
  }`);
  });
});
