// Proves Apache RocketMQ's own admin tool (mqadmin from rocketmq-tools 5.3.x, run on a JVM) manages a real `tidemq start` process.
//
// Slow and outside `npm test`: run it with `npm run test:rocketmq-tools`. It needs java and mvn; the
// tools jar and its dependencies come from Maven Central once (scripts/rocketmq-tools.sh caches them
// under bench/.cache/rocketmq-tools). Without java or mvn every test is skipped with the reason.
//
// MQAdminStartup exits 0 even when a command fails (it prints the exception), so each check also
// requires that the output holds no exception and holds the values the broker was given.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { ResponseCode } from '../../src/common/errors.js';
import { fastJsonEntries, parseFastJson } from '../../src/protocol/fastjson.js';
import { encodeProperties, MessageProperty } from '../../src/protocol/message-properties.js';
import { createRequest, type RemotingCommand, type RequestHandler } from '../../src/protocol/remoting-command.js';
import { RequestCode } from '../../src/protocol/request-code.js';
import { RemotingClient } from '../../src/remoting/remoting-client.js';
import { makeTempHome, startStandalone, waitFor, type TideProcess } from '../support/tidemq-process.js';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const TOPIC = 'MqadminTopic';
const GROUP = 'MqadminGroup';
const PRODUCER_GROUP = 'MqadminProducer';
const CLIENT_ID = '127.0.0.1@mqadmin-test';
const MESSAGES = 10;
/** One mqadmin run: a JVM start plus a few requests. */
const COMMAND_TIMEOUT_MS = 90_000;

interface ToolRun {
  exitCode: number | null;
  output: string;
}

function findClasspath(): { classpath?: string; reason?: string } {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
  } catch {
    return { reason: 'java is not installed' };
  }
  try {
    const classpath = execFileSync('bash', [resolve(REPO_ROOT, 'scripts/rocketmq-tools.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 }).trim();
    return { classpath };
  } catch (error) {
    return { reason: `scripts/rocketmq-tools.sh failed: ${String((error as { stderr?: string }).stderr ?? error).slice(0, 500)}` };
  }
}

const { classpath, reason: skipReason } = findClasspath();
const skip = classpath === undefined ? skipReason! : false;

let home: { home: string; cleanup: () => void };
let tidemq: TideProcess & { namesrvAddr: string; brokerAddr: string };
let client: RemotingClient;
let consumer: RemotingClient | undefined;
const sentMessageIds: string[] = [];
let beforeSendsMs = 0;

/** Runs a Java main class; the JVM flags favour start-up time, since each run is short. */
function java(javaClasspath: string, mainClass: string, args: string[]): Promise<ToolRun> {
  return new Promise((resolveRun, rejectRun) => {
    const child = spawn('java', [
      // user.home moves the tools' own logs (~/logs/rocketmqlogs) into the temp home.
      '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xmx256m', `-Duser.home=${home.home}`, `-Drocketmq.client.logRoot=${resolve(home.home, 'logs')}`,
      '-cp', javaClasspath, mainClass, ...args,
    ], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ROCKETMQ_HOME: home.home } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), COMMAND_TIMEOUT_MS);
    child.once('error', (error) => { clearTimeout(timer); rejectRun(error); });
    child.once('exit', (exitCode) => { clearTimeout(timer); resolveRun({ exitCode, output }); });
  });
}

function mqadmin(args: string[]): Promise<ToolRun> {
  return java(classpath!, 'org.apache.rocketmq.tools.command.MQAdminStartup', [...args, '-n', tidemq.namesrvAddr]);
}

/** Runs a command that must succeed: exit 0 and no exception in the output. */
async function mqadminOk(args: string[]): Promise<string> {
  const run = await mqadmin(args);
  assert.equal(run.exitCode, 0, `mqadmin ${args.join(' ')} exited ${run.exitCode}:\n${run.output}`);
  assert.doesNotMatch(run.output, /Exception|command failed/, `mqadmin ${args.join(' ')} failed:\n${run.output}`);
  return run.output;
}

function call(address: string, code: number, extFields: Record<string, string> = {}, body?: Buffer, via: RemotingClient = client): Promise<RemotingCommand> {
  return via.invoke(address, createRequest(code, extFields, body), 5000);
}

/** Waits until the name server has a route for `topic` (registration after a change is asynchronous). */
function waitForRoute(topic: string, present = true): Promise<true> {
  return waitFor(`route of ${topic} ${present ? 'present' : 'gone'}`, async () => {
    const response = await call(tidemq.namesrvAddr, RequestCode.GET_ROUTEINFO_BY_TOPIC, { topic });
    return (response.code === ResponseCode.SUCCESS) === present ? true : undefined;
  }, 20_000);
}

