// The race explorer (spec §9, issue 7): verdicts of the seed-004 variants, each race kind, the
// shortest schedule, `expect race`, budgets, cancellation and stable counts.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findingLines, lineOf, only, run, type TextRun } from '../support';
import { MachineKeys } from '../../../server/src/engine/explore/undo';
import { capture, enumerate, reducedFinals } from './brute';
import { shorter } from '../../../server/src/engine/explore/search';

// Every machine id handed out in these tests is checked against the exact machine content.
MachineKeys.verify = true;

const HEAD = `  arch arm64 granule=4k va=48
  kernel {
    vmalloc small size 4K
    vfree small
  }`;

/** The seed-004 model: ptdump (with or without the static key) against one freeing helper. */
function seed004(helper: 'pmd_free_pte_page' | 'pud_free_pmd_page', variant: string, options: { key?: boolean; walk?: string; expect?: string } = {}): string {
  const key = options.key ?? variant === 'static_key';
  const walk = options.walk ?? 'walk kernel';
  return `scenario "seed 004" {
${HEAD}
  concurrent {
    thread ptdump {
${key ? '      static_branch_enable ptdump_lock\n' : ''}      lock init_mm write
      ${walk}
      unlock init_mm write
${key ? '      static_branch_disable ptdump_lock\n' : ''}    }
    thread vmap {
      ${helper} small variant=${variant}
    }
  }
${options.expect ? `  expect race ${options.expect}\n` : ''}}
`;
}

function races(result: TextRun): string[] {
  return only(result).state.explorations.flatMap((e) => e.races);
}

function raceFinding(result: TextRun, kind: string) {
  const f = only(result).findings.find((x) => x.code === 'race' && x.message.startsWith(kind));
  assert.ok(f, `expected a ${kind} race finding`);
  return f;
}

function lineText(text: string, line: number): string {
  return (text.split('\n')[line - 1] ?? '').trim();
}

describe('seed 004: ptdump against huge vmap freeing', () => {
  for (const helper of ['pmd_free_pte_page', 'pud_free_pmd_page'] as const) {
    it(`${helper} unpatched: a use-after-free at the walk, with its schedule`, () => {
      const result = run(seed004(helper, 'unpatched'));
      assert.deepEqual(races(result), ['use_after_free']);
      const f = raceFinding(result, 'use_after_free');
      assert.equal(f.severity, 'error');
      assert.equal(lineText(result.text, lineOf(result.text, f.span.start)), 'walk kernel');
      assert.match(f.message, /reads entry \d+ of the (PTE|PMD) table at 0x[0-9a-f]+, which has already been freed/);
      // The schedule names both threads, ends at the walk, and the free comes before it.
      const related = f.related ?? [];
      assert.ok(related.some((r) => r.message.includes('vmap:') && /frees the (PTE|PMD) table/.test(r.message)));
      assert.match(related[related.length - 1]?.message ?? '', /ptdump: load pte\[0\]|ptdump: load pmd/);
      assert.equal(only(result).ok, false);
    });

    for (const variant of ['static_key', 'trylock']) {
      it(`${helper} ${variant}: proven free of races`, () => {
        const result = run(seed004(helper, variant, { expect: 'none' }));
        assert.deepEqual(races(result), []);
        assert.deepEqual(findingLines(result), []);
        const e = only(result).state.explorations[0];
        assert.ok(e?.complete);
        assert.match(e?.summary ?? '', /^no race in \d+ states, \d+ schedules$/);
      });
    }
  }

  it('static_key: a walker that does not enable the key still races', () => {
    const result = run(seed004('pmd_free_pte_page', 'static_key', { key: false }));
    assert.deepEqual(races(result), ['use_after_free']);
  });

  it('the default variant is static_key', () => {
    const text = seed004('pmd_free_pte_page', 'static_key', { expect: 'none' }).replace(' variant=static_key', '');
    assert.deepEqual(races(run(text)), []);
  });

  it('leaves the machine in the canonical schedule: threads in order', () => {
    const text = seed004('pud_free_pmd_page', 'trylock', { expect: 'none' }).replace(
      '  expect race none',
      '  expect race none\n  expect tables(kernel, pmd) == 0\n  expect tables(kernel, pte) == 0\n  expect tlb_flushes == 3',
    );
    const result = run(text);
    assert.deepEqual(findingLines(result), []);
  });
});

