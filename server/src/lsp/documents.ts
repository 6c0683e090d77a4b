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

  setRun(uri: string, version: number, scenarioIndex: number, run: TimedRun): void {
    let entry = this.runs.get(uri);
    if (!entry || entry.version !== version) {
      entry = { version, byScenario: new Map() };
      this.runs.set(uri, entry);
    }
    entry.byScenario.set(scenarioIndex, run);
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
    this.memos.set(uri, memo);
  }

  /** Forgets every run (the run settings changed: budgets and limits change the results). */
  forgetRuns(): void {
    this.runs.clear();
    this.memos.clear();
  }

  delete(uri: string): void {
    this.analyses.delete(uri);
    this.runs.delete(uri);
    this.memos.delete(uri);
  }
}
