// CodeLenses on scenario heads, computed from the parse alone so they appear at once and never
// make lines jump while a run is in flight (style.md B4.2).

import type { CodeLens } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { Program, Scenario, Stmt, ThreadStmt } from '../engine/index';
import type { LensKind, ScenarioRef, ServerSettings } from '../protocol/lsp-ext';
import { toRange } from './diagnostics';

const TITLES: Record<LensKind, string> = {
  run: '▶ Run',
  showTables: 'Show tables',
  explore: 'Explore interleavings',
};

export function hasConcurrent(scenario: Scenario): boolean {
  return scenario.body.some((s: Stmt | ThreadStmt) => s.kind === 'concurrent');
}

/**
 * One lens per enabled kind per scenario, naming the client command the client advertised for
 * it; kinds the client did not advertise are left out.
 */
export function codeLenses(
  document: TextDocument,
  program: Program,
  commands: Partial<Record<LensKind, string>>,
  settings: ServerSettings,
): CodeLens[] {
  const lenses: CodeLens[] = [];
  program.scenarios.forEach((scenario, scenarioIndex) => {
    const range = toRange(document, scenario.headSpan);
    const ref: ScenarioRef = { uri: document.uri, version: document.version, scenarioIndex };
    const kinds: LensKind[] = ['run', 'showTables'];
    if (hasConcurrent(scenario)) kinds.push('explore');
    for (const kind of kinds) {
      const command = commands[kind];
      if (!command || !settings.codeLens[kind]) continue;
      lenses.push({ range, command: { title: TITLES[kind], command, arguments: [ref] } });
    }
  });
  return lenses;
}
