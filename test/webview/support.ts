// Shared by the inspector tests: run scenario text through the real parser, engine and server
// conversion, and answer the page's messages the way the extension host and server would.

import { TextDocument } from 'vscode-languageserver-textdocument';
import { runScenario, type ScenarioRun } from '../../server/src/engine/index';
import { analyze } from '../../server/src/language/index';
import { inspectorTree } from '../../server/src/lsp/inspector';
import { toRunResult } from '../../server/src/lsp/run';
import type { RunResult } from '../../server/src/protocol/result';
import { isViewToHost, type HostToView } from '../../server/src/protocol/webview';

export interface Ran {
  text: string;
  run: ScenarioRun;
  result: RunResult;
}

/** Parses, runs and converts scenario `index` of `text` as the server does for ptscn/runScenario. */
export function runText(text: string, index = 0, uri = 'file:///work/inspector.ptscn'): Ran {
  const { program, problems } = analyze(text);
  const errors = problems.filter((p) => p.severity === 'error');
  if (errors.length > 0) throw new Error(`scenario text has errors: ${errors.map((p) => p.message).join('; ')}`);
  const scenario = program.scenarios[index];
  if (!scenario) throw new Error(`no scenario ${index}`);
  const run = runScenario(scenario, { budget: { tablePages: 1 << 20, entries: 100_000_000 } });
  const document = TextDocument.create(uri, 'ptscn', 1, text);
  const result = toRunResult(document, index, scenario, [], { run, ms: 1, isCancelled: false });
  return { text, run, result };
}

/** Answers view → host messages from a run, like InspectorPanel with the server behind it. */
export function answer(ran: Ran, message: unknown, focus: 'steps' | 'tables' | 'explorer' = 'tables'): HostToView[] {
  if (!isViewToHost(message)) return [];
  switch (message.type) {
    case 'ready':
      return [{ type: 'showResult', result: ran.result, focus }];
    case 'fetchRows':
      return [{ type: 'rows', requestId: message.requestId, result: inspectorTree(ran.run.state, message.params) }];
    case 'reveal':
    case 'export':
      return [];
  }
}

/** A kernel and a process with every kind of finding the tree marks. */
export const FINDINGS_SCENARIO = `scenario "findings in the tree" {
  arch arm64 granule=4k va=48
  kernel {
    map 0xffff000000000000 size 2M phys 0x80000000 prot rw leaf=pte nocont
    map 0xffff000000200000 size 62M phys 0x80200000 prot rw
    vmalloc text size 64K prot rwx
    set_memory_ro 0xffff000000000000 pages 513 => EINVAL
    pgtable_alloc pte as stray
  }
  process app {
    mmap arena size 64p prot rw
    touch arena size 64p write
    madvise arena + 15p size 1p guard_install => ok
    madvise arena + 31p size 1p guard_install => ok
  }
}
`;

/** A linear map of \`size\` in 4K pages: 262,144 PTEs per GiB. */
export function linearMap(size: string): string {
  return `scenario "linear map of ${size} in 4K pages" {
  arch arm64 granule=4k va=48
  kernel {
    map 0xffff000000000000 size ${size} phys 0x80000000 prot rw leaf=pte nocont
    set_memory_ro 0xffff000000000000 pages 16 => ok
  }
}
`;
}
