// Proves the KV config persists every change to a real file in Java's kvConfig.json shape and loads it back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KvConfig } from './kv-config.js';
import { isTideError } from '../common/errors.js';

test('put, get, list and delete persist through temp file + rename and reload', async () => {
  const home = await mkdtemp(join(tmpdir(), 'tidemq-kv-'));
  try {
    const path = join(home, 'namesrv', 'kvConfig.json');
    const config = new KvConfig({ path });
    await config.load();
    await Promise.all([config.put('ORDER_TOPIC_CONFIG', 'T', 'broker-a:4'), config.put('ORDER_TOPIC_CONFIG', 'U', 'broker-b:2'), config.put('other', 'k', 'v')]);
    assert.equal(await readFile(path, 'utf8'), '{"configTable":{"ORDER_TOPIC_CONFIG":{"T":"broker-a:4","U":"broker-b:2"},"other":{"k":"v"}}}');
    await config.delete('other', 'k');
    await config.delete('other', 'missing');
    const reloaded = new KvConfig({ path });
    await reloaded.load();
    assert.equal(reloaded.get('ORDER_TOPIC_CONFIG', 'T'), 'broker-a:4');
    assert.deepEqual(reloaded.listNamespace('ORDER_TOPIC_CONFIG'), { T: 'broker-a:4', U: 'broker-b:2' });
    assert.equal(reloaded.listNamespace('other'), undefined);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});

test('loads a file written by a Java name server, and refuses a corrupt one', async () => {
  const home = await mkdtemp(join(tmpdir(), 'tidemq-kv-'));
  try {
    await mkdir(join(home, 'namesrv'));
    const path = join(home, 'namesrv', 'kvConfig.json');
    await writeFile(path, '{\n\t"configTable":{\n\t\t"ORDER_TOPIC_CONFIG":{\n\t\t\t"TopicOrder":"broker-a:8;broker-b:8"\n\t\t}\n\t}\n}');
    const config = new KvConfig({ path });
    await config.load();
    assert.equal(config.get('ORDER_TOPIC_CONFIG', 'TopicOrder'), 'broker-a:8;broker-b:8');
    await writeFile(path, '{"configTable":');
    await assert.rejects(new KvConfig({ path }).load(), (error: unknown) => isTideError(error, 'INVALID_PARAMETER'));
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});

test('memory-only config and its limits', async () => {
  const config = new KvConfig({ maxEntryCount: 2, maxTextLength: 8 });
  await config.load();
  await config.put('n', 'a', '1');
  await config.put('n', 'b', '2');
  await config.put('n', 'a', '3');
  await assert.rejects(config.put('n', 'c', '4'), (error: unknown) => isTideError(error, 'SYSTEM_BUSY'));
  await assert.rejects(config.put('n', 'a', '123456789'), (error: unknown) => isTideError(error, 'INVALID_PARAMETER'));
  assert.deepEqual(config.listNamespace('n'), { a: '3', b: '2' });
});
