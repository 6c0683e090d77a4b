// Completion: statements valid in the block at the cursor, then, by the statement's shape, the
// words its slots take (protections, advices, features, arch names and options, levels,
// queries, results) and the names bound earlier in the scenario.

import { CompletionItemKind, InsertTextFormat, type CompletionItem } from 'vscode-languageserver';
import type { Program } from '../engine/index';
import { cursorContext } from './cursor-context';
import { boundNames } from './language';
import {
  ACCOUNTING_MODES,
  ADVICES,
  ARCHES,
  DIAGNOSTIC_CODES,
  FEATURES,
  LEVELS,
  MMAP_FLAGS,
  PROTECTIONS,
  QUERIES,
  RACES,
  RESULTS,
  THP_MODES,
  VARIANTS,
  statementsFor,
} from './vocabulary';

function words(list: readonly string[], kind: CompletionItemKind, detail: string): CompletionItem[] {
  return list.map((label) => ({ label, kind, detail }));
}

interface BoundName {
  name: string;
  kind: 'number' | 'process' | 'table' | 'page';
}

const BINDING_PATTERNS: readonly [RegExp, BoundName['kind']][] = [
  [/^[ \t]*(?:let|mmap)[ \t]+([A-Za-z_]\w*)/gm, 'number'],
  [/^[ \t]*vmalloc[ \t]+([A-Za-z_]\w*)/gm, 'number'],
  [/^[ \t]*process[ \t]+([A-Za-z_]\w*)/gm, 'process'],
  [/^[ \t]*fork[ \t]+\w+[ \t]+as[ \t]+([A-Za-z_]\w*)/gm, 'process'],
  [/^[ \t]*pgtable_alloc[ \t]+\w+[ \t]+as[ \t]+([A-Za-z_]\w*)/gm, 'table'],
  [/^[ \t]*alloc_pgtable_page[ \t]+([A-Za-z_]\w*)/gm, 'page'],
];

/**
 * Names bound before `offset` in its scenario (spec §3). The tree gives them for well-formed
 * statements; a scan of the text adds those on lines the parser rejected while being typed.
 */
export function namesInScope(program: Program | undefined, offset: number, text = ''): BoundName[] {
  const names = new Map<string, BoundName>();
  const scenarioStart = Math.max(0, text.lastIndexOf('scenario', offset));
  const before = text.slice(scenarioStart, offset);
  for (const [pattern, kind] of BINDING_PATTERNS) {
    for (const match of before.matchAll(pattern)) {
      const name = match[1];
      if (name) names.set(name, { name, kind });
    }
  }
  if (!program) return [...names.values()];
  const kinds: Record<string, BoundName['kind'] | undefined> = { value: 'number', table: 'table', page: 'page', process: 'process' };
  for (const symbol of boundNames(program, offset)) {
    const kind = kinds[symbol.kind];
    if (kind) names.set(symbol.name, { name: symbol.name, kind });
  }
  return [...names.values()];
}

function nameItems(names: BoundName[], kinds: BoundName['kind'][]): CompletionItem[] {
  return names
    .filter((n) => kinds.includes(n.kind))
    .map((n) => ({ label: n.name, kind: n.kind === 'process' ? CompletionItemKind.Module : CompletionItemKind.Variable, detail: n.kind }));
}

function queryItems(): CompletionItem[] {
  return QUERIES.map((q) => ({ label: q.name, kind: CompletionItemKind.Function, detail: q.signature, documentation: q.doc }));
}

function expressionItems(names: BoundName[]): CompletionItem[] {
  return [...nameItems(names, ['number']), ...queryItems()];
}

