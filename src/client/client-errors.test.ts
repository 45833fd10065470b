// Proves the error tree: remoting failures and broker answers become typed errors with stable codes, response codes and retriability, and every client error code is documented in docs/client.md.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ErrorCatalogue, TideError } from '../common/errors.js';
import { AbortError, brokerError, BrokerError, CLIENT_ERROR_SPECS, ConnectionError, MQClientError, RequestTimeoutError, toClientError } from './client-errors.js';

describe('client errors', () => {
  it('wraps remoting errors by kind', () => {
    const timeout = toClientError(new TideError('REQUEST_TIMEOUT', 'no answer'), 'send');
    assert.ok(timeout instanceof RequestTimeoutError);
    assert.equal(timeout.code, 'REQUEST_TIMEOUT');
    assert.equal(timeout.responseCode, -1006);
    assert.equal(timeout.retriable, true);
    assert.ok(timeout.cause instanceof TideError);
    const closed = toClientError(new TideError('CONNECTION_CLOSED', 'gone'), 'pull');
    assert.ok(closed instanceof ConnectionError && closed.retriable);
    const aborted = toClientError(new TideError('ABORTED', 'stop'), 'pull');
    assert.ok(aborted instanceof AbortError && !aborted.retriable);
  });

  it('names broker answers and marks the retriable ones', () => {
    const busy = brokerError(2, 'busy', '1.2.3.4:10911', 'send');
    assert.ok(busy instanceof BrokerError && busy instanceof MQClientError);
    assert.equal(busy.code, 'SYSTEM_BUSY');
    assert.equal(busy.retriable, true);
    assert.equal(busy.address, '1.2.3.4:10911');
    const missing = brokerError(17, 'no topic', 'a:1', 'send');
    assert.equal(missing.code, 'TOPIC_NOT_EXIST');
    assert.equal(missing.responseCode, 17);
    const odd = brokerError(999, undefined, 'a:1', 'x');
    assert.equal(odd.code, 'BROKER_ERROR');
    assert.equal(odd.responseCode, 999);
    assert.equal(odd.retriable, false);
  });

  it('has every code documented in docs/client.md', () => {
    const docs = readFileSync(fileURLToPath(new URL('../../../docs/client.md', import.meta.url)), 'utf8');
    for (const code of [...Object.keys(CLIENT_ERROR_SPECS), 'REQUEST_TIMEOUT', 'CONNECT_FAILED', 'CONNECTION_CLOSED', 'ABORTED', 'SYSTEM_BUSY', 'TOPIC_NOT_EXIST', 'NO_PERMISSION', 'MESSAGE_ILLEGAL']) {
      assert.ok(code in CLIENT_ERROR_SPECS || code in ErrorCatalogue, code);
      assert.ok(docs.includes(`\`${code}\``), `docs/client.md does not document ${code}`);
    }
  });
});
