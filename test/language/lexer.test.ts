// Lexer: token kinds, spans, number values and units, strings, comments and garbage.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lex, type Token } from '../../server/src/language/index';

function kinds(text: string): string[] {
  return lex(text).map((t) => `${t.kind}:${t.text}`);
}

function only(text: string): Token {
  const [token, eof] = lex(text);
  assert.equal(eof?.kind, 'eof');
  assert.ok(token);
  return token;
}

describe('lexer', () => {
  it('splits words, punctuation and operators', () => {
    assert.deepEqual(kinds('a_1{}(),;+-*|= => == != <= >= < >'), [
      'word:a_1',
      'lbrace:{',
      'rbrace:}',
      'lparen:(',
      'rparen:)',
      'comma:,',
      'semicolon:;',
      'plus:+',
      'minus:-',
      'star:*',
      'pipe:|',
      'assign:=',
      'arrow:=>',
      'compare:==',
      'compare:!=',
      'compare:<=',
      'compare:>=',
      'compare:<',
      'compare:>',
      'eof:',
    ]);
  });

  it('keeps comments and newlines, without trailing blanks', () => {
    assert.deepEqual(kinds('a # c  \r\nb\rc\n'), ['word:a', 'comment:# c', 'newline:\r\n', 'word:b', 'newline:\r', 'word:c', 'newline:\n', 'eof:']);
  });

  it('gives exact offsets', () => {
    const tokens = lex('  map\t0x10');
    assert.deepEqual(
      tokens.map((t) => [t.start, t.end]),
      [
        [2, 5],
        [6, 10],
        [10, 10],
      ],
    );
  });

  const NUMBERS: [string, bigint, string | undefined][] = [
    ['4096', 4096n, undefined],
    ['0', 0n, undefined],
    ['0xffff_0000_0000_0000', 0xffff000000000000n, undefined],
    ['0XFF', 255n, undefined],
    ['1_000', 1000n, undefined],
    ['4K', 4n, 'K'],
    ['4KiB', 4n, 'K'],
    ['2M', 2n, 'M'],
    ['2MiB', 2n, 'M'],
    ['1G', 1n, 'G'],
    ['1GiB', 1n, 'G'],
    ['3T', 3n, 'T'],
    ['3TiB', 3n, 'T'],
    ['10p', 10n, 'p'],
    ['0x10M', 16n, 'M'],
    ['0x1fT', 31n, 'T'],
    ['99999999999999999999999', 99999999999999999999999n, undefined],
  ];
  for (const [text, value, unit] of NUMBERS) {
    it(`reads the number ${text}`, () => {
      const token = only(text);
      assert.equal(token.kind, 'number');
      assert.equal(token.value, value);
      assert.equal(token.unit, unit);
      assert.equal(token.error, undefined);
    });
  }

  for (const text of ['4k', '4KB', '0x', '0xg', '12abc', '1P', '2pages']) {
    it(`marks ${text} as a malformed number`, () => {
      const token = only(text);
      assert.equal(token.kind, 'number');
      assert.equal(token.value, undefined);
      assert.ok(token.error);
    });
  }

  it('decodes strings with escapes', () => {
    const token = only('"a \\"b\\" \\\\ c"');
    assert.equal(token.kind, 'string');
    assert.equal(token.str, 'a "b" \\ c');
    assert.equal(token.error, undefined);
  });

  it('ends an unterminated string at the line end', () => {
    const tokens = lex('"abc\nx');
    assert.equal(tokens[0]?.kind, 'string');
    assert.equal(tokens[0]?.text, '"abc');
    assert.ok(tokens[0]?.error);
    assert.equal(tokens[1]?.kind, 'newline');
  });

  it('flags unknown escapes', () => {
    assert.ok(only('"\\n"').error);
  });

  it('groups runs of unknown characters into one invalid token', () => {
    const tokens = lex('a @$%\u0000\u00e9 b 😀');
    assert.deepEqual(
      tokens.map((t) => t.kind),
      ['word', 'invalid', 'word', 'invalid', 'eof'],
    );
    assert.equal(tokens[1]?.text, '@$%\u0000\u00e9');
    assert.equal(tokens[3]?.end, tokens[3]?.start === undefined ? 0 : tokens[3].start + 2);
  });

  it('skips a byte-order mark at the start only', () => {
    assert.deepEqual(kinds('\ufeffa'), ['word:a', 'eof:']);
    assert.equal(lex('a\ufeff')[1]?.kind, 'invalid');
  });
});

describe('lexer limits', () => {
  it('keeps leading zeros out of the digit budget', () => {
    assert.equal(only(`0x${'0'.repeat(5000)}1`).value, 1n);
  });

  it('gives a literal of more than 1000 significant digits the value 2^64', () => {
    assert.equal(only('9'.repeat(1001)).value, 1n << 64n);
    assert.equal(only('9'.repeat(1000)).value, 10n ** 1000n - 1n);
  });
});
