// Proves the gateway serves TLS when configured (a client trusting the certificate gets answers) and then refuses plain-text clients.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { credentials, loadPackageDefinition, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { Code } from '../../src/gateway/grpc/code.js';
import { defaultProtoDir, PROTO_LOADER_OPTIONS } from '../../src/gateway/grpc/messaging-service.js';
import { createTopic, rawClient, startTestBed, type GrpcTestBed } from './grpc-test-support.js';
import { TEST_TLS_CERT_PEM, TEST_TLS_KEY_PEM } from './tls-fixture.js';

let bed: GrpcTestBed;

before(async () => {
  bed = await startTestBed({ gateway: { tls: { keyPem: TEST_TLS_KEY_PEM, certPem: TEST_TLS_CERT_PEM } } });
  createTopic(bed.deps, 'TlsTopic');
});

after(async () => {
  await bed.close();
});

test('a TLS client that trusts the certificate is served', async () => {
  const definition = loadSync(['apache/rocketmq/v2/service.proto'], { ...PROTO_LOADER_OPTIONS, includeDirs: [defaultProtoDir()] });
  const root = loadPackageDefinition(definition) as unknown as { apache: { rocketmq: { v2: { MessagingService: new (address: string, creds: ReturnType<typeof credentials.createSsl>) => Client } } } };
  const client = new root.apache.rocketmq.v2.MessagingService(bed.endpoints, credentials.createSsl(Buffer.from(TEST_TLS_CERT_PEM))) as Client & {
    queryRoute(request: object, metadata: Metadata, options: object, callback: (error: ServiceError | null, response: { status: { code: number }; message_queues: unknown[] }) => void): void;
  };
  try {
    const response = await new Promise<{ status: { code: number }; message_queues: unknown[] }>((resolve, reject) => {
      client.queryRoute({ topic: { name: 'TlsTopic' } }, new Metadata(), { deadline: Date.now() + 5000 }, (error, value) => (error ? reject(error) : resolve(value)));
    });
    assert.equal(response.status.code, Code.OK);
    assert.equal(response.message_queues.length, 4);
  } finally {
    client.close();
  }
});

test('a plain-text client is refused by the TLS port', async () => {
  const raw = rawClient(bed.endpoints);
  try {
    await assert.rejects(raw.unary('QueryRoute', { topic: { name: 'TlsTopic' } }), (error: ServiceError) => typeof error.code === 'number' && error.code !== 0);
  } finally {
    raw.close();
  }
});