describe('lost_update: the seed-003 cont-bit race', () => {
  const text = (locked: boolean): string => `scenario "cont" {
  arch arm64 granule=4k va=48
  kernel {
    map 0xffff000000000000 size 64K phys 0x80000000 prot rw
  }
  concurrent {
    thread split {
${locked ? '      lock init_mm write\n' : ''}      rmw pte 0xffff000000001000 clear PTE_CONT
${locked ? '      unlock init_mm write\n' : ''}    }
    thread set_ro {
${locked ? '      lock init_mm write\n' : ''}      rmw pte 0xffff000000001000 set PTE_RDONLY clear PTE_WRITE
${locked ? '      unlock init_mm write\n' : ''}    }
  }
}
`;

  it('finds the lost update at the write that loses the other store', () => {
    const result = run(text(false));
    assert.deepEqual(races(result), ['lost_update']);
    const f = raceFinding(result, 'lost_update');
    assert.match(lineText(result.text, lineOf(result.text, f.span.start)), /^rmw pte/);
    assert.match(f.message, /writes back pte\[1\] \(0xffff000000001000\) from the value it read before (split|set_ro) stored to it/);
    // Shortest: read, read, write, write.
    assert.equal(f.related?.length, 4);
  });

  it('a lock around both updates removes it', () => {
    const result = run(text(true));
    assert.deepEqual(races(result), []);
  });

  it('the canonical schedule applies both updates', () => {
    const result = run(text(false).replace(/\}\n$/, '  kernel {\n    expect prot(0xffff000000001000) == r\n    expect leaf(0xffff000000001000) == pte\n  }\n}\n'));
    assert.deepEqual(findingLines(result).filter((l) => !l.endsWith('race')), []);
  });
});

describe('deadlock and rw-semaphore semantics', () => {
  it('a nested read lock behind a queued writer deadlocks (the 2026 combination)', () => {
    const result = run(`scenario "deadlock" {
${HEAD}
  concurrent {
    thread ptdump {
      static_branch_enable ptdump_lock
      lock init_mm write
      walk kernel small size 2M
      unlock init_mm write
    }
    thread vmap {
      lock init_mm read
      pmd_free_pte_page small variant=static_key
      unlock init_mm read
    }
  }
  expect race deadlock
}
`);
    assert.deepEqual(races(result), ['deadlock']);
    const f = raceFinding(result, 'deadlock');
    assert.equal(f.severity, 'information');
    assert.equal(f.expected, true);
    assert.match(f.message, /init_mm is held by vmap \(read\) and waited for by ptdump \(write\), vmap \(read\)/);
    assert.match(lineText(result.text, lineOf(result.text, f.span.start)), /^pmd_free_pte_page/);
    assert.ok(only(result).ok);
  });

  it('taking a write lock twice deadlocks the thread itself', () => {
    const result = run(`scenario "self" {
  concurrent {
    thread a {
      lock init_mm write
      lock init_mm write
    }
  }
  expect race deadlock
}
`);
    assert.deepEqual(races(result), ['deadlock']);
  });

  it('readers share the lock; a writer excludes them', () => {
    const result = run(`scenario "share" {
  concurrent {
    thread a {
      lock init_mm read
      unlock init_mm read
    }
    thread b {
      lock init_mm read
      unlock init_mm read
    }
    thread c {
      lock init_mm write
      unlock init_mm write
    }
  }
  expect race none
}
`);
    assert.deepEqual(findingLines(result), []);
  });

  it('an unlock of a lock not held is a statement-failed warning', () => {
    const result = run(`scenario "misuse" {
  concurrent {
    thread a {
      unlock init_mm read
    }
  }
}
`);
    assert.deepEqual(findingLines(result, 0, true), ['4: warning statement-failed']);
  });
});

