// The runner: executes one scenario statement by statement on a fresh machine.
//
// It is a generator so that the host (the language server, the CLI) drives it: between
// statements the host can poll for cancellation and yield to its event loop. Budgets and
// cancellation end a run through RunStop, which is caught only here.
//
// The generator is thin: the Runner keeps its place in the scenario itself (a cursor) and
// `advance` runs one step at a time. A generator's resume restores its whole register file, and
// the statement loops nested in `yield*` that were here cost about a tenth of a one-page
// madvise (the bench's 8192 guard installs), with a closure allocated per statement besides.

import { resolveProfile, type ArchOptions } from './arch/profile';
import { EvalError, ExecContext, type Value } from './exec/context';
import type { Exploration } from './exec/modules';
import { ok, outcomeText, type Outcome } from './exec/outcome';
import {
  execClear,
  execPgtableAlloc,
  execPgtableCtor,
  execPgtableFree,
  execPopulate,
} from './exec/table-statements';
import { exploreModule } from './explore/index';
import type { Finding, FindingCode } from './findings';
import { execSetDirectMap, execSetMemory, execSetMemoryValid } from './kernel/pageattr';
import { configurePgtablePages, execAllocPgtablePage, execFreePgtablePage } from './kernel/pgtable-pages';
import { execCheckWx, execMap, execPtdump, execUnmap, execVfree, execVmalloc } from './kernel/statements';
import { helperFor } from './kernel-helpers';
import { forgetWalks } from './walk';
import { Machine, RunStop, type AccountingMode, type AddressSpace, type Feature, type MachineOptions, type ThpMode } from './model/machine';
import { wxLeftBy } from './kernel/wx';
import { processModule } from './process/index';
import type {
  ExpectDiagnosticStmt,
  ExpectStmt,
  KernelStmt,
  LetStmt,
  ProcessStmt,
  ResultSpec,
  Scenario,
  Span,
  Stmt,
  TopStmt,
} from './program';
import { DEFAULT_BUDGET, type Budget, type RunOptions, type ScenarioRun } from './run-api';
import { RunState } from './inspect';

/** Reads the header statements of a scenario into machine options (already checked). */
export function headerOptions(scenario: Scenario): { arch: ArchOptions; features: Set<Feature>; thp: ThpMode; accounting: AccountingMode } {
  let arch: ArchOptions = { arch: 'x86_64', levels: 4 };
  const features = new Set<Feature>();
  let thp: ThpMode = 'madvise';
  let accounting: AccountingMode = 'series';
  for (const stmt of scenario.body) {
    if (stmt.kind === 'arch') {
      arch = { arch: stmt.arch.text as ArchOptions['arch'] };
      for (const option of stmt.options) {
        const value = option.value.text;
        if (option.key.text === 'levels') arch.levels = Number(value);
        if (option.key.text === 'granule') arch.granuleKiB = Number.parseInt(value, 10);
        if (option.key.text === 'va') arch.va = Number(value);
        if (option.key.text === 'mode') arch.mode = value as ArchOptions['mode'];
      }
    } else if (stmt.kind === 'feature') {
      for (const f of stmt.features) features.add(f.text as Feature);
    } else if (stmt.kind === 'thp') {
      thp = stmt.mode.text as ThpMode;
    } else if (stmt.kind === 'accounting') {
      accounting = stmt.mode.text as AccountingMode;
    }
  }
  if (features.has('pti')) arch.pti = true;
  return { arch, features, thp, accounting };
}

