// Kernel statements inside threads (spec §9: one atomic step each, through the statement's own
// handler), the undo log that lets the explorer take them back, budgets that stop the scenario
// (spec §10), and forced chains that store no state.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { ExecContext } from '../../../server/src/engine/exec/context';
import type { Machine } from '../../../server/src/engine/model/machine';
import { MachineKeys } from '../../../server/src/engine/explore/undo';
import { exec } from '../../../server/src/engine/explore/steps';
import { findingLines, lineOf, only, run, type TextRun } from '../support';
import { capture, enumerate, reducedFinals } from './brute';

// Every machine id handed out in these tests is checked against the exact machine content.
MachineKeys.verify = true;

const ARM = '  arch arm64 granule=4k va=48';

/** A sequence that reaches every kind of kernel statement and every machine structure. */
const SEQUENCE = [
  'vmalloc small size 4K',
  'vfree small',
  'vmalloc big size 2M huge',
  'vmalloc pages size 64K',
  'set_memory_ro pages pages 2',
  'set_memory_valid pages + 4K pages 1 off',
  'set_direct_map_invalid 0xffff000000200000',
  'alloc_pgtable_page pt',
  'free_pgtable_page pt',
  'pgtable_alloc pte as t',
  'populate 0xffff800080600000 with t',
  'pgtable_ctor t',
  'pgtable_dtor t',
  'unmap 0xffff000000400000 size 2M',
  'ptdump 0xffff800000000000 size 4G',
  'check_wx',
  'vfree pages',
  'map 0xffff000080000000 size 2M phys 0x100000000 prot rw leaf=pte',
  // A leaf run written into a PTE table that exists already, not one the step made.
  'unmap 0xffff000080000000 size 8K',
  'map 0xffff000080000000 size 8K phys 0x100200000 prot r leaf=pte',
];

function sequenceScenario(where: 'kernel' | 'thread'): string {
  const body = SEQUENCE.map((s) => `      ${s}`).join('\n');
  const inner = where === 'kernel' ? `  kernel {\n${body}\n  }` : `  concurrent {\n    thread a {\n${body}\n    }\n  }`;
  return `scenario "sequence" {
${ARM}
  feature bbml2 write_protect_pgtables pte_mapped_cache
  kernel {
    map 0xffff000000000000 size 1G phys 0x80000000 prot rw
  }
${inner}
}
`;
}

/** What a user can see of a run at its end: dump, counters, ledger, live tables and entries. */
function visible(result: TextRun): unknown {
  const r = only(result);
  const s = r.state;
  const last = s.stepCount - 1;
  const live = s.liveTablesAt(last);
  return {
    ptdump: s.ptdumpAt(last),
    counters: s.counters(last),
    ledger: s.ledger().map((t) => ({ level: t.level, pa: t.pa, space: t.space, name: t.name, events: t.events.map((e) => e.kind) })),
    live: live.map((id) => ({ id, entries: s.entriesAt(id, last, 0, Infinity, true).map((e) => `${e.index}=${e.value}`) })),
    findings: r.findings.map((f) => `${f.severity} ${f.code}: ${f.message}`),
    outputs: r.outputs.filter((o) => o.kind !== 'explore').map((o) => `${o.kind}: ${o.text}`),
  };
}

