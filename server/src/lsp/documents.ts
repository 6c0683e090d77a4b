// Per-document state: the analysis of each version (parse + check) and the runs made from it.
// Everything is keyed by version, so nothing computed for an older text is ever served, except
// through the run memo: a scenario's run depends only on its own text (and the run settings),
// and not on its comments or layout (scenarioLayout), so a later version whose scenario reads
// the same reuses it instead of running it again.

import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { Finding, Program, Scenario, Span } from '../engine/index';
import { parseAndCheck, tokensOf } from './language';
import type { TimedRun } from './run';

export interface Analysis {
  version: number;
  program: Program;
  /** Static findings of the whole document (parser and checker). */
  problems: Finding[];
}

/** Static findings inside one scenario (a finding outside every scenario belongs to none). */
export function scenarioProblems(analysis: Analysis, scenario: Scenario): Finding[] {
  return analysis.problems.filter((p) => p.span.start >= scenario.span.start && p.span.start < scenario.span.end);
}

export function hasStaticErrors(analysis: Analysis, scenario: Scenario): boolean {
  return scenarioProblems(analysis, scenario).some((p) => p.severity === 'error');
}

/**
 * What a scenario's run depends on in its text, and where its tokens are. The key is the text
 * without comments, blank lines, indentation or trailing blanks: a statement ends at a line
 * break, and spacing inside a line is kept as written (a message may quote source text), so two
 * texts with one key run alike. `starts` are the offsets of its tokens from the scenario's start,
 * to move findings from one text to the other.
 */
export interface ScenarioLayout {
  key: string;
  starts: number[];
}

export function scenarioLayout(text: string, scenario: Scenario): ScenarioLayout {
  const slice = text.slice(scenario.span.start, scenario.span.end);
  const starts: number[] = [];
  let key = '';
  let lineStart = true;
  let end = 0;
  for (const token of tokensOf(slice)) {
    if (token.kind === 'comment' || token.kind === 'eof') continue;
    if (token.kind === 'newline') {
      if (!lineStart) key += '\n';
      lineStart = true;
      continue;
    }
    key += lineStart ? token.text : slice.slice(end, token.start) + token.text;
    starts.push(token.start);
    lineStart = false;
    end = token.end;
  }
  return { key, starts };
}

/** A finished run remembered by its scenario's layout key, with where the scenario and its tokens were then. */
export interface RememberedRun {
  start: number;
  starts: number[];
  timed: TimedRun;
}

/** Whether a remembered run's spans fit the scenario as it is now, token for token. */
export function samePlace(before: RememberedRun, start: number, layout: ScenarioLayout): boolean {
  return before.start === start && before.starts.length === layout.starts.length && before.starts.every((offset, k) => offset === layout.starts[k]);
}

/**
 * Moves a finding made for a scenario laid out as `from` to the same tokens laid out as `to`:
 * an offset keeps its distance from the token at or before it (spans start and end on tokens,
 * and the spacing inside a line is the same in both).
 */
