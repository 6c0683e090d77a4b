// Offsets to 1-based line and column numbers for the command line's reports.
//
// Lines break at LF, CRLF and a lone CR (as LSP counts them). Columns count UTF-16 code units,
// which is what JavaScript string offsets already are, so a character outside the BMP takes two
// columns, as it does in LSP positions.

/** A 1-based line and column. */
export interface Position {
  line: number;
  column: number;
}

/** Maps offsets of one text to positions; building it is linear, each lookup logarithmic. */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(private readonly text: string) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 13 && text.charCodeAt(i + 1) === 10) continue;
      if (c === 10 || c === 13) this.starts.push(i + 1);
    }
  }

  /** The position of `offset`, clamped to the text. */
  position(offset: number): Position {
    const at = Math.max(0, Math.min(offset, this.text.length));
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if ((this.starts[mid] ?? 0) <= at) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: at - (this.starts[low] ?? 0) + 1 };
  }
}