export function complete(text: string, offset: number, program: Program | undefined): CompletionItem[] {
  const context = cursorContext(text, offset);
  if (context.isInert) return [];
  const names = namesInScope(program, offset, text);
  const [keyword, ...args] = context.words;
  if (!keyword) {
    return statementsFor(context.block).map((s) => ({
      label: s.keyword,
      kind: CompletionItemKind.Keyword,
      detail: s.signature,
      documentation: s.doc,
      insertTextFormat: InsertTextFormat.PlainText,
    }));
  }
  const previous = args[args.length - 1] ?? keyword;
  if (context.words.includes('=>')) return previous === '=>' ? words(RESULTS, CompletionItemKind.EnumMember, 'result') : [];
  if (previous === 'prot') return words(PROTECTIONS, CompletionItemKind.EnumMember, 'protection');
  switch (keyword) {
    case 'arch': {
      if (args.length === 0) return words(ARCHES.map((a) => a.name), CompletionItemKind.EnumMember, 'architecture');
      const arch = ARCHES.find((a) => a.name === args[0]);
      const used = new Set(args.slice(1).map((a) => a.split('=')[0]));
      return words((arch?.options ?? []).filter((o) => !used.has(o.split('=')[0])), CompletionItemKind.Property, `${args[0]} option`);
    }
    case 'feature':
      return words(FEATURES.filter((f) => !args.includes(f)), CompletionItemKind.EnumMember, 'feature');
    case 'thp':
      return args.length === 0 ? words(THP_MODES, CompletionItemKind.EnumMember, 'thp mode') : [];
    case 'accounting':
      return args.length === 0 ? words(ACCOUNTING_MODES, CompletionItemKind.EnumMember, 'accounting mode') : [];
    case 'expect':
      if (args.length === 0) return [...queryItems(), ...words(['race', 'diagnostic'], CompletionItemKind.Keyword, 'expect')];
      if (previous === 'race') return words(RACES, CompletionItemKind.EnumMember, 'race kind');
      if (previous === 'diagnostic') return words(DIAGNOSTIC_CODES, CompletionItemKind.EnumMember, 'diagnostic code');
      return expressionItems(names);
    case 'madvise':
      return args.length >= 3 && args[args.length - 2] === 'size' ? words(ADVICES, CompletionItemKind.EnumMember, 'advice') : expressionItems(names);
    case 'mmap':
      if (args.length === 0 || previous === 'at' || previous === 'size') return [];
      return words([...MMAP_FLAGS, 'at', 'size', 'prot'].filter((f) => !args.includes(f)), CompletionItemKind.Keyword, 'mmap');
    case 'pgtable_alloc':
    case 'clear':
    case 'load':
    case 'rmw':
      if (args.length === 0) return words(LEVELS, CompletionItemKind.EnumMember, 'level');
      return expressionItems(names);
    case 'pgtable_ctor':
    case 'pgtable_dtor':
    case 'pgtable_free':
      return nameItems(names, ['table']);
    case 'free_pgtable_page':
      return nameItems(names, ['page']);
    case 'vfree':
      return nameItems(names, ['number']);
    case 'fork':
    case 'exit':
      return args.length === 0 || previous === 'as' ? (previous === 'as' ? [] : nameItems(names, ['process'])) : words(['as'], CompletionItemKind.Keyword, 'fork');
    case 'lock':
    case 'unlock':
      return args.length === 0 ? words(['init_mm'], CompletionItemKind.Variable, 'lock') : words(['read', 'write'], CompletionItemKind.EnumMember, 'mode');
    case 'set_memory_valid':
      return args.length >= 3 && args[args.length - 2] === 'pages' ? words(['on', 'off'], CompletionItemKind.EnumMember, 'valid') : expressionItems(names);
    case 'touch':
      return args.length >= 3 && args[args.length - 2] === 'size' ? words(['read', 'write'], CompletionItemKind.EnumMember, 'access') : expressionItems(names);
    case 'pud_free_pmd_page':
    case 'pmd_free_pte_page':
      return args.length >= 1 ? words(VARIANTS, CompletionItemKind.Property, 'variant') : expressionItems(names);
    case 'walk':
      return args.length === 0 ? words(['kernel'], CompletionItemKind.Keyword, 'address space') : expressionItems(names);
    case 'map':
      if (args.length >= 6 && args.includes('prot')) return words(['leaf=auto', 'leaf=pte', 'leaf=pmd', 'leaf=pud', 'nocont'], CompletionItemKind.Property, 'map option');
      return expressionItems(names);
    case 'vmalloc':
      if (args.length >= 3) return words(['prot', 'huge'].filter((w) => !args.includes(w)), CompletionItemKind.Keyword, 'vmalloc');
      return [];
    case 'let':
      return args.length >= 2 ? expressionItems(names) : [];
    default:
      return expressionItems(names);
  }
}
