// The table-page ledger on the kernel side and the spec §8 low-level statements: ctor/dtor per
// accounting mode, and every leak kind the spec lists (kernel-notes/ctor-dtor.md).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertClean, findingLines, only, run } from '../support';

describe('kernel tables follow the accounting mode', () => {
  it('constructs kernel PTE tables under series but not under legacy (6.16 added kernel PTE ctors)', () => {
    const series = only(run(`scenario "series" {
  kernel {
    map 0xffff888000000000 size 4K phys 0 prot rw
    expect accounted(kernel) == 12K
  }
}`));
    assert.ok(series.ok);
    const legacy = only(run(`scenario "legacy" {
  accounting legacy
  kernel {
    map 0xffff888000000000 size 4K phys 0 prot rw
    # PUD and PMD tables are constructed, the kernel PTE table is not.
    expect accounted(kernel) == 8K
  }
}`));
    assert.ok(legacy.ok);
  });

  it('never allocates or constructs swapper_pg_dir', () => {
    const r = only(run(`scenario "swapper" {
  kernel {
    expect tables(kernel, pgd) == 1
    expect accounted(kernel) == 0
  }
}`));
    assert.ok(r.ok);
    assert.equal(r.state.ledger()[0]?.events.length, 0);
  });

  it("tells each table's life in the ledger view: where it was allocated, constructed and linked", () => {
    const r = only(run(`scenario "life" {
  kernel {
    map 0xffff888000000000 size 4K phys 0 prot rw
  }
}`));
    const ledger = r.state.ledger();
    const pte = ledger.find((t) => t.level === 'pte');
    const pmd = ledger.find((t) => t.level === 'pmd');
    assert.ok(pte && pmd);
    assert.deepEqual(
      pte.events.map((e) => `${e.kind}: ${e.detail ?? ''}`),
      [`alloc: pte table at ${pte.pa}`, 'ctor: ', `link: pmd_populate into entry 0 of the PMD table at ${pmd.pa}`],
    );
  });
});

describe('low-level statements and leaks', () => {
  it('runs a correct hand-written alloc, populate, clear, free sequence clean', () => {
    const r = run(`scenario "by hand" {
  kernel {
    pgtable_alloc pud as pud_t
    populate 0xffff888000000000 with pud_t
    clear pgd 0xffff888000000000
    pgtable_free pud_t
    expect tables(kernel, pud) == 0
  }
}`);
    assertClean(r);
  });

  it('reports each misuse at the line that caused it, with the allocation as related', () => {
    const r = run(`scenario "leaks" {
  kernel {
    pgtable_alloc pte as a noctor
    pgtable_free a
    pgtable_alloc pte as b
    pgtable_free b nodtor
    pgtable_alloc pte as c
    pgtable_ctor c
    pgtable_alloc pmd as d
    pgtable_dtor d
    pgtable_dtor d
    pgtable_alloc pud as e
    populate 0xffff888000000000 with e
    pgtable_free e
    pgtable_alloc pte as f
  }
}`);
    assert.deepEqual(findingLines(r), [
      '4: ctor-dtor-leak', // dtor without ctor (a was allocated noctor)
      '6: ctor-dtor-leak', // freed without dtor after ctor
      '7: ctor-dtor-leak', // c is never freed: left allocated at the end
      '8: ctor-dtor-leak', // second ctor
      '9: ctor-dtor-leak', // d is never freed either
      '11: ctor-dtor-leak', // second dtor
      '14: ctor-dtor-leak', // freed while linked
      '15: ctor-dtor-leak', // f left allocated at the end
    ]);
    const leak = only(r).findings.find((f) => f.message.includes('freed without pagetable_dtor'));
    assert.equal(leak?.related?.[0]?.message.includes('allocated here'), true);
    assert.deepEqual(leak?.fix, { kind: 'ctor-dtor', insert: 'pgtable_dtor b', after: leak?.related?.[0]?.span });
  });

  it('expects a leak when the scenario says so, so it runs clean', () => {
    const r = run(`scenario "expected" {
  kernel {
    pgtable_alloc pte as t
    pgtable_free t nodtor
  }
  expect diagnostic ctor-dtor-leak
}`);
    assert.deepEqual(findingLines(r, 0, true), ['4: information ctor-dtor-leak']);
    assert.ok(only(r).ok);
  });

  it('fails the run when an expected diagnostic does not occur', () => {
    const r = run(`scenario "no leak" {
  kernel { pgtable_alloc pte as t
  pgtable_free t }
  expect diagnostic ctor-dtor-leak
}`);
    assert.deepEqual(findingLines(r, 0, true), ['4: error expectation-failed']);
  });
});
