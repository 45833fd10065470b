// Proves the lazily loaded gRPC endpoint behaves like the eager one: the port is bound at start with
// no gRPC code loaded, the first clients (several at once, while it loads) are served, TLS works
// through it, a port clash fails the start, and close() frees the port whether or not it loaded.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, loadPackageDefinition, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { Broker } from '../broker/broker.js';
import { createBrokerConfig } from '../broker/broker-config.js';
import { popServiceOf } from '../broker/pop/index.js';
import { newTopicConfig } from '../broker/topic-config-manager.js';
import { silentLogger } from '../common/logger.js';
import { Code } from './grpc/code.js';
import { defaultProtoDir, PROTO_LOADER_OPTIONS } from './grpc/messaging-service.js';
import { LazyGrpcGateway } from './lazy-grpc-gateway.js';
import { TEST_TLS_CERT_PEM, TEST_TLS_KEY_PEM } from '../../test/grpc/tls-fixture.js';

type RouteClient = Client & {
  queryRoute(request: object, metadata: Metadata, options: object, callback: (error: ServiceError | null, response: { status: { code: number }; message_queues: unknown[] }) => void): void;
};

let root: string;
let broker: Broker;

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'tidemq-lazy-grpc-'));
  broker = new Broker(createBrokerConfig({
    storePathRootDir: root, listenPort: 0, listenHost: '127.0.0.1', brokerIP1: '127.0.0.1',
    mappedFileSizeCommitLog: 16 * 1024 * 1024, consumeQueueEntriesPerFile: 10_000, maxHashSlotNum: 1000, maxIndexNum: 4000,
  }), { logger: silentLogger });
  await broker.start();
  broker.brokerDeps.topicConfigManager.updateTopicConfig(newTopicConfig('LazyTopic', { readQueueNums: 4, writeQueueNums: 4, attributes: { 'message.type': 'NORMAL' } }));
});

after(async () => {
  await broker.close();
  rmSync(root, { recursive: true, force: true });
});

function gatewayWith(options: { port?: number; tls?: { keyPem: string; certPem: string } } = {}): LazyGrpcGateway {
  return new LazyGrpcGateway(broker.brokerDeps, () => popServiceOf(broker.brokerDeps), {
    port: options.port ?? 0, host: '127.0.0.1', advertisedHost: '127.0.0.1', logger: silentLogger, ...(options.tls ? { tls: options.tls } : {}),
  });
}

function routeClient(port: number, secure: boolean): RouteClient {
  const definition = loadSync(['apache/rocketmq/v2/service.proto'], { ...PROTO_LOADER_OPTIONS, includeDirs: [defaultProtoDir()] });
  const packageRoot = loadPackageDefinition(definition) as unknown as { apache: { rocketmq: { v2: { MessagingService: new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => Client } } } };
  const channelCredentials = secure ? credentials.createSsl(Buffer.from(TEST_TLS_CERT_PEM)) : credentials.createInsecure();
  return new packageRoot.apache.rocketmq.v2.MessagingService(`127.0.0.1:${port}`, channelCredentials) as RouteClient;
}

function queryRoute(client: RouteClient): Promise<{ status: { code: number }; message_queues: unknown[] }> {
  const metadata = new Metadata();
  metadata.set('x-mq-protocol', 'v2');
  return new Promise((resolve, reject) => {
    client.queryRoute({ topic: { name: 'LazyTopic' } }, metadata, { deadline: Date.now() + 10_000 }, (error, value) => (error ? reject(error) : resolve(value)));
  });
}

test('binds at start, loads on the first connections and serves all of them', async () => {
  const gateway = gatewayWith();
  const port = await gateway.start();
  assert.ok(port > 0);
  assert.equal(gateway.loaded, false);
  const clients = [routeClient(port, false), routeClient(port, false), routeClient(port, false)];
  try {
    const responses = await Promise.all(clients.map(queryRoute));
    for (const response of responses) {
      assert.equal(response.status.code, Code.OK);
      assert.equal(response.message_queues.length, 4);
    }
    assert.equal(gateway.loaded, true);
    // Later connections go straight to the loaded gateway.
    const late = routeClient(port, false);
    clients.push(late);
    assert.equal((await queryRoute(late)).status.code, Code.OK);
  } finally {
    for (const client of clients) client.close();
    await gateway.close();
  }
});

test('serves TLS through the lazy listener and refuses plain text there', async () => {
  const gateway = gatewayWith({ tls: { keyPem: TEST_TLS_KEY_PEM, certPem: TEST_TLS_CERT_PEM } });
  const port = await gateway.start();
  const secure = routeClient(port, true);
  const plain = routeClient(port, false);
  try {
    assert.equal((await queryRoute(secure)).status.code, Code.OK);
    await assert.rejects(queryRoute(plain), (error: ServiceError) => typeof error.code === 'number' && error.code !== 0);
  } finally {
    secure.close();
    plain.close();
    await gateway.close();
  }
});

test('a taken port fails the start; close() frees the port without ever loading', async () => {
  const gateway = gatewayWith();
  const port = await gateway.start();
  await assert.rejects(gatewayWith({ port }).start(), /EADDRINUSE/);
  await gateway.close();
  assert.equal(gateway.loaded, false);
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(port, '127.0.0.1', () => resolve());
  });
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});