async function committedOffsets(): Promise<number[]> {
  const offsets: number[] = [];
  for (let queueId = 0; queueId < 4; queueId++) {
    const response = await call(tidemq.brokerAddr, RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: GROUP, topic: TOPIC, queueId: String(queueId), setZeroIfNotFound: 'false' });
    offsets.push(response.code === ResponseCode.SUCCESS ? Number(response.extFields?.offset) : -1);
  }
  return offsets;
}

before(async () => {
  if (skip) return;
  home = makeTempHome('tidemq-mqadmin-');
  tidemq = await startStandalone(home.home);
  client = new RemotingClient();
}, { timeout: 900_000 });

after(async () => {
  await consumer?.close();
  await client?.close();
  await tidemq?.stop();
  home?.cleanup();
});

test('clusterList shows the broker, its address and version', { skip }, async () => {
  const output = await mqadminOk(['clusterList']);
  assert.match(output, /DefaultCluster\s+broker-a\s+0\s+/);
  assert.ok(output.includes(tidemq.brokerAddr), output);
  assert.match(output, /V5_3_3/);
});

test('updateTopic creates a topic that topicList and topicRoute then show', { skip }, async () => {
  const created = await mqadminOk(['updateTopic', '-c', 'DefaultCluster', '-t', TOPIC, '-r', '4', '-w', '4', '-a', '+message.type=NORMAL']);
  assert.match(created, /create topic to .* success/);
  await waitForRoute(TOPIC);
  assert.match(await mqadminOk(['topicList']), new RegExp(`^${TOPIC}$`, 'm'));
  const route = await mqadminOk(['topicRoute', '-t', TOPIC]);
  assert.match(route, /"readQueueNums":4/);
  assert.match(route, /"writeQueueNums":4/);
  assert.ok(route.includes(tidemq.brokerAddr), route);
});

test('topicStatus counts the messages sent to each queue', { skip }, async () => {
  beforeSendsMs = Date.now() - 1;
  for (let index = 0; index < MESSAGES; index++) {
    const response = await call(tidemq.brokerAddr, RequestCode.SEND_MESSAGE, {
      producerGroup: PRODUCER_GROUP, topic: TOPIC, defaultTopic: 'TBW102', defaultTopicQueueNums: '4', queueId: String(index % 4),
      sysFlag: '0', bornTimestamp: String(Date.now()), flag: '0',
      properties: encodeProperties({ [MessageProperty.KEYS]: `key-${index}`, [MessageProperty.TAGS]: 'TagA' }),
    }, Buffer.from(`hello mqadmin ${index}`));
    assert.equal(response.code, ResponseCode.SUCCESS, response.remark);
    sentMessageIds.push(response.extFields!.msgId!);
  }
  const output = await mqadminOk(['topicStatus', '-t', TOPIC]);
  const maxOffsets = [...output.matchAll(/^broker-a\s+(\d)\s+(\d+)\s+(\d+)/gm)].map((match) => [Number(match[1]), Number(match[3])]);
  assert.deepEqual(maxOffsets.sort((left, right) => left[0]! - right[0]!), [[0, 3], [1, 3], [2, 2], [3, 2]], output);
});

test('brokerStatus and getBrokerConfig read the runtime table and the settings', { skip }, async () => {
  const status = await mqadminOk(['brokerStatus', '-b', tidemq.brokerAddr]);
  const putTotal = /^msgPutTotalTodayNow\s*:\s*(\d+)$/m.exec(status);
  assert.ok(putTotal && Number(putTotal[1]) >= MESSAGES, status);
  assert.match(status, /^brokerVersionDesc\s*:\s*V5_3_3$/m);
  assert.match(status, /^commitLogMaxOffset\s*:\s*[1-9]\d*$/m);
  const config = await mqadminOk(['getBrokerConfig', '-b', tidemq.brokerAddr]);
  assert.match(config, /^brokerName\s*=\s*broker-a$/m);
  assert.match(config, /^brokerClusterName\s*=\s*DefaultCluster$/m);
  const byCluster = await mqadminOk(['getBrokerConfig', '-c', 'DefaultCluster']);
  assert.match(byCluster, /^brokerName\s*=\s*broker-a$/m);
});

