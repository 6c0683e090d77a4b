// The server's store of runs: which run serves a version of a document, and which runs it
// gives back (their table memory goes to later runs) once nothing can read them any more.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DocumentStore, type RememberedRun } from '../../server/src/lsp/documents';
import type { TimedRun } from '../../server/src/lsp/run';
import { only, run } from '../engine/support';

const URI = 'file:///work/store.ptscn';
const TEXT = `scenario "one table" {
  kernel {
    map 0xffff888000000000 size 2M phys 0 prot rw leaf=pte
  }
}`;

function timedRun(): TimedRun {
  return { run: only(run(TEXT)), ms: 1, isCancelled: false };
}

function remembered(timed: TimedRun): RememberedRun {
  return { start: 0, starts: [], timed };
}

const isReleased = (timed: TimedRun): boolean => timed.run?.state.isReleased ?? false;

describe('the store of runs', () => {
  it('keeps the first run stored for a version: a second run of the same text is not swapped in', () => {
    const store = new DocumentStore();
    const first = timedRun();
    const second = timedRun();
    store.setRun(URI, 1, 0, first);
    // An analysis may hold `first` until it remembers it; a request that ran the same text
    // meanwhile must not replace it.
    store.setRun(URI, 1, 0, second);
    assert.equal(store.getRun(URI, 1, 0), first);
    store.remember(URI, new Map([['k', remembered(first)]]));
    store.setRun(URI, 2, 0, timedRun());
    assert.ok(!isReleased(first), 'remembered for the next versions');
  });

  it('releases a run once neither the current version nor the remembered runs hold it', () => {
    const store = new DocumentStore();
    const v1 = timedRun();
    store.setRun(URI, 1, 0, v1);
    store.remember(URI, new Map([['old', remembered(v1)]]));
    const v2 = timedRun();
    store.setRun(URI, 2, 0, v2);
    assert.ok(!isReleased(v1), 'still remembered');
    const moved = new Map([['old', remembered(v1)]]);
    store.remember(URI, moved);
    assert.ok(!isReleased(v1), 'remembered again by the new memo');
    assert.ok(!isReleased(v2), 'serves version 2');

    // A moved scenario run again replaces the remembered one.
    const again = timedRun();
    store.rememberRun(URI, moved, 'old', remembered(again));
    assert.ok(isReleased(v1));
    // Only into the memo that is current: a stale analysis's memo changes nothing.
    const stale = timedRun();
    store.rememberRun(URI, new Map([['old', remembered(again)]]), 'old', remembered(stale));
    assert.ok(!isReleased(again));

    store.delete(URI);
    assert.ok(isReleased(v2) && isReleased(again));
    assert.equal(store.getRun(URI, 2, 0), undefined);
  });

  it('releases every run when the run settings change', () => {
    const store = new DocumentStore();
    const runs = [timedRun(), timedRun()];
    store.setRun(URI, 1, 0, runs[0]!);
    store.setRun(`${URI}.2`, 1, 0, runs[1]!);
    store.remember(`${URI}.2`, new Map([['k', remembered(runs[1]!)]]));
    store.forgetRuns();
    assert.ok(runs.every(isReleased));
  });
});