/** Everything mutable a Machine holds, in plain data. */
function dump(machine: Machine, ctx: ExecContext): string {
  const tables = [machine.kernel.root, ...machine.tables].map((t) => ({
    id: t.id,
    depth: t.depth,
    pa: t.pa,
    e: Array.from(t.e),
    children: t.children?.map((c) => c?.id ?? null),
    used: t.used,
    ledger: [t.constructed, t.destructed, t.freed, t.freedAt?.start, t.parent?.id, t.parentIndex, t.name],
    events: t.events.map((e) => `${e.kind}@${e.step}:${e.span.start}:${machine.eventDetail(t, e) ?? ''}`),
  }));
  const record = machine.currentStep;
  return JSON.stringify(
    {
      tables,
      liveTables: machine.liveTables,
      entriesWritten: machine.entriesWritten,
      counters: machine.counters,
      areas: [...machine.vmAreas.entries()].map(([n, a]) => [n, String(a.start), String(a.size), a.huge, a.pages, a.freed]),
      linear: machine.linearMaps.map((m) => [String(m.va), String(m.pa), String(m.size)]),
      findings: machine.findings.map((f) => `${f.code}@${f.span.start}: ${f.message}`),
      outputs: machine.outputs.map((o) => `${o.kind}: ${o.text}`),
      record: record && {
        allocated: record.tablesAllocated.map((t) => t.id),
        freed: record.tablesFreed.map((t) => t.id),
        written: record.tablesWritten.map((t) => t.id),
        entries: record.entriesWritten,
        valid: record.validWrites,
        levels: record.levelsTouched,
      },
      phys: machine.phys.signature(),
      physUsed: machine.tables.map((t) => machine.phys.isUsed(t.pa)),
      spaces: [...machine.spaces.values()].map((sp) => [sp.name, sp.pgtablesBytes, sp.unaccountedLinks.length, sp.exited, sp.root.id]),
      names: [...ctx.names.entries()].map(([n, b]) => [n, b.kind, b.kind === 'value' ? String(b.value) : b.kind === 'table' ? b.table.id : b.pa]),
      bindingLog: ctx.bindingLog.map((b) => `${b.name}@${b.step}`),
      span: machine.span,
      source: Object.entries(machine.pgtablePages).map(([k, v]) => [k, v instanceof Set ? [...v] : typeof v === 'object' ? typeof v : v]),
    },
    (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v),
  );
}

/** A walk of `small` racing vmalloc … huge over it, under ptdump's write lock or not. */
const vmapText = (locked: boolean, walk = 'walk kernel small size 2M'): string => `scenario "vmap" {
${ARM}
  kernel {
    vmalloc small size 4K
    vfree small
  }
  concurrent {
    thread ptdump {
${locked ? '      lock init_mm write\n' : ''}      ${walk}
${locked ? '      unlock init_mm write\n' : ''}    }
    thread vmap {
      vmalloc big size 2M huge
    }
  }
}
`;

describe('kernel statements inside threads', () => {
  it('run the same handlers as in a kernel block: the same tables, counters, ledger, outputs and findings', () => {
    const inKernel = visible(run(sequenceScenario('kernel')));
    const inThread = visible(run(sequenceScenario('thread')));
    assert.deepEqual(inThread, inKernel);
  });

  it('are taken back exactly: every step undone and redone leaves the machine as it was', () => {
    capture(
      () => run(sequenceScenario('thread')),
      ({ world, threads, s0 }) => {
        const { machine, ctx, journal } = world;
        const start = dump(machine, ctx);
        let s = s0;
        for (let k = 0; k < SEQUENCE.length; k++) {
          const before = dump(machine, ctx);
          const mark = journal.length;
          const out = exec(world, threads, s, 0, false);
          assert.ok(out, `step ${k + 1}`);
          const after = dump(machine, ctx);
          assert.notEqual(after, before, `${SEQUENCE[k]} changes something`);
          journal.undo(mark);
          assert.equal(dump(machine, ctx), before, `${SEQUENCE[k]}: taken back exactly`);
          const again = exec(world, threads, s, 0, false);
          assert.equal(dump(machine, ctx), after, `${SEQUENCE[k]}: the same again`);
          s = (again ?? out).s;
        }
        journal.undo(0);
        assert.equal(dump(machine, ctx), start, 'the whole sequence taken back');
      },
    );
  });

  it('take back a finding a later step of the same block updated in place (write-protect failures counted per statement)', () => {
    // Without BBML2 the block-mapped linear map cannot be split: each page-table page's alias
    // stays writable, and the one finding of the statement (here: of the block) counts them.
    const text = `scenario "unprotectable" {
${ARM}
  feature write_protect_pgtables
  kernel {
    map 0xffff000000000000 size 1G phys 0x80000000 prot rw
  }
  concurrent {
    thread a {
      alloc_pgtable_page p1 => EINVAL
      alloc_pgtable_page p2 => EINVAL
    }
  }
}
`;
    capture(
      () => run(text),
      ({ world, threads, s0 }) => {
        const { machine, ctx, journal } = world;
        const first = exec(world, threads, s0, 0, false);
        assert.ok(first);
        const afterFirst = dump(machine, ctx);
        assert.match(afterFirst, /1 page-table page could not be made read-only/);
        const mark = journal.length;
        assert.ok(exec(world, threads, first.s, 0, false));
        assert.match(dump(machine, ctx), /2 page-table pages could not be made read-only/);
        journal.undo(mark);
        assert.equal(dump(machine, ctx), afterFirst, 'the finding counts one page again');
      },
    );
  });

  it('vmalloc … huge frees the PTE table a walk stands on: use_after_free, the vmalloc one step of the schedule', () => {
    const result = run(vmapText(false).replace(/\}\n$/, '  expect race use_after_free\n}\n'));
    const r = only(result);
    assert.ok(r.ok);
    const cx = r.state.explorations[0]?.counterexamples?.[0];
    assert.ok(cx);
    assert.equal(cx.shortest, true);
    // The walk loads the PGD, PUD and PMD entries, vmap runs (one step), the walk reads the
    // freed PTE table.
    assert.deepEqual(
      cx.steps.map((s) => s.thread),
      ['ptdump', 'ptdump', 'ptdump', 'vmap', 'ptdump'],
    );
    assert.match(cx.steps[3]?.action ?? '', /^vmalloc: big = 0x[0-9a-f]+, 2M mapped with PMD leaves; freed 1 stale table page$/);
    assert.match(cx.steps[4]?.action ?? '', /^load pte\[0\]/);
    const pte = cx.tables.find((t) => t.level === 'pte');
    assert.ok(pte);
    assert.deepEqual(cx.steps[3]?.freed, [pte.id]);
    assert.equal(lineOf(result.text, cx.span.start), 9);
  });
});

