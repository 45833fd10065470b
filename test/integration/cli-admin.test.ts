// Proves every `tidemq admin` command against a real `tidemq start`: run as a separate process, each changes or reports what the broker really holds (checked with --json and through the client), the command the broker's TOPIC_NOT_EXIST remark suggests works as written with NAMESRV_ADDR, and failures print `tidemq admin: <message> (code <responseCode>)` and exit 1.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Admin, Producer, PushConsumer, type MessageQueue, type SendResult } from '../../src/client/index.js';
import { newClient, sendV2Request } from './broker-test-support.js';
import { makeTempHome, startStandalone, waitFor, type TideProcess } from '../support/tidemq-process.js';

const CLI = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../src/cli/tidemq.js');

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `tidemq admin <args>` as its own process; NAMESRV_ADDR is unset unless `env` sets it. */
function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (env.NAMESRV_ADDR === undefined) delete childEnv.NAMESRV_ADDR;
  return new Promise((resolveRun) => {
    execFile(process.execPath, [CLI, 'admin', ...args], { env: childEnv, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolveRun({ code, stdout, stderr });
    });
  });
}

describe('tidemq admin', { timeout: 60_000 }, () => {
  const { home, cleanup } = makeTempHome('tidemq-cli-admin-');
  const TOPIC = 'CliOrders';
  const GROUP = 'CliWorkers';
  const DLQ_GROUP = 'CliDeadWorkers';
  let server: TideProcess & { namesrvAddr: string; brokerAddr: string };
  let admin: Admin;
  let producer: Producer;
  const sent: SendResult[] = [];
  const queue0: MessageQueue = { topic: TOPIC, brokerName: 'broker-a', queueId: 0 };

  /** `tidemq admin <args> -n <namesrv>`. */
  function cli(...args: string[]): Promise<CliResult> {
    return runCli([...args, '-n', server.namesrvAddr]);
  }

  /** The same with --json: asserts exit 0 and parses stdout. */
  async function cliJson<T = Record<string, unknown>>(...args: string[]): Promise<T> {
    const result = await cli(...args, '--json');
    assert.equal(result.code, 0, `tidemq admin ${args.join(' ')} failed: ${result.stderr}`);
    return JSON.parse(result.stdout) as T;
  }

  /** Asserts the error line and exit code 1; returns stderr. */
  function assertFailure(result: CliResult, responseCode: number): string {
    assert.equal(result.code, 1, `expected exit 1, got ${result.code}: ${result.stdout}`);
    assert.match(result.stderr, new RegExp(`^tidemq admin: .+ \\(code ${responseCode}\\)\\n$`), result.stderr);
    return result.stderr;
  }

  before(async () => {
    // Topics are not created by sends here, so the broker's TOPIC_NOT_EXIST advice can be followed.
    const conf = join(home, 'broker.conf');
    writeFileSync(conf, 'autoCreateTopicEnable=false\nmessageDelayLevel=1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s\n');
    server = await startStandalone(home, ['-c', conf]);
    admin = new Admin({ namesrvAddr: server.namesrvAddr });
    producer = new Producer({ namesrvAddr: server.namesrvAddr, routeRefreshIntervalMs: 500 });
  });

  after(async () => {
    await producer?.close();
    await admin?.close();
    await server?.stop();
    cleanup();
  });

  it('runs updateTopic exactly as the TOPIC_NOT_EXIST remark suggests, with NAMESRV_ADDR', async () => {
    const client = newClient();
    let suggested: string;
    try {
      const refused = await client.invoke(server.brokerAddr, sendV2Request(TOPIC, 'too early'));
      assert.equal(refused.code, 17);
      suggested = /`tidemq admin (updateTopic -t \S+)`/.exec(refused.remark ?? '')?.[1] ?? assert.fail(`no command in the remark: ${refused.remark}`);
    } finally {
      await client.close();
    }
    const result = await runCli(suggested.split(' '), { NAMESRV_ADDR: server.namesrvAddr });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^create topic to every master broker success\./);
    const route = await waitFor('the route of the new topic', () => admin.topicRoute(TOPIC));
    assert.equal(route.queueDatas[0]!.writeQueueNums, 8);
    for (let index = 0; index < 3; index++) {
      sent.push(await producer.send({ topic: TOPIC, body: `order-${index}`, keys: [`key-${index}`], tags: 'created' }, { queue: queue0 }));
    }
  });

  it('updateTopic with every flag, topicList, topicRoute, topicStatus and deleteTopic', async () => {
    const topic = 'CliFifo';
    const created = await cli('updateTopic', '-t', topic, '-r', '4', '-w', '4', '-p', '6', '-o', 'false', '-a', '+message.type=FIFO', '-c', 'DefaultCluster');
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /readQueueNums=4, writeQueueNums=4, perm=RW-, order=false, attributes=\+message\.type=FIFO/);
    const updated = await cliJson('updateTopic', '-t', topic, '-r', '2', '-w', '2', '-b', server.brokerAddr);
    assert.equal(updated.readQueueNums, 2);
    const route = await waitFor('the updated route', async () => {
      const result = await cliJson<{ queueDatas: { writeQueueNums: number; brokerName: string }[]; brokerDatas: { brokerAddrs: Record<string, string> }[] }>('topicRoute', '-t', topic);
      return result.queueDatas[0]?.writeQueueNums === 2 ? result : undefined;
    });
    assert.equal(route.brokerDatas[0]!.brokerAddrs['0'], server.brokerAddr);
    // Read-only commands run side by side: each is its own process.
    const [routeTable, { topics }, topicLines, status, statusTable] = await Promise.all([
      cli('topicRoute', '-t', topic),
      cliJson<{ topics: string[] }>('topicList'),
      cli('topicList'),
      cliJson<{ queues: { brokerName: string; queueId: number; minOffset: number; maxOffset: number }[] }>('topicStatus', '-t', TOPIC),
      cli('topicStatus', '-t', TOPIC),
    ]);
    assert.match(routeTable.stdout, /#Broker Name\s+#Read Queues\s+#Write Queues\s+#Perm[^\n]*\nbroker-a\s+2\s+2\s+6 \(RW-\)/);
    assert.ok(topics.includes(topic) && topics.includes(TOPIC), topics.join(','));
    assert.ok(topicLines.stdout.split('\n').includes(topic));
    assert.equal(status.queues.length, 8);
    assert.deepEqual(status.queues[0], { ...status.queues[0], brokerName: 'broker-a', queueId: 0, minOffset: 0, maxOffset: 3 });
    assert.match(statusTable.stdout, /^#Broker Name\s+#QID\s+#Min Offset\s+#Max Offset\s+#Last Updated\nbroker-a\s+0\s+0\s+3\s+\d{4}-/);

    const deleted = await cli('deleteTopic', '-t', topic, '-c', 'DefaultCluster');
    assert.equal(deleted.code, 0, deleted.stderr);
    await waitFor('the route to go', async () => (await admin.topicRoute(topic)) === undefined);
    assertFailure(await cli('topicRoute', '-t', topic), 17);
  });

  it('updateSubGroup and deleteSubGroup change the broker’s groups', async () => {
    const group = 'CliTempGroup';
    const created = await cli('updateSubGroup', '-g', group, '-r', '3', '-q', '1', '-o', 'true');
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /create subscription group to every master broker success/);
    const config = (await admin.listGroups()).get(group);
    assert.equal(config?.retryMaxTimes, 3);
    assert.equal(config?.consumeMessageOrderly, true);
    assert.equal((await cliJson('deleteSubGroup', '-g', group, '-b', server.brokerAddr)).deleted, true);
    assert.equal((await admin.listGroups()).has(group), false);
  });

  it('consumerProgress reports offsets and lag; resetOffsetByTime moves them in every time format', async () => {
    await admin.updateConsumerOffset(GROUP, queue0, 1);
    type Progress = { diffTotal: number; queues: { topic: string; queueId: number; brokerOffset: number; consumerOffset: number; diff: number }[] };
    const progress = await cliJson<Progress>('consumerProgress', '-g', GROUP, '-t', TOPIC);
    const first = progress.queues.find((item) => item.queueId === 0)!;
    assert.deepEqual([first.brokerOffset, first.consumerOffset, first.diff], [3, 1, 2]);
    assert.equal(progress.diffTotal, 2);
    const table = await cli('consumerProgress', '-g', GROUP);
    assert.match(table.stdout, new RegExp(`${TOPIC}\\s+broker-a\\s+0\\s+3\\s+1\\s+2`));
    assert.match(table.stdout, /Consume Diff Total: 2$/m);

    type Reset = { offsets: { brokerName: string; queueId: number; offset: number }[] };
    const toStart = await cliJson<Reset>('resetOffsetByTime', '-g', GROUP, '-t', TOPIC, '-s', '0');
    assert.equal(toStart.offsets.find((item) => item.queueId === 0)?.offset, 0);
    assert.equal(await admin.consumerOffset(GROUP, queue0), 0);
    const toEnd = await cliJson<Reset>('resetOffsetByTime', '-g', GROUP, '-t', TOPIC, '-s', 'now');
    assert.equal(toEnd.offsets.find((item) => item.queueId === 0)?.offset, 3);
    // mqadmin's date format, local time: a minute before the first message is stored means "from the start".
    const minuteAgo = new Date(Date.now() - 60_000);
    const pad = (value: number, digits = 2): string => String(value).padStart(digits, '0');
    const stamp = `${minuteAgo.getFullYear()}-${pad(minuteAgo.getMonth() + 1)}-${pad(minuteAgo.getDate())}#${pad(minuteAgo.getHours())}:${pad(minuteAgo.getMinutes())}:${pad(minuteAgo.getSeconds())}:${pad(minuteAgo.getMilliseconds(), 3)}`;
    const byDate = await cli('resetOffsetByTime', '-g', GROUP, '-t', TOPIC, '-s', stamp);
    assert.equal(byDate.code, 0, byDate.stderr);
    assert.match(byDate.stdout, /#brokerName\s+#queueId\s+#offset\nbroker-a\s+0\s+0\n/);
    assert.equal(await admin.consumerOffset(GROUP, queue0), 0);
    assert.equal((await cli('resetOffsetByTime', '-g', GROUP, '-t', TOPIC, '-s', '2024-13-01#00:00:00:000')).code, 1, 'a date that does not exist is refused');
  });

  it('consumerConnection lists the online members and their subscriptions', async () => {
    assertFailure(await cli('consumerConnection', '-g', GROUP), 206);
    const consumer = new PushConsumer({ namesrvAddr: server.namesrvAddr, group: GROUP }).subscribe(TOPIC, 'created || paid');
    try {
      await consumer.run(() => undefined);
      const connection = await cliJson<{ connections: { clientId: string; language: string }[]; subscriptions: Record<string, { subString: string }>; messageModel: string }>('consumerConnection', '-g', GROUP);
      assert.deepEqual(connection.connections.map((item) => item.clientId), [consumer.clientId]);
      assert.equal(connection.subscriptions[TOPIC]?.subString, 'created || paid');
      assert.equal(connection.messageModel, 'CLUSTERING');
      const table = await cli('consumerConnection', '-g', GROUP);
      assert.ok(table.stdout.includes(consumer.clientId));
      assert.match(table.stdout, new RegExp(`${TOPIC}\\s+created \\|\\| paid\\s+TAG`));
    } finally {
      await consumer.close();
    }
  });

  it('queryMsgByKey, queryMsgById and queryMsgByOffset find the stored messages', async () => {
    type Found = { topic: string; body: string; offsetMsgId: string; msgId: string; queueId: number; queueOffset: number; keys: string[] };
    const [byKey, byKeyTable, byMissingKey, byOffsetId, byUniqueKey, detail, atOffset, atOffsetMqadminFlag, beyondEnd] = await Promise.all([
      cliJson<{ messages: Found[] }>('queryMsgByKey', '-t', TOPIC, '-k', 'key-1'),
      cli('queryMsgByKey', '-t', TOPIC, '-k', 'key-1', '-b', '0', '-e', 'now'),
      cliJson<{ messages: Found[] }>('queryMsgByKey', '-t', TOPIC, '-k', 'key-none'),
      cliJson<Found>('queryMsgById', '-i', sent[2]!.offsetMsgId),
      cliJson<Found>('queryMsgById', '-i', sent[0]!.msgId, '-t', TOPIC),
      cli('queryMsgById', '-i', sent[0]!.offsetMsgId),
      cliJson<Found>('queryMsgByOffset', '-t', TOPIC, '-b', 'broker-a', '-q', '0', '-o', '1'),
      cliJson<Found>('queryMsgByOffset', '-t', TOPIC, '-b', 'broker-a', '-i', '0', '-o', '2'),
      cli('queryMsgByOffset', '-t', TOPIC, '-b', 'broker-a', '-q', '0', '-o', '7'),
    ]);
    assert.deepEqual(byKey.messages.map((message) => [message.body, message.queueId, message.queueOffset]), [['order-1', 0, 1]]);
    assert.match(byKeyTable.stdout, new RegExp(`${sent[1]!.msgId}\\s+${sent[1]!.offsetMsgId}\\s+broker-a\\s+0\\s+1\\s`));
    assert.deepEqual(byMissingKey.messages, []);
    assert.equal(byOffsetId.body, 'order-2');
    assert.equal(byOffsetId.queueOffset, 2);
    assert.equal(byUniqueKey.body, 'order-0');
    assert.match(detail.stdout, new RegExp(`^Topic:\\s+${TOPIC}$`, 'm'));
    assert.match(detail.stdout, /^Keys:\s+\[key-0\]$/m);
    assert.match(detail.stdout, /^Broker Name:\s+broker-a$/m);
    assert.match(detail.stdout, /Message Body:\norder-0\n$/);
    assert.equal(atOffset.body, 'order-1');
    assert.equal(atOffsetMqadminFlag.body, 'order-2');
    assertFailure(beyondEnd, 22);
  });

  it('clusterList and brokerStatus show the broker', async () => {
    const [{ brokers }, clusterTable, status, statusText] = await Promise.all([
      cliJson<{ brokers: { clusterName: string; brokerName: string; brokerId: number; brokerAddr: string; version: string; inTotalToday: number }[] }>('clusterList'),
      cli('clusterList'),
      cliJson<Record<string, string>>('brokerStatus', '-b', server.brokerAddr),
      cli('brokerStatus', '-b', server.brokerAddr),
    ]);
    assert.equal(brokers.length, 1);
    assert.deepEqual(
      { clusterName: brokers[0]!.clusterName, brokerName: brokers[0]!.brokerName, brokerId: brokers[0]!.brokerId, brokerAddr: brokers[0]!.brokerAddr },
      { clusterName: 'DefaultCluster', brokerName: 'broker-a', brokerId: 0, brokerAddr: server.brokerAddr },
    );
    assert.ok(brokers[0]!.inTotalToday >= 3);
    assert.match(clusterTable.stdout, new RegExp(`DefaultCluster\\s+broker-a\\s+0\\s+${server.brokerAddr.replace(/\./g, '\\.')}\\s+V`));
    assert.equal(status.brokerActive, 'true');
    assert.ok(Number(status.msgPutTotalTodayNow) >= 3);
    assert.match(statusText.stdout, /^brokerActive:\s+true$/m);
  });

  it('resendDlq puts a dead-lettered message back on its topic, by queue offset and by id', async () => {
    const dlq: MessageQueue = { topic: `%DLQ%${DLQ_GROUP}`, brokerName: 'broker-a', queueId: 0 };
    // No retries allowed: the first failure sends the message straight to %DLQ%group.
    const failing = new PushConsumer({ namesrvAddr: server.namesrvAddr, group: DLQ_GROUP, maxReconsumeTimes: 0, consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET' }).subscribe(TOPIC);
    try {
      await failing.run(() => {
        throw new Error('poison');
      });
      await waitFor('three messages in the DLQ', async () => (await admin.messageAtOffset(dlq, 2)) !== undefined);
    } finally {
      await failing.close();
    }
    type Resent = { resentCount: number; resent: { topic: string; queueId: number; queueOffset: number; dlqQueueOffset: number; dlqMsgId: string; msgId: string }[] };
    const byOffset = await cliJson<Resent>('resendDlq', '-g', DLQ_GROUP, '-o', '0', '--count', '2');
    assert.equal(byOffset.resentCount, 2);
    assert.deepEqual(byOffset.resent.map((item) => [item.topic, item.dlqQueueOffset]), [[TOPIC, 0], [TOPIC, 1]]);
    const copy = await admin.viewMessage(byOffset.resent[0]!.msgId);
    assert.equal(copy.topic, TOPIC);
    assert.equal(copy.reconsumeTimes, 0);
    assert.ok(['order-0', 'order-1', 'order-2'].includes(copy.text()));

    const third = await admin.messageAtOffset(dlq, 2);
    const byId = await cli('resendDlq', '-g', DLQ_GROUP, '-i', third!.offsetMsgId);
    assert.equal(byId.code, 0, byId.stderr);
    assert.match(byId.stdout, new RegExp(`${third!.offsetMsgId}\\s+${TOPIC}\\s`));
    assert.match(byId.stdout, /1 message re-sent from %DLQ%CliDeadWorkers$/m);

    const [neither, beyondEnd, noDlq] = await Promise.all([
      cli('resendDlq', '-g', DLQ_GROUP),
      cli('resendDlq', '-g', DLQ_GROUP, '-o', '99'),
      cli('resendDlq', '-g', 'CliNoSuchGroup', '-o', '0'),
    ]);
    assertFailure(neither, 29);
    assertFailure(beyondEnd, 22);
    assertFailure(noDlq, 17);
  });

  it('reports unreachable name servers and bad flags with exit code 1', async () => {
    const [unreachable, missing, badNumber] = await Promise.all([runCli(['topicList', '-n', '127.0.0.1:1']), cli('topicRoute'), cli('updateTopic', '-t', 'X', '-r', 'many')]);
    assertFailure(unreachable, -1000);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /required option '-t, --topic <topic>' not specified/);
    assert.equal(badNumber.code, 1);
    assert.match(badNumber.stderr, /must be an integer/);
  });
});
