// Proves docs/configuration.md documents every broker.conf key the broker accepts, and no key it does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_BROKER_CONFIG, isBrokerConfigKey } from './broker-config.js';

const docPath = fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url));

test('every broker setting is documented and every documented key exists', () => {
  const documented = new Set([...readFileSync(docPath, 'utf8').matchAll(/^\| `([A-Za-z0-9]+)` \|/gm)].map((match) => match[1]!));
  const known = [...Object.keys(DEFAULT_BROKER_CONFIG), 'storePathRootDir', 'brokerIP1'];
  for (const key of known) assert.ok(documented.has(key), `docs/configuration.md lacks ${key}`);
  for (const key of documented) assert.ok(isBrokerConfigKey(key), `docs/configuration.md documents unknown key ${key}`);
});
