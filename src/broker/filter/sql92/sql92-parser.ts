/**
 * Recursive-descent parser for RocketMQ's SQL92 filter grammar (facts from apache/rocketmq
 * `filter/.../SelectorParser.jj` and the expression classes; no code taken). Precedence, loosest first:
 *
 *   expression  := or
 *   or          := and (OR and)*
 *   and         := equality (AND equality)*
 *   equality    := comparison ( '=' comparison | '<>' comparison | IS NULL | IS NOT NULL )*
 *   comparison  := unary ( ('>' | '>=' | '<' | '<=') unary
 *                        | [NOT] (CONTAINS | STARTSWITH | ENDSWITH) string
 *                        | [NOT] BETWEEN unary AND unary
 *                        | [NOT] IN '(' string (',' string)* ')' )*
 *   unary       := '+' unary | '-' unary | NOT unary | primary
 *   primary     := literal | property | '(' or ')'
 *   literal     := string | integer | float | TRUE | FALSE | NULL
 *
 * NOT as a prefix binds tighter than comparisons (`NOT a > 1` is an error; write `NOT (a > 1)`), IN
 * lists hold string literals only and need a property on their left, and the checks RocketMQ makes
 * while building expressions are made here too, as errors with a position: `>`/`<` operands that are
 * string, boolean or NULL constants or conditions; `=`/`<>` against a NULL constant; a TRUE/FALSE
 * constant compared with another kind of constant; BETWEEN with NULL bounds or low > high constants;
 * integers beyond 64 bits; floats beyond the double range; a result that is not a condition.
 *
 * Deviation, deliberately lenient: RocketMQ refuses float literals below Double.MIN_VALUE, which
 * includes `0.0`; TideMQ accepts them.
 */
import {
  describeNode,
  isBooleanNode,
  LONG_MAX,
  type LiteralNode,
  type RelationalOperator,
  type SqlNode,
  type StringMatchOperator,
} from './sql92-ast.js';
import { compareJava, EVALUATION_FAILED } from './sql92-values.js';
import { syntaxErrorAt, type Sql92SyntaxError } from './sql92-syntax-error.js';
import { Keyword, tokenize, type Token } from './sql92-tokenizer.js';

/** Longest expression accepted, in characters: a bound on parse work and on the cache's memory. */
export const MAX_EXPRESSION_LENGTH = 65_536;
/** Deepest nesting of parentheses and prefix operators: keeps the recursion off the stack limit. */
export const MAX_NESTING_DEPTH = 200;

const STRING_MATCH: ReadonlySet<string> = new Set([Keyword.CONTAINS, Keyword.STARTSWITH, Keyword.ENDSWITH]);

function describeToken(token: Token): string {
  if (token.kind === 'end') return 'end of expression';
  if (token.kind === 'string') return `string ${token.text}`;
  return `"${token.text}"`;
}

class Parser {
  private index = 0;
  private depth = 0;

  constructor(private readonly source: string, private readonly tokens: readonly Token[]) {}

