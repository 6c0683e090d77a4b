// What surrounds the cursor, read from the text alone so completion and signature help work on
// the half-typed lines that the parser rejects: the kind of the enclosing block and the words
// of the current statement before the cursor.

import type { BlockKind } from './vocabulary';

export interface CursorContext {
  block: BlockKind;
  /** Words of the current statement before the cursor, the keyword first. */
  words: string[];
  /** The partial word under the cursor ('' after a blank). */
  partial: string;
  /** True inside a comment or a string, where nothing is offered. */
  isInert: boolean;
}

const OPENERS: Record<string, BlockKind> = {
  scenario: 'scenario',
  kernel: 'kernel',
  process: 'process',
  concurrent: 'concurrent',
  thread: 'thread',
  if: 'thread',
  else: 'thread',
};

/** Reads the context at `offset` of `text`. Linear in the text before the cursor. */
export function cursorContext(text: string, offset: number): CursorContext {
  const stack: BlockKind[] = [];
  let statementStart = 0;
  let isComment = false;
  let isString = false;
  for (let i = 0; i < offset && i < text.length; i++) {
    const ch = text[i];
    if (isComment) {
      if (ch === '\n') {
        isComment = false;
        statementStart = i + 1;
      }
      continue;
    }
    if (isString) {
      if (ch === '\\') i++;
      else if (ch === '"' || ch === '\n') isString = false;
      continue;
    }
    if (ch === '#') isComment = true;
    else if (ch === '"') isString = true;
    else if (ch === '\n' || ch === ';') statementStart = i + 1;
    else if (ch === '{') {
      const head = text.slice(statementStart, i);
      const words = head.trim().split(/\s+/);
      const opener = words[0] === '}' ? words[1] : words[0];
      stack.push(OPENERS[opener ?? ''] ?? stack[stack.length - 1] ?? 'file');
      statementStart = i + 1;
    } else if (ch === '}') {
      stack.pop();
      statementStart = i + 1;
    }
  }
  const block = stack[stack.length - 1] ?? 'file';
  const before = text.slice(statementStart, offset);
  const match = /[A-Za-z0-9_=.-]*$/.exec(before);
  const partial = match ? match[0] : '';
  const words = before
    .slice(0, before.length - partial.length)
    .trim()
    .split(/\s+/)
    .filter((w) => w.length > 0);
  return { block, words, partial, isInert: isComment || isString };
}
