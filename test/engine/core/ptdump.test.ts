// ptdump text and check_wx verdicts in each architecture's own format
// (kernel-notes/ptdump-format.md, descriptors.md §4).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allProfiles } from '../../../server/src/engine/index';
import { wxBits } from '../../../server/src/engine/kernel/wx';
import { assertClean, findingLines, outputs, run } from '../support';

describe('arm64 kernel_page_tables', () => {
  it('prints the linear map with the exact columns, markers and coalescing', () => {
    const r = run(`scenario "dump" {
  arch arm64 granule=4k va=48
  kernel {
    map 0xffff000000000000 size 2M phys 0x80000000 prot rw
    map 0xffff000000200000 size 64K phys 0x80200000 prot rw
    ptdump 0xffff000000000000 size 4M
  }
}`);
    assertClean(r);
    assert.deepEqual(outputs(r, 'ptdump')[0]?.split('\n'), [
      '---[ Linear Mapping start ]---',
      // The same columns as the real BBML2 dump in ptdump-format.md (b), with MT_NORMAL.
      '0xffff000000000000-0xffff000000200000           2M PMD       RW NX SHD AF        BLK UXN    MEM/NORMAL',
      '0xffff000000200000-0xffff000000210000          64K PTE       RW NX SHD AF    CON     UXN    MEM/NORMAL',
      '0xffff000000210000-0xffff000000400000        1984K PTE',
    ]);
  });

  it('prints a folded PUD as PGD on 4K/39 (note_page remaps folded levels)', () => {
    const r = run(`scenario "39" {
  arch arm64 granule=4k va=39
  kernel {
    map 0xffffff8000000000 size 1G phys 0x40000000 prot r
    ptdump 0xffffff8000000000 size 1G
  }
}`);
    assertClean(r);
    assert.equal(
      outputs(r, 'ptdump')[0]?.split('\n')[1],
      '0xffffff8000000000-0xffffff8040000000           1G PGD       ro NX SHD AF        BLK UXN    MEM/NORMAL',
    );
  });

  it('walks from the linear map start to the top, with every marker, ending at 0', () => {
    const r = run(`scenario "empty" {
  arch arm64
  kernel { ptdump }
}`);
    const lines = outputs(r, 'ptdump')[0]?.split('\n') ?? [];
    assert.equal(lines[0], '---[ Linear Mapping start ]---');
    assert.ok(lines.includes('---[ vmalloc() area ]---'));
    assert.match(lines[lines.length - 1] ?? '', /-0x0000000000000000 +2T PGD$/);
  });
});

describe('x86_64 page_tables/kernel', () => {
  it('prints the flag columns and the lower-case level exactly as printk_prot', () => {
    const r = run(`scenario "x86" {
  kernel {
    map 0xffff888000200000 size 154M phys 0x200000 prot rw leaf=pmd
    map 0xffff888009c00000 size 4K phys 0x9c00000 prot r
    ptdump 0xffff888000200000 size 154M + 8K
  }
}`);
    assertClean(r);
    assert.deepEqual(outputs(r, 'ptdump')[0]?.split('\n'), [
      '---[ Low Kernel Mapping ]---',
      // ptdump-format.md: "0xffff999900200000-0xffff999909c00000         154M     RW         PSE     GLB NX pmd".
      '0xffff888000200000-0xffff888009c00000         154M     RW         PSE     GLB NX pmd',
      '0xffff888009c00000-0xffff888009c01000           4K     ro                 GLB NX pte',
      '0xffff888009c01000-0xffff888009c02000           4K                               pte',
    ]);
  });
});

