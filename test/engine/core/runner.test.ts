// The runner's stepping contract (runner.ts): the host (the language server, the CLI) drives a
// run through runScenarioSteps and gets control back after every step it shows a user, so it can
// cancel a run between two statements and keep its event loop going. Steps are recorded in
// source order, a process block's head is a step of its own, and the processes still running at
// the end are torn down one step each before the leak checks.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyze } from '../../../server/src/language/index';
import { runScenarioSteps, type RunOptions, type Scenario, type ScenarioRun } from '../../../server/src/engine/index';
import { lineOf } from '../support';

function scenario(text: string): Scenario {
  const { program, problems } = analyze(text);
  assert.deepEqual(problems, []);
  return program.scenarios[0] as Scenario;
}

/** Drives a run to its end; returns it with the number of times it gave control back. */
function drive(text: string, options: RunOptions = {}): { run: ScenarioRun; yields: number } {
  const steps = runScenarioSteps(scenario(text), options);
  let yields = 0;
  for (;;) {
    const next = steps.next();
    if (next.done) return { run: next.value, yields };
    yields++;
  }
}

/** Each recorded step as `line: summary`, the way the inspector lists them. */
function stepLines(text: string, run: ScenarioRun): string[] {
  return run.state.steps().map((s) => `${lineOf(text, s.span.start)}: ${s.result}`);
}

const TEXT = `scenario "steps" {
  arch x86_64
  let base = 0x7f0000000000
  kernel {
    vmalloc a size 4K
    vfree a
  }
  process p {
    mmap r at base size 4p prot rw
    write r + 1p value 7
  }
  expect vmas(p) == 1
  fork p as c
  exit p
  process p {
    mmap q size 1p prot r
  }
}`;

describe('runner stepping', () => {
  it('gives control back after every statement of a block, a process head, fork, exit and each teardown', () => {
    const { run, yields } = drive(TEXT);
    assert.deepEqual(stepLines(TEXT, run), [
      '3: ok', // let: a step, but no yield of its own
      '5: ok',
      '6: ok',
      '8: ok', // the head of process p: its mm is created
      '9: ok',
      '10: ok',
      '12: ok', // expect at top level
      '13: ok',
      '14: ok',
      '15: EINVAL', // p has exited: its second block says so at its head and does not run
      '18: ok', // teardown of c, still running at the end
      '18: ', // the leak checks, which have no result of their own
    ]);
    // 2 kernel statements, p's head and 2 statements, fork, exit, the refused head, c's teardown.
    assert.equal(yields, 9);
    assert.equal(run.stopped, undefined);
  });

  it('stops between two statements when the host cancels, keeping the steps already run', () => {
    let polls = 0;
    // The runner polls before each statement, top-level and in blocks: arch, let, kernel, its
    // two statements, process p; the seventh poll is before p's first statement.
    const { run } = drive(TEXT, { shouldStop: () => ++polls >= 7 });
    assert.equal(run.stopped, 'cancelled');
    assert.deepEqual(stepLines(TEXT, run), ['3: ok', '5: ok', '6: ok', '8: ok']);
  });

  it('runs a scenario without processes to its leak checks with no teardown step', () => {
    const text = `scenario "kernel only" {
  kernel {
    vmalloc a size 4K
  }
}`;
    const { run, yields } = drive(text);
    assert.deepEqual(stepLines(text, run), ['3: ok', '5: ']);
    assert.equal(yields, 1);
  });
});
