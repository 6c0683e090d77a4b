// The per-statement history the inspector reads: the state after any step without re-running,
// what each step changed, and budgets that stop a run with resource-limit.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findingLines, only, run } from '../support';

describe('the state after any step', () => {
  const text = `scenario "history" {
  arch arm64
  kernel {
    map 0xffff000000000000 size 8K phys 0x80000000 prot rw
    unmap 0xffff000000000000 size 4K
    map 0xffff000000000000 size 4K phys 0x90000000 prot r
  }
}`;

  it('reads each step’s entries from the versions kept, with what changed', () => {
    const r = only(run(text));
    const steps = r.state.steps();
    assert.deepEqual(
      steps.map((s) => [s.helper, s.result]),
      [
        ['__create_pgd_mapping', 'ok'],
        ['vunmap_range', 'ok'],
        ['__create_pgd_mapping', 'ok'],
        ['end of scenario', ''],
      ],
    );
    const pteTable = steps[0]?.tablesAllocated[2];
    assert.ok(pteTable !== undefined);
    const at = (step: number): string[] =>
      r.state.entriesAt(pteTable, step, 0, 2).map((e) => `${e.kind}:${e.pa ?? '-'}:${e.change ?? '='}`);
    assert.deepEqual(at(0), ['leaf:0x80000000:added', 'leaf:0x80001000:added']);
    assert.deepEqual(at(1), ['none:-:removed', 'leaf:0x80001000:=']);
    assert.deepEqual(at(2), ['leaf:0x90000000:added', 'leaf:0x80001000:=']);
  });

  it('keeps what a map over most of an existing table replaced, on riscv too (PPN at bit 10)', () => {
    const r = only(
      run(`scenario "rewrite" {
  arch riscv64 mode=sv39
  kernel {
    map 0xffffffd800000000 size 1M phys 0x80000000 prot rw leaf=pte
    unmap 0xffffffd800000000 size 1M
    map 0xffffffd800000000 size 1M phys 0x90000000 prot r leaf=pte
  }
}`),
    );
    const steps = r.state.steps();
    const pteTable = steps[0]?.tablesAllocated.at(-1);
    assert.ok(pteTable !== undefined);
    // 256 entries: past the eighth of the table where the step's log turns into one copy.
    const at = (step: number): string[] => r.state.entriesAt(pteTable, step, 254, 3).map((e) => `${e.kind}:${e.pa ?? '-'}:${e.change ?? '='}`);
    assert.deepEqual(at(0), ['leaf:0x800fe000:added', 'leaf:0x800ff000:added', 'none:-:=']);
    assert.deepEqual(at(1), ['none:-:removed', 'none:-:removed', 'none:-:=']);
    assert.deepEqual(at(2), ['leaf:0x900fe000:added', 'leaf:0x900ff000:added', 'none:-:=']);
  });

  it('describes an address at an earlier step and splits it into per-level indices', () => {
    const r = only(run(text));
    const before = r.state.describeAddress(0xffff000000000000n, 0);
    const after = r.state.describeAddress(0xffff000000000000n, 1);
    assert.equal(before.leaf, 'pte');
    assert.equal(before.entry?.pa, '0x80000000');
    assert.equal(after.leaf, 'none');
    assert.deepEqual(
      before.indices.map((i) => `${i.level}=${i.index}${i.folded ? ' (folded)' : ''}`),
      ['pgd=0', 'p4d=0 (folded)', 'pud=0', 'pmd=0', 'pte=0'],
    );
    assert.equal(before.region, 'linear map');
  });

  it('dumps the kernel tables as they were after a step', () => {
    const r = only(run(text));
    assert.match(r.state.ptdumpAt(0), /0xffff000000000000-0xffff000000002000 +8K PTE/);
    assert.match(r.state.ptdumpAt(2), /0xffff000000000000-0xffff000000001000 +4K PTE +ro/);
  });

  it('finds the step under the cursor', () => {
    const r = only(run(text));
    const offset = text.indexOf('unmap');
    assert.equal(r.state.stepAtOffset(offset), 1);
    assert.equal(r.state.stepAtOffset(text.length), 3);
  });
});

describe('budgets', () => {
  it('stops with resource-limit at the statement that crossed the table-page budget', () => {
    const r = run(
      `scenario "too many tables" {
  kernel {
    map 0xffff888000000000 size 2M phys 0 prot rw leaf=pte
    map 0xffff888000200000 size 4G phys 0x200000 prot rw leaf=pte
    expect leaf(0xffff888000000000) == pte
  }
}`,
      { budget: { tablePages: 64 } },
    );
    assert.deepEqual(findingLines(r, 0, true), ['4: error resource-limit']);
    assert.equal(only(r).stopped, 'budget');
  });

  it('stops on the entry budget and on the step budget', () => {
    const entries = run(`scenario "e" {
  kernel { map 0xffff888000000000 size 1G phys 0 prot rw leaf=pte }
}`, { budget: { entries: 1000 } });
    assert.deepEqual(findingLines(entries, 0), ['2: resource-limit']);
    const steps = run(`scenario "s" {
  kernel {
    let a = 1
    let b = 2
    let c = 3
  }
}`, { budget: { steps: 2 } });
    assert.deepEqual(findingLines(steps, 0), ['5: resource-limit']);
  });

  it('stops a map or vmalloc that must cross the entry budget before writing any of it', () => {
    const r = run(`scenario "huge" {
  kernel {
    map 0xffff888000000000 size 1T phys 0 prot rw leaf=pte
  }
}
scenario "huge vmalloc" {
  kernel {
    vmalloc a size 1T
  }
}`);
    for (const [index, line] of [[0, 3], [1, 8]] as const) {
      const scenario = r.runs[index];
      assert.deepEqual(findingLines(r, index), [`${line}: resource-limit`]);
      assert.equal(scenario?.stopped, 'budget');
      // Nothing was written: the check came first.
      assert.equal(scenario?.state.steps()[0]?.entriesWritten, 0);
    }
  });

  it('is stopped inside one statement that writes millions of entries', () => {
    let polls = 0;
    const r = only(
      run(`scenario "long" {
  kernel {
    map 0xffff888000000000 size 64G phys 0 prot rw leaf=pte
  }
}`, { shouldStop: () => ++polls > 3 }),
    );
    assert.equal(r.stopped, 'cancelled');
    const written = r.state.steps()[0]?.entriesWritten ?? 0;
    assert.ok(written > 0 && written < 1_000_000, `${written} entries written before the stop`);
  });

  it('stops when asked to', () => {
    let polls = 0;
    const r = run(`scenario "cancel" {
  kernel {
    let a = 1
    let b = 2
  }
}`, { shouldStop: () => ++polls > 1 });
    assert.equal(only(r).stopped, 'cancelled');
  });
});
