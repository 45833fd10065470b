// Proves docs/errors.md lists exactly the error catalogue, with the same response codes and retry flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ErrorCatalogue, TideError, type ErrorCode } from './errors.js';

const docPath = fileURLToPath(new URL('../../../docs/errors.md', import.meta.url));

test('docs/errors.md and the catalogue agree', () => {
  const rows = [...readFileSync(docPath, 'utf8').matchAll(/^\| `([A-Z_]+)` \| (-?\d+) \| (yes|no) \|/gm)];
  const documented = new Map(rows.map((row) => [row[1]!, { responseCode: Number(row[2]), retriable: row[3] === 'yes' }]));
  assert.deepEqual([...documented.keys()].sort(), Object.keys(ErrorCatalogue).sort());
  for (const [code, spec] of Object.entries(ErrorCatalogue)) {
    assert.deepEqual(documented.get(code), { responseCode: spec.responseCode, retriable: spec.retriable }, code);
  }
});

test('a TideError carries its catalogue entry', () => {
  const error = new TideError('DISK_FULL' satisfies ErrorCode, 'disk is full', { cause: new Error('statfs') });
  assert.equal(error.responseCode, 14);
  assert.equal(error.retriable, true);
  assert.ok(error.cause instanceof Error);
});
