// The TextMate grammar and language configuration stay in step with the parser: every keyword
// and closed value the parser knows is named in the grammar, and the editor regexes behave.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { vocabulary } from '../../server/src/language/index';

const ROOT = path.resolve(__dirname, '../../..');
const grammarText = fs.readFileSync(path.join(ROOT, 'syntaxes/ptscn.tmLanguage.json'), 'utf8');
const config = JSON.parse(fs.readFileSync(path.join(ROOT, 'syntaxes/ptscn.language-configuration.json'), 'utf8')) as {
  comments: { lineComment: string };
  indentationRules: { increaseIndentPattern: string; decreaseIndentPattern: string };
  onEnterRules: { beforeText: string; afterText?: string }[];
  wordPattern: string;
};

describe('grammar', () => {
  it('is JSON with the source.ptscn scope', () => {
    const grammar = JSON.parse(grammarText) as { scopeName: string };
    assert.equal(grammar.scopeName, 'source.ptscn');
  });

  const groups: [string, readonly string[]][] = [
    ['headers', vocabulary.HEADER_KEYWORDS],
    ['kernel statements', vocabulary.KERNEL_KEYWORDS],
    ['table statements', vocabulary.TABLE_KEYWORDS],
    ['process statements', vocabulary.PROCESS_KEYWORDS],
    ['thread statements', vocabulary.THREAD_KEYWORDS],
    ['top-level statements', vocabulary.TOP_KEYWORDS],
    ['features', vocabulary.FEATURES],
    ['advices', vocabulary.ADVICES],
    ['levels', vocabulary.LEVELS],
    ['errnos', vocabulary.ERRNOS],
    ['race kinds', vocabulary.RACE_KINDS],
    ['leaf kinds', vocabulary.LEAF_KINDS],
    ['mmap flags', vocabulary.MMAP_FLAGS],
    ['queries', [...vocabulary.QUERY_NAMES]],
    ['architectures', [...vocabulary.ARCHES.keys()]],
  ];
  for (const [group, words] of groups) {
    it(`names every one of the ${group}`, () => {
      const missing = words.filter((w) => !new RegExp(`[(:|]${w}[)|]`).test(grammarText));
      assert.deepEqual(missing, []);
    });
  }
});

describe('language configuration', () => {
  it('uses # line comments', () => assert.equal(config.comments.lineComment, '#'));

  it('indents after an opening brace and not after a closed one', () => {
    const increase = new RegExp(config.indentationRules.increaseIndentPattern);
    const decrease = new RegExp(config.indentationRules.decreaseIndentPattern);
    assert.ok(increase.test('  kernel {'));
    assert.ok(increase.test('scenario "t" {  # note'));
    assert.ok(!increase.test('  process q { read buf }'));
    assert.ok(!increase.test('# {'));
    assert.ok(decrease.test('  }'));
    assert.ok(!decrease.test('  map 0 size 4K phys 0 prot rw'));
  });

  it('splits braces on Enter', () => {
    const [split] = config.onEnterRules;
    assert.ok(split && new RegExp(split.beforeText).test('  kernel {') && new RegExp(split.afterText ?? '$^').test('}'));
  });

  it('treats numbers with units and names as words', () => {
    const word = new RegExp(`^(?:${config.wordPattern})$`);
    for (const w of ['0xffff_0000', '4KiB', '10p', 'set_memory_ro', 'buf']) assert.ok(word.test(w), w);
  });
});
