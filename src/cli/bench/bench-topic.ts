/**
 * Makes sure the benchmark topic exists with the wanted number of queues on every master the name
 * server knows, and that the name server already routes it (brokers register new topics with a
 * delay; a producer that starts before that would use TBW102's route and the wrong queue count).
 */
import { Admin } from '../../client/admin.js';
import { TideError } from '../../common/errors.js';

/** How long the route of a freshly created topic may take to show up at the name server. */
const ROUTE_WAIT_MS = 30_000;
const ROUTE_POLL_MS = 100;

export async function ensureBenchTopic(namesrvAddr: string, topic: string, queues: number): Promise<void> {
  const admin = new Admin({ namesrvAddr });
  try {
    await admin.createTopic(topic, { readQueueNums: queues, writeQueueNums: queues });
    const deadline = Date.now() + ROUTE_WAIT_MS;
    for (;;) {
      const route = await admin.topicRoute(topic).catch(() => undefined);
      const writable = route?.queueDatas.reduce((sum, queueData) => sum + queueData.writeQueueNums, 0) ?? 0;
      if (writable >= queues) return;
      if (Date.now() > deadline) {
        throw new TideError('TOPIC_NOT_EXIST', `the name server at ${namesrvAddr} still routes ${writable} queues of ${topic} after ${ROUTE_WAIT_MS} ms (wanted ${queues})`);
      }
      await new Promise((resolve) => setTimeout(resolve, ROUTE_POLL_MS));
    }
  } finally {
    await admin.close();
  }
}