describe('static branches', () => {
  const text = (setter: boolean): string => `scenario "keys" {
  concurrent {
${setter ? '    thread setter {\n      static_branch_enable k\n    }\n' : ''}    thread tester {
      if k {
        lock init_mm write
        unlock init_mm write
      } else {
        lock init_mm read
        unlock init_mm read
      }
    }
    thread other {
      lock init_mm read
      lock init_mm read
      unlock init_mm read
      unlock init_mm read
    }
  }
}
`;

  it('if KEY takes the branch only in schedules where the key is on', () => {
    // A writer queued between other's two read locks blocks the second one: only the write
    // branch can do that, so the deadlock needs the key to be seen on.
    assert.deepEqual(races(run(text(true))), ['deadlock']);
    assert.deepEqual(races(run(text(false))), []);
  });
});

describe('expect race', () => {
  it('expect race none against a race: expectation-failed, and the race stays an error', () => {
    const result = run(seed004('pmd_free_pte_page', 'unpatched', { expect: 'none' }));
    const lines = findingLines(result, 0, true);
    assert.ok(lines.some((l) => l.endsWith('error race')));
    assert.ok(lines.some((l) => l.endsWith('error expectation-failed')));
  });

  it('expect race KIND that occurs: the race becomes information and the run passes', () => {
    const result = run(seed004('pmd_free_pte_page', 'unpatched', { expect: 'use_after_free' }));
    assert.deepEqual(findingLines(result, 0, true).map((l) => l.split(': ')[1]), ['information race']);
    assert.ok(only(result).ok);
  });

  it('expect race KIND that does not occur: expectation-failed', () => {
    const result = run(seed004('pmd_free_pte_page', 'trylock', { expect: 'use_after_free' }));
    const f = only(result).findings.find((x) => x.code === 'expectation-failed');
    assert.match(f?.message ?? '', /expected a use_after_free race, but none is reachable in \d+ states/);
  });

  it('expect race of another kind leaves the race an error', () => {
    const result = run(seed004('pmd_free_pte_page', 'unpatched', { expect: 'lost_update' }));
    const lines = findingLines(result, 0, true).map((l) => l.split(': ')[1]);
    assert.deepEqual(lines.sort(), ['error expectation-failed', 'error race']);
  });
});

/** A walk whose loads commute with two read-modify-writes that lose an update. */
const BYSTANDER = `scenario "bystander" {
  arch arm64 granule=4k va=48
  kernel {
    map 0xffff000000000000 size 64K phys 0x80000000 prot rw
  }
  concurrent {
    thread ptdump {
      walk kernel 0xffff000040000000 size 8K
    }
    thread split {
      rmw pte 0xffff000000001000 clear PTE_CONT
    }
    thread set_ro {
      rmw pte 0xffff000000001000 set PTE_RDONLY clear PTE_WRITE
    }
  }
}
`;

