// Proves heartbeats register consumers (list, NOTIFY_CONSUMER_IDS_CHANGED to the first member when a second joins, subscriptions used by pulls), queue locks, and that committed offsets survive a broker restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequest, type RemotingCommand, type RequestHandler } from '../../src/protocol/remoting-command.js';
import { RequestCode } from '../../src/protocol/request-code.js';
import { heartbeatRequest, newClient, pullRequest, recordsOf, send, startBroker, tempRoot, waitFor } from './broker-test-support.js';

test('heartbeat, consumer list, membership notification, subscription from heartbeat, locks', async (t) => {
  const temp = tempRoot();
  const running = await startBroker(temp.root);
  const notices: RemotingCommand[] = [];
  const onNotify: RequestHandler = (request) => {
    notices.push(request);
    return null;
  };
  const first = newClient(new Map([[RequestCode.NOTIFY_CONSUMER_IDS_CHANGED, onNotify]]));
  const second = newClient();
  t.after(async () => {
    await first.close();
    await second.close();
    await running.close();
    temp.remove();
  });

  const answer = await first.invoke(running.address, heartbeatRequest('10.0.0.1@one', 'CG', ['Orders', '%RETRY%CG'], ['PG']));
  assert.equal(answer.code, 0, answer.remark);
  assert.equal(answer.extFields?.IS_SUPPORT_HEART_BEAT_V2, 'true');
  assert.equal(answer.extFields?.IS_SUB_CHANGE, 'true');

  const list = async () => {
    const response = await first.invoke(running.address, createRequest(RequestCode.GET_CONSUMER_LIST_BY_GROUP, { consumerGroup: 'CG' }));
    return (JSON.parse(response.body!.toString()) as { consumerIdList: string[] }).consumerIdList.sort();
  };
  assert.deepEqual(await list(), ['10.0.0.1@one']);
  await waitFor(async () => (notices.length >= 1 ? true : undefined), 5000, 'the first notice');
  const noticesBefore = notices.length;

  await second.invoke(running.address, heartbeatRequest('10.0.0.2@two', 'CG', ['Orders', '%RETRY%CG']));
  assert.deepEqual(await list(), ['10.0.0.1@one', '10.0.0.2@two']);
  const notice = await waitFor(async () => notices[noticesBefore], 5000, 'NOTIFY_CONSUMER_IDS_CHANGED');
  assert.equal(notice.code, RequestCode.NOTIFY_CONSUMER_IDS_CHANGED);
  assert.equal(notice.extFields?.consumerGroup, 'CG');

  // The retry topic exists now, and a pull without a subscription in its header uses the heartbeat's.
  await send(first, running.address, 'Orders', 'o1');
  const pulled = await first.invoke(running.address, pullRequest('CG', 'Orders', 0));
  assert.equal(pulled.code, 0, pulled.remark);
  assert.equal(recordsOf(pulled)[0]!.body.toString(), 'o1');
  const unsubscribed = await first.invoke(running.address, pullRequest('NoHeartbeatGroup', 'Orders', 0));
  assert.equal(unsubscribed.code, 24, 'SUBSCRIPTION_NOT_EXIST without a heartbeat or a header subscription');

  await second.invoke(running.address, createRequest(RequestCode.UNREGISTER_CLIENT, { clientID: '10.0.0.2@two', consumerGroup: 'CG' }));
  assert.deepEqual(await list(), ['10.0.0.1@one']);
  const none = await first.invoke(running.address, createRequest(RequestCode.GET_CONSUMER_LIST_BY_GROUP, { consumerGroup: 'Nobody' }));
  assert.equal(none.code, 1);

  const lockBody = (clientId: string) => Buffer.from(JSON.stringify({
    consumerGroup: 'CG', clientId, onlyThisBroker: true,
    mqSet: [{ topic: 'Orders', brokerName: 'broker-a', queueId: 0 }, { topic: 'Orders', brokerName: 'broker-a', queueId: 1 }],
  }));
  const locked = await first.invoke(running.address, createRequest(RequestCode.LOCK_BATCH_MQ, undefined, lockBody('10.0.0.1@one')));
  assert.equal((JSON.parse(locked.body!.toString()) as { lockOKMQSet: unknown[] }).lockOKMQSet.length, 2);
  const refused = await second.invoke(running.address, createRequest(RequestCode.LOCK_BATCH_MQ, undefined, lockBody('10.0.0.2@two')));
  assert.equal((JSON.parse(refused.body!.toString()) as { lockOKMQSet: unknown[] }).lockOKMQSet.length, 0);
  const unlock = createRequest(RequestCode.UNLOCK_BATCH_MQ, undefined, lockBody('10.0.0.1@one'));
  unlock.flag |= 2;
  await first.invokeOneway(running.address, unlock);
  const taken = await waitFor(async () => {
    const response = await second.invoke(running.address, createRequest(RequestCode.LOCK_BATCH_MQ, undefined, lockBody('10.0.0.2@two')));
    const set = (JSON.parse(response.body!.toString()) as { lockOKMQSet: unknown[] }).lockOKMQSet;
    return set.length === 2 ? set : undefined;
  }, 5000, 'the lock after the oneway unlock');
  assert.equal(taken.length, 2);

  // Heartbeat V2: a fingerprint lets clients skip subscriptions; the broker says when it needs them again.
  const v2 = (fingerprint: number, withoutSub: boolean) => {
    const request = heartbeatRequest('10.0.0.3@three', 'CG-v2', withoutSub ? [] : ['Orders']);
    const body = JSON.parse(request.body!.toString()) as Record<string, unknown>;
    request.body = Buffer.from(JSON.stringify({ ...body, heartbeatFingerprint: fingerprint, withoutSub }));
    return first.invoke(running.address, request).then((response) => response.extFields?.IS_SUB_CHANGE);
  };
  assert.equal(await v2(5, true), 'true', 'unknown group: send the subscriptions');
  assert.equal(await v2(5, false), 'false');
  assert.equal(await v2(5, true), 'false', 'same fingerprint: nothing to resend');
  assert.equal((await first.invoke(running.address, pullRequest('CG-v2', 'Orders', 0))).code, 0, 'the subscription survived the light heartbeat');
  assert.equal(await v2(6, true), 'true', 'the fingerprint changed');

  // A closed connection leaves the group.
  await second.close();
  await waitFor(async () => ((await list()).length === 1 ? true : undefined), 5000, 'the closed consumer to leave');
});

