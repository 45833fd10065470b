/**
 * The properties text of GET_BROKER_CONFIG / UPDATE_BROKER_CONFIG bodies. Java writes `key=value`
 * lines (MixAll.properties2String) and reads them with java.util.Properties: `key=value`, `key: value`
 * or `key value`, `#` and `!` comments, backslash continuations and escapes. This reader covers that
 * syntax for the single-line values RocketMQ settings have; the writer never escapes, as Java does not.
 */
import { TideError } from '../../../common/errors.js';

/** Refuses bodies that could only be an attack or a mistake: settings are a few KiB at most. */
export const MAX_PROPERTIES_TEXT_BYTES = 64 * 1024;
const MAX_PROPERTIES = 1024;

function unescape(text: string): string {
  return text.replace(/\\(u[0-9A-Fa-f]{4}|.)/g, (_match, escaped: string) => {
    if (escaped.length === 5) return String.fromCharCode(parseInt(escaped.slice(1), 16));
    switch (escaped) {
      case 't': return '\t';
      case 'n': return '\n';
      case 'r': return '\r';
      case 'f': return '\f';
      default: return escaped;
    }
  });
}

/** Parses properties text into key → value (later keys win, as in Java). */
export function parsePropertiesText(text: string): Map<string, string> {
  if (Buffer.byteLength(text, 'utf8') > MAX_PROPERTIES_TEXT_BYTES) {
    throw new TideError('INVALID_PARAMETER', `the properties body is larger than ${MAX_PROPERTIES_TEXT_BYTES} bytes`);
  }
  const properties = new Map<string, string>();
  const lines = text.split(/\r\n|\r|\n/);
  for (let index = 0; index < lines.length; index++) {
    let line = lines[index]!.replace(/^[ \t\f]+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    // An odd number of trailing backslashes continues the line.
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && index + 1 < lines.length) {
      line = line.slice(0, -1) + lines[++index]!.replace(/^[ \t\f]+/, '');
    }
    const match = /^((?:\\.|[^=:\s\\])*)[ \t\f]*[=:]?[ \t\f]*(.*)$/s.exec(line);
    const key = unescape(match ? match[1]! : line);
    const value = unescape(match ? match[2]! : '');
    if (key === '') continue;
    properties.set(key, value);
    if (properties.size > MAX_PROPERTIES) throw new TideError('INVALID_PARAMETER', `the properties body has more than ${MAX_PROPERTIES} keys`);
  }
  return properties;
}

/** `key=value\n` lines in the given order; undefined values are left out. */
export function formatPropertiesText(entries: Iterable<[string, string | number | boolean | undefined]>): string {
  let text = '';
  for (const [key, value] of entries) {
    if (value === undefined) continue;
    text += `${key}=${String(value)}\n`;
  }
  return text;
}
