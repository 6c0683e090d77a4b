// fork and exit (kernel/fork.c dup_mmap, mm/memory.c copy_page_range, exit_mmap): what the
// child sees, copy-on-write in both processes, and teardown.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findingLines } from '../support';
import { ARCHES, cleanOn, runText, scenario } from './helpers';

describe('fork copies the address space', () => {
  it('private pages are shared copy-on-write: both sides write-protected, each write copies', () => {
    // copy_present_ptes: wrprotect_ptes in the parent, pte_wrprotect in the child.
    cleanOn(ARCHES, 'cow', `  process p {
    mmap a size 2p prot rw
    write a value 1
  }
  fork p as c
  process p {
    expect prot(a) == r
    write a value 2
    expect prot(a) == rw
  }
  process c {
    read a => value 1
    write a value 3
    read a => value 3
  }
  process p { read a => value 2 }`);
  });

  it('once the other side has exited, a write reuses the page instead of copying it', () => {
    // do_wp_page → wp_can_reuse_anon_folio: the page has one reference left.
    cleanOn(ARCHES, 'reuse', `  process p {
    mmap a size 1p prot rw
    write a value 4
  }
  fork p as c
  exit c
  process p {
    write a value 5
    read a => value 5
  }`);
  });

  it('shared mappings stay shared: a write in the child is seen by the parent', () => {
    cleanOn(ARCHES, 'shared', `  process p {
    mmap s size 2p prot rw shared
    write s value 6
  }
  fork p as c
  process c { write s value 7 }
  process p { read s => value 7 }`);
  });

  it('wipeonfork gives the child zeroes; dontfork gives it no VMA at all', () => {
    cleanOn(ARCHES, 'wipe', `  process p {
    mmap w size 2p prot rw wipeonfork
    write w value 8
    mmap d size 2p prot r
    madvise d size 2p dontfork
  }
  fork p as c
  process c {
    read w => value 0
    read d => segv
    expect vmas == 1
  }
  process p { read w => value 8 }`);
  });

  it('mlock is not inherited', () => {
    cleanOn(ARCHES, 'mlock', `  process p {
    mmap a size 4p prot rw locked
    madvise a size 4p guard_install => EINVAL
  }
  fork p as c
  process c { madvise a size 4p guard_install => ok }`);
  });

  it('a THP is shared write-protected; the child gets its own deposit, and a write splits', () => {
    cleanOn(ARCHES, 'thp', `  thp always
  process p {
    mmap a size 2M prot rw
    write a value 9
  }
  fork p as c
  expect tables(c, pte) == 1
  process c {
    expect leaf(a) == pmd
    write a + 1p value 10
    expect leaf(a) == pte
    read a => value 9
  }
  process p {
    expect leaf(a) == pmd
    read a => value 9
    read a + 1p => value 0
  }`);
  });
});

describe('fork and exit errors', () => {
  it('forking or exiting a process that has exited is EINVAL', () => {
    const r = runText(scenario('errors', 'arch x86_64', `  process p { mmap a size 1p prot rw }
  exit p
  fork p as d => EINVAL
  exit p => EINVAL`));
    assert.deepEqual(findingLines(r, 0, true), []);
  });
});
