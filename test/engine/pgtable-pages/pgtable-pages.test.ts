// Seed 001: alloc_pgtable_page / free_pgtable_page, write-protected page tables and the cache
// of pte-mapped pages, and the direct-map fragmentation they make or avoid.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { assertClean, findingLines, only, outputs, run } from '../support';

const DM = '0xffff888000000000';

function stepSummary(r: ReturnType<typeof run>, line: number): string {
  const text = r.text;
  const lineStart = (n: number): number => {
    let offset = 0;
    for (let i = 1; i < n; i++) offset = text.indexOf('\n', offset) + 1;
    return offset;
  };
  const at = lineStart(line);
  return only(r).state.steps().find((s) => s.span.start >= at && s.span.start < text.indexOf('\n', at))?.summary ?? '';
}

describe('alloc_pgtable_page and free_pgtable_page', () => {
  it('with write_protect_pgtables, make the page\'s direct-map alias read-only and restore it on free (x86)', () => {
    const r = run(`
scenario "one page" {
  feature write_protect_pgtables
  kernel {
    map ${DM} size 1G phys 0 prot rw
    alloc_pgtable_page pt => ok
    # The alias was inside a 1 GiB page: split to 2 MiB, then to 4 KiB.
    expect direct_map_splits == 2
    expect tlb_flushes == 3
    ptdump ${DM} size 4M
    free_pgtable_page pt => ok
    expect tlb_flushes == 4
    ptdump ${DM} size 4M
    free_pgtable_page pt => EINVAL
  }
}`);
    assertClean(r);
    assert.deepEqual(findingLines(r, 0, true), ['14: information bad-value']);
    const [before, after] = outputs(r, 'ptdump');
    assert.equal(before?.split('\n').filter((l) => / ro /.test(l)).length, 1);
    assert.equal(after?.split('\n').filter((l) => / ro /.test(l)).length, 0);
    assert.match(stepSummary(r, 6), /its linear alias 0xffff888[0-9a-f]+ is now read-only; 2 direct-map splits/);
  });

  it('without features, hand out plain pages and split nothing', () => {
    const r = run(`
scenario "plain" {
  kernel {
    map ${DM} size 1G phys 0 prot rw
    alloc_pgtable_page a => ok
    alloc_pgtable_page b => ok
    free_pgtable_page a => ok
    expect direct_map_splits == 0
    expect tlb_flushes == 0
  }
}`);
    assertClean(r);
  });

  it('protect the engine\'s own table pages too', () => {
    const r = run(`
scenario "own tables" {
  feature write_protect_pgtables
  kernel {
    map ${DM} size 4G phys 0 prot rw
    vmalloc v size 4p
    # A PUD, a PMD and a PTE table for the vmalloc area, each alias split out of the direct map.
    expect direct_map_splits >= 3
  }
}`);
    assertClean(r);
  });
});

describe('the pte-mapped cache', () => {
  it('refills with one PMD-sized block, splits its direct map once, and takes freed pages back', () => {
    const r = run(`
scenario "cache" {
  feature pte_mapped_cache
  kernel {
    map ${DM} size 1G phys 0 prot rw
    alloc_pgtable_page a => ok
    expect direct_map_splits == 2
    alloc_pgtable_page b => ok
    alloc_pgtable_page c => ok
    expect direct_map_splits == 2
    free_pgtable_page b => ok
    alloc_pgtable_page d => ok
    expect direct_map_splits == 2
    ptdump ${DM} size 1G
  }
}`);
    assertClean(r);
    // The whole block is PTE-mapped (set_memory_4k), nothing else of the 1 GiB page is.
    assert.deepEqual(outputs(r, 'ptdump')[0]?.split('\n'), [
      '---[ Low Kernel Mapping ]---',
      '0xffff888000000000-0xffff888000200000           2M     RW                 GLB NX pte',
      '0xffff888000200000-0xffff888040000000        1022M     RW         PSE     GLB NX pmd',
    ]);
    assert.match(stepSummary(r, 6), /the pte-mapped cache was refilled with a PMD-sized block/);
    assert.match(stepSummary(r, 11), /freed back to the pte-mapped cache/);
  });

  it('makes about 1000 write-protected page tables cost 4 splits instead of 1007 (sample 34)', () => {
    const text = fs.readFileSync(path.join(__dirname, '../../../../samples/34-pte-mapped-cache.ptscn'), 'utf8');
    const r = run(text);
    assert.equal(r.runs.length, 2);
    assertClean(r, 0);
    assertClean(r, 1);
    const [noCache16, cache16, cacheAll] = [outputs(r, 'ptdump', 0)[0], outputs(r, 'ptdump', 1)[0], outputs(r, 'ptdump', 1)[1]];
    const lines = (s: string | undefined): string[] => (s ?? '').split('\n');
    // Without the cache the first 16 MiB are already broken around single read-only pages ...
    assert.equal(lines(noCache16).length, 12);
    assert.equal(lines(noCache16).filter((l) => / ro /.test(l)).length, 3);
    // ... with it, the first 16 MiB hold one read-only block, and all 8 GiB fit in 10 lines.
    assert.equal(lines(cache16).length, 3);
    assert.equal(lines(cacheAll).length, 10);
    const splits = r.runs.map((s) => s.state.counters(s.state.stepCount - 1).directMapSplits);
    assert.deepEqual(splits, [1008, 4]);
  });
});

