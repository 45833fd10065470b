/**
 * The name server's runtime settings, under the property names of Java's NamesrvConfig so the admin
 * tool and dashboard (GET/UPDATE_NAMESRV_CONFIG) show familiar keys.
 *
 * Security: UPDATE_NAMESRV_CONFIG is unauthenticated in RocketMQ, and letting it set paths or the
 * home directory was a remote-code-execution route (CVE-2023-37582: `configStorePath` and
 * `kvConfigPath` let a caller write files anywhere). Only the keys in UPDATABLE_SETTINGS, plain
 * tunables that this server actually uses, can change; every other key, known or not, refuses the
 * whole update with NO_PERMISSION, and a bad value refuses it with INVALID_PARAMETER.
 */
import { TideError } from '../common/errors.js';

export interface NamesrvSettingValues {
  /** How often silent brokers are looked for (Java `scanNotActiveBrokerInterval`, ms). */
  scanNotActiveBrokerInterval: number;
  /** Put ORDER_TOPIC_CONFIG's entry for the topic into routes as `orderTopicConf`. */
  orderMessageEnable: boolean;
  /** Return the ORDER_TOPIC_CONFIG namespace to brokers in the REGISTER_BROKER answer. */
  returnOrderTopicConfigToBroker: boolean;
  /** Serve GET_ALL_TOPIC_LIST_FROM_NAMESERVER. */
  enableAllTopicList: boolean;
  /** Serve GET_TOPICS_BY_CLUSTER. */
  enableTopicList: boolean;
}

export const DEFAULT_NAMESRV_SETTINGS: Readonly<NamesrvSettingValues> = {
  scanNotActiveBrokerInterval: 10_000,
  // Java defaults this to false; TideMQ always answers with the order config an operator stored.
  orderMessageEnable: true,
  returnOrderTopicConfigToBroker: true,
  enableAllTopicList: true,
  enableTopicList: true,
};

type Parser<T> = (text: string) => T | undefined;

const parseBoolean: Parser<boolean> = (text) => (text === 'true' ? true : text === 'false' ? false : undefined);
const parseIntervalMs: Parser<number> = (text) => {
  if (!/^\d+$/.test(text)) return undefined;
  const value = Number(text);
  return value >= 1_000 && value <= 600_000 ? value : undefined;
};

/** The keys UPDATE_NAMESRV_CONFIG may change, with the parser that validates each value. */
export const UPDATABLE_SETTINGS: { readonly [K in keyof NamesrvSettingValues]: { parse: Parser<NamesrvSettingValues[K]>; expected: string } } = {
  scanNotActiveBrokerInterval: { parse: parseIntervalMs, expected: 'an integer number of milliseconds from 1000 to 600000' },
  orderMessageEnable: { parse: parseBoolean, expected: 'true or false' },
  returnOrderTopicConfigToBroker: { parse: parseBoolean, expected: 'true or false' },
  enableAllTopicList: { parse: parseBoolean, expected: 'true or false' },
  enableTopicList: { parse: parseBoolean, expected: 'true or false' },
};

const isUpdatable = (key: string): key is keyof NamesrvSettingValues => Object.prototype.hasOwnProperty.call(UPDATABLE_SETTINGS, key);

export class NamesrvSettings {
  private current: NamesrvSettingValues;
  private readonly listeners: Array<(values: Readonly<NamesrvSettingValues>) => void> = [];

  /** `readOnly` entries (e.g. listenPort) are shown by GET_NAMESRV_CONFIG but never updatable. */
  constructor(
    initial: Partial<NamesrvSettingValues> = {},
    private readonly readOnly: Readonly<Record<string, string>> = {},
  ) {
    this.current = { ...DEFAULT_NAMESRV_SETTINGS, ...initial };
  }

  get values(): Readonly<NamesrvSettingValues> {
    return this.current;
  }

  onChange(listener: (values: Readonly<NamesrvSettingValues>) => void): void {
    this.listeners.push(listener);
  }

