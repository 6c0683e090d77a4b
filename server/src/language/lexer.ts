// The .ptscn lexer: text to a flat token stream with offsets (spec §1).
//
// The lexer is context free and never fails. Malformed input becomes tokens that carry an
// `error` message; the parser decides whether to report it, because some positions accept raw
// text (`granule=4k` lexes `4k` as a number with a bad suffix, and an option value takes it as
// written). It runs in one pass over char codes with no regular expressions, so its time is
// linear in the input whatever the input is.

import type { SizeUnit } from '../engine/index';
import { WORDS } from './vocabulary';

export type TokenKind =
  | 'word'
  | 'number'
  | 'string'
  | 'comment'
  | 'newline'
  | 'lbrace'
  | 'rbrace'
  | 'lparen'
  | 'rparen'
  | 'comma'
  | 'semicolon'
  | 'plus'
  | 'minus'
  | 'star'
  | 'pipe'
  | 'assign'
  | 'arrow'
  | 'compare'
  | 'invalid'
  | 'eof';

/**
 * One token. `start`/`end` are UTF-16 offsets (half-open); `text` is the source slice, except
 * for comments, whose trailing blanks are not part of the token.
 */
export interface Token {
  kind: TokenKind;
  start: number;
  end: number;
  text: string;
  /** Numbers: the exact digits value before any unit; absent when the digits are malformed. */
  value?: bigint;
  /** Numbers: the unit written after the digits, normalised (`KiB` → `K`). */
  unit?: SizeUnit;
  /** Strings: the decoded contents. */
  str?: string;
  /** Why this token is malformed, when it is. The parser reports it where it matters. */
  error?: string;
}

const UNITS: ReadonlyMap<string, SizeUnit> = new Map<string, SizeUnit>([
  ['K', 'K'],
  ['M', 'M'],
  ['G', 'G'],
  ['T', 'T'],
  ['KiB', 'K'],
  ['MiB', 'M'],
  ['GiB', 'G'],
  ['TiB', 'T'],
  ['p', 'p'],
]);

const CH_TAB = 9;
const CH_LF = 10;
const CH_VT = 11;
const CH_FF = 12;
const CH_CR = 13;
const CH_SPACE = 32;
const CH_QUOTE = 34;
const CH_HASH = 35;
const CH_BACKSLASH = 92;
const CH_UNDERSCORE = 95;
const CH_BOM = 0xfeff;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isHexDigit(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

function isWordStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === CH_UNDERSCORE;
}

function isWordPart(c: number): boolean {
  return isWordStart(c) || isDigit(c);
}

function isBlank(c: number): boolean {
  return c === CH_SPACE || c === CH_TAB || c === CH_VT || c === CH_FF;
}

/** Whether a character can start some token (so a run of invalid characters stops before it). */
function startsToken(c: number): boolean {
  return (
    isBlank(c) ||
    c === CH_LF ||
    c === CH_CR ||
    isWordPart(c) ||
    c === CH_QUOTE ||
    c === CH_HASH ||
    '{}(),;+-*|=<>!'.includes(String.fromCharCode(c))
  );
}

/**
 * Splits `text` into tokens. The result always ends with one `eof` token; comments and newlines
 * are tokens (the formatter and semantic tokens need them), blanks are not.
 */
export function lex(text: string): Token[] {
  const tokens: Token[] = [];
  const n = text.length;
  let i = 0;
  const push = (kind: TokenKind, start: number, end: number): Token => {
    const slice = text.slice(start, end);
    // A word of the language is its interned string (vocabulary.ts WORDS); a name is the slice.
    const token: Token = { kind, start, end, text: kind === 'word' ? (WORDS.get(slice) ?? slice) : slice };
    tokens.push(token);
    return token;
  };
  while (i < n) {
    const c = text.charCodeAt(i);
    const start = i;
    if (isBlank(c) || (c === CH_BOM && i === 0)) {
      i++;
    } else if (c === CH_LF) {
      i++;
      push('newline', start, i);
    } else if (c === CH_CR) {
      // CRLF is one line break; a lone CR also ends a line, as it does for LSP positions.
      i += text.charCodeAt(i + 1) === CH_LF ? 2 : 1;
      push('newline', start, i);
    } else if (c === CH_HASH) {
      while (i < n && text.charCodeAt(i) !== CH_LF && text.charCodeAt(i) !== CH_CR) i++;
      let end = i;
      while (end > start && isBlank(text.charCodeAt(end - 1))) end--;
      push('comment', start, end);
    } else if (isWordStart(c)) {
      while (i < n && isWordPart(text.charCodeAt(i))) i++;
      push('word', start, i);
    } else if (isDigit(c)) {
      while (i < n && isWordPart(text.charCodeAt(i))) i++;
      tokens.push(lexNumber(text, start, i));
    } else if (c === CH_QUOTE) {
      i = lexString(text, start, tokens);
    } else {
      i = lexPunct(text, start, tokens);
    }
  }
  push('eof', n, n);
  return tokens;
}