test('committed offsets survive a broker restart', async (t) => {
  const temp = tempRoot();
  t.after(() => temp.remove());
  let running = await startBroker(temp.root);
  let client = newClient();
  await send(client, running.address, 'Offsets', 'x');
  const update = createRequest(RequestCode.UPDATE_CONSUMER_OFFSET, { consumerGroup: 'CG', topic: 'Offsets', queueId: '0', commitOffset: '1' });
  update.flag |= 2;
  await client.invokeOneway(running.address, update);
  const query = (queueId: number) => client.invoke(running.address, createRequest(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: 'CG', topic: 'Offsets', queueId: String(queueId) }));
  await waitFor(async () => ((await query(0)).extFields?.offset === '1' ? true : undefined), 5000, 'the oneway commit');
  // Queue 1 has no offset; it starts at 0 and its first message is not stored → QUERY_NOT_FOUND.
  assert.equal((await query(1)).code, 22);
  // A pull with the commit flag stores the offset it carries.
  await client.invoke(running.address, pullRequest('CG', 'Offsets', 0, { queueId: 2, subscription: '*', commitOffset: 0 }));
  await send(client, running.address, 'Offsets', 'q2', { queueId: 2 });
  await client.invoke(running.address, pullRequest('CG2', 'Offsets', 1, { queueId: 2, subscription: '*', commitOffset: 1 }));
  await client.close();
  await running.close();

  running = await startBroker(temp.root);
  client = newClient();
  t.after(async () => {
    await client.close();
    await running.close();
  });
  assert.equal((await query(0)).extFields?.offset, '1');
  const pulledCommit = await client.invoke(running.address, createRequest(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: 'CG2', topic: 'Offsets', queueId: '2' }));
  assert.equal(pulledCommit.extFields?.offset, '1');
  // A group without an offset on a queue whose message 0 is still stored starts from 0 (Java's rule).
  const fresh = await client.invoke(running.address, createRequest(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: 'NewGroup', topic: 'Offsets', queueId: '0' }));
  assert.equal(fresh.code, 0);
  assert.equal(fresh.extFields?.offset, '0');
  const noZero = await client.invoke(running.address, createRequest(RequestCode.QUERY_CONSUMER_OFFSET, { consumerGroup: 'NewGroup', topic: 'Offsets', queueId: '0', setZeroIfNotFound: 'false' }));
  assert.equal(noZero.code, 22);
  assert.equal((await client.invoke(running.address, pullRequest('CG', 'Offsets', 0, { subscription: '*' }))).code, 0, 'messages survive too');
});