export function moveFinding(finding: Finding, from: { start: number; starts: readonly number[] }, to: { start: number; starts: readonly number[] }): Finding {
  const offset = (at: number): number => {
    const rel = at - from.start;
    let lo = 0;
    let hi = from.starts.length - 1;
    let k = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((from.starts[mid] ?? 0) <= rel) {
        k = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return k < 0 ? to.start + rel : to.start + (to.starts[k] ?? 0) + (rel - (from.starts[k] ?? 0));
  };
  const move = (span: Span): Span => ({ start: offset(span.start), end: offset(span.end) });
  const moved: Finding = { ...finding, span: move(finding.span) };
  if (finding.related) moved.related = finding.related.map((r) => ({ ...r, span: move(r.span) }));
  const fix = finding.fix;
  if (fix?.kind === 'wx' && fix.prot) moved.fix = { ...fix, prot: move(fix.prot) };
  else if (fix?.kind === 'ctor-dtor') moved.fix = { ...fix, after: move(fix.after) };
  return moved;
}

export class DocumentStore {
  private readonly analyses = new Map<string, Analysis>();
  private readonly runs = new Map<string, { version: number; byScenario: Map<number, TimedRun> }>();
  /** Per document: the runs of its last analysed version, by scenario layout key (forgotten when the run settings change). */
  private readonly memos = new Map<string, Map<string, RememberedRun>>();

  /** The analysis of the document's current version, computed once per version. */
  analysis(document: TextDocument): Analysis {
    const cached = this.analyses.get(document.uri);
    if (cached && cached.version === document.version) return cached;
    const { program, problems } = parseAndCheck(document.getText());
    const analysis: Analysis = { version: document.version, program, problems };
    this.analyses.set(document.uri, analysis);
    return analysis;
  }

  /** The last analysis of a document, whatever its version (for lenses while typing). */
  lastAnalysis(uri: string): Analysis | undefined {
    return this.analyses.get(uri);
  }

  /**
   * Stores a finished run of that version of the document, unless one is stored already (two
   * runs of one text are alike, and the first may be held by an analysis not yet remembered).
   * Storing a newer version's run drops the older version's runs.
   */
  setRun(uri: string, version: number, scenarioIndex: number, run: TimedRun): void {
    const entry = this.runs.get(uri);
    if (entry && entry.version === version) {
      if (!entry.byScenario.has(scenarioIndex)) entry.byScenario.set(scenarioIndex, run);
      return;
    }
    this.runs.set(uri, { version, byScenario: new Map([[scenarioIndex, run]]) });
    if (entry) this.release(uri, entry.byScenario.values());
  }

  /** A finished (not cancelled) run of that version of the document. */
  getRun(uri: string, version: number, scenarioIndex: number): TimedRun | undefined {
    const entry = this.runs.get(uri);
    if (!entry || entry.version !== version) return undefined;
    return entry.byScenario.get(scenarioIndex);
  }

  /** The run remembered for a scenario with this layout key. */
  recall(uri: string, key: string): RememberedRun | undefined {
    return this.memos.get(uri)?.get(key);
  }

  /** Replaces what is remembered of the document (the runs of the version just analysed). */
  remember(uri: string, memo: Map<string, RememberedRun>): void {
    const before = this.memos.get(uri);
    this.memos.set(uri, memo);
    if (before) this.release(uri, [...before.values()].map((r) => r.timed));
  }

  /**
   * Replaces one run of the remembered `memo` (a moved scenario run again once typing paused),
   * if `memo` is still what is remembered of the document.
   */
  rememberRun(uri: string, memo: Map<string, RememberedRun>, key: string, run: RememberedRun): void {
    if (this.memos.get(uri) !== memo) return;
    const before = memo.get(key);
    memo.set(key, run);
    if (before) this.release(uri, [before.timed]);
  }

  /** Forgets every run (the run settings changed: budgets and limits change the results). */
  forgetRuns(): void {
    const uris = new Set([...this.runs.keys(), ...this.memos.keys()]);
    for (const uri of uris) this.forget(uri);
  }

  delete(uri: string): void {
    this.analyses.delete(uri);
    this.forget(uri);
  }

  private forget(uri: string): void {
    const dropped = [...(this.runs.get(uri)?.byScenario.values() ?? []), ...[...(this.memos.get(uri)?.values() ?? [])].map((r) => r.timed)];
    this.runs.delete(uri);
    this.memos.delete(uri);
    this.release(uri, dropped);
  }

  /**
   * Gives the tables of the dropped runs that the store no longer holds to later runs at once
   * (RunState.release) instead of waiting for a full garbage collection to find them dead: a
   * heavy scenario rerun on every edit otherwise takes megabytes of fresh array buffers per run,
   * and V8 answers those with young-generation collections in the middle of the next runs.
   * Only the store keeps runs across turns of the event loop (a request reads the run it got at
   * once; an analysis that goes stale never remembers its runs), so a run it no longer holds
   * is read by nobody.
   */
  private release(uri: string, dropped: Iterable<TimedRun>): void {
    const held = new Set<TimedRun>(this.runs.get(uri)?.byScenario.values());
    for (const remembered of this.memos.get(uri)?.values() ?? []) held.add(remembered.timed);
    for (const timed of dropped) if (!held.has(timed)) timed.run?.state.release();
  }
}