describe('kernel statements inside threads: semantics', () => {
  it('7.3: under ptdump\'s write lock the trylock fails and vmap keeps small pages; no race', () => {
    const result = run(vmapText(true).replace(/\}\n$/, '  expect race none\n  kernel {\n    expect leaf(big) == pmd\n    expect tables(kernel, pte) == 0\n  }\n}\n'));
    assert.deepEqual(findingLines(result, 0, true), []);
  });

  it('the reduction keeps every outcome with kernel statements in threads (brute force, both trylock outcomes)', () => {
    for (const text of [vmapText(true, 'walk kernel small size 4K'), vmapText(false, 'walk kernel small size 4K')]) {
      const { brute, reduced } = capture(
        () => run(text),
        (c) => ({ brute: enumerate(c), reduced: reducedFinals(c) }),
      );
      assert.deepEqual([...reduced.finals].sort(), [...brute.finals].sort(), 'the same final states');
    }
    // With the lock, the final states differ in whether vmap got its block or kept small pages.
    const { brute } = capture(
      () => run(vmapText(true, 'walk kernel small size 4K')),
      (c) => ({ brute: enumerate(c) }),
    );
    const machines = new Set([...brute.finals].map((k) => k.split('|')[0]));
    assert.equal(machines.size, 2);
  });

  it('set_memory_ro between the read and the write of an rmw of the same PTE: lost_update', () => {
    const text = (locked: boolean): string => `scenario "ro" {
${ARM}
  kernel {
    map 0xffff000000000000 size 64K phys 0x80000000 prot rw nocont
  }
  concurrent {
    thread nx {
${locked ? '      lock init_mm write\n' : ''}      rmw pte 0xffff000000001000 set PTE_PXN
${locked ? '      unlock init_mm write\n' : ''}    }
    thread ro {
${locked ? '      lock init_mm write\n' : ''}      set_memory_ro 0xffff000000001000 pages 1
${locked ? '      unlock init_mm write\n' : ''}    }
  }
}
`;
    const result = run(text(false));
    const e = only(result).state.explorations[0];
    assert.deepEqual(e?.races, ['lost_update']);
    const f = only(result).findings.find((x) => x.code === 'race');
    assert.match(f?.message ?? '', /nx writes back pte\[1\] \(0xffff000000001000\) from the value it read before ro stored to it/);
    assert.deepEqual(e?.counterexamples?.[0]?.steps.map((st) => st.thread), ['nx', 'ro', 'nx']);
    assert.deepEqual(run(text(true)).runs[0]?.state.explorations[0]?.races, []);
    const { brute, reduced } = capture(
      () => run(text(false)),
      (c) => ({ brute: enumerate(c), reduced: reducedFinals(c) }),
    );
    assert.deepEqual([...reduced.finals].sort(), [...brute.finals].sort());
    assert.equal(brute.shortest.get('lost_update'), 3);
  });

  it('findings of other schedules stay there; the canonical schedule\'s are reported and => RESULT settled', () => {
    const result = run(`scenario "twice" {
${ARM}
  concurrent {
    thread a {
      vmalloc buf size 4K => ok
    }
    thread b {
      vmalloc buf size 4K => EINVAL
    }
  }
}
`);
    // In schedules where b runs first, a's vmalloc is the one refused: nothing of that shows.
    assert.deepEqual(findingLines(result, 0, true), ['8: information bad-value']);
    assert.ok(only(result).ok);
    // Only the canonical schedule's binding is kept for hovers.
    const state = only(result).state;
    assert.equal(state.bindingsAt(state.stepCount - 1).get('buf')?.span.start, result.text.indexOf('buf size'));
    const wrong = run(`scenario "twice" {
${ARM}
  concurrent {
    thread a {
      vmalloc buf size 4K
    }
    thread b {
      vmalloc buf size 4K => ok
    }
  }
}
`);
    assert.deepEqual(findingLines(wrong, 0, true), ['8: error bad-value', '8: error expectation-failed']);
  });

  it('outputs come from the canonical schedule only', () => {
    const result = run(`scenario "dump" {
${ARM}
  kernel {
    vmalloc small size 4K
  }
  concurrent {
    thread a {
      ptdump small size 4K
    }
    thread b {
      vfree small
    }
  }
}
`);
    const dumps = only(result).outputs.filter((o) => o.kind === 'ptdump');
    assert.equal(dumps.length, 1);
    // Canonical: a runs first, so the dump still shows the page.
    assert.match(dumps[0]?.text ?? '', /4K PTE +RW/);
  });

  it('a name a kernel statement binds in a thread is bound after the block', () => {
    const result = run(`scenario "names" {
${ARM}
  concurrent {
    thread a {
      vmalloc buf size 4K
    }
  }
  kernel {
    expect leaf(buf) == pte
    vfree buf => ok
  }
}
`);
    assert.deepEqual(findingLines(result, 0, true), []);
  });
});

