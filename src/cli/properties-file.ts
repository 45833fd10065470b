/**
 * Reads Java `.properties` files (RocketMQ's broker.conf): `key=value` or `key: value` lines, `#` and
 * `!` comments, backslash line continuations, surrounding whitespace trimmed.
 */
import { readFileSync } from 'node:fs';

export function parseProperties(text: string): Record<string, string> {
  const properties: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    let line = lines[index]!.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    while (line.endsWith('\\') && index + 1 < lines.length) {
      line = line.slice(0, -1) + lines[++index]!.trim();
    }
    const match = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (match) properties[match[1]!] = match[2]!.trim();
    else properties[line] = '';
  }
  return properties;
}

export function readPropertiesFile(path: string): Record<string, string> {
  return parseProperties(readFileSync(path, 'utf8'));
}