describe('the reduction keeps every outcome, and the schedule is the shortest', () => {
  const small = [
    ['pmd unpatched', seed004('pmd_free_pte_page', 'unpatched', { walk: 'walk kernel small size 4K' })],
    ['pmd static_key', seed004('pmd_free_pte_page', 'static_key', { walk: 'walk kernel small size 4K' })],
    ['pud unpatched', seed004('pud_free_pmd_page', 'unpatched', { walk: 'walk kernel small size 4K' })],
    ['pud static_key', seed004('pud_free_pmd_page', 'static_key', { walk: 'walk kernel small size 4K' })],
    ['pud trylock', seed004('pud_free_pmd_page', 'trylock', { walk: 'walk kernel small size 4K' })],
    // Loads in the middle of the table a helper frees go alone (only the first and the last load
    // of each table branch with the free), and a PMD entry read as none goes alone against the
    // PUD helper, which clears only the PMD entries that are present.
    ['pmd unpatched, a walk through the PTE table it frees', seed004('pmd_free_pte_page', 'unpatched', { walk: 'walk kernel small size 20K' })],
    ['pud unpatched, a walk through the PTE table it frees', seed004('pud_free_pmd_page', 'unpatched', { walk: 'walk kernel small size 20K' })],
    ['pud unpatched, a walk through none PMD entries of the table it frees', seed004('pud_free_pmd_page', 'unpatched', { walk: 'walk kernel small + 2M size 8M' })],
    ['pud static_key, a walk through none PMD entries of the table it frees', seed004('pud_free_pmd_page', 'static_key', { walk: 'walk kernel small + 2M size 8M' })],
    // The shortest schedule is searched from the end of the walk's loads that commute with
    // everything the helper may do (here the PGD entry and a none PUD entry).
    ['pmd unpatched, a walk that starts below the PMD table', seed004('pmd_free_pte_page', 'unpatched', { walk: 'walk kernel small - 4M size 4M + 12K' })],
    ['pud unpatched, a walk that starts below the PMD table', seed004('pud_free_pmd_page', 'unpatched', { walk: 'walk kernel small - 4M size 4M + 12K' })],
    [
      // Inside the first PTE table the walk has loaded pmd[0] but not yet pmd[1]: the helper's
      // pmd_clear of pmd[1] must still wait for it, or the use-after-free is lost.
      'a walk across two PTE tables, the second one freed',
      `scenario "two" {
  arch arm64 granule=4k va=48
  kernel {
    map 0xffff8000801ff000 size 8K phys 0x80000000 prot rw leaf=pte
  }
  concurrent {
    thread ptdump {
      walk kernel 0xffff8000801ff000 size 8K
    }
    thread vmap {
      pmd_free_pte_page 0xffff800080200000 variant=unpatched
    }
  }
}
`,
    ],
    [
      'three threads with rmw',
      `scenario "three" {
  arch arm64 granule=4k va=48
  kernel {
    map 0xffff000000000000 size 64K phys 0x80000000 prot rw
  }
  concurrent {
    thread a {
      rmw pte 0xffff000000000000 clear PTE_CONT
      rmw pte 0xffff000000001000 clear PTE_CONT
    }
    thread b {
      load pmd 0xffff000000001000
      rmw pte 0xffff000000001000 set PTE_RDONLY
    }
    thread c {
      lock init_mm write
      clear pte 0xffff000000002000
      unlock init_mm write
    }
  }
}
`,
    ],
    [
      // The walk's loads commute with both updates: the shortest lost update leaves it out.
      'a walk that takes no part in a lost update',
      BYSTANDER,
    ],
    [
      'deadlock with three threads',
      `scenario "dl" {
  concurrent {
    thread a {
      lock init_mm read
      static_branch_enable k
      lock init_mm read
      unlock init_mm read
      unlock init_mm read
    }
    thread b {
      lock init_mm write
      unlock init_mm write
    }
    thread c {
      if k {
        lock init_mm read
        unlock init_mm read
      }
    }
  }
}
`,
    ],
  ] as const;

  for (const [name, text] of small) {
    it(name, () => {
      let result: TextRun | undefined;
      const { brute, reduced } = capture(
        () => {
          result = run(text);
        },
        (captured) => ({ brute: enumerate(captured), reduced: reducedFinals(captured) }),
      );
      assert.deepEqual([...reduced.finals].sort(), [...brute.finals].sort(), 'the same final states');
      assert.ok(reduced.states <= 1 + brute.schedules * 20);
      const scenario = only(result as TextRun);
      const found = scenario.state.explorations[0]?.races ?? [];
      assert.deepEqual([...found].sort(), [...brute.shortest.keys()].sort(), 'the same kinds of violation');
      for (const cx of scenario.state.explorations[0]?.counterexamples ?? []) {
        assert.equal(cx.steps.length, brute.shortest.get(cx.kind as never), `${cx.kind}: no shorter schedule exists`);
        assert.equal(cx.shortest, true);
      }
    });
  }

  it('the shortest schedule search starts after the loads that commute with everything, and still finds schedules without them', () => {
    // The walk's first load commutes with both updates: the search starts after it, and must
    // still find the lost update in 4 steps, none of them the walk's, with room for more.
    const found = capture(
      () => void run(BYSTANDER),
      ({ world, threads, s0 }) => shorter(world, threads, s0, 'lost_update', 8, 10_000),
    );
    assert.equal(found.proven, true);
    assert.equal(found.path?.length, 4);
    assert.ok(!found.path?.includes(0), 'the walk takes no step');
  });
});