describe('write-protected page tables on arm64 and riscv', () => {
  it('arm64 without BBML2 cannot split a block-mapped linear map: EINVAL, explained', () => {
    const text = `
scenario "arm64 block" {
  arch arm64 granule=4k va=48
  feature write_protect_pgtables
  kernel {
    map 0xffff000000000000 size 1G phys 0x80000000 prot rw
    alloc_pgtable_page pt => EINVAL
  }
}`;
    const r = run(text);
    assertClean(r);
    const f = only(r).findings[0];
    assert.equal(f?.code, 'partial-block-overlap');
    assert.match(f?.message ?? '', /1 page-table page could not be made read-only: .* PUD block 0xffff000000000000-0xffff000040000000/);
    assert.deepEqual(f?.fix, { kind: 'partial-block', alignedStart: 0xffff000000000000n, alignedPages: 262144n, bbml2Helps: true });
  });

  it('arm64 with a page-mapped linear map (what it uses without BBML2) protects without splitting', () => {
    const r = run(`
scenario "arm64 pte" {
  arch arm64 granule=4k va=48
  feature write_protect_pgtables
  kernel {
    map 0xffff000000000000 size 64M phys 0x80000000 prot rw leaf=pte nocont
    alloc_pgtable_page pt => ok
    expect direct_map_splits == 0
  }
}`);
    assertClean(r);
  });

  it('arm64 warns when the protected alias sits in a contiguous PTE run it cannot split', () => {
    const r = run(`
scenario "arm64 cont" {
  arch arm64 granule=4k va=48
  feature write_protect_pgtables
  kernel {
    map 0xffff000000000000 size 64M phys 0x80000000 prot rw leaf=pte
    alloc_pgtable_page pt => ok
  }
}`);
    assert.deepEqual(findingLines(r, 0, true), ['7: warning partial-block-overlap']);
    assert.match(only(r).findings[0]?.message ?? '', /contiguous PTE run/);
  });

  it('arm64 with BBML2 splits the linear map, and the cache keeps it to one block', () => {
    const r = run(`
scenario "arm64 bbml2" {
  arch arm64 granule=4k va=48
  feature write_protect_pgtables pte_mapped_cache bbml2
  kernel {
    map 0xffff000000000000 size 1G phys 0x80000000 prot rw
    alloc_pgtable_page a => ok
    alloc_pgtable_page b => ok
    expect direct_map_splits == 2
  }
}`);
    assertClean(r);
    const dump = only(r).state.ptdumpAt(only(r).state.stepCount - 1).split('\n');
    assert.equal(dump.filter((l) => / ro /.test(l)).length, 1);
    assert.equal(dump.filter((l) => / PTE /.test(l)).length, 2);
  });

  it('riscv splits the linear map like set_memory_ro does', () => {
    const r = run(`
scenario "riscv" {
  arch riscv64
  feature write_protect_pgtables
  kernel {
    map 0xffffaf8000000000 size 1G phys 0x80000000 prot rw
    alloc_pgtable_page pt => ok
    expect direct_map_splits == 2
    expect tlb_flushes == 1
  }
}`);
    assertClean(r);
  });
});
