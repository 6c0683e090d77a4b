// Per-document state: the analysis of each version (parse + check) and the runs made from it.
// Everything is keyed by version, so nothing computed for an older text is ever served.

import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { Finding, Program, Scenario } from '../engine/index';
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

export class DocumentStore {
  private readonly analyses = new Map<string, Analysis>();
  private readonly runs = new Map<string, { version: number; byScenario: Map<number, TimedRun> }>();

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

  delete(uri: string): void {
    this.analyses.delete(uri);
    this.runs.delete(uri);
  }
}
