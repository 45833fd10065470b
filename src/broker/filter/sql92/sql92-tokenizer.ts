/**
 * Splits a RocketMQ SQL92 filter expression into tokens, following the lexical rules of RocketMQ's
 * selector grammar (an ActiveMQ JMS-selector derivative):
 *
 * - keywords, case-insensitive: NOT AND OR BETWEEN IN TRUE FALSE NULL IS CONTAINS STARTSWITH ENDSWITH;
 * - identifiers `[A-Za-z_$][A-Za-z0-9_$]*` (property names; a keyword is never an identifier);
 * - integers `0` or `[1-9][0-9]*` with an optional `L` suffix (so `007` is three tokens, as in Java);
 * - floats `1.5`, `1.`, `.5`, `1e10`, `1.5E-3`;
 * - strings in single quotes, a doubled quote standing for one (`'it''s'`);
 * - operators `= <> > >= < <= ( , ) + -` (there is no `!=`);
 * - blanks (space, tab, CR, LF, form feed), `-- line` and block comments are skipped.
 *
 * Every token keeps its start offset so the parser can say where an error is.
 */
import { syntaxErrorAt } from './sql92-syntax-error.js';

export const Keyword = {
  NOT: 'NOT',
  AND: 'AND',
  OR: 'OR',
  BETWEEN: 'BETWEEN',
  IN: 'IN',
  TRUE: 'TRUE',
  FALSE: 'FALSE',
  NULL: 'NULL',
  IS: 'IS',
  CONTAINS: 'CONTAINS',
  STARTSWITH: 'STARTSWITH',
  ENDSWITH: 'ENDSWITH',
} as const;
export type Keyword = (typeof Keyword)[keyof typeof Keyword];

const KEYWORDS: ReadonlySet<string> = new Set(Object.values(Keyword));

export type TokenKind = 'keyword' | 'identifier' | 'integer' | 'float' | 'string' | 'operator' | 'end';

export interface Token {
  kind: TokenKind;
  /** The token as written (keywords upper-cased; strings with their quotes). */
  text: string;
  /** Decoded string literal (quotes removed, '' → '); the text otherwise. */
  value: string;
  /** 0-based offset of the first character. */
  offset: number;
}

const OPERATORS = ['<>', '>=', '<=', '=', '>', '<', '(', ',', ')', '+', '-'] as const;

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isIdentifierStart(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95 || code === 36;
}

function isIdentifierPart(code: number): boolean {
  return isIdentifierStart(code) || isDigit(code);
}

function isBlank(code: number): boolean {
  return code === 32 || code === 9 || code === 10 || code === 13 || code === 12;
}

/** Length of an exponent (`E[+-]digits`) at `index`, or 0 when there is none. */
function exponentLength(source: string, index: number): number {
  const code = source.charCodeAt(index);
  if (code !== 69 && code !== 101) return 0;
  let at = index + 1;
  const sign = source.charCodeAt(at);
  if (sign === 43 || sign === 45) at++;
  if (!isDigit(source.charCodeAt(at))) return 0;
  while (isDigit(source.charCodeAt(at))) at++;
  return at - index;
}

function digitsEnd(source: string, index: number): number {
  let at = index;
  while (isDigit(source.charCodeAt(at))) at++;
  return at;
}

/** A number starting at `start` (a digit, or a dot followed by a digit): [kind, end offset]. */
function scanNumber(source: string, start: number): ['integer' | 'float', number] {
  if (source.charCodeAt(start) === 46) {
    const end = digitsEnd(source, start + 1);
    return ['float', end + exponentLength(source, end)];
  }
  const integerEnd = digitsEnd(source, start);
  if (source.charCodeAt(integerEnd) === 46) {
    const fractionEnd = digitsEnd(source, integerEnd + 1);
    return ['float', fractionEnd + exponentLength(source, fractionEnd)];
  }
  const exponent = exponentLength(source, integerEnd);
  if (exponent > 0) return ['float', integerEnd + exponent];
  // An integer literal is `0` alone or starts with 1-9, as in RocketMQ: `007` lexes as 0, 0, 7.
  if (source.charCodeAt(start) === 48) return ['integer', start + 1];
  const suffix = source.charCodeAt(integerEnd);
  return ['integer', suffix === 76 || suffix === 108 ? integerEnd + 1 : integerEnd];
}

/** Skips blanks and comments from `index`; returns the next significant offset. */
function skipIgnored(source: string, index: number): number {
  let at = index;
  for (;;) {
    const code = source.charCodeAt(at);
    if (isBlank(code)) {
      at++;
    } else if (code === 45 && source.charCodeAt(at + 1) === 45) {
      // A line comment runs to the end of the line (or, more leniently than Java, of the input).
      while (at < source.length && source.charCodeAt(at) !== 10 && source.charCodeAt(at) !== 13) at++;
    } else if (code === 47 && source.charCodeAt(at + 1) === 42) {
      const close = source.indexOf('*/', at + 2);
      if (close < 0) throw syntaxErrorAt(source, at, 'unterminated comment');
      at = close + 2;
    } else {
      return at;
    }
  }
}

/** The whole expression as tokens, ending with one `end` token. Throws Sql92SyntaxError. */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  for (;;) {
    at = skipIgnored(source, at);
    if (at >= source.length) {
      tokens.push({ kind: 'end', text: '<end of expression>', value: '', offset: source.length });
      return tokens;
    }
    const start = at;
    const code = source.charCodeAt(at);
    if (code === 39) {
      let value = '';
      at++;
      for (;;) {
        const close = source.indexOf("'", at);
        if (close < 0) throw syntaxErrorAt(source, start, 'unterminated string literal');
        value += source.slice(at, close);
        if (source.charCodeAt(close + 1) === 39) {
          value += "'";
          at = close + 2;
        } else {
          at = close + 1;
          break;
        }
      }
      tokens.push({ kind: 'string', text: source.slice(start, at), value, offset: start });
    } else if (isDigit(code) || (code === 46 && isDigit(source.charCodeAt(at + 1)))) {
      const [kind, end] = scanNumber(source, at);
      at = end;
      const text = source.slice(start, at);
      tokens.push({ kind, text, value: text, offset: start });
    } else if (isIdentifierStart(code)) {
      while (isIdentifierPart(source.charCodeAt(at))) at++;
      const text = source.slice(start, at);
      const upper = text.toUpperCase();
      if (KEYWORDS.has(upper)) tokens.push({ kind: 'keyword', text: upper, value: upper, offset: start });
      else tokens.push({ kind: 'identifier', text, value: text, offset: start });
    } else {
      const operator = OPERATORS.find((candidate) => source.startsWith(candidate, at));
      if (operator === undefined) {
        throw syntaxErrorAt(source, start, `unexpected character ${JSON.stringify(source[start])}`);
      }
      at += operator.length;
      tokens.push({ kind: 'operator', text: operator, value: operator, offset: start });
    }
  }
}