test('updateBrokerConfig changes a whitelisted setting and is refused storePathRootDir', { skip }, async () => {
  await mqadminOk(['updateBrokerConfig', '-b', tidemq.brokerAddr, '-k', 'defaultQueryMaxNum', '-v', '48']);
  assert.match(await mqadminOk(['getBrokerConfig', '-b', tidemq.brokerAddr]), /^defaultQueryMaxNum\s*=\s*48$/m);
  const refused = await mqadmin(['updateBrokerConfig', '-b', tidemq.brokerAddr, '-k', 'storePathRootDir', '-v', '/tmp/evil']);
  assert.match(refused.output, /CODE: 16/, refused.output);
  assert.match(await mqadminOk(['getBrokerConfig', '-b', tidemq.brokerAddr]), new RegExp(`^storePathRootDir\\s*=\\s*${home.home}`, 'm'));
});

test('updateSubGroup creates a group; consumerProgress shows its committed offsets', { skip }, async () => {
  assert.match(await mqadminOk(['updateSubGroup', '-c', 'DefaultCluster', '-g', GROUP]), /create subscription group to .* success/);
  const handlers = new Map<number, RequestHandler>([
    [RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, () => null],
    [RequestCode.RESET_CONSUMER_CLIENT_OFFSET, () => null],
  ]);
  consumer = new RemotingClient({ handlers });
  const heartbeat = {
    clientID: CLIENT_ID,
    producerDataSet: [{ groupName: PRODUCER_GROUP }],
    consumerDataSet: [{
      groupName: GROUP, consumeType: 'CONSUME_PASSIVELY', messageModel: 'CLUSTERING', consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET', unitMode: false,
      subscriptionDataSet: [{ classFilterMode: false, topic: TOPIC, subString: '*', tagsSet: [], codeSet: [], subVersion: 1, expressionType: 'TAG' }],
    }],
  };
  assert.equal((await call(tidemq.brokerAddr, RequestCode.HEART_BEAT, {}, Buffer.from(JSON.stringify(heartbeat)), consumer)).code, ResponseCode.SUCCESS);
  for (const [queueId, offset] of [[0, 3], [1, 1], [2, 2], [3, 0]] as const) {
    const response = await call(tidemq.brokerAddr, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: GROUP, topic: TOPIC, queueId: String(queueId), commitOffset: String(offset) });
    assert.equal(response.code, ResponseCode.SUCCESS);
  }
  // The heartbeat created %RETRY%group, which is how mqadmin finds the group's brokers.
  await waitForRoute(`%RETRY%${GROUP}`);
  const output = await mqadminOk(['consumerProgress', '-g', GROUP]);
  const rows = [...output.matchAll(new RegExp(`^${TOPIC}\\s+broker-a\\s+(\\d)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)`, 'gm'))]
    .map((match) => [Number(match[1]), Number(match[2]), Number(match[3]), Number(match[4])])
    .sort((left, right) => left[0]! - right[0]!);
  assert.deepEqual(rows, [[0, 3, 3, 0], [1, 3, 1, 2], [2, 2, 2, 0], [3, 2, 0, 2]], output);
  assert.match(output, /Diff Total:\s*4/);
});

test('consumerConnection and producerConnection list the online client', { skip }, async () => {
  const consumers = await mqadminOk(['consumerConnection', '-g', GROUP]);
  assert.match(consumers, new RegExp(`^${CLIENT_ID.replace(/\./g, '\\.')}\\s+127\\.0\\.0\\.1:\\d+\\s+JAVA\\s+V5_3_3$`, 'm'), consumers);
  assert.match(consumers, new RegExp(`^${TOPIC}\\s+\\*$`, 'm'), consumers);
  assert.match(consumers, /^ConsumeType: CONSUME_PASSIVELY$/m);
  assert.match(consumers, /^MessageModel: CLUSTERING$/m);
  assert.match(consumers, /^ConsumeFromWhere: CONSUME_FROM_FIRST_OFFSET$/m);
  const producers = await mqadminOk(['producerConnection', '-g', PRODUCER_GROUP, '-t', TOPIC]);
  assert.match(producers, new RegExp(`^0001\\s+${CLIENT_ID.replace(/\./g, '\\.')}\\s+127\\.0\\.0\\.1:\\d+\\s+JAVA`, 'm'), producers);
});

