// The table-page ledger for processes (issue 6, seed 000): tables(P, level), pgtables_bytes and
// accounted(P) after realistic scenarios, per architecture and accounting mode; fork and exit;
// and the exit leak checks (kernel/fork.c check_mm).
//
// pgtables_bytes counts PTE, PMD and PUD tables of user mms (mm_inc_nr_ptes/pmds/puds at
// pmd_install, __pmd_alloc, __pud_alloc and for THP deposits); P4D and PGD never count.
// accounted(P) is the NR_PAGETABLE share: every table whose ctor ran (kernel-notes/ctor-dtor.md).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findingLines } from '../support';
import { clean, runText, scenario } from './helpers';

interface Expected {
  /** Header line. */
  arch: string;
  /** accounted(p) right after the mm is created. */
  created: string;
  /** pgtables_bytes(p) right after creation (x86 PAE and ARM LPAE preallocate PMDs). */
  createdBytes: string;
  /** After one anonymous page is written. */
  bytes: string;
  accounted: string;
  /** Live tables per level after the write: pgd p4d pud pmd pte. */
  tables: [number, number, number, number, number];
}

// A page written at the top of the mmap area of a fresh process.
const SERIES: Expected[] = [
  { arch: 'arch x86_64', created: '4K', createdBytes: '0', bytes: '12K', accounted: '16K', tables: [1, 0, 1, 1, 1] },
  { arch: 'arch x86_64\n  feature pti', created: '8K', createdBytes: '0', bytes: '12K', accounted: '20K', tables: [1, 0, 1, 1, 1] },
  { arch: 'arch x86_64 levels=5', created: '4K', createdBytes: '0', bytes: '12K', accounted: '20K', tables: [1, 1, 1, 1, 1] },
  { arch: 'arch arm64 granule=4k va=39', created: '4K', createdBytes: '0', bytes: '8K', accounted: '12K', tables: [1, 0, 0, 1, 1] },
  { arch: 'arch arm64 granule=4k va=48', created: '4K', createdBytes: '0', bytes: '12K', accounted: '16K', tables: [1, 0, 1, 1, 1] },
  // 16-entry PGD from the pgd_cache kmem_cache: no ctor. The P4D level is real.
  { arch: 'arch arm64 granule=4k va=52', created: '0', createdBytes: '0', bytes: '12K', accounted: '16K', tables: [1, 1, 1, 1, 1] },
  { arch: 'arch arm64 granule=16k va=47', created: '16K', createdBytes: '0', bytes: '32K', accounted: '48K', tables: [1, 0, 0, 1, 1] },
  // Two-entry PGD: kmem_cache.
  { arch: 'arch arm64 granule=16k va=48', created: '0', createdBytes: '0', bytes: '48K', accounted: '48K', tables: [1, 0, 1, 1, 1] },
  { arch: 'arch arm64 granule=64k va=42', created: '64K', createdBytes: '0', bytes: '64K', accounted: '128K', tables: [1, 0, 0, 0, 1] },
  { arch: 'arch riscv64 mode=sv39', created: '4K', createdBytes: '0', bytes: '8K', accounted: '12K', tables: [1, 0, 0, 1, 1] },
  { arch: 'arch riscv64 mode=sv57', created: '4K', createdBytes: '0', bytes: '12K', accounted: '20K', tables: [1, 1, 1, 1, 1] },
  // PAE: kmem_cache PGD plus the three user PMDs pgd_alloc preallocates (mm_inc_nr_pmds).
  { arch: 'arch x86_pae', created: '12K', createdBytes: '12K', bytes: '16K', accounted: '16K', tables: [1, 0, 0, 3, 1] },
  // LPAE: kmalloc PGD plus the PMD of MODULES_VADDR, which also maps the top of user space.
  { arch: 'arch arm_lpae', created: '4K', createdBytes: '4K', bytes: '8K', accounted: '8K', tables: [1, 0, 0, 1, 1] },
];

function body(e: Expected, accounting: 'series' | 'legacy', created: string, accounted: string): string {
  const [pgd, p4d, pud, pmd, pte] = e.tables;
  return `scenario "ledger" {
  ${e.arch}
  accounting ${accounting}
  process p {
    expect accounted(p) == ${created}
    expect pgtables_bytes(p) == ${e.createdBytes}
    mmap a size 1p prot rw
    write a
    expect pgtables_bytes(p) == ${e.bytes}
    expect accounted(p) == ${accounted}
    expect tables(p, pgd) == ${pgd}
    expect tables(p, p4d) == ${p4d}
    expect tables(p, pud) == ${pud}
    expect tables(p, pmd) == ${pmd}
    expect tables(p, pte) == ${pte}
  }
  exit p
  expect pgtables_bytes(p) == 0
  expect accounted(p) == 0
}
`;
}

