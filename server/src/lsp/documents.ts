// Per-document state: the analysis of each version (parse + check) and the runs made from it.
// Everything is keyed by version, so nothing computed for an older text is ever served, except
// through the run memo: a scenario's run depends only on its own text (and the run settings),
// so a later version whose scenario text is unchanged reuses it instead of running it again.

import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { Finding, Program, Scenario, Span } from '../engine/index';
import { parseAndCheck } from './language';
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

/** A finished run remembered by its scenario's text, with where the scenario started then. */
export interface RememberedRun {
  start: number;
  timed: TimedRun;
}

/** Moves a finding made for a scenario that started `delta` characters earlier or later. */
export function shiftFinding(finding: Finding, delta: number): Finding {
  if (delta === 0) return finding;
  const move = (span: Span): Span => ({ start: span.start + delta, end: span.end + delta });
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
  /** Per document: the runs of its last analysed version, by scenario text (forgotten when the run settings change). */
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

  /** The run remembered for a scenario with exactly this text. */
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