  parse(): SqlNode {
    const node = this.or();
    const next = this.peek();
    if (next.kind !== 'end') throw this.errorAt(next.offset, `unexpected ${describeToken(next)}; expected AND, OR, a comparison or the end of the expression`);
    return this.asBoolean(node);
  }

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.index + ahead, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== 'end') this.index++;
    return token;
  }

  private isKeyword(token: Token, keyword: Keyword): boolean {
    return token.kind === 'keyword' && token.text === keyword;
  }

  private isOperator(token: Token, operator: string): boolean {
    return token.kind === 'operator' && token.text === operator;
  }

  private errorAt(offset: number, reason: string): Sql92SyntaxError {
    return syntaxErrorAt(this.source, offset, reason);
  }

  private expectKeyword(keyword: Keyword): Token {
    const token = this.next();
    if (!this.isKeyword(token, keyword)) throw this.errorAt(token.offset, `unexpected ${describeToken(token)}; expected ${keyword}`);
    return token;
  }

  private expectOperator(operator: string): Token {
    const token = this.next();
    if (!this.isOperator(token, operator)) throw this.errorAt(token.offset, `unexpected ${describeToken(token)}; expected "${operator}"`);
    return token;
  }

  private expectString(after: string): string {
    const token = this.next();
    if (token.kind !== 'string') throw this.errorAt(token.offset, `unexpected ${describeToken(token)}; ${after} takes a string literal in single quotes`);
    return token.value;
  }

  private enter(offset: number): void {
    if (++this.depth > MAX_NESTING_DEPTH) throw this.errorAt(offset, `the expression nests deeper than ${MAX_NESTING_DEPTH} levels`);
  }

  private or(): SqlNode {
    let left = this.and();
    while (this.isKeyword(this.peek(), Keyword.OR)) {
      const operator = this.next();
      const right = this.and();
      left = { type: 'or', offset: operator.offset, left: this.asBoolean(left), right: this.asBoolean(right) };
    }
    return left;
  }

  private and(): SqlNode {
    let left = this.equality();
    while (this.isKeyword(this.peek(), Keyword.AND)) {
      const operator = this.next();
      const right = this.equality();
      left = { type: 'and', offset: operator.offset, left: this.asBoolean(left), right: this.asBoolean(right) };
    }
    return left;
  }

  private equality(): SqlNode {
    let left = this.comparison();
    for (;;) {
      const token = this.peek();
      if (this.isOperator(token, '=') || this.isOperator(token, '<>')) {
        this.next();
        const right = this.comparison();
        const equal = this.createEqual(left, right, token);
        left = token.text === '=' ? equal : { type: 'not', offset: token.offset, operand: equal };
      } else if (this.isKeyword(token, Keyword.IS)) {
        this.next();
        const negated = !this.isKeyword(this.peek(), Keyword.NULL);
        if (negated) this.expectKeyword(Keyword.NOT);
        const nullToken = this.expectKeyword(Keyword.NULL);
        const nullLiteral: LiteralNode = { type: 'literal', offset: nullToken.offset, value: null, booleanConstant: true, text: 'NULL' };
        const isNull: SqlNode = { type: 'equal', offset: token.offset, left, right: nullLiteral };
        left = negated ? { type: 'not', offset: token.offset, operand: isNull } : isNull;
      } else {
        return left;
      }
    }
  }

  private comparison(): SqlNode {
    let left = this.unary();
    for (;;) {
      const token = this.peek();
      if (token.kind === 'operator' && (token.text === '>' || token.text === '>=' || token.text === '<' || token.text === '<=')) {
        this.next();
        left = this.createRelational(token.text, left, this.unary(), token.offset);
        continue;
      }
      let negated = false;
      let operator = token;
      if (this.isKeyword(token, Keyword.NOT)) {
        const following = this.peek(1);
        const negatable = following.kind === 'keyword' && (STRING_MATCH.has(following.text) || following.text === Keyword.BETWEEN || following.text === Keyword.IN);
        if (!negatable) return left;
        this.next();
        negated = true;
        operator = following;
      }
      if (operator.kind !== 'keyword') return left;
      if (STRING_MATCH.has(operator.text)) {
        this.next();
        const search = this.expectString(operator.text);
        left = { type: 'stringMatch', offset: token.offset, operator: operator.text as StringMatchOperator, operand: left, search, negated };
      } else if (operator.text === Keyword.BETWEEN) {
        this.next();
        const low = this.unary();
        this.expectKeyword(Keyword.AND);
        const high = this.unary();
        left = negated ? this.createNotBetween(left, low, high, token.offset) : this.createBetween(left, low, high, token.offset);
      } else if (operator.text === Keyword.IN) {
        this.next();
        left = this.createIn(left, negated, token.offset);
      } else {
        return left;
      }
    }
  }

  private unary(): SqlNode {
    const token = this.peek();
    if (this.isOperator(token, '+') || this.isOperator(token, '-') || this.isKeyword(token, Keyword.NOT)) {
      this.next();
      this.enter(token.offset);
      const operand = this.unary();
      this.depth--;
      if (token.text === '+') return operand;
      if (token.text === '-') return { type: 'negate', offset: token.offset, operand };
      return { type: 'not', offset: token.offset, operand: this.asBoolean(operand) };
    }
    return this.primary();
  }

  private primary(): SqlNode {
    const token = this.next();
    switch (token.kind) {
      case 'string':
        return { type: 'literal', offset: token.offset, value: token.value, booleanConstant: false, text: token.text };
      case 'integer':
        return this.integerLiteral(token);
      case 'float': {
        const value = Number(token.text);
        if (!Number.isFinite(value)) throw this.errorAt(token.offset, `the number ${token.text} is beyond the range of a double`);
        return { type: 'literal', offset: token.offset, value, booleanConstant: false, text: token.text };
      }
      case 'identifier':
        return { type: 'property', offset: token.offset, name: token.text };
      case 'keyword':
        if (token.text === Keyword.TRUE || token.text === Keyword.FALSE || token.text === Keyword.NULL) {
          const value = token.text === Keyword.NULL ? null : token.text === Keyword.TRUE;
          return { type: 'literal', offset: token.offset, value, booleanConstant: true, text: token.text };
        }
        break;
      case 'operator':
        if (token.text === '(') {
          this.enter(token.offset);
          const inner = this.or();
          this.expectOperator(')');
          this.depth--;
          return inner;
        }
        break;
      case 'end':
        break;
    }
    throw this.errorAt(token.offset, `unexpected ${describeToken(token)}; expected a value, a property name or "("`);
  }

  private integerLiteral(token: Token): LiteralNode {
    const digits = token.text.endsWith('L') || token.text.endsWith('l') ? token.text.slice(0, -1) : token.text;
    const value = BigInt(digits);
    if (value > LONG_MAX) throw this.errorAt(token.offset, `the integer ${token.text} is beyond the 64-bit range`);
    return { type: 'literal', offset: token.offset, value, booleanConstant: false, text: token.text };
  }

  /** RocketMQ's asBooleanExpression: conditions pass, a bare property is cast, anything else is an error. */
  private asBoolean(node: SqlNode): SqlNode {
    if (isBooleanNode(node)) return node;
    if (node.type === 'property') return { type: 'booleanCast', offset: node.offset, operand: node };
    throw this.errorAt(node.offset, `${describeNode(node)} is not a condition (it does not result in a boolean value)`);
  }

  private createEqual(left: SqlNode, right: SqlNode, operator: Token): SqlNode {
    for (const operand of [left, right]) {
      if (operand.type === 'literal' && operand.value === null) {
        throw this.errorAt(operand.offset, `NULL cannot be compared with "${operator.text}"; use IS NULL or IS NOT NULL`);
      }
    }
    if (left.type === 'literal' && right.type === 'literal' && left.booleanConstant && !right.booleanConstant) {
      throw this.errorAt(operator.offset, `${left.text} cannot be compared with ${right.text}`);
    }
    return { type: 'equal', offset: operator.offset, left, right };
  }

  private checkOrderable(operand: SqlNode, operator: string): void {
    if (operand.type === 'literal') {
      if (typeof operand.value === 'bigint' || typeof operand.value === 'number') return;
      throw this.errorAt(operand.offset, `${operand.text} cannot be compared with "${operator}": only numbers can`);
    }
    if (isBooleanNode(operand)) throw this.errorAt(operand.offset, `a condition cannot be compared with "${operator}"`);
  }

  private createRelational(operator: RelationalOperator, left: SqlNode, right: SqlNode, offset: number): SqlNode {
    this.checkOrderable(left, operator);
    this.checkOrderable(right, operator);
    return { type: 'relational', offset, operator, left, right };
  }

  private createBetween(value: SqlNode, low: SqlNode, high: SqlNode, offset: number): SqlNode {
    if (low.type === 'literal' && high.type === 'literal') {
      if (low.value === null || high.value === null) throw this.errorAt(offset, 'the bounds of BETWEEN cannot be NULL');
      let order: number;
      try {
        order = compareJava(high.value, low.value);
      } catch (error) {
        if (error !== EVALUATION_FAILED) throw error;
        throw this.errorAt(offset, `the bounds of BETWEEN (${low.text} and ${high.text}) cannot be compared`);
      }
      if (order < 0) throw this.errorAt(offset, `the lower bound of BETWEEN (${low.text}) must not be greater than the upper bound (${high.text})`);
    }
    return {
      type: 'and',
      offset,
      left: this.createRelational('>=', value, low, offset),
      right: this.createRelational('<=', value, high, offset),
    };
  }

  private createNotBetween(value: SqlNode, low: SqlNode, high: SqlNode, offset: number): SqlNode {
    return {
      type: 'or',
      offset,
      left: this.createRelational('<', value, low, offset),
      right: this.createRelational('>', value, high, offset),
    };
  }

  private createIn(operand: SqlNode, negated: boolean, offset: number): SqlNode {
    this.expectOperator('(');
    const values = new Set<string>([this.expectString('IN')]);
    while (this.isOperator(this.peek(), ',')) {
      this.next();
      values.add(this.expectString('IN'));
    }
    this.expectOperator(')');
    if (operand.type !== 'property') throw this.errorAt(operand.offset, `IN needs a property name on its left, not ${describeNode(operand)}`);
    return { type: 'in', offset, operand, values, negated };
  }
}

/** Parses an expression into a condition tree. Throws Sql92SyntaxError with the position. */
export function parseSql92(source: string): SqlNode {
  if (source.length > MAX_EXPRESSION_LENGTH) {
    throw syntaxErrorAt(source, MAX_EXPRESSION_LENGTH, `the expression is longer than ${MAX_EXPRESSION_LENGTH} characters`);
  }
  return new Parser(source, tokenize(source)).parse();
}