test('the DefaultMQAdminExt calls RocketMQ Dashboard makes decode the broker\'s answers', { skip }, async () => {
  // Compiled here so the probe always matches the downloaded tools version.
  const classes = resolve(home.home, 'probe-classes');
  execFileSync('javac', ['-cp', classpath!, '-d', classes, resolve(REPO_ROOT, 'test/rocketmq/AdminApiProbe.java')], { stdio: 'pipe' });
  const run = await java(`${classes}:${classpath!}`, 'AdminApiProbe', [tidemq.namesrvAddr, tidemq.brokerAddr, TOPIC, GROUP, PRODUCER_GROUP]);
  const results = new Map([...run.output.matchAll(/^(\w+)([=!])(.*)$/gm)].map((match) => [match[1]!, { ok: match[2] === '=', value: match[3]! }]));
  const expected: Record<string, string | ((value: string) => boolean)> = {
    queryTopicConsumeByWho: GROUP,
    queryConsumeTimeSpan: '4/4',
    getAllSubscriptionGroup: 'true',
    examineSubscriptionGroupConfig: GROUP,
    getAllTopicConfig: '4',
    examineTopicConfig: 'NORMAL',
    examineTopicStats: String(MESSAGES),
    examineConsumeStats: '4',
    fetchBrokerRuntimeStats: (value) => Number(value) >= MESSAGES,
    getBrokerConfig: 'broker-a',
    examineConsumerConnectionInfo: CLIENT_ID,
    examineProducerConnectionInfo: '1',
  };
  for (const [name, want] of Object.entries(expected)) {
    const result = results.get(name);
    assert.ok(result?.ok, `${name} failed: ${result?.value ?? 'no output'}\n${run.output}`);
    if (typeof want === 'string') assert.equal(result.value, want, name);
    else assert.ok(want(result.value), `${name}=${result.value}`);
  }
});

test('resetOffsetByTime moves the group back to the start of the topic', { skip }, async () => {
  const output = await mqadminOk(['resetOffsetByTime', '-g', GROUP, '-t', TOPIC, '-s', String(beforeSendsMs)]);
  assert.match(output, /#brokerName\s+#queueId\s+#offset/, output);
  assert.deepEqual(await committedOffsets(), [0, 0, 0, 0]);
  // With nobody online the broker still stores the reset (no fallback to the old per-queue path needed).
  await consumer?.close();
  consumer = undefined;
  await call(tidemq.brokerAddr, RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: GROUP, topic: TOPIC, queueId: '0', commitOffset: '3' });
  await mqadminOk(['resetOffsetByTime', '-g', GROUP, '-t', TOPIC, '-s', String(beforeSendsMs)]);
  assert.deepEqual(await committedOffsets(), [0, 0, 0, 0]);
});

test('queryMsgByKey finds a sent message by its key (default time range: 0 to Long.MAX_VALUE)', { skip }, async () => {
  const byKey = await mqadminOk(['queryMsgByKey', '-t', TOPIC, '-k', 'key-3']);
  assert.match(byKey, /#Message ID\s+#QID\s+#Offset/, byKey);
  assert.match(byKey, /^[0-9A-F]{32}\s+3\s+0$/m, byKey);
});

test('queryMsgByKey with an explicit time range', { skip }, async () => {
  const byKey = await mqadminOk(['queryMsgByKey', '-t', TOPIC, '-k', 'key-3', '-b', '0', '-e', String(Date.now() + 3_600_000)]);
  assert.match(byKey, /^[0-9A-F]{32}\s+3\s+0$/m, byKey);
});

test('queryMsgById shows a sent message by its offsetMsgId', { skip }, async () => {
  const byId = await mqadminOk(['queryMsgById', '-t', TOPIC, '-i', sentMessageIds[3]!]);
  assert.match(byId, new RegExp(`Topic:\\s+${TOPIC}`), byId);
  assert.match(byId, /Keys:\s+\[?key-3/, byId);
  assert.match(byId, /Queue ID:\s+3/, byId);
  // The tool writes the body to a fixed path under /tmp; check it and remove that one file.
  const bodyPath = /^Message Body Path:\s+(\/tmp\/rocketmq\/msgbodys\/[0-9A-F]+)$/m.exec(byId)?.[1];
  assert.ok(bodyPath, byId);
  try {
    assert.equal(readFileSync(bodyPath, 'utf8'), 'hello mqadmin 3');
  } finally {
    rmSync(bodyPath, { force: true });
  }
});

test('deleteTopic removes the topic from the broker and the name server', { skip }, async () => {
  await mqadminOk(['deleteTopic', '-c', 'DefaultCluster', '-t', TOPIC]);
  await waitForRoute(TOPIC, false);
  assert.doesNotMatch(await mqadminOk(['topicList']), new RegExp(`^${TOPIC}$`, 'm'));
  const config = await call(tidemq.brokerAddr, RequestCode.GET_TOPIC_CONFIG, { topic: TOPIC });
  assert.equal(config.code, ResponseCode.TOPIC_NOT_EXIST);
  const offsets = await call(tidemq.brokerAddr, RequestCode.GET_ALL_CONSUMER_OFFSET);
  const table = parseFastJson(offsets.body!) as { offsetTable: unknown };
  assert.ok(!fastJsonEntries(table.offsetTable as never).some(([key]) => String(key).startsWith(`${TOPIC}@`)));
});