describe('counterexamples with tables a thread allocates', () => {
  it('mark the table with the step that allocated it; the inspector shows it from then on', () => {
    const result = run(`scenario "alloc" {
${ARM}
  kernel {
    vmalloc small size 4K
    vfree small
  }
  concurrent {
    thread walker {
      walk kernel small + 2M size 4K
    }
    thread table {
      pgtable_alloc pte as t
      populate small + 2M with t
      clear pmd small + 2M
      pgtable_free t
    }
  }
  expect race use_after_free
}
`);
    const r = only(result);
    assert.ok(r.ok);
    const cx = r.state.explorations[0]?.counterexamples?.[0];
    assert.ok(cx);
    const created = cx.tables.filter((t) => t.createdAt !== undefined);
    assert.equal(created.length, 1);
    const t = created[0] as NonNullable<(typeof created)[number]>;
    assert.equal(t.level, 'pte');
    const alloc = cx.steps.findIndex((st) => st.action.startsWith('pgtable_alloc'));
    assert.equal(t.createdAt, alloc + 1);
    assert.equal(r.state.counterexampleTables(0, 0, alloc).some((x) => x.id === t.id), false);
    assert.equal(r.state.counterexampleTables(0, 0, alloc + 1).some((x) => x.id === t.id), true);
    assert.equal(r.state.counterexampleTables(0, 0, cx.steps.length).find((x) => x.id === t.id)?.freed, true);
    assert.match(cx.message, /the walk reads entry 0 of the PTE table `t` at 0x[0-9a-f]+, which has already been freed/);
  });
});

