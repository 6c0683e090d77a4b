// Architecture profiles checked against kernel-notes/geometry.md, configuration by configuration.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allProfiles, levelIndices, resolveProfile, type ArchProfile } from '../../../server/src/engine/index';

function real(profile: ArchProfile): string {
  return profile.levels
    .filter((l) => !l.folded)
    .map((l) => `${l.name}:${l.shift}/${l.ptrs}`)
    .join(' ');
}

function folded(profile: ArchProfile): string[] {
  return profile.levels.filter((l) => l.folded).map((l) => l.name);
}

describe('x86_64', () => {
  it('4-level folds P4D at run time and keeps 512-entry tables', () => {
    const p = resolveProfile({ arch: 'x86_64', levels: 4 });
    assert.equal(real(p), 'pgd:39/512 pud:30/512 pmd:21/512 pte:12/512');
    assert.deepEqual(folded(p), ['p4d']);
    assert.equal(p.levels[1]?.shift, 39, 'P4D_SHIFT stays 39 when folded');
    assert.equal(p.kernelStart, 0xffff800000000000n);
  });

  it('5-level (LA57) has a real P4D and a 57-bit VA', () => {
    const p = resolveProfile({ arch: 'x86_64', levels: 5 });
    assert.equal(real(p), 'pgd:48/512 p4d:39/512 pud:30/512 pmd:21/512 pte:12/512');
    assert.equal(p.kernelStart, 0xff00000000000000n);
    assert.equal(p.regions.find((r) => r.id === 'linear')?.start, 0xff11000000000000n);
    assert.equal(p.regions.find((r) => r.id === 'vmalloc')?.start, 0xffa0000000000000n);
    assert.equal(p.regions.find((r) => r.id === 'vmemmap')?.start, 0xffd4000000000000n);
  });

  it('has the 4-level kernel landmarks of mm.rst', () => {
    const p = resolveProfile({ arch: 'x86_64', levels: 4 });
    const at = (id: string): [bigint | undefined, bigint | undefined] => {
      const r = p.regions.find((x) => x.id === id);
      return [r?.start, r?.end];
    };
    assert.deepEqual(at('linear'), [0xffff888000000000n, 0xffffc88000000000n]);
    assert.deepEqual(at('vmalloc'), [0xffffc90000000000n, 0xffffe90000000000n]);
    assert.deepEqual(at('vmemmap'), [0xffffea0000000000n, 0xffffeb0000000000n]);
    assert.deepEqual(at('modules'), [0xffffffffa0000000n, 0xffffffffff000000n]);
    assert.deepEqual(
      p.levels.filter((l) => l.leaf).map((l) => l.name),
      ['pud', 'pmd', 'pte'],
    );
  });

  it('gives PTI processes a two-page PGD', () => {
    assert.equal(resolveProfile({ arch: 'x86_64', pti: true }).pgdBytes, 8192);
    assert.equal(resolveProfile({ arch: 'x86_64' }).pgdBytes, 4096);
  });
});

describe('arm64 (geometry.md §2 CONFIG_PGTABLE_LEVELS table)', () => {
  const rows: [number, number, number, number, number, string[]][] = [
    // granule, va, levels, PGDIR_SHIFT, PTRS_PER_PGD, folded
    [4, 39, 3, 30, 512, ['p4d', 'pud']],
    [4, 48, 4, 39, 512, ['p4d']],
    [4, 52, 5, 48, 16, []],
    [16, 36, 2, 25, 2048, ['p4d', 'pud', 'pmd']],
    [16, 47, 3, 36, 2048, ['p4d', 'pud']],
    [16, 48, 4, 47, 2, ['p4d']],
    [16, 52, 4, 47, 32, ['p4d']],
    [64, 42, 2, 29, 8192, ['p4d', 'pud', 'pmd']],
    [64, 48, 3, 42, 64, ['p4d', 'pud']],
    [64, 52, 3, 42, 1024, ['p4d', 'pud']],
  ];
  for (const [granule, va, levels, pgdirShift, ptrsPerPgd, fold] of rows) {
    it(`${granule}K/${va}: ${levels} levels, PGDIR_SHIFT ${pgdirShift}, ${ptrsPerPgd} PGD entries`, () => {
      const p = resolveProfile({ arch: 'arm64', granuleKiB: granule, va });
      assert.equal(p.realLevels, levels);
      assert.equal(p.levels[0]?.shift, pgdirShift);
      assert.equal(p.levels[0]?.ptrs, ptrsPerPgd);
      assert.deepEqual(folded(p), fold);
      const ptrs = { 4: 512, 16: 2048, 64: 8192 }[granule];
      for (const l of p.levels) if (!l.folded && l.name !== 'pgd') assert.equal(l.ptrs, ptrs, `${l.name} entries`);
      assert.equal(p.pageShift, { 4: 12, 16: 14, 64: 16 }[granule]);
    });
  }

  it('has block sizes and contiguous runs per granule (hugetlbpage.rst)', () => {
    const sizes = (granule: number): string => {
      const p = resolveProfile({ arch: 'arm64', granuleKiB: granule, va: 48 });
      const pmd = p.levels[3];
      const pte = p.levels[4];
      const pud = p.levels[2];
      return [pmd?.shift, pmd?.cont, pte?.cont, pud?.leaf].join(',');
    };
    assert.equal(sizes(4), '21,16,16,true');
    assert.equal(sizes(16), '25,32,128,false');
    assert.equal(sizes(64), '29,32,32,false');
  });

  it('computes the 48-bit/4K layout from the memory.h macros', () => {
    const p = resolveProfile({ arch: 'arm64', granuleKiB: 4, va: 48 });
    const r = (id: string): string => {
      const x = p.regions.find((y) => y.id === id);
      return `${x?.start.toString(16)}-${x?.end.toString(16)}`;
    };
    assert.equal(r('linear'), 'ffff000000000000-ffff800000000000');
    assert.equal(r('modules'), 'ffff800000000000-ffff800080000000');
    assert.equal(r('vmalloc'), 'ffff800080000000-fffffdffbf800000');
    assert.equal(r('vmemmap'), 'fffffdffc0000000-ffffffffc0000000');
    assert.equal(r('pci_io'), 'ffffffffc0800000-ffffffffc1800000');
  });

  it('computes the 39-bit/4K layout', () => {
    const p = resolveProfile({ arch: 'arm64', granuleKiB: 4, va: 39 });
    const r = (id: string): string => {
      const x = p.regions.find((y) => y.id === id);
      return `${x?.start.toString(16)}-${x?.end.toString(16)}`;
    };
    assert.equal(r('linear'), 'ffffff8000000000-ffffffc000000000');
    assert.equal(r('vmalloc'), 'ffffffc080000000-fffffffebf800000');
    assert.equal(r('vmemmap'), 'fffffffec0000000-ffffffffc0000000');
  });

  it('takes the PGD from a kmem_cache when it is smaller than a page', () => {
    assert.equal(resolveProfile({ arch: 'arm64', granuleKiB: 4, va: 52 }).pgdAllocator, 'kmem_cache');
    assert.equal(resolveProfile({ arch: 'arm64', granuleKiB: 4, va: 48 }).pgdAllocator, 'page');
    assert.equal(resolveProfile({ arch: 'arm64', granuleKiB: 16, va: 48 }).pgdBytes, 16);
  });
});