describe('the counterexample for the inspector', () => {
  it('has every step with thread, statement, action, and the tables before and after', () => {
    const result = run(seed004('pmd_free_pte_page', 'unpatched', { walk: 'walk kernel small size 4K', expect: 'use_after_free' }));
    const cx = only(result).state.explorations[0]?.counterexamples?.[0];
    assert.ok(cx);
    assert.equal(cx.kind, 'use_after_free');
    const steps = cx.steps.map((s) => `${s.thread}: ${lineText(result.text, lineOf(result.text, s.span.start))}`);
    assert.equal(steps.length, 9);
    assert.equal(steps[0], 'ptdump: lock init_mm write');
    assert.equal(steps[8], 'ptdump: walk kernel small size 4K');
    assert.equal(steps.filter((s) => s === 'ptdump: walk kernel small size 4K').length, 4);
    assert.equal(steps.filter((s) => s === 'vmap: pmd_free_pte_page small variant=unpatched').length, 4);
    const clear = cx.steps.find((s) => s.action.startsWith('pmd_clear'));
    assert.equal(clear?.changes.length, 1);
    assert.equal(clear?.changes[0]?.after, '0x0000000000000000');
    const free = cx.steps.find((s) => s.freed.length > 0);
    assert.match(free?.action ?? '', /^pte_free_kernel: frees the PTE table/);
    assert.match(cx.steps[8]?.action ?? '', /^load pte\[0\]/);
    // Tables: PGD, PUD, PMD and PTE as they were; the PTE table freed by the end.
    assert.deepEqual(cx.tables.map((t) => t.level), ['pgd', 'pud', 'pmd', 'pte']);
    const pte = cx.tables[3];
    assert.equal(pte?.freed, false);
    assert.equal(free?.freed[0], pte?.id);
    // The state at any step, for the inspector: the PMD entry is gone after the clear, the PTE
    // table freed after the free.
    const state = only(result).state;
    const clearAt = cx.steps.indexOf(clear as never) + 1;
    const pmdId = cx.tables[2]?.id;
    const pmdBefore = state.counterexampleTables(0, 0, clearAt - 1).find((t) => t.id === pmdId);
    const pmdAfter = state.counterexampleTables(0, 0, clearAt).find((t) => t.id === pmdId);
    assert.equal(pmdBefore?.entries.length, 1);
    assert.equal(pmdAfter?.entries.length, 0);
    assert.equal(state.counterexampleTables(0, 0, cx.steps.length).find((t) => t.id === pte?.id)?.freed, true);
  });
});

