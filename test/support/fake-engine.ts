// A stand-in for the engine's runScenario, for server tests that must not depend on the
// engine's progress: it reports a few findings with the quick-fix data the real engine gives,
// and can run "slowly" (polling shouldStop) or call back mid-run.

import { runScenario, type Finding, type RunOptions, type Scenario, type ScenarioRun } from '../../server/src/engine/index';
import { allStatements } from '../../server/src/lsp/outline';

export interface FakeEngine {
  runScenarioSteps(scenario: Scenario, options: RunOptions): Generator<void, ScenarioRun, void>;
  /** Titles of the scenarios run, in order. */
  readonly calls: string[];
  /** The runs returned, in order, with their scenario's title. */
  readonly runs: { title: string; run: ScenarioRun }[];
  /** Called at the start of every run of a scenario whose title contains `hook`. */
  onHook: (() => void) | undefined;
}

/** A real run of the scenario's header only: a valid, empty machine state to attach findings to. */
function emptyRun(scenario: Scenario): ScenarioRun {
  const headers = scenario.body.filter((s) => s.kind === 'arch' || s.kind === 'feature' || s.kind === 'thp' || s.kind === 'accounting');
  return runScenario({ ...scenario, body: headers });
}

export function createFakeEngine(): FakeEngine {
  const fake: FakeEngine = {
    calls: [],
    runs: [],
    onHook: undefined,
    *runScenarioSteps(scenario, options) {
      fake.calls.push(scenario.title);
      if (scenario.title.includes('hook')) fake.onHook?.();
      const findings: Finding[] = [];
      let steps = 0;
      if (scenario.title.includes('slow')) {
        while (steps < 10_000_000) {
          steps++;
          if (options.shouldStop?.()) {
            return { ...emptyRun(scenario), stats: { steps, schedules: 0, states: 0 }, stopped: 'cancelled' };
          }
          if (steps % 1000 === 0) yield;
        }
      }
      const program = { scenarios: [scenario] };
      for (const { stmt } of allStatements(program)) {
        steps++;
        if ((stmt.kind === 'mmap' || stmt.kind === 'vmalloc' || stmt.kind === 'map') && stmt.prot && /w/.test(stmt.prot.text) && /x/.test(stmt.prot.text)) {
          findings.push({ code: 'wx-mapping', severity: 'warning', span: stmt.span, message: 'writable and executable', fix: { kind: 'wx', prot: stmt.prot.span } });
        }
        if (stmt.kind === 'set_memory' && stmt.result?.kind !== 'errno') {
          findings.push({
            code: 'partial-block-overlap',
            severity: 'error',
            span: stmt.span,
            message: 'starts inside a PMD block',
            fix: { kind: 'partial-block', alignedStart: 0xffff000000000000n, alignedPages: 512n, bbml2Helps: true },
          });
        }
        if (stmt.kind === 'pgtable_alloc') {
          findings.push({
            code: 'ctor-dtor-leak',
            severity: 'error',
            span: stmt.span,
            message: 'table left allocated at exit',
            related: [{ span: stmt.name.span, message: 'allocated here' }],
            fix: { kind: 'ctor-dtor', insert: `pgtable_free ${stmt.name.text}`, after: stmt.span },
          });
        }
        if (stmt.kind === 'expect' && stmt.op === '==' && stmt.right.kind === 'number' && stmt.right.digits === 99n) {
          findings.push({ code: 'expectation-failed', severity: 'error', span: stmt.span, message: 'expected 99, got 1' });
        }
      }
      const run: ScenarioRun = {
        ...emptyRun(scenario),
        findings,
        outputs: [{ span: scenario.headSpan, kind: 'ptdump', text: '---[ fake ]---\n' }],
        stats: { steps, schedules: 0, states: 0 },
        ok: !findings.some((f) => f.severity === 'error'),
      };
      fake.runs.push({ title: scenario.title, run });
      return run;
    },
  };
  return fake;
}