/** Reads `"…"` with `\"` and `\\` escapes; an unterminated string stops at the line's end. */
function lexString(text: string, start: number, tokens: Token[]): number {
  const n = text.length;
  let i = start + 1;
  let value = '';
  let error: string | undefined;
  let closed = false;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === CH_QUOTE) {
      i++;
      closed = true;
      break;
    }
    if (c === CH_LF || c === CH_CR) break;
    if (c === CH_BACKSLASH) {
      const next = text.charCodeAt(i + 1);
      if (next === CH_QUOTE || next === CH_BACKSLASH) {
        value += text[i + 1];
        i += 2;
        continue;
      }
      error ??= 'unknown escape in string: only \\" and \\\\ are allowed';
      i++;
      continue;
    }
    value += text[i];
    i++;
  }
  if (!closed) error = 'unterminated string: expected `"` before the end of the line';
  const token: Token = { kind: 'string', start, end: i, text: text.slice(start, i), str: value };
  if (error !== undefined) token.error = error;
  tokens.push(token);
  return i;
}

function lexPunct(text: string, start: number, tokens: Token[]): number {
  const c = text[start] ?? '';
  const next = text[start + 1] ?? '';
  const single: Partial<Record<string, TokenKind>> = {
    '{': 'lbrace',
    '}': 'rbrace',
    '(': 'lparen',
    ')': 'rparen',
    ',': 'comma',
    ';': 'semicolon',
    '+': 'plus',
    '-': 'minus',
    '*': 'star',
    '|': 'pipe',
  };
  let kind: TokenKind | undefined = single[c];
  let end = start + 1;
  if (kind === undefined) {
    if (c === '=' && next === '>') {
      kind = 'arrow';
      end++;
    } else if ((c === '=' || c === '!' || c === '<' || c === '>') && next === '=') {
      kind = 'compare';
      end++;
    } else if (c === '<' || c === '>') {
      kind = 'compare';
    } else if (c === '=') {
      kind = 'assign';
    }
  }
  if (kind !== undefined) {
    tokens.push({ kind, start, end, text: text.slice(start, end) });
    return end;
  }
  // One token for a whole run of characters the language has no use for, so binary garbage
  // yields a handful of problems rather than one per byte.
  while (end < text.length && !startsToken(text.charCodeAt(end))) end++;
  const slice = text.slice(start, end);
  tokens.push({
    kind: 'invalid',
    start,
    end,
    text: slice,
    error: `unexpected character${end - start > 1 ? 's' : ''} ${describeChars(slice)}`,
  });
  return end;
}

function describeChars(slice: string): string {
  const shown = slice.length > 12 ? `${slice.slice(0, 12)}…` : slice;
  const printable = /^[\x21-\x7e]*$/.test(shown);
  if (printable) return `\`${shown}\``;
  const codes = Array.from(shown.slice(0, 4), (ch) => `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`);
  return codes.join(' ') + (shown.length > 4 ? ' …' : '');
}

/**
 * Interprets `[0-9][A-Za-z0-9_]*`: decimal or `0x` hex digits (underscores allowed after the
 * first digit, spec §1), then an optional unit.
 */
function lexNumber(text: string, start: number, end: number): Token {
  const token: Token = { kind: 'number', start, end, text: text.slice(start, end) };
  let i = start;
  let digits = '';
  const isHex = text.charCodeAt(start) === 48 && (text[start + 1] === 'x' || text[start + 1] === 'X');
  if (isHex) {
    i += 2;
    if (i >= end || !isHexDigit(text.charCodeAt(i))) {
      token.error = `\`${token.text}\` is not a number: expected hex digits after \`0x\``;
      return token;
    }
    while (i < end && (isHexDigit(text.charCodeAt(i)) || text.charCodeAt(i) === CH_UNDERSCORE)) {
      if (text.charCodeAt(i) !== CH_UNDERSCORE) digits += text[i];
      i++;
    }
  } else {
    while (i < end && (isDigit(text.charCodeAt(i)) || text.charCodeAt(i) === CH_UNDERSCORE)) {
      if (text.charCodeAt(i) !== CH_UNDERSCORE) digits += text[i];
      i++;
    }
  }
  const suffix = text.slice(i, end);
  if (suffix !== '') {
    const unit = UNITS.get(suffix);
    if (unit === undefined) {
      token.error = `\`${token.text}\` is not a number: \`${suffix}\` is not a unit (K M G T KiB MiB GiB TiB p)`;
      return token;
    }
    token.unit = unit;
  }
  token.value = digitsValue(digits, isHex);
  return token;
}

/** Significant digits beyond which a literal is certainly above 2^64 - 1 and is not converted. */
const MAX_EXACT_DIGITS = 1000;

/**
 * The exact value of a digit string. BigInt conversion is superlinear in the length, so a
 * literal with more than MAX_EXACT_DIGITS significant digits (far beyond 64 bits, and rejected
 * by the checker anyway) is given the value 2^64 instead of its own.
 */
function digitsValue(digits: string, isHex: boolean): bigint {
  let first = 0;
  while (first < digits.length - 1 && digits[first] === '0') first++;
  if (digits.length - first > MAX_EXACT_DIGITS) return 1n << 64n;
  const significant = digits.slice(first);
  return BigInt(isHex ? `0x${significant}` : significant);
}