describe('check_wx', () => {
  it('passes and fails with the arm64 messages and counts', () => {
    const r = run(`scenario "arm64" {
  arch arm64
  kernel {
    vmalloc text size 2M prot rwx huge
    check_wx
    expect wx_pages == 512
    expect nonuxn_pages == 0
  }
}
scenario "arm64 clean" {
  arch arm64
  kernel {
    vmalloc text size 2M prot rx huge
    check_wx
    expect wx_pages == 0
  }
}`);
    assert.deepEqual(outputs(r, 'check_wx', 0)[0]?.split('\n'), [
      'arm64/mm: Found insecure W+X mapping at address 0xffff800080000000',
      'Checked W+X mappings: FAILED, 512 W+X pages found, 0 non-UXN pages found',
    ]);
    assert.deepEqual(findingLines(r, 0, true), ['4: warning wx-mapping']);
    assert.equal(outputs(r, 'check_wx', 1)[0], 'Checked W+X mappings: passed, no W+X pages found');
    assertClean(r, 1);
  });

  it('uses the x86 messages, which end with a period', () => {
    const r = run(`scenario "x86" {
  kernel {
    map 0xffff888000000000 size 8K phys 0 prot rwx
    check_wx
    expect wx_pages == 2
  }
}
scenario "x86 clean" {
  kernel {
    map 0xffff888000000000 size 8K phys 0 prot rw
    check_wx
  }
}`);
    assert.equal(outputs(r, 'check_wx', 0)[0]?.split('\n')[1], 'x86/mm: Checked W+X mappings: FAILED, 2 W+X pages found.');
    assert.equal(outputs(r, 'check_wx', 1)[0], 'x86/mm: Checked W+X mappings: passed, no W+X pages found.');
  });

  it('uses the riscv messages with lower-case "failed"', () => {
    const r = run(`scenario "riscv" {
  arch riscv64
  kernel {
    vmalloc v size 4K prot rwx
    check_wx
  }
}`);
    assert.equal(outputs(r, 'check_wx')[0]?.split('\n')[1], 'Checked W+X mappings: failed, 1 W+X pages found');
  });

  // A statement that fills fresh tables with runs of leaves is checked by the runs' templates
  // (kernel/wx.ts); these pin down that the answer is the one an entry-by-entry check gives.
  it('counts every W+X page a statement leaves in fresh tables, and none when it is not executable', () => {
    const r = run(`scenario "rwx" {
  kernel {
    map 0xffff888000000000 size 4M phys 0 prot rwx leaf=pte
  }
}
scenario "rw" {
  kernel {
    map 0xffff888000000000 size 4M phys 0 prot rw leaf=pte
  }
}
scenario "rwx into a table that existed" {
  kernel {
    map 0xffff888000000000 size 4K phys 0 prot rw leaf=pte
    map 0xffff888000001000 size 2M - 4K phys 0x1000 prot rwx leaf=pte
  }
}
scenario "a 2M page split, then one of its pages made executable" {
  kernel {
    map 0xffff888000000000 size 2M phys 0 prot rw
    set_memory_x 0xffff888000000000 + 5p pages 1
    expect leaf(0xffff888000000000) == pte
  }
}`);
    const wx = (i: number): string[] => (r.runs[i]?.findings ?? []).filter((f) => f.code === 'wx-mapping').map((f) => f.message.split(' writable')[0] ?? '');
    assert.deepEqual(wx(0), ['map left 1024 pages']);
    assert.deepEqual(wx(1), []);
    assert.deepEqual(wx(2), ['map left 511 pages']);
    assert.deepEqual(wx(3), ['set_memory_x left 1 page']);
  });

  it('has the W and X bits of every profile outside its output-address field', () => {
    for (const profile of allProfiles()) {
      const [maskLo, maskHi] = wxBits(profile.family);
      for (let bit = profile.pageShift; bit < profile.physBits; bit++) {
        const field = profile.codec.addressField(2 ** bit);
        const lo = field >>> 0;
        const hi = Math.floor(field / 2 ** 32) >>> 0;
        assert.equal((lo & maskLo) | (hi & maskHi), 0, `${profile.id}: physical address bit ${bit}`);
      }
    }
  });
});
