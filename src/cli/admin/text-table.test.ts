// Proves the admin CLI's text output: table columns line up under their headers whatever the cell widths, cells stay on one line and are cut past a bound, key/value lines align, and timestamps print in mqadmin's local format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatKeyValues, formatTable, formatTimestamp } from './text-table.js';

test('columns are padded to the widest cell and rows end without trailing spaces', () => {
  const table = formatTable(['#Topic', '#QID', '#Diff'], [
    ['Orders', 0, 12],
    ['A', 10, undefined],
  ]);
  assert.equal(table, ['#Topic  #QID  #Diff', 'Orders  0     12', 'A       10'].join('\n'));
  assert.equal(formatTable(['#Only'], []), '#Only');
});

test('cells are flattened to one line and long ones are cut', () => {
  const table = formatTable(['#A', '#B'], [['line1\nline2\tend', 'x'.repeat(500)]]);
  const [, row] = table.split('\n');
  assert.ok(row!.startsWith('line1 line2 end  '));
  assert.ok(row!.endsWith('…'));
  assert.ok(row!.length < 200);
});

test('key/value lines align their values and keep long values whole', () => {
  assert.equal(formatKeyValues([['Topic', 'T'], ['Queue Offset', 3], ['Body', 'y'.repeat(300)]]), `Topic:         T\nQueue Offset:  3\nBody:          ${'y'.repeat(300)}`);
});

test('timestamps print as local yyyy-MM-dd HH:mm:ss,SSS, no time as -', () => {
  const ms = new Date(2024, 0, 2, 3, 4, 5, 6).getTime();
  assert.equal(formatTimestamp(ms), '2024-01-02 03:04:05,006');
  assert.equal(formatTimestamp(0), '-');
  assert.equal(formatTimestamp(-1), '-');
});
