// TablePage.setLeafRun, the bulk writer of a map or a split: the entries it writes, and its
// count of entries that are not zero (what tells an empty PTE table from a used one), whether the
// step logs its changes for the history or not; and the history log, which gives back the table
// as it was after any earlier step.

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
    // The history gives back the table as it was before step 2: only the first ten entries.
    const before = table.contentAt(1);
    assert.ok(before);
    let used = 0;
    for (let i = 0; i < PTRS; i++) if ((before.e[2 * i] ?? 0) !== 0 || (before.e[2 * i + 1] ?? 0) !== 0) used++;
    assert.equal(used, 10);
    assert.equal(before.used, 10);
  });
});

/** A PMD table made at step `born` (it keeps child links). */
function pmdTable(born: number): TablePage {
  return new TablePage(2, 3, PTRS, 0x80001000, 'kernel', 4096, 'page', born, false, new EntryArena());
}

describe('TablePage history log', () => {
  it('gives back every earlier step when a step writes one entry twice (zap, then a guard marker)', () => {
    const table = pteTable(0);
    table.set(5, 0x1063, 0);
    table.beginStep(1);
    table.set(5, 0, 0);
    table.set(5, 0x400, 0x80000000);
    table.beginStep(2);
    table.set(5, 0x2063, 0);
    table.set(6, 0x3063, 0);
    assert.deepEqual(table.entryAt(5, 0), [0x1063, 0]);
    assert.deepEqual(table.entryAt(5, 1), [0x400, 0x80000000]);
    assert.deepEqual(table.entryAt(5, 2), [0x2063, 0]);
    assert.deepEqual(table.entryAt(6, 1), [0, 0]);
    const atOne = table.contentAt(1);
    assert.ok(atOne);
    assert.deepEqual([atOne.e[10], atOne.e[11], atOne.e[12], atOne.used], [0x400, 0x80000000, 0, 1]);
    // Step 1 logged entry 5 once, with its value before the step.
    const changes = table.changesIn(1);
    assert.ok(changes && changes !== 'all');
    assert.deepEqual(changes.log.slice(changes.from, changes.to), [5, 0x1063, 0]);
    const later = table.changesIn(2);
    assert.ok(later && later !== 'all');
    assert.deepEqual(later.log.slice(later.from, later.to), [5, 0x400, 0x80000000, 6, 0, 0]);
    assert.equal(table.changesIn(3), undefined);
  });

  it('takes one copy of the content before a step that announces a zap of most of the table', () => {
    const table = pteTable(0);
    for (let i = 0; i < PTRS; i++) table.set(i, 0x1000 * (i + 1) + 0x63, 0);
    table.beginStep(1);
    table.set(3, 0, 0);
    table.prepareWrites(PTRS);
    for (let i = 0; i < PTRS; i++) table.set(i, 0, 0);
    assert.equal(table.changesIn(1), 'all');
    const before = table.contentAt(0);
    assert.ok(before);
    assert.equal(before.used, PTRS);
    assert.equal(before.e[6], 0x4063, 'entry 3, written before the copy, has its value before the step');
    assert.equal(table.contentAt(1)?.used, 0);
    // A small write in the next step is logged again.
    table.beginStep(2);
    table.set(7, 0x9063, 0);
    assert.deepEqual(table.entryAt(7, 1), [0, 0]);
    assert.deepEqual(table.entryAt(7, 0), [0x8063, 0]);
  });

  it('gives back child links as they were after each step', () => {
    const table = pmdTable(0);
    const child = pteTable(0);
    const other = pteTable(0);
    table.set(2, 0x5003, 0);
    table.setChild(2, child);
    table.beginStep(1);
    table.setChild(2, undefined);
    table.set(2, 0, 0);
    table.beginStep(2);
    table.set(2, 0x6003, 0);
    table.setChild(2, other);
    assert.equal(table.contentAt(0)?.children?.[2], child);
    assert.equal(table.contentAt(1)?.children?.[2], undefined);
    assert.equal(table.contentAt(2)?.children?.[2], other);
  });
});