/** Runs a scenario to completion. */
export function runScenario(scenario: Scenario, options: RunOptions = {}): ScenarioRun {
  const steps = runScenarioSteps(scenario, options);
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/**
 * Runs a scenario, yielding after every statement (and inside long statements' loops where they
 * choose to), so the caller can stop it or interleave other work.
 */
export function* runScenarioSteps(scenario: Scenario, options: RunOptions = {}): Generator<void, ScenarioRun, void> {
  const header = headerOptions(scenario);
  const machineOptions: MachineOptions = {
    profile: resolveProfile(header.arch),
    features: header.features,
    thp: header.thp,
    accounting: header.accounting,
    budget: budgetOf(options.budget),
    history: options.history ?? true,
  };
  const machine = new Machine(machineOptions);
  configurePgtablePages(machine);
  const ctx = new ExecContext(machine);
  ctx.processQueries = processModule.queries;
  ctx.shouldStop = options.shouldStop;
  machine.shouldStop = options.shouldStop;
  const runner = new Runner(ctx, scenario, options.shouldStop);
  let stopped: ScenarioRun['stopped'];
  try {
    while (runner.advance()) yield;
  } catch (e) {
    if (!(e instanceof RunStop)) throw e;
    stopped = e.reason;
    if (e.reason === 'budget') {
      machine.report('resource-limit', 'error', `${e.message}; the scenario stops here (raise the budget in settings or with --budget to go further)`);
    }
    machine.endStep('stopped', e.reason);
  }
  forgetWalks();
  runner.applyExpectedDiagnostics();
  const findings = [...machine.findings].sort((a, b) => a.span.start - b.span.start);
  const run: ScenarioRun = {
    scenario,
    findings,
    outputs: machine.outputs,
    stats: { steps: machine.steps.length + runner.explorerSteps, schedules: runner.schedules, states: runner.states },
    ok: !findings.some((f) => f.severity === 'error'),
    state: new RunState(machine, runner.explorations, ctx.bindingLog),
  };
  if (stopped) run.stopped = stopped;
  return run;
}

class Runner {
  explorations: Exploration[] = [];
  schedules = 0;
  states = 0;
  explorerSteps = 0;
  private expectDiagnostics: ExpectDiagnosticStmt[] = [];
  /** Where the cursor is: the next top-level statement, and the block being run with its next statement. */
  private next = 0;
  private block: { body: readonly Stmt[]; space: string; kernel: boolean } | undefined;
  private inner = 0;
  /** The processes still running at the end of the scenario, torn down one step each. */
  private teardown: AddressSpace[] | undefined;
  private finished = false;

  constructor(
    readonly ctx: ExecContext,
    private readonly scenario: Scenario,
    private readonly shouldStop: (() => boolean) | undefined,
  ) {
    ctx.settle = (stmt, outcome, fresh) => this.settle(stmt, outcome, fresh);
  }

  /**
   * The kernel function each statement kind models, looked up once per kind: a lookup in the
   * table of every kind by a kind that varies is a megamorphic keyed load, on every step.
   */
  private readonly helpers = new Map<Stmt['kind'], string>();

  /** The last kind asked about, and its helper: statements of a block often repeat one kind. */
  private lastKind: Stmt['kind'] | undefined;
  private lastHelper = '';

  private helperOf(kind: Stmt['kind']): string {
    if (kind === this.lastKind) return this.lastHelper;
    let helper = this.helpers.get(kind);
    if (helper === undefined) {
      helper = helperFor(this.machine.profile, kind);
      this.helpers.set(kind, helper);
    }
    this.lastKind = kind;
    this.lastHelper = helper;
    return helper;
  }

  private record(exploration: Exploration): void {
    this.explorations.push(exploration);
    this.schedules += exploration.schedules;
    this.states += exploration.states;
    this.explorerSteps += exploration.transitions ?? 0;
  }

  private get machine(): Machine {
    return this.ctx.machine;
  }

  private checkStop(): void {
    if (this.shouldStop?.()) throw new RunStop('cancelled', 'the run was cancelled');
  }

  /**
   * Runs the scenario up to and including the next step the host sees (a statement of a
   * `kernel` or process block, a process block's head, `concurrent`, `fork`, `exit`, the
   * teardown of a process left running). Returns false once the scenario has ended, after its
   * leak checks.
   */
  advance(): boolean {
    for (;;) {
      const block = this.block;
      if (block) {
        if (this.inner < block.body.length) {
          const stmt = block.body[this.inner++] as KernelStmt | ProcessStmt;
          this.checkStop();
          if (block.kernel) this.step(stmt as KernelStmt, 'kernel', this.kernelStmt);
          else this.step(stmt as ProcessStmt, block.space, this.processStmt);
          return true;
        }
        this.block = undefined;
        this.ctx.space = this.machine.kernel;
        this.ctx.block = 'top';
        continue;
      }
      const stmt = this.scenario.body[this.next];
      if (stmt) {
        this.next++;
        this.checkStop();
        if (this.topStmt(stmt)) return true;
        continue;
      }
      return this.finishStep();
    }
  }

  /** Runs one top-level statement (or enters its block); true when that made a step. */
  private topStmt(stmt: TopStmt): boolean {
    switch (stmt.kind) {
      case 'arch':
      case 'feature':
      case 'thp':
      case 'accounting':
        return false;
      case 'kernel':
        this.ctx.space = this.machine.kernel;
        this.ctx.block = 'kernel';
        this.enterBlock(stmt.body, 'kernel', true);
        return false;
      case 'process': {
        const head: Span = { start: stmt.span.start, end: stmt.name.span.end };
        let entered: ReturnType<typeof processModule.enter> | undefined;
        let stepped = false;
        if (!this.machine.spaces.has(stmt.name.text)) {
          this.step({ ...stmt, span: head, result: undefined }, stmt.name.text, () => {
            entered = processModule.enter(this.ctx, stmt.name);
            return 'kind' in entered ? entered : ok(`created the mm of ${stmt.name.text}`);
          });
          stepped = true;
        } else {
          entered = processModule.enter(this.ctx, stmt.name);
          // A block that cannot run (its process has exited) says so at its head.
          if ('kind' in entered) {
            const refused = entered;
            this.step({ ...stmt, span: head, result: undefined }, stmt.name.text, () => refused);
            stepped = true;
          }
        }
        if (entered && !('kind' in entered)) {
          this.ctx.space = entered;
          this.ctx.block = 'process';
          this.enterBlock(stmt.body, stmt.name.text, false);
        }
        return stepped;
      }
      case 'concurrent':
        this.step(stmt, 'concurrent', () => {
          let exploration: Exploration;
          try {
            exploration = exploreModule.explore(this.ctx, stmt);
          } catch (e) {
            // A budget or cancellation inside the exploration stops the scenario (spec §10);
            // what it counted so far stays in the result.
            if (e instanceof RunStop && e.exploration) this.record(e.exploration);
            throw e;
          }
          this.record(exploration);
          return ok(exploration.summary);
        });
        return true;
      case 'fork':
        this.step(stmt, stmt.parent.text, () => processModule.fork(this.ctx, stmt));
        return true;
      case 'exit': {
        const space = this.machine.spaces.get(stmt.process.text);
        this.step(stmt, stmt.process.text, () => {
          if (!space || space.kernel) return { kind: 'errno', errno: 'EINVAL', message: `no process \`${stmt.process.text}\`` };
          if (space.exited) return { kind: 'errno', errno: 'EINVAL', message: `${stmt.process.text} has already exited` };
          return processModule.exit(this.ctx, space, stmt.span);
        });
        return true;
      }
      case 'expect_race': {
        const last = this.explorations[this.explorations.length - 1];
        this.step(stmt, 'top', () => exploreModule.expectRace(this.ctx, stmt, last));
        return false;
      }
      case 'expect_diagnostic':
        this.expectDiagnostics.push(stmt);
        return false;
      case 'let':
      case 'expect':
        this.step(stmt, 'top', this.common);
        return false;
    }
  }

  private enterBlock(body: readonly Stmt[], space: string, kernel: boolean): void {
    this.block = { body, space, kernel };
    this.inner = 0;
  }

  /**
   * End of scenario: every process not yet exited is torn down as `exit` would, one step each;
   * then the leak checks. True while a teardown step was made.
   */
  private finishStep(): boolean {
    if (this.finished) return false;
    const end: Span = this.scenario.closeSpan;
    this.teardown ??= [...this.machine.spaces.values()];
    for (let space = this.teardown.shift(); space; space = this.teardown.shift()) {
      if (space.kernel || space.exited) continue;
      this.step({ kind: 'exit', span: end, keyword: { text: 'exit', span: end }, process: { text: space.name, span: end } }, space.name, () =>
        processModule.exit(this.ctx, space, end),
      );
      return true;
    }
    this.finished = true;
    this.machine.beginStep(end, 'kernel', 'end of scenario');
    this.machine.checkExit(this.machine.kernel);
    this.machine.endStep('leak checks: tables left allocated and pgtables_bytes');
    return false;
  }

  /**
   * Runs one statement as a step: records it, settles its `=> RESULT`, and reports a
   * statement that failed without one.
   */
  private step<S extends Stmt>(stmt: S, space: string, body: (this: Runner, stmt: S) => Outcome): void {
    const machine = this.machine;
    const before = machine.findings.length;
    machine.beginStep(stmt.span, space, this.helperOf(stmt.kind));
    let outcome: Outcome;
    try {
      // A method of this class, or a closure for the rare statements that need one: the
      // statements of a block allocate no closure each.
      outcome = body.call(this, stmt);
    } catch (e) {
      if (!(e instanceof EvalError)) throw e;
      machine.report(e.finding.code, e.finding.severity ?? 'error', e.finding.message, { span: e.finding.span });
      machine.endStep(e.finding.message, 'not run');
      return;
    }
    if (space === 'kernel' || space === 'concurrent') this.reportWx(stmt);
    machine.endStep(outcome.summary ?? ('message' in outcome ? outcome.message : ''), outcomeText(outcome));
    this.settle(stmt, outcome, machine.findings, before);
  }

  /** A kernel statement that left a W+X mapping gets a `wx-mapping` warning (spec §10). */
  private reportWx(stmt: Stmt): void {
    const record = this.machine.currentStep;
    if (!record) return;
    const wx = wxLeftBy(this.machine, record);
    if (!wx) return;
    const prot = 'prot' in stmt && stmt.prot && typeof stmt.prot === 'object' && 'span' in stmt.prot ? stmt.prot : undefined;
    this.machine.report(
      'wx-mapping',
      'warning',
      `${stmt.keyword.text} left ${wx.pages} page${wx.pages === 1n ? '' : 's'} writable and executable in the kernel, from ${wx.firstText}: ${wx.rule}`,
      { fix: prot ? { kind: 'wx', prot: prot.span } : { kind: 'wx' } },
    );
  }

  /** `findings.slice(from)` are the ones the statement reported (sliced only when needed). */
  private settle(stmt: Stmt, outcome: Outcome, findings: readonly Finding[], from = 0): void {
    const expected: ResultSpec | undefined = stmt.result;
    const machine = this.machine;
    if (expected) {
      const mismatch = this.mismatch(expected, outcome);
      if (mismatch === undefined) {
        if (outcome.kind === 'errno') {
          for (const f of outcome.causes ?? findings.slice(from).filter((x) => explains(x.code))) markExpected(f);
        }
        return;
      }
      machine.report('expectation-failed', 'error', mismatch, { span: expected.span });
      return;
    }
    if (outcome.kind === 'errno') {
      machine.report('statement-failed', 'warning', `${stmt.keyword.text} returned ${outcome.errno}: ${outcome.message}`, { span: stmt.span });
    } else if (outcome.kind === 'segv') {
      machine.report('statement-failed', 'warning', `${stmt.keyword.text} faulted with SIGSEGV: ${outcome.message}`, { span: stmt.span });
    }
  }

  /** Undefined when the outcome matches `=> RESULT`, else the expectation-failed message. */
  private mismatch(expected: ResultSpec, outcome: Outcome): string | undefined {
    const actual = outcomeText(outcome);
    const why = outcome.kind === 'errno' || outcome.kind === 'segv' ? `: ${outcome.message}` : '';
    switch (expected.kind) {
      case 'ok':
        // A read that returned a value succeeded: `read ADDR => ok` holds (spec §12's example).
        return outcome.kind === 'ok' || outcome.kind === 'value' ? undefined : `expected ok, but the statement returned ${actual}${why}`;
      case 'segv':
        return outcome.kind === 'segv' ? undefined : `expected segv, but the statement returned ${actual}${why}`;
      case 'errno':
        return outcome.kind === 'errno' && outcome.errno === expected.errno.text
          ? undefined
          : `expected ${expected.errno.text}, but the statement returned ${actual}${why}`;
      case 'value': {
        const want = this.ctx.num(expected.value);
        if (outcome.kind === 'value' && outcome.value === want) return undefined;
        return `expected value ${want}, but the statement returned ${actual}${why}`;
      }
    }
  }

  private kernelStmt(stmt: KernelStmt): Outcome {
    switch (stmt.kind) {
      case 'map':
        return execMap(this.ctx, stmt);
      case 'unmap':
        return execUnmap(this.ctx, stmt);
      case 'vmalloc':
        return execVmalloc(this.ctx, stmt);
      case 'vfree':
        return execVfree(this.ctx, stmt);
      case 'set_memory':
        return execSetMemory(this.ctx, stmt);
      case 'set_memory_valid':
        return execSetMemoryValid(this.ctx, stmt);
      case 'set_direct_map':
        return execSetDirectMap(this.ctx, stmt);
      case 'alloc_pgtable_page':
        return execAllocPgtablePage(this.ctx, stmt);
      case 'free_pgtable_page':
        return execFreePgtablePage(this.ctx, stmt);
      case 'ptdump':
        return execPtdump(this.ctx, stmt);
      case 'check_wx':
        return execCheckWx(this.ctx, stmt);
      default:
        return this.tableOrCommon(stmt);
    }
  }

  private processStmt(stmt: ProcessStmt): Outcome {
    switch (stmt.kind) {
      case 'pgtable_alloc':
      case 'pgtable_ctor':
      case 'pgtable_dtor':
      case 'pgtable_free':
      case 'populate':
      case 'clear':
      case 'let':
      case 'expect':
        return this.tableOrCommon(stmt);
      default:
        return processModule.exec(this.ctx, stmt);
    }
  }

  private tableOrCommon(stmt: KernelStmt | ProcessStmt): Outcome {
    switch (stmt.kind) {
      case 'pgtable_alloc':
        return execPgtableAlloc(this.ctx, stmt);
      case 'pgtable_ctor':
      case 'pgtable_dtor':
        return execPgtableCtor(this.ctx, stmt);
      case 'pgtable_free':
        return execPgtableFree(this.ctx, stmt);
      case 'populate':
        return execPopulate(this.ctx, stmt);
      case 'clear':
        return execClear(this.ctx, stmt);
      case 'let':
      case 'expect':
        return this.common(stmt);
      default:
        return { kind: 'errno', errno: 'EINVAL', message: `\`${stmt.keyword.text}\` cannot run here` };
    }
  }

  private common(stmt: LetStmt | ExpectStmt): Outcome {
    if (stmt.kind === 'let') {
      const value = this.ctx.num(stmt.value);
      this.ctx.bind(stmt.name.text, { kind: 'value', value, span: stmt.name.span });
      return ok(`${stmt.name.text} = ${value} (0x${value.toString(16)})`);
    }
    return this.expect(stmt);
  }

  private expect(stmt: ExpectStmt): Outcome {
    const left = this.ctx.eval(stmt.left);
    const right = this.ctx.eval(stmt.right);
    const holds = compare(left, stmt.op, right);
    if (holds === undefined) {
      throw new EvalError({ code: 'bad-value', span: stmt.span, message: `cannot compare \`${String(left)}\` ${stmt.op} \`${String(right)}\`: symbols only compare with == and !=` });
    }
    const text = sourceText(left);
    if (!holds) {
      this.machine.report('expectation-failed', 'error', `expected ${describe(stmt)} ${stmt.op} ${sourceText(right)}, but it is ${text}`, { span: stmt.span });
      return ok(`does not hold: ${text}`);
    }
    return ok(`holds: ${text}`);
  }

  /** `expect diagnostic CODE`: at least one finding of that code, which is then expected. */
  applyExpectedDiagnostics(): void {
    for (const stmt of this.expectDiagnostics) {
      const code = stmt.code.text as FindingCode;
      const matching = this.machine.findings.filter((f) => f.code === code && f.span !== stmt.span);
      if (matching.length === 0) {
        this.machine.report('expectation-failed', 'error', `expected at least one \`${code}\` finding in this scenario, but none occurred`, { span: stmt.span });
      }
      for (const f of matching) markExpected(f);
    }
  }
}

/** Findings that can explain an errno result (spec §6). */
function explains(code: FindingCode): boolean {
  return code === 'partial-block-overlap' || code === 'bad-value' || code === 'ctor-dtor-leak';
}

function markExpected(f: Finding): void {
  f.expected = true;
  if (f.severity === 'error' || f.severity === 'warning') f.severity = 'information';
}

function compare(left: Value, op: ExpectStmt['op'], right: Value): boolean | undefined {
  if (typeof left === 'bigint' && typeof right === 'bigint') {
    switch (op) {
      case '==':
        return left === right;
      case '!=':
        return left !== right;
      case '<':
        return left < right;
      case '<=':
        return left <= right;
      case '>':
        return left > right;
      case '>=':
        return left >= right;
    }
  }
  if (op !== '==' && op !== '!=') return undefined;
  const l = String(left);
  const r = String(right);
  return op === '==' ? l === r : l !== r;
}

function sourceText(value: Value): string {
  return typeof value === 'bigint' ? (value > 4096n ? `${value} (0x${value.toString(16)})` : `${value}`) : value;
}

function describe(stmt: ExpectStmt): string {
  const left = stmt.left;
  if (left.kind === 'query') return `${left.query}${left.space || left.addr || left.level ? '(…)' : ''}`;
  if (left.kind === 'name') return left.name.text;
  return 'the value';
}

/**
 * The run's budget, always built by this one literal, so every run's budget has the same hidden
 * class. Built as a spread of the defaults and the caller's fields, the entries-budget check
 * every statement runs (Machine.countWrites) kept deoptimizing on the budget's map: 748
 * deoptimizations in four runs of the 8192-statement guard benchmark, 30 with this.
 */
function budgetOf(given: Partial<Budget> = {}): Budget {
  return {
    tablePages: given.tablePages ?? DEFAULT_BUDGET.tablePages,
    entries: given.entries ?? DEFAULT_BUDGET.entries,
    steps: given.steps ?? DEFAULT_BUDGET.steps,
    schedules: given.schedules ?? DEFAULT_BUDGET.schedules,
    states: given.states ?? DEFAULT_BUDGET.states,
  };
}
