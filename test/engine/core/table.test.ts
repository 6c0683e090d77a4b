// TablePage.setLeafRun, the bulk writer of a map or a split: the entries it writes, and its
// count of entries that are not zero (what tells an empty PTE table from a used one), whether the
// step logs its changes for the history or not.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EntryArena, TablePage } from '../../../server/src/engine/model/table';

const PTRS = 512;

/** A PTE table made at step `born`. */
function pteTable(born: number): TablePage {
  return new TablePage(1, 4, PTRS, 0x80000000, 'kernel', 4096, 'page', born, true, new EntryArena());
}

/** The entries that are not zero, counted one by one. */
function nonZero(table: TablePage): number {
  let n = 0;
  for (let i = 0; i < PTRS; i++) if (table.lo(i) !== 0 || table.hi(i) !== 0) n++;
  return n;
}

/**
 * Fills entries 100..199 with leaves, then runs over 150..249 with leaves and 190..209 with
 * zeros; `used` is the count the table starts with (entries below 100).
 */
function exercise(table: TablePage, used: number): void {
  table.setLeafRun(100, 100, 0x40000000, 0x1000, 0x63, 0);
  assert.equal(table.used, used + 100);
  // A leaf run across the top of the 32-bit word: the address field carries into `hi`.
  table.setLeafRun(150, 100, 0xfffc0000, 0x1000, 0x63, 0x80000000);
  assert.equal(table.lo(150), (0xfffc0000 | 0x63) >>> 0);
  assert.equal(table.hi(150), 0x80000000);
  assert.equal(table.lo(214), 0x63, 'the 64th page after 0xfffc0000 is at 4 GiB');
  assert.equal(table.hi(214), 0x80000001);
  assert.equal(table.used, used + 150);
  table.setLeafRun(190, 20, 0, 0, 0, 0);
  assert.equal(table.used, used + 130);
  assert.equal(table.used, nonZero(table));
}

describe('TablePage.setLeafRun', () => {
  it('writes the leaves and counts the used entries in a table the step made (nothing to log)', () => {
    exercise(pteTable(5), 0);
  });

  it('writes the same and logs the entries before the step, in a table from an earlier step', () => {
    const table = pteTable(1);
    table.setLeafRun(0, 10, 0x10000000, 0x1000, 0x63, 0);
    table.beginStep(2);
    exercise(table, 10);
    table.endStep();
    // The history gives back the table as it was before step 2: only the first ten entries.
    const before = table.contentAt(1);
    assert.ok(before);
    let used = 0;
    for (let i = 0; i < PTRS; i++) if ((before.e[2 * i] ?? 0) !== 0 || (before.e[2 * i + 1] ?? 0) !== 0) used++;
    assert.equal(used, 10);
    assert.equal(before.used, 10);
  });
});
