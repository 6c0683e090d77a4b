// The walker itself (walk.ts): walks reuse their objects, so a walk started from a callback, a
// callback that throws, and the walks after both must each see only their own range and state.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveProfile } from '../../../server/src/engine/index';
import { Machine } from '../../../server/src/engine/model/machine';
import { walkRange, type WalkOps } from '../../../server/src/engine/walk';

const PAGE = 0x1000n;
const BASE = 0x7f0000000000n;

function machine(arch: Parameters<typeof resolveProfile>[0] = { arch: 'x86_64', levels: 4 }): Machine {
  return new Machine({
    profile: resolveProfile(arch),
    features: new Set(),
    thp: 'never',
    accounting: 'series',
    budget: { tablePages: 1 << 16, entries: 1 << 24, steps: 1 << 20, schedules: 1000, states: 1000 },
    history: false,
  });
}

interface Seen {
  ptes: bigint[];
}

/** install_pte writes a present PTE (the page's own address) into every empty slot. */
const installOps: WalkOps<Seen> = {
  install_pte(walk, table, index) {
    const va = walk.pteAddress(index);
    walk.state.ptes.push(va);
    walk.machine.writeEntry(table, index, (Number(va & 0xfffff000n) | 1) >>> 0, Number(va >> 32n));
    return 0;
  },
};

const readOps: WalkOps<Seen> = {
  pte_entry(walk, table, index) {
    if (!table.isNone(index)) walk.state.ptes.push(walk.pteAddress(index));
    return 0;
  },
};