  /** Applies all properties or none (see the security note at the top). */
  update(properties: ReadonlyMap<string, string>): void {
    const next: NamesrvSettingValues = { ...this.current };
    for (const [key, text] of properties) {
      if (!isUpdatable(key)) {
        throw new TideError('NO_PERMISSION', `the name server setting ${JSON.stringify(key)} cannot be changed at runtime; updatable: ${Object.keys(UPDATABLE_SETTINGS).join(', ')}`);
      }
      const value = UPDATABLE_SETTINGS[key].parse(text.trim());
      if (value === undefined) throw new TideError('INVALID_PARAMETER', `${key} must be ${UPDATABLE_SETTINGS[key].expected}`);
      (next as unknown as Record<string, unknown>)[key] = value;
    }
    this.current = next;
    for (const listener of this.listeners) listener(next);
  }

  /** `key=value` lines, sorted, like Java's getAllConfigsFormatString. */
  toPropertiesText(): string {
    const entries: Array<[string, string]> = Object.entries(this.current).map(([key, value]) => [key, String(value)]);
    entries.push(...Object.entries(this.readOnly));
    entries.sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0));
    return entries.map(([key, value]) => `${escapeProperty(key, true)}=${escapeProperty(value, false)}\n`).join('');
  }
}

/** Most entries one properties text may carry. */
export const MAX_PROPERTIES_ENTRIES = 1_000;

/**
 * Parses Java `.properties` text: `key=value`, `key:value` or `key value`; `#`/`!` comments;
 * backslash escapes (`\t \n \r \f \uXXXX`, escaped separators) and line continuation.
 */
export function parsePropertiesText(text: string): Map<string, string> {
  const result = new Map<string, string>();
  const physical = text.split(/\r\n|\r|\n/);
  for (let index = 0; index < physical.length; index++) {
    let line = physical[index]!.replace(/^[ \t\f]+/, '');
    if (line.length === 0 || line.startsWith('#') || line.startsWith('!')) continue;
    while (endsWithOddBackslashes(line) && index + 1 < physical.length) {
      line = line.slice(0, -1) + physical[++index]!.replace(/^[ \t\f]+/, '');
    }
    let split = 0;
    while (split < line.length) {
      const char = line[split];
      if (char === '\\') split += 2;
      else if (char === '=' || char === ':' || char === ' ' || char === '\t' || char === '\f') break;
      else split++;
    }
    const key = unescapeProperty(line.slice(0, split));
    let rest = line.slice(split).replace(/^[ \t\f]*/, '');
    if (rest.startsWith('=') || rest.startsWith(':')) rest = rest.slice(1).replace(/^[ \t\f]*/, '');
    result.set(key, unescapeProperty(rest));
    if (result.size > MAX_PROPERTIES_ENTRIES) throw new TideError('INVALID_PARAMETER', `more than ${MAX_PROPERTIES_ENTRIES} properties`);
  }
  return result;
}

function endsWithOddBackslashes(line: string): boolean {
  let count = 0;
  for (let index = line.length - 1; index >= 0 && line[index] === '\\'; index--) count++;
  return count % 2 === 1;
}

function unescapeProperty(text: string): string {
  return text.replace(/\\(u[0-9A-Fa-f]{4}|.)/g, (_match, escaped: string) => {
    if (escaped.length === 5) return String.fromCharCode(parseInt(escaped.slice(1), 16));
    return escaped === 't' ? '\t' : escaped === 'n' ? '\n' : escaped === 'r' ? '\r' : escaped === 'f' ? '\f' : escaped;
  });
}

function escapeProperty(text: string, isKey: boolean): string {
  // Like Java's getAllConfigsFormatString, values stay raw except for what would break the line.
  const pattern = isKey ? /[\\\n\r\t\f=:#! ]/g : /[\\\n\r\t\f]/g;
  return text.replace(pattern, (char) =>
    char === '\n' ? '\\n' : char === '\r' ? '\\r' : char === '\t' ? '\\t' : char === '\f' ? '\\f' : `\\${char}`,
  );
}
