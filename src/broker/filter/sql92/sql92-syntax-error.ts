/**
 * The error a malformed SQL92 filter expression raises, with where it went wrong: `offset` is the
 * 0-based index of the offending character in the expression, `line` and `column` count from 1 (the
 * way RocketMQ's JavaCC parser reports them), so a client can point at the spot.
 */

export class Sql92SyntaxError extends Error {
  constructor(
    /** What is wrong, without the position. */
    readonly reason: string,
    /** 0-based character index into the expression. */
    readonly offset: number,
    /** 1-based line of `offset`. */
    readonly line: number,
    /** 1-based column of `offset` within its line. */
    readonly column: number,
  ) {
    super(`${reason} at line ${line}, column ${column} (offset ${offset})`);
    this.name = 'Sql92SyntaxError';
  }
}

/** Builds the error for a character offset of `source`, computing its line and column. */
export function syntaxErrorAt(source: string, offset: number, reason: string): Sql92SyntaxError {
  const at = Math.max(0, Math.min(offset, source.length));
  let line = 1;
  let lineStart = 0;
  for (let index = 0; index < at; index++) {
    const code = source.charCodeAt(index);
    // JavaCC counts \r\n as one line break, and a lone \r or \n as one too.
    if (code === 10 || (code === 13 && source.charCodeAt(index + 1) !== 10)) {
      line++;
      lineStart = index + 1;
    }
  }
  return new Sql92SyntaxError(reason, at, line, at - lineStart + 1);
}
