// UserMemory's reference counts: a zap puts the pages it unmapped in runs of consecutive
// addresses, and a run must free exactly what the same pages put one by one would, in the same
// order (the next faults take the last freed page first), across PMD-sized blocks too. A THP's
// folio is freed whole.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveProfile } from '../../../server/src/engine/index';
import { Machine } from '../../../server/src/engine/model/machine';
import { UserMemory } from '../../../server/src/engine/process/memory';

function memory(): UserMemory {
  const machine = new Machine({
    profile: resolveProfile({ arch: 'x86_64', levels: 4 }),
    features: new Set(),
    thp: 'never',
    accounting: 'series',
    budget: { tablePages: 1 << 16, entries: 1 << 24, steps: 1 << 20, schedules: 1000, states: 1000 },
    history: false,
  });
  return new UserMemory(machine);
}

/** Allocates `n` pages and returns their addresses. */
function alloc(m: UserMemory, n: number): number[] {
  return Array.from({ length: n }, () => m.allocPage(0));
}

describe('UserMemory.put', () => {
  it('frees a run across two blocks as the same pages put one at a time would', () => {
    const byRun = memory();
    const single = memory();
    const pages = alloc(byRun, 1100);
    assert.deepEqual(alloc(single, 1100), pages);
    // One page of the run is mapped twice: it keeps a reference and is not freed.
    byRun.get(pages[600] as number);
    single.get(pages[600] as number);
    byRun.put(pages[300] as number, 500);
    for (let k = 300; k < 800; k++) single.put(pages[k] as number);
    assert.equal(byRun.refs(pages[600] as number), 1);
    assert.equal(byRun.refs(pages[299] as number), 1);
    assert.equal(byRun.refs(pages[300] as number), 0);
    assert.equal(byRun.refs(pages[799] as number), 0);
    // The next faults get the freed pages in the same order: the last one freed first.
    const again = alloc(byRun, 510);
    assert.deepEqual(again, alloc(single, 510));
    assert.equal(again[0], pages[799]);
    assert.equal(again[498], pages[300], 'page 600, still mapped, was not freed');
  });

  it('reuses the block of a THP folio freed whole', () => {
    const m = memory();
    const huge = m.allocHuge(0);
    m.putFolio(huge);
    assert.equal(m.refs(huge), 0);
    assert.equal(m.allocHuge(0), huge);
    // Split into pages and put one run at a time, the same pages go to the freed list instead.
    const pages = m.allocHuge(0);
    m.put(pages, 512);
    assert.equal(m.allocPage(0), pages + 511 * 4096);
  });
});
