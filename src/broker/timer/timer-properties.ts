/**
 * RocketMQ 5.x timer messages: the send-side properties that ask for a delivery time, and the names
 * the broker adds while a message waits in the timer topic.
 *
 * A message asks for a time with one of TIMER_DELAY_SEC (seconds from now), TIMER_DELAY_MS (ms from
 * now) or TIMER_DELIVER_MS (absolute epoch ms); when several are set, that order decides (as the Java
 * broker reads them). Values are Java longs in decimal (`Long.parseLong`: optional sign, digits only).
 * A value that does not parse, or a time further out than the horizon `timerMaxDelaySec`, is refused
 * with MESSAGE_ILLEGAL (13) and a remark that names the property.
 *
 * `__STARTDELIVERTIME` (absolute epoch ms) is the start-delivery time of Aliyun ONS clients such as
 * ali-ons (`message.setStartDeliverTime(ms)`); TideMQ reads it as TIMER_DELIVER_MS, last in the order.
 */
import { TideError } from '../../common/errors.js';
import { MessageProperty, type MessageProperties } from '../../protocol/message-properties.js';

/** The system topic timer messages wait in (queue 0), with REAL_TOPIC/REAL_QID and TIMER_OUT_MS. */
export const TIMER_TOPIC = 'rmq_sys_wheel_timer';

/** Properties the timer reads or adds (RocketMQ's names). */
export const TimerProperty = {
  /** The delivery time in epoch ms, set by the broker when it parks a message. */
  OUT_MS: MessageProperty.TIMER_OUT_MS,
  /** When the timer took the parked message into its index (ms). */
  ENQUEUE_MS: 'TIMER_ENQUEUE_MS',
  /** When the timer moved the message to its real topic (ms). */
  DEQUEUE_MS: 'TIMER_DEQUEUE_MS',
  /** How many times a far-future message was copied forward in the timer topic (see timer-message-service.ts). */
  ROLL_TIMES: 'TIMER_ROLL_TIMES',
} as const;

/** Aliyun ONS clients' (ali-ons) absolute start-delivery time in epoch ms. */
export const START_DELIVER_TIME = '__STARTDELIVERTIME';

/** The properties a producer may set; any one of them makes a timer message. */
const REQUEST_PROPERTIES = [MessageProperty.TIMER_DELAY_SEC, MessageProperty.TIMER_DELAY_MS, MessageProperty.TIMER_DELIVER_MS, START_DELIVER_TIME] as const;

export function hasTimerRequest(properties: MessageProperties): boolean {
  for (const name of REQUEST_PROPERTIES) if (properties.has(name)) return true;
  return false;
}

/** Removes the producer's timer request (a delay level wins over it, as in RocketMQ). */
export function dropTimerRequest(properties: MessageProperties): void {
  for (const name of REQUEST_PROPERTIES) properties.delete(name);
}

function parseJavaLong(name: string, text: string): number {
  if (!/^[+-]?\d{1,19}$/.test(text)) {
    throw new TideError('MESSAGE_ILLEGAL', `timer message illegal: property ${name}=${JSON.stringify(text.slice(0, 32))} is not an integer`);
  }
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new TideError('MESSAGE_ILLEGAL', `timer message illegal: property ${name}=${text} is out of range`);
  }
  return value;
}

/**
 * The delivery time a timer message asks for, in epoch ms, or undefined when it asks for none.
 * Throws MESSAGE_ILLEGAL for a malformed value or a time more than `maxDelayMs` after `nowMs`.
 * A time at or before now is returned as it is: such a message is stored in its topic at once.
 */
export function requestedDeliverMs(properties: MessageProperties, nowMs: number, maxDelayMs: number): number | undefined {
  let deliverMs: number;
  let source: string;
  const delaySec = properties.get(MessageProperty.TIMER_DELAY_SEC);
  const delayMs = properties.get(MessageProperty.TIMER_DELAY_MS);
  const deliverAt = properties.get(MessageProperty.TIMER_DELIVER_MS);
  if (delaySec !== undefined) {
    source = MessageProperty.TIMER_DELAY_SEC;
    deliverMs = nowMs + parseJavaLong(source, delaySec) * 1000;
  } else if (delayMs !== undefined) {
    source = MessageProperty.TIMER_DELAY_MS;
    deliverMs = nowMs + parseJavaLong(source, delayMs);
  } else if (deliverAt !== undefined) {
    source = MessageProperty.TIMER_DELIVER_MS;
    deliverMs = parseJavaLong(source, deliverAt);
  } else if (properties.has(START_DELIVER_TIME)) {
    source = START_DELIVER_TIME;
    deliverMs = parseJavaLong(source, properties.get(START_DELIVER_TIME)!);
  } else {
    return undefined;
  }
  if (!Number.isSafeInteger(deliverMs)) {
    throw new TideError('MESSAGE_ILLEGAL', `timer message illegal: property ${source} gives a delivery time out of range`);
  }
  if (deliverMs - nowMs > maxDelayMs) {
    throw new TideError(
      'MESSAGE_ILLEGAL',
      `timer message illegal: ${source} asks for delivery ${deliverMs - nowMs} ms from now, beyond the broker's maximum of ${maxDelayMs} ms (timerMaxDelaySec=${Math.floor(maxDelayMs / 1000)})`,
    );
  }
  return deliverMs;
}