describe('pgtables_bytes and accounted after a first write, per architecture', () => {
  for (const e of SERIES) {
    it(`${e.arch.replace('\n  ', ', ')}: series`, () => {
      clean(body(e, 'series', e.created, e.accounted));
    });
  }

  it('legacy accounting: ctor only at PTE, PMD and PUD, so PGD and P4D are not counted', () => {
    // Before "Account page tables at all levels" (seed 000): pagetable_{pte,pmd,pud}_ctor only.
    clean(body(SERIES[0] as Expected, 'legacy', '0', '12K'));
    clean(body(SERIES[2] as Expected, 'legacy', '0', '12K'));
    clean(body(SERIES[10] as Expected, 'legacy', '0', '12K'));
    clean(body(SERIES[6] as Expected, 'legacy', '0', '32K'));
  });
});

describe('pgtables_bytes through realistic process lives', () => {
  it('follows faults, THP deposits, munmap and exit (x86_64)', () => {
    clean(scenario('life', 'arch x86_64\n  thp always', `  process p {
    mmap heap size 8M prot rw
    touch heap size 8M write
    # Four THPs: PUD + PMD tables and four deposited PTE tables.
    expect tables(p, pte) == 4
    expect pgtables_bytes == 24K
    mmap small size 16p prot rw
    touch small size 16p write
    madvise heap + 2M size 1p guard_install
    expect pgtables_bytes == 28K
    munmap heap size 8M
    expect tables(p, pte) == 1
    expect pgtables_bytes == 12K
  }`));
  });

  it('MADV_DONTNEED of a whole PMD range frees the emptied PTE table (PT_RECLAIM), unless a marker stays', () => {
    // zap_pte_range with zap_details.reclaim_pt: pte_free_tlb + mm_dec_nr_ptes.
    clean(scenario('reclaim', 'arch x86_64', `  process p {
    mmap a size 4M prot rw
    touch a size 4M write
    expect tables(p, pte) == 2
    madvise a size 2M dontneed
    expect tables(p, pte) == 1
    madvise a + 2M + 3p size 1p guard_install
    madvise a + 2M size 2M dontneed
    expect tables(p, pte) == 1
    expect guard(a + 2M + 3p) == true
    madvise a size 1p dontneed
    expect pgtables_bytes == 12K
  }`));
  });

  it('fork gives the child its own tables for copied VMAs only (x86_64 and arm64)', () => {
    for (const arch of ['arch x86_64', 'arch arm64']) {
      clean(scenario('fork', arch, `  process p {
    mmap anon size 4p prot rw
    write anon
    mmap file size 4p prot r file
    read file
    mmap skip size 4p prot rw
    write skip
    madvise skip size 4p dontfork
  }
  fork p as c
  # anon has an anon_vma, so its tables are copied; the clean file mapping refaults instead.
  expect tables(c, pte) == 1
  expect pgtables_bytes(c) == pgtables_bytes(p)
  expect vmas(c) == 2
  exit c
  expect pgtables_bytes(c) == 0
  exit p`));
    }
  });

  it('exit frees every table, and the run ends without a ledger finding', () => {
    const r = runText(scenario('exit', 'arch x86_64\n  thp always', `  process p {
    mmap a size 4M prot rw
    touch a size 4M write
    mmap b size 8p prot rw
    madvise b size 8p guard_install
  }`));
    assert.deepEqual(findingLines(r), []);
  });
});

describe('leaks the exit checks report', () => {
  it('a PTE table linked by hand without mm_inc_nr_ptes: exit frees it and pgtables_bytes goes negative', () => {
    // exec/table-statements.ts: populate is pmd_populate; free_pte_range still runs
    // mm_dec_nr_ptes, so check_mm prints "BUG: non-zero pgtables_bytes on freeing mm: -4096".
    const r = runText(scenario('leak', 'arch x86_64', `  process p {
    mmap a size 4M prot rw
    write a
    pgtable_alloc pte as t
    populate a + 2M with t
  }`));
    assert.deepEqual(findingLines(r), ['7: ctor-dtor-leak']);
    assert.match(r.runs[0]?.findings[0]?.message ?? '', /BUG: non-zero pgtables_bytes on freeing mm: -4096/);
  });

  it('a table linked outside every VMA is left allocated at exit', () => {
    const r = runText(scenario('left', 'arch x86_64', `  process p {
    mmap a size 2M prot rw
    write a
    pgtable_alloc pte as t
    populate a + 2M with t
  }`));
    const lines = findingLines(r);
    assert.ok(lines.includes('6: ctor-dtor-leak'), lines.join(', '));
  });

  it('the leak is expected with expect diagnostic', () => {
    clean(`scenario "expected leak" {
  process p {
    mmap a size 4M prot rw
    write a
    pgtable_alloc pte as t
    populate a + 2M with t
  }
  expect diagnostic ctor-dtor-leak
}
`);
  });
});
