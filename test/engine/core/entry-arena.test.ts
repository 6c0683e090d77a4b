// Table memory of finished runs is reused: a run's slabs go to a pool when its owner releases
// the run, or once no table of the run is reachable, and the next run's tables, cut from those
// slabs, start out empty.

import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, it } from 'node:test';
import { pooledSlabCount } from '../../../server/src/engine/model/table';
import { only, run } from '../support';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** 512 PTE tables: 2 MiB of entries, every entry of the PMD table and of each PTE table set. */
const BIG = `scenario "1 GiB of 4K pages" {
  kernel {
    map 0xffff888000000000 size 1G phys 0 prot rw leaf=pte
    expect tables(kernel, pte) == 512
  }
}`;

/** The same tables at the start of the run, but only one PMD entry and one PTE table set. */
const SMALL = `scenario "2 MiB of 4K pages" {
  kernel {
    map 0xffff888000000000 size 2M phys 0 prot rw leaf=pte
    expect tables(kernel, pte) == 1
    ptdump 0xffff888000000000 size 1G
  }
}`;

/** Runs a scenario and keeps only what a user reads of it, so its tables become garbage. */
function outputsOf(text: string): string[] {
  const r = only(run(text));
  assert.ok(r.ok, r.findings.map((f) => f.message).join('; '));
  return r.outputs.map((o) => o.text);
}

async function collectUntil(done: () => boolean): Promise<void> {
  for (let tries = 0; tries < 50 && !done(); tries++) {
    gc();
    // FinalizationRegistry callbacks run as tasks of their own after the collection.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('table memory of collected runs', () => {
  it('goes back to a pool, and tables cut from it start empty', async () => {
    const fresh = outputsOf(SMALL);
    outputsOf(BIG);
    // Both runs' slabs: the big one's three (514 tables of 4 KiB) and the small one's.
    await collectUntil(() => pooledSlabCount() >= 4);
    const pooled = pooledSlabCount();
    assert.ok(pooled >= 4, `the runs' slabs are pooled once they are collected (pooled: ${pooled})`);

    // Each small run takes one slab from the pool and puts its tables where the big run's were:
    // had they kept those entries, the ptdump would show other mappings than a fresh run's.
    for (let k = 0; k < pooled; k++) assert.deepEqual(outputsOf(SMALL), fresh, `run ${k + 1} on a pooled slab`);
    assert.ok(pooledSlabCount() < pooled, 'the runs took their slabs from the pool');
  });

  it('goes back to the pool at once when the run is released, and the run can no longer be read', () => {
    const fresh = outputsOf(SMALL);
    const big = only(run(BIG));
    const before = pooledSlabCount();
    big.state.release();
    // 514 tables of 4 KiB: three 1 MiB slabs (the pool keeps at most 32).
    assert.equal(pooledSlabCount(), Math.min(32, before + 3));
    assert.ok(big.state.isReleased);
    // Its tables now share memory with the next runs: reading them is refused, not shown.
    assert.throws(() => big.state.ptdumpAt(0), /released/);
    assert.throws(() => big.state.steps(), /released/);
    big.state.release();
    assert.equal(pooledSlabCount(), Math.min(32, before + 3), 'a second release gives nothing back twice');

    // The next run is cut from those slabs (the pool hands out the last slab given back) and
    // starts out empty: its ptdump of the whole gigabyte shows none of the big run's tables.
    assert.deepEqual(outputsOf(SMALL), fresh);
  });
});
