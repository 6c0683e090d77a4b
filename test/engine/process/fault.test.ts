// Demand faults (mm/memory.c handle_mm_fault and friends): the zero page, anonymous and file
// pages, copy-on-write, values per page, SIGSEGV reasons, THP policy, and the user wx-mapping
// warning.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findingLines, run } from '../support';
import { ALL_ARCHES, ARCHES, clean, cleanOn, runText, scenario } from './helpers';

describe('anonymous faults (do_anonymous_page, do_wp_page)', () => {
  it('a read maps the shared zero page read-only; a write then copies it to a private page', () => {
    cleanOn(ALL_ARCHES, 'zero page', `  process p {
    mmap a size 2p prot rw
    read a => value 0
    expect prot(a) == r
    expect leaf(a) == pte
    write a value 3
    expect prot(a) == rw
    read a => value 3
    read a + 1p => value 0
  }`);
  });

  it('a first write maps a writable private page at once', () => {
    cleanOn(ARCHES, 'write', `  process p {
    mmap a size 1p prot rw
    write a value 9
    expect prot(a) == rw
    expect value(a) == 9
  }`);
  });

  it('pages lose their values when zapped; rwx and r-x mappings fetch instructions', () => {
    cleanOn(ARCHES, 'values', `  process p {
    mmap a size 2p prot rw
    write a value 5
    madvise a size 2p dontneed
    read a => value 0
    mmap x size 1p prot rx
    exec x => ok
    exec a => segv
  }`);
  });
});

describe('which page a fault gets (the per-CPU page list)', () => {
  // A freed page goes back on top of the list and the next fault takes it; with none left, a
  // fault takes the next page of the newest PMD-sized block, in order, and after the block's
  // last page the first page of a new block.
  for (const header of ['arch x86_64', 'arch arm64 granule=16k va=47']) {
    it(`last freed first, then the newest block in order (${header})`, () => {
      const r = clean(
        scenario('page order', header, `  process p {
    mmap a size 4096p prot rw
    touch a size 4p write
    madvise a + 1p size 1p dontneed
    madvise a + 2p size 1p dontneed
    write a + 4p value 1
    write a + 5p value 1
    write a + 6p value 1
    touch a + 7p size 4089p write
  }`),
      );
      const steps = r.state.steps();
      const created = steps.find((s) => s.helper === 'do_mmap');
      assert.ok(created);
      const a = BigInt(created.summary.match(/0x[0-9a-f]+/)?.[0] ?? '0');
      const pageSize = r.state.profile.pageSize;
      const blockPages = BigInt(r.state.profile.levels[4]?.ptrs ?? 0);
      const at = (step: number, page: bigint): bigint => {
        const pa = r.state.describeAddress(a + page * pageSize, step, 'p').entry?.pa;
        assert.ok(pa, `page ${page} is mapped after step ${step}`);
        return BigInt(pa);
      };
      const touched = steps.findIndex((s) => s.summary.startsWith('touch write: 4 pages'));
      const last = steps.findIndex((s) => s.summary.startsWith('touch write: 4089 pages'));
      const first = at(touched, 0n);
      for (const page of [1n, 2n, 3n]) assert.equal(at(touched, page), first + page * pageSize, 'a fresh block hands out consecutive pages');
      assert.equal(at(last, 4n), first + 2n * pageSize, 'the page freed last comes back first');
      assert.equal(at(last, 5n), first + 1n * pageSize, 'then the one freed before it');
      assert.equal(at(last, 6n), first + 4n * pageSize, 'then the block goes on where it stopped');
      // Pages 7.. take the rest of the block, then a new block begins.
      assert.equal(at(last, blockPages + 1n), first + (blockPages - 1n) * pageSize, "the block's last page");
      assert.equal(at(last, blockPages + 2n), first + blockPages * pageSize, 'the first page of the next block');
    });
  }
});

describe('file faults (do_read_fault, do_cow_fault, do_shared_fault)', () => {
  it('shared file writes reach the file and survive zaps and unmaps of one mapping', () => {
    cleanOn(ARCHES, 'shared', `  process p {
    mmap f size 2p prot rw shared file
    write f + 1p value 11
    madvise f size 2p dontneed
    read f + 1p => value 11
    madvise f size 2p pageout
    read f + 1p => value 11
  }`);
  });

  it('a private file mapping reads the page cache and copies on write; a zap loses the copy', () => {
    cleanOn(ARCHES, 'private', `  process p {
    mmap f size 2p prot rw file
    read f => value 0
    expect prot(f) == r
    write f value 4
    expect prot(f) == rw
    read f => value 4
    madvise f size 2p dontneed
    read f => value 0
  }`);
  });

  it('a shared regular file maps read-only until written (writenotify); shmem maps writable', () => {
    // vma_wants_writenotify: regular files track dirtying, shmem does not.
    cleanOn(ARCHES, 'writenotify', `  process p {
    mmap f size 1p prot rw shared file
    read f
    expect prot(f) == r
    write f
    expect prot(f) == rw
    mmap s size 1p prot rw shared
    read s
    expect prot(s) == rw
  }`);
  });

  it('anonymous shared memory (shmem) keeps its data across a zap', () => {
    cleanOn(ARCHES, 'shmem', `  process p {
    mmap s size 2p prot rw shared
    write s value 8
    madvise s size 2p dontneed
    read s => value 8
  }`);
  });
});