describe('the page-table walker', () => {
  it('allocates the missing tables for install_pte and visits exactly the range, page by page', () => {
    const m = machine();
    const space = m.kernel;
    const installed: Seen = { ptes: [] };
    assert.equal(walkRange(m, space, BASE + 510n * PAGE, BASE + 514n * PAGE, installOps, installed, { mode: 'user' }), 0);
    // The range crosses a PMD entry: two PTE tables, under one PMD, PUD and PGD entry each.
    assert.deepEqual(installed.ptes, [510n, 511n, 512n, 513n].map((k) => BASE + k * PAGE));
    const read: Seen = { ptes: [] };
    walkRange(m, space, BASE, BASE + 1024n * PAGE, readOps, read, { mode: 'user' });
    assert.deepEqual(read.ptes, installed.ptes);
  });

  it('keeps a walk started from a callback apart from the walk that started it', () => {
    const m = machine();
    const space = m.kernel;
    walkRange(m, space, BASE, BASE + 8n * PAGE, installOps, { ptes: [] }, { mode: 'user' });
    const inner: Seen[] = [];
    const nestingOps: WalkOps<Seen> = {
      pte_entry(walk, table, index) {
        if (table.isNone(index)) return 0;
        const va = walk.pteAddress(index);
        // Each PTE of the outer walk walks the two pages after it.
        const seen: Seen = { ptes: [] };
        walkRange(m, space, va + PAGE, va + 3n * PAGE, readOps, seen, { mode: 'user' });
        inner.push(seen);
        walk.state.ptes.push(va);
        return 0;
      },
    };
    const outer: Seen = { ptes: [] };
    walkRange(m, space, BASE, BASE + 8n * PAGE, nestingOps, outer, { mode: 'user' });
    const pages = [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n].map((k) => BASE + k * PAGE);
    assert.deepEqual(outer.ptes, pages, 'the outer walk went on from where it was, with its own state');
    assert.deepEqual(
      inner.map((s) => s.ptes),
      pages.map((va) => [va + PAGE, va + 2n * PAGE].filter((x) => x < BASE + 8n * PAGE)),
    );
  });

  it('passes a callback exception to the caller and walks normally afterwards', () => {
    const m = machine();
    const space = m.kernel;
    walkRange(m, space, BASE, BASE + 4n * PAGE, installOps, { ptes: [] }, { mode: 'user' });
    const throwing: WalkOps<Seen> = {
      pte_entry() {
        throw new Error('callback failed');
      },
    };
    assert.throws(() => walkRange(m, space, BASE, BASE + 4n * PAGE, throwing, { ptes: [] }, { mode: 'user' }), /callback failed/);
    const read: Seen = { ptes: [] };
    assert.equal(walkRange(m, space, BASE + PAGE, BASE + 3n * PAGE, readOps, read, { mode: 'user' }), 0);
    assert.deepEqual(read.ptes, [BASE + PAGE, BASE + 2n * PAGE]);
  });

  it('gives a pmd_entry callback the PTE indices of its part of the range (pte_offset of its start and of its end - 1)', () => {
    const m = machine();
    const space = m.kernel;
    const PMD = 0x200000n;
    walkRange(m, space, BASE, BASE + 2n * PMD, installOps, { ptes: [] }, { mode: 'user' });
    const spans: [bigint, bigint, number, number][] = [];
    const pmdOps: WalkOps<Seen> = {
      pmd_entry(walk, _table, _index, start, end) {
        spans.push([start, end, walk.firstPte, walk.lastPte]);
        return 0;
      },
    };
    // Unaligned ends: the first page is entered 100 bytes in, the last one byte in.
    const start = BASE + 3n * PAGE + 100n;
    const end = BASE + PMD + 5n * PAGE + 1n;
    walkRange(m, space, start, end, pmdOps, { ptes: [] }, { mode: 'user' });
    assert.deepEqual(spans, [
      [start, BASE + PMD, 3, 511],
      [BASE + PMD, end, 0, 5],
    ]);
    // A page-aligned end stops at the page before it.
    spans.length = 0;
    walkRange(m, space, BASE + PMD + 2n * PAGE, BASE + PMD + 4n * PAGE, pmdOps, { ptes: [] }, { mode: 'user' });
    assert.deepEqual(spans, [[BASE + PMD + 2n * PAGE, BASE + PMD + 4n * PAGE, 2, 3]]);
  });

  it("rounds a range to each machine's own pages, walk after walk over the same range", () => {
    // Walks reuse their objects and keep the last range's rounded ends: a range walked under
    // 4K pages and then under 64K pages must be rounded again.
    const start = 0x100000000n + 100n;
    const end = 0x100000000n + 0x5000n + 1n;
    const pages = (m: Machine): bigint[] => {
      const seen: Seen = { ptes: [] };
      walkRange(m, m.kernel, start, end, installOps, seen, { mode: 'user' });
      return seen.ptes;
    };
    // The first page is named by the range's own start (Walk.address).
    const fourK = [start, ...[1n, 2n, 3n, 4n, 5n].map((k) => 0x100000000n + k * PAGE)];
    assert.deepEqual(pages(machine()), fourK);
    assert.deepEqual(pages(machine({ arch: 'arm64', granuleKiB: 64, va: 42 })), [start]);
    assert.deepEqual(pages(machine()), fourK);
  });

  it('returns a callback stop value and -EINVAL for an empty range', () => {
    const m = machine();
    const space = m.kernel;
    walkRange(m, space, BASE, BASE + 4n * PAGE, installOps, { ptes: [] }, { mode: 'user' });
    const stopAtSecond: WalkOps<Seen> = {
      pte_entry(walk, _table, index) {
        walk.state.ptes.push(walk.pteAddress(index));
        return walk.state.ptes.length === 2 ? 7 : 0;
      },
    };
    const seen: Seen = { ptes: [] };
    assert.equal(walkRange(m, space, BASE, BASE + 4n * PAGE, stopAtSecond, seen, { mode: 'user' }), 7);
    assert.equal(seen.ptes.length, 2);
    assert.equal(walkRange(m, space, BASE, BASE, readOps, { ptes: [] }, { mode: 'user' }), -22);
  });

  it('compares and tells apart range ends past 2^53, where two addresses can share one double', () => {
    // 0xffff_8880_0000_0001 and …_0002 are both the double 0xffff_8880_0000_0000: the walker
    // must compare the addresses themselves there, and not take the second range for the first.
    const m = machine();
    const space = m.kernel;
    const top = 0xffff_8880_0000_0000n;
    const first: Seen = { ptes: [] };
    assert.equal(walkRange(m, space, top + 1n, top + 2n, installOps, first, { mode: 'user' }), 0);
    assert.deepEqual(first.ptes, [top + 1n]);
    const second: Seen = { ptes: [] };
    assert.equal(walkRange(m, space, top + 2n, top + 3n, readOps, second, { mode: 'user' }), 0);
    assert.deepEqual(second.ptes, [top + 2n], 'the second range is named by its own start');
    assert.equal(walkRange(m, space, top + 2n, top + 1n, readOps, { ptes: [] }, { mode: 'user' }), -22);
    assert.equal(walkRange(m, space, top + 2n, top + 2n, readOps, { ptes: [] }, { mode: 'user' }), -22);
    // A range reaching the top of the address space ends at 2^64.
    const last: Seen = { ptes: [] };
    assert.equal(walkRange(m, space, (1n << 64n) - PAGE, 1n << 64n, readOps, last, { mode: 'user' }), 0);
    assert.deepEqual(last.ptes, []);
  });

  it('walks with the right callbacks when walks alternate between ops tables', () => {
    // A guard install alternates its own ops with the zap's; each walk keeps the plan of the
    // ops it was given.
    const m = machine();
    const space = m.kernel;
    const counted = { ptes: [] as bigint[] };
    const countOps: WalkOps<Seen> = {
      pte_entry(walk, table, index) {
        if (!table.isNone(index)) walk.state.ptes.push(-walk.pteAddress(index));
        return 0;
      },
    };
    for (let k = 0n; k < 3n; k++) {
      walkRange(m, space, BASE + k * PAGE, BASE + (k + 1n) * PAGE, installOps, { ptes: [] }, { mode: 'user' });
      walkRange(m, space, BASE + k * PAGE, BASE + (k + 1n) * PAGE, readOps, counted, { mode: 'user' });
      walkRange(m, space, BASE + k * PAGE, BASE + (k + 1n) * PAGE, countOps, counted, { mode: 'user' });
    }
    assert.deepEqual(counted.ptes, [0n, 1n, 2n].flatMap((k) => [BASE + k * PAGE, -(BASE + k * PAGE)]));
  });
});