describe('riscv64 and 32-bit', () => {
  it('has Sv39/Sv48/Sv57 with 512-entry tables', () => {
    assert.equal(real(resolveProfile({ arch: 'riscv64', mode: 'sv39' })), 'pgd:30/512 pmd:21/512 pte:12/512');
    assert.equal(real(resolveProfile({ arch: 'riscv64', mode: 'sv48' })), 'pgd:39/512 pud:30/512 pmd:21/512 pte:12/512');
    assert.equal(real(resolveProfile({ arch: 'riscv64', mode: 'sv57' })), 'pgd:48/512 p4d:39/512 pud:30/512 pmd:21/512 pte:12/512');
    assert.equal(resolveProfile({ arch: 'riscv64', mode: 'sv39' }).regions.find((r) => r.id === 'linear')?.start, 0xffffffd600000000n);
  });

  it('models PAE and LPAE as three levels with a 4-entry PGD', () => {
    for (const arch of ['x86_pae', 'arm_lpae'] as const) {
      const p = resolveProfile({ arch });
      assert.equal(real(p), 'pgd:30/4 pmd:21/512 pte:12/512');
      assert.notEqual(p.pgdAllocator, 'page', 'seed 000: slab PGD under PAE/LPAE');
    }
  });

  it('lists every configuration the spec names', () => {
    assert.deepEqual(
      allProfiles().map((p) => p.id),
      [
        'x86_64-4', 'x86_64-5',
        'arm64-4k-39', 'arm64-4k-48', 'arm64-4k-52',
        'arm64-16k-36', 'arm64-16k-47', 'arm64-16k-48', 'arm64-16k-52',
        'arm64-64k-42', 'arm64-64k-48', 'arm64-64k-52',
        'riscv64-sv39', 'riscv64-sv48', 'riscv64-sv57',
        'x86_pae', 'arm_lpae',
      ],
    );
  });
});

describe('per-level indices of an address', () => {
  it('are the bits (va >> shift) & (ptrs - 1) of every level, for user and kernel addresses alike', () => {
    // Below 2^53 indexAt divides the exact Number instead of shifting a BigInt; the indices must
    // not change at that boundary, at the top of a 64-bit address, or for a folded level.
    const addresses = [0n, 0x1000n, 0x7fffffffe000n, 0x7fffffffffffn, 2n ** 47n, 2n ** 52n + 0x123000n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 0x5000n, 2n ** 53n + 0xfffn, 2n ** 54n - 1n, 2n ** 56n + 0x1fffn, 0xff11000000000000n, 0xffff888012345000n, 0xfffffffffffff000n, 2n ** 64n - 1n];
    let x = 0x9e3779b97f4a7c15n;
    for (let k = 0; k < 200; k++) {
      x = (x * 6364136223846793005n + 1442695040888963407n) & (2n ** 64n - 1n);
      addresses.push(x >> BigInt(k % 20));
    }
    for (const profile of allProfiles()) {
      for (const va of addresses) {
        const expected = profile.levels.map((l) => Number((va >> BigInt(l.shift)) & BigInt(l.ptrs - 1)));
        assert.deepEqual(levelIndices(profile, va), expected, `${profile.id} ${va.toString(16)}`);
      }
    }
  });
});
