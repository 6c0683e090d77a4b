// The syntax tree types: the engine's Program tree (one tree serves parser and engine) plus the
// types that exist only while parsing.

export type * from '../engine/index';
export type { Token, TokenKind } from './lexer';
export type { ParseResult } from './parser';