describe('budgets, cancellation and stable counts', () => {
  it('a state budget stops the scenario with resource-limit; the exploration is kept, marked incomplete', () => {
    const result = run(seed004('pmd_free_pte_page', 'static_key', { expect: 'none' }), { budget: { states: 100 } });
    const scenario = only(result);
    assert.equal(scenario.stopped, 'budget');
    const e = scenario.state.explorations[0];
    assert.equal(e?.complete, false);
    assert.ok((e?.states ?? 0) <= 101);
    assert.deepEqual(findingLines(result, 0, true).map((l) => l.split(': ')[1]), ['error resource-limit']);
    assert.match(scenario.findings[0]?.message ?? '', /beyond 100 states/);
    assert.equal(scenario.ok, false);
  });

  it('a schedule budget does the same', () => {
    const result = run(seed004('pmd_free_pte_page', 'static_key'), { budget: { schedules: 10 } });
    assert.equal(only(result).stopped, 'budget');
    assert.equal(only(result).state.explorations[0]?.complete, false);
    assert.match(only(result).findings[0]?.message ?? '', /beyond 10 schedules/);
  });

  it('cancellation is polled inside the exploration', () => {
    let calls = 0;
    let explorePolls = 0;
    const result = run(seed004('pmd_free_pte_page', 'static_key'), {
      shouldStop: () => {
        calls++;
        // The runner polls before each statement (4 here); later polls come from the explorer.
        if (calls > 4) explorePolls++;
        return explorePolls >= 2;
      },
    });
    assert.equal(only(result).stopped, 'cancelled');
    assert.equal(explorePolls, 2);
    // What the exploration counted before it was cancelled is in the result.
    assert.equal(only(result).state.explorations[0]?.complete, false);
    assert.ok((only(result).state.explorations[0]?.states ?? 0) > 0);
  });

  it('counts are the same on every run', () => {
    const text = seed004('pud_free_pmd_page', 'static_key');
    const a = only(run(text)).stats;
    const b = only(run(text)).stats;
    assert.deepEqual(a, b);
    const small = only(run(seed004('pmd_free_pte_page', 'static_key', { walk: 'walk kernel small size 4K' }))).state.explorations[0];
    assert.deepEqual([small?.states, small?.schedules], [SMALL_STATES, SMALL_SCHEDULES]);
  });

  it('a whole ptdump walk against a freeing helper: the reduced graph keeps its size (the explore output shows these counts)', () => {
    // The walk branches with the helper only where the helper's next step touches what the walk
    // has still to load: its pmd_clear of the PMD entry above the PTE table the walk is in goes
    // alone (the walk loaded that entry already), and so does every load in the middle of a table
    // the helper frees (only the first and the last load of that table branch with the free).
    // A PMD entry the walk reads as none goes alone against the PUD helper, which clears only
    // the entries it finds present. Along the walk the helper's next step is the same in every
    // state; the search knows it cannot go alone without running it again, and must still branch
    // exactly where running it would. Before these last two reductions the unpatched helpers
    // took 1056 and 3122 states.
    for (const [helper, variant, counts] of [
      ['pmd_free_pte_page', 'unpatched', [43, 4]],
      ['pmd_free_pte_page', 'static_key', [192, 18]],
      ['pmd_free_pte_page', 'trylock', [106, 9]],
      ['pud_free_pmd_page', 'unpatched', [62, 12]],
      ['pud_free_pmd_page', 'static_key', [218, 28]],
      ['pud_free_pmd_page', 'trylock', [109, 13]],
    ] as const) {
      const e = only(run(seed004(helper, variant))).state.explorations[0];
      assert.deepEqual([e?.states, e?.schedules], counts, `${helper} ${variant}`);
    }
  });
});

describe('samples 50–56', () => {
  const dir = join(__dirname, '..', '..', '..', '..', 'samples');
  for (const name of ['50-ptdump-vs-vmap-free-unpatched', '51-ptdump-vs-vmap-free-static-key', '52-ptdump-vs-vmap-free-trylock', '53-cont-bit-lost-update', '54-rwsem-deadlock', '56-ptdump-vs-vmalloc-huge']) {
    it(`${name} runs clean, each exploration under a second`, () => {
      const text = readFileSync(join(dir, `${name}.ptscn`), 'utf8');
      const t0 = performance.now();
      const result = run(text);
      const ms = performance.now() - t0;
      result.runs.forEach((r, i) => {
        assert.deepEqual(findingLines(result, i, true).filter((l) => /error|warning/.test(l)), [], `${r.scenario.title}`);
        for (const e of r.state.explorations) assert.ok(e.complete);
      });
      assert.ok(ms < 1000 * result.runs.length, `${ms.toFixed(0)} ms`);
    });
  }
});

const SMALL_STATES = 33;
const SMALL_SCHEDULES = 16;
