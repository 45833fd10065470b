/**
 * What every attempt of a send shares, made once per message before the first attempt: the topic
 * checked, the body size checked (and the body deflated past `compressOverBytes`), the UNIQ_KEY
 * generated, the properties string encoded, and the retry counters of a message sent to a retry
 * topic read from its properties.
 */
import { MessageProperty } from '../protocol/message-properties.js';
import { checkTopic as validateTopicName } from './client-names.js';
import { bodyBytes, checkBodySize, encodeMessageProperties, maybeCompress } from './message-codec.js';
import type { Message } from './message.js';
import type { SendRequestMessage } from './send-request.js';
import { isRetryTopic } from './subscription.js';
import type { UniqueKeyGenerator } from './unique-key.js';

export interface PreparedMessage extends SendRequestMessage {
  readonly topic: string;
  readonly body: Buffer;
  readonly sysFlag: number;
  readonly flag: number;
  readonly properties: string;
  readonly uniqueKey: string;
  readonly reconsumeTimes: number | undefined;
  readonly maxReconsumeTimes: number | undefined;
}

export interface MessagePreparerSettings {
  uniqueKeys: UniqueKeyGenerator;
  maxMessageSizeBytes: number;
  /** 0 disables compression. */
  compressOverBytes: number;
  compressLevel: number;
}

export class MessagePreparer {
  private readonly settings: MessagePreparerSettings;
  /** The topic name last validated: producers mostly repeat a topic, so the check runs when it changes. */
  private lastValidTopic: string | undefined;

  constructor(settings: MessagePreparerSettings) {
    this.settings = settings;
  }

  /** The next UNIQ_KEY (batches make one per entry). */
  nextUniqueKey(nowMs: number = Date.now()): string {
    return this.settings.uniqueKeys.next(nowMs);
  }

  /** Validates and encodes `message`; `extraProperties` (already encoded) and `extraSysFlag` are added as they are. */
  prepare(message: Message, extraProperties: string, extraSysFlag: number, nowMs: number = Date.now()): PreparedMessage {
    const settings = this.settings;
    const topic = message.topic;
    if (topic !== this.lastValidTopic) {
      validateTopicName(topic);
      this.lastValidTopic = topic;
    }
    const raw = bodyBytes(message.body);
    checkBodySize(raw.length, settings.maxMessageSizeBytes);
    const uniqueKey = settings.uniqueKeys.next(nowMs);
    const properties = encodeMessageProperties(message, uniqueKey, extraProperties);
    let body = raw;
    let sysFlag = extraSysFlag;
    if (settings.compressOverBytes > 0 && raw.length >= settings.compressOverBytes) {
      const compressed = maybeCompress(raw, settings.compressOverBytes, settings.compressLevel);
      body = compressed.body;
      sysFlag |= compressed.sysFlag;
    }
    let reconsumeTimes: number | undefined;
    let maxReconsumeTimes: number | undefined;
    if (isRetryTopic(topic)) {
      const userProperties = message.properties ?? {};
      const reconsume = userProperties[MessageProperty.RECONSUME_TIME];
      const max = userProperties[MessageProperty.MAX_RECONSUME_TIMES];
      if (reconsume !== undefined) reconsumeTimes = Number(reconsume) || 0;
      if (max !== undefined) maxReconsumeTimes = Number(max) || 0;
    }
    return { topic, body, sysFlag, flag: message.flag ?? 0, properties, uniqueKey, reconsumeTimes, maxReconsumeTimes };
  }
}