describe('SIGSEGV', () => {
  it('no VMA is SEGV_MAPERR, a forbidden access SEGV_ACCERR, each with its reason', () => {
    const r = runText(scenario('segv', 'arch x86_64', `  process p {
    mmap a size 1p prot r
    write a
    read a + 1p
    exec a
  }`));
    assert.deepEqual(findingLines(r), ['5: statement-failed', '6: statement-failed', '7: statement-failed']);
    const messages = r.runs[0]?.findings.map((f) => f.message) ?? [];
    assert.match(messages[0] ?? '', /SEGV_ACCERR/);
    assert.match(messages[1] ?? '', /SEGV_MAPERR/);
    assert.match(messages[2] ?? '', /SEGV_ACCERR/);
  });

  it('PROT_NONE denies everything; write-only memory is readable', () => {
    cleanOn(ALL_ARCHES, 'prot', `  process p {
    mmap n size 1p prot none
    read n => segv
    mmap w size 1p prot w
    read w => ok
    write w => ok
  }`);
  });

  it('an exec-only mapping is readable on x86 (vma_is_accessible) but not on arm64 with EPAN', () => {
    clean(scenario('xo x86', 'arch x86_64', `  process p {
    mmap x size 1p prot x
    read x => ok
    exec x => ok
  }`));
    clean(scenario('xo arm64', 'arch arm64', `  process p {
    mmap x size 1p prot x
    read x => segv
    exec x => ok
  }`));
  });

  it('touch counts its pages against the step budget', () => {
    const text = scenario('budget', 'arch x86_64', `  process p {
    mmap a size 1G prot rw
    touch a size 1G
  }`);
    const r = run(text, { budget: { steps: 1000 } });
    assert.deepEqual(findingLines(r), ['5: resource-limit']);
  });

  it('touch names the first page that faulted', () => {
    const r = runText(scenario('touch', 'arch x86_64', `  process p {
    mmap a size 4p prot rw
    madvise a + 2p size 1p guard_install
    touch a size 4p
  }`));
    assert.match(r.runs[0]?.findings[0]?.message ?? '', /page 2 /);
  });
});

describe('THP policy (thp_vma_allowable_order, do_huge_pmd_anonymous_page)', () => {
  it('always: a write maps a PMD leaf and deposits a PTE table', () => {
    cleanOn(['arch x86_64', 'arch arm64 granule=4k va=48', 'arch riscv64 mode=sv48', 'arch x86_pae'], 'always', `  thp always
  process p {
    mmap a size 4M prot rw
    write a + 5p value 2
    expect leaf(a) == pmd
    read a + 5p => value 2
    expect tables(p, pte) == 1
  }`);
  });

  it('madvise: only MADV_HUGEPAGE ranges; never: none at all', () => {
    cleanOn(ARCHES, 'madvise', `  thp madvise
  process p {
    mmap a size 4M prot rw
    write a
    expect leaf(a) == pte
    madvise a + 2M size 2M hugepage
    write a + 2M
    expect leaf(a + 2M) == pmd
  }`);
    cleanOn(ARCHES, 'never', `  thp never
  process p {
    mmap a size 4M prot rw
    madvise a size 4M hugepage
    write a
    expect leaf(a) == pte
  }`);
  });

  it('a read maps the huge zero page; a write then splits it and copies one page', () => {
    // do_huge_pmd_wp_page: the huge zero page falls back to PTEs (__split_huge_pmd).
    cleanOn(ARCHES, 'huge zero', `  thp always
  process p {
    mmap a size 2M prot rw
    read a => value 0
    expect leaf(a) == pmd
    expect prot(a) == r
    write a + 3p value 6
    expect leaf(a) == pte
    expect prot(a + 3p) == rw
    expect prot(a) == r
    read a + 3p => value 6
  }`);
  });

  it('a VMA that does not cover the aligned PMD range gets small pages', () => {
    cleanOn(ARCHES, 'unaligned', `  thp always
  process p {
    mmap a size 2M + 1p prot rw
    write a
    expect leaf(a) == pte
  }`);
  });

  it('nohugepage wins over thp always', () => {
    cleanOn(ARCHES, 'nohugepage', `  thp always
  process p {
    mmap a size 2M prot rw
    madvise a size 2M nohugepage
    write a
    expect leaf(a) == pte
  }`);
  });

  it('mprotect of part of a THP splits it; of all of it keeps it huge', () => {
    cleanOn(ARCHES, 'mprotect thp', `  thp always
  process p {
    mmap a size 4M prot rw
    write a
    write a + 2M
    mprotect a size 1p prot r
    expect leaf(a) == pte
    expect prot(a) == r
    expect prot(a + 1p) == rw
    mprotect a + 2M size 2M prot r
    expect leaf(a + 2M) == pmd
    expect prot(a + 2M) == r
  }`);
  });

  it('munmap of part of a THP splits it and frees the rest of the deposit with the table', () => {
    cleanOn(['arch x86_64'], 'munmap thp', `  thp always
  process p {
    mmap a size 2M prot rw
    write a
    munmap a + 1M size 1M
    expect leaf(a) == pte
    read a => value 1
    munmap a size 1M
    expect pgtables_bytes == 0
    expect tables(p, pte) == 0
  }`);
  });
});

describe('wx-mapping for user memory', () => {
  it('warns once per statement that maps pages of a rwx VMA, at that statement', () => {
    const r = runText(scenario('wx', 'arch x86_64', `  process p {
    mmap a size 4p prot rwx
    touch a size 4p write
    read a
    mmap b size 4p prot rw
    touch b size 4p write
  }`));
    assert.deepEqual(findingLines(r), ['5: wx-mapping']);
    const fix = r.runs[0]?.findings[0]?.fix;
    assert.equal(fix?.kind, 'wx');
  });

  it('is expected with expect diagnostic', () => {
    clean(`scenario "wx expected" {
  process p {
    mmap a size 1p prot rwx populate
  }
  expect diagnostic wx-mapping
}
`);
  });
});