describe('budgets stop the scenario (spec §10)', () => {
  const text = `scenario "budget" {
${ARM}
  kernel {
    vmalloc small size 4K
    vfree small
  }
  concurrent {
    thread ptdump {
      static_branch_enable ptdump_lock
      lock init_mm write
      walk kernel
      unlock init_mm write
      static_branch_disable ptdump_lock
    }
    thread vmap {
      pmd_free_pte_page small
    }
  }
  expect race none
  kernel {
    map 0xffff000000000000 size 2M phys 0x80000000 prot rw
  }
}
`;

  it('a state budget: resource-limit at the block, nothing after it runs, the counts so far kept', () => {
    const result = run(text, { budget: { states: 100 } });
    const r = only(result);
    assert.equal(r.stopped, 'budget');
    assert.deepEqual(findingLines(result, 0, true), ['7: error resource-limit']);
    assert.match(r.findings[0]?.message ?? '', /would go beyond 100 states.*the scenario stops here/);
    const e = r.state.explorations[0];
    assert.equal(e?.complete, false);
    assert.equal(e?.states, 101);
    assert.ok(r.stats.states === 101 && r.stats.steps > 101);
    // The machine is as the block found it: no linear map, the PTE table still there.
    const last = r.state.stepCount - 1;
    assert.match(r.state.ptdumpAt(last), /0xffff000000000000-0xffff800000000000 +128T PGD\n/);
    assert.equal(r.state.liveTablesAt(last).length, 3);
  });

  it('a schedule budget does the same', () => {
    const result = run(text, { budget: { schedules: 10 } });
    const r = only(result);
    assert.equal(r.stopped, 'budget');
    assert.match(r.findings[0]?.message ?? '', /would go beyond 10 schedules/);
    assert.equal(r.state.explorations[0]?.complete, false);
    assert.equal(r.state.explorations[0]?.schedules, 11);
  });

  it('a budget a kernel statement crosses inside a thread stops it too', () => {
    const result = run(`scenario "tables" {
${ARM}
  concurrent {
    thread a {
      vmalloc buf size 64M
    }
    thread b {
      lock init_mm read
      unlock init_mm read
    }
  }
  kernel {
    map 0xffff000000000000 size 2M phys 0x80000000 prot rw
  }
}
`, { budget: { tablePages: 20 } });
    const r = only(result);
    assert.equal(r.stopped, 'budget');
    assert.match(r.findings[0]?.message ?? '', /more than 20 table pages/);
    assert.equal(r.state.explorations.length, 1);
    assert.equal(r.state.explorations[0]?.complete, false);
  });
});

describe('forced chains store no state', () => {
  it('a walk over a big PTE-mapped linear map beside an independent thread', () => {
    const text = `scenario "big walk" {
${ARM}
  kernel {
    map 0xffff000000000000 size 64M phys 0x80000000 prot rw leaf=pte
    vmalloc small size 4K
    vfree small
  }
  concurrent {
    thread ptdump {
      walk kernel 0xffff000000000000 size 64M
    }
    thread vmap {
      pmd_free_pte_page small variant=unpatched
    }
  }
  expect race none
}
`;
    const t0 = performance.now();
    const result = run(text);
    const ms = performance.now() - t0;
    const e = only(result).state.explorations[0];
    assert.deepEqual(findingLines(result, 0, true), []);
    // 16,384 PTE loads and 32 PMD loads, each its own step; a state is stored only where the
    // search branches, after a branch, and at every 64th step of a chain.
    assert.ok((e?.transitions ?? 0) > 16_384);
    assert.ok((e?.states ?? 0) < 600, `${e?.states} states`);
    assert.ok(ms < 1000, `${ms.toFixed(0)} ms`);
  });
});

describe('sample 56', () => {
  it('runs clean, each scenario under a second', () => {
    const text = readFileSync(join(__dirname, '..', '..', '..', '..', 'samples', '56-ptdump-vs-vmalloc-huge.ptscn'), 'utf8');
    const t0 = performance.now();
    const result = run(text);
    const ms = performance.now() - t0;
    assert.deepEqual(result.runs.map((r) => r.state.explorations.map((e) => e.races.join(',') || 'none')), [['use_after_free'], ['none'], ['none']]);
    result.runs.forEach((r, i) => assert.deepEqual(findingLines(result, i, true).filter((l) => /error|warning/.test(l)), [], r.scenario.title));
    assert.ok(ms < 1000 * result.runs.length, `${ms.toFixed(0)} ms`);
  });
});
