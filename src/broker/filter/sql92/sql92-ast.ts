/**
 * The parsed form of a SQL92 filter expression. Nodes mirror the expression classes of RocketMQ's
 * filter module (constants, properties, comparisons, logic, IN, CONTAINS/STARTSWITH/ENDSWITH), which
 * matters because RocketMQ's parse-time checks depend on them: "is this a constant", "is this a
 * boolean expression". BETWEEN is not a node: it is parsed into two comparisons joined by AND (NOT
 * BETWEEN: by OR), as RocketMQ does.
 */

/**
 * A runtime value: null (missing property / NULL), a string (every message property is a string),
 * a boolean, a Java integer (bigint; Integer or Long by range) or a Java double (number).
 */
export type SqlValue = null | string | boolean | bigint | number;

export const INT_MIN = -2147483648n;
export const INT_MAX = 2147483647n;
export const LONG_MIN = -9223372036854775808n;
export const LONG_MAX = 9223372036854775807n;

interface NodeBase {
  /** Offset of the node's first token (or operator) in the expression, for error messages. */
  offset: number;
}

export interface LiteralNode extends NodeBase {
  type: 'literal';
  value: SqlValue;
  /** TRUE, FALSE and NULL are RocketMQ's BooleanConstantExpression, which counts as boolean. */
  booleanConstant: boolean;
  /** How the literal was written (for messages). */
  text: string;
}

export interface PropertyNode extends NodeBase {
  type: 'property';
  name: string;
}

export interface NegateNode extends NodeBase {
  type: 'negate';
  operand: SqlNode;
}

export interface NotNode extends NodeBase {
  type: 'not';
  operand: SqlNode;
}

/** A property used where a boolean is expected: true only if its value is a boolean true. */
export interface BooleanCastNode extends NodeBase {
  type: 'booleanCast';
  operand: PropertyNode;
}

export interface LogicNode extends NodeBase {
  type: 'and' | 'or';
  left: SqlNode;
  right: SqlNode;
}

/** `=` (and IS NULL, which is `= NULL` without the NULL-operand check). `<>` is NOT over it. */
export interface EqualNode extends NodeBase {
  type: 'equal';
  left: SqlNode;
  right: SqlNode;
}

export type RelationalOperator = '>' | '>=' | '<' | '<=';

export interface RelationalNode extends NodeBase {
  type: 'relational';
  operator: RelationalOperator;
  left: SqlNode;
  right: SqlNode;
}

export interface InNode extends NodeBase {
  type: 'in';
  operand: PropertyNode;
  values: ReadonlySet<string>;
  negated: boolean;
}

export type StringMatchOperator = 'CONTAINS' | 'STARTSWITH' | 'ENDSWITH';

export interface StringMatchNode extends NodeBase {
  type: 'stringMatch';
  operator: StringMatchOperator;
  operand: SqlNode;
  search: string;
  negated: boolean;
}

export type SqlNode =
  | LiteralNode
  | PropertyNode
  | NegateNode
  | NotNode
  | BooleanCastNode
  | LogicNode
  | EqualNode
  | RelationalNode
  | InNode
  | StringMatchNode;

/** RocketMQ's `instanceof BooleanExpression`. */
export function isBooleanNode(node: SqlNode): boolean {
  switch (node.type) {
    case 'literal':
      return node.booleanConstant;
    case 'property':
    case 'negate':
      return false;
    default:
      return true;
  }
}

/** A short rendering of a node for error messages. */
export function describeNode(node: SqlNode): string {
  switch (node.type) {
    case 'literal':
      return node.text;
    case 'property':
      return node.name;
    case 'negate':
      return `-${describeNode(node.operand)}`;
    default:
      return 'a condition';
  }
}
