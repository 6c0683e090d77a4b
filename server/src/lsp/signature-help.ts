// Signature help: the statement's shape from the spec with the slot under the cursor active.

import type { SignatureHelp } from 'vscode-languageserver';
import { cursorContext } from './cursor-context';
import { statementInfo } from './vocabulary';

/** The [start, end) offsets of each slot after the keyword: labels like `S` repeat. */
function parameterOffsets(signature: string): [number, number][] {
  const offsets: [number, number][] = [];
  const pattern = /\S+/g;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(signature)) !== null) offsets.push([match.index, match.index + match[0].length]);
  return offsets.slice(1);
}

export function signatureHelp(text: string, offset: number): SignatureHelp | null {
  const context = cursorContext(text, offset);
  const [keyword, ...args] = context.words;
  if (context.isInert || !keyword) return null;
  const info = statementInfo(keyword);
  if (!info || info.parameters.length === 0) return null;
  const activeParameter = Math.min(args.length, info.parameters.length - 1);
  return {
    signatures: [
      {
        label: info.signature,
        documentation: info.doc,
        parameters: parameterOffsets(info.signature).map((label) => ({ label })),
      },
    ],
    activeSignature: 0,
    activeParameter,
  };
}
