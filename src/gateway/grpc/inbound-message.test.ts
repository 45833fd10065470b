// Proves a gRPC message becomes the properties, flags and times the broker stores, and that each rule breach is refused with its client-facing code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, StatusError } from './code.js';
import { convertInboundMessage, DEFAULT_INBOUND_LIMITS, delayLevelFor, type InboundContext } from './inbound-message.js';
import { Encoding, MessageType, type MessagePb, type SystemPropertiesPb } from './proto-types.js';

const NOW = 1_700_000_000_000;
const LEVELS = [1000, 5000, 10_000, 30_000, 60_000];

function pb(system: Partial<SystemPropertiesPb> = {}, userProperties: Record<string, string> = {}, body = Buffer.from('body')): MessagePb {
  return {
    topic: { name: 'T' },
    user_properties: userProperties,
    system_properties: { keys: [], message_id: 'ID-1', body_digest: null, body_encoding: Encoding.IDENTITY, message_type: MessageType.NORMAL, born_timestamp: { seconds: 1_699_999_999, nanos: 500_000_000 }, born_host: 'client-host', store_host: '', queue_id: 0, ...system },
    body,
  };
}

function context(overrides: Partial<InboundContext> = {}): InboundContext {
  return { topic: 'T', peer: '10.0.0.9:5555', nowMs: NOW, delay: { mode: 'timer' }, limits: DEFAULT_INBOUND_LIMITS, ...overrides };
}

function refusedWith(code: number) {
  return (error: unknown): boolean => error instanceof StatusError && error.code === code;
}

test('maps the system properties onto RocketMQ message properties', () => {
  const message = convertInboundMessage(pb({ tag: 'TagA', keys: ['k1', 'k2'], message_group: 'g', trace_context: 'trace' }, { color: 'red' }), context());
  assert.deepEqual(Object.fromEntries(message.properties), {
    color: 'red', TAGS: 'TagA', KEYS: 'k1 k2', UNIQ_KEY: 'ID-1', PGROUP: 'T', __SHARDINGKEY: 'g', TRACE_CONTEXT: 'trace',
    __BORNHOST: 'client-host', BORN_TIMESTAMP: String(1_699_999_999_500),
  });
  assert.equal(message.bornTimestamp, 1_699_999_999_500);
  assert.equal(message.messageGroup, 'g');
  assert.equal(message.sysFlag, 0);
  assert.equal(message.reconsumeTimes, 0);
});

test('transactions, GZIP bodies, retries and a missing born host', () => {
  const message = convertInboundMessage(pb({
    message_type: MessageType.TRANSACTION, orphaned_transaction_recovery_duration: { seconds: 30, nanos: 0 }, body_encoding: Encoding.GZIP, delivery_attempt: 3, born_host: '', born_timestamp: null,
  }), context());
  assert.equal(message.properties.get('TRAN_MSG'), 'true');
  assert.equal(message.properties.get('CHECK_IMMUNITY_TIME_IN_SECONDS'), '30');
  assert.equal(message.sysFlag, 0x4 | 0x1, 'PREPARED | COMPRESSED');
  assert.equal(message.properties.get('RECONSUME_TIME'), '3');
  assert.equal(message.reconsumeTimes, 3);
  assert.equal(message.properties.get('__BORNHOST'), '10.0.0.9:5555');
  assert.equal(message.bornTimestamp, NOW);
  assert.throws(() => convertInboundMessage(pb({ message_type: MessageType.TRANSACTION, orphaned_transaction_recovery_duration: { seconds: 7200, nanos: 0 } }), context()), refusedWith(Code.BAD_REQUEST));
});

test('delivery times: the timer takes the exact time; delay levels round up, never down', () => {
  const at = (ms: number): Partial<SystemPropertiesPb> => ({ delivery_timestamp: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 } });
  const timer = convertInboundMessage(pb(at(NOW + 4200)), context());
  assert.equal(timer.properties.get('TIMER_DELIVER_MS'), String(NOW + 4200));
  assert.equal(timer.properties.has('DELAY'), false);
  const level = convertInboundMessage(pb(at(NOW + 4200)), context({ delay: { mode: 'level', levelsMs: LEVELS } }));
  assert.equal(level.properties.get('DELAY'), '2', '4.2 s waits for the 5 s level');
  const past = convertInboundMessage(pb(at(NOW - 1000)), context({ delay: { mode: 'level', levelsMs: LEVELS } }));
  assert.equal(past.properties.has('DELAY'), false, 'a time already past is delivered at once');
  assert.throws(() => convertInboundMessage(pb(at(NOW + 61_000)), context({ delay: { mode: 'level', levelsMs: LEVELS } })), refusedWith(Code.ILLEGAL_DELIVERY_TIME));
  assert.throws(() => convertInboundMessage(pb(at(NOW + 2 * 86_400_000)), context()), refusedWith(Code.ILLEGAL_DELIVERY_TIME));
  assert.equal(delayLevelFor(1000, LEVELS), 1);
  assert.equal(delayLevelFor(1001, LEVELS), 2);
  assert.equal(delayLevelFor(60_001, LEVELS), undefined);
});

test('each rule breach has its own code', () => {
  const cases: Array<[MessagePb, number]> = [
    [pb({}, { UNIQ_KEY: 'x' }), Code.ILLEGAL_MESSAGE_PROPERTY_KEY],
    [pb({}, { __SHARDINGKEY: 'x' }), Code.ILLEGAL_MESSAGE_PROPERTY_KEY],
    [pb({}, { '': 'x' }), Code.ILLEGAL_MESSAGE_PROPERTY_KEY],
    [pb({}, { 'bad\u0001key': 'x' }), Code.ILLEGAL_MESSAGE_PROPERTY_KEY],
    [pb({}, { key: 'bad\u0002value' }), Code.ILLEGAL_MESSAGE_PROPERTY_KEY],
    [pb({}, Object.fromEntries(Array.from({ length: 129 }, (_, index) => [`k${index}`, 'v']))), Code.MESSAGE_PROPERTIES_TOO_LARGE],
    [pb({}, { big: 'x'.repeat(17 * 1024) }), Code.MESSAGE_PROPERTIES_TOO_LARGE],
    [pb({ tag: 'a|b' }), Code.ILLEGAL_MESSAGE_TAG],
    [pb({ tag: '   ' }), Code.ILLEGAL_MESSAGE_TAG],
    [pb({ keys: ['has space'] }), Code.ILLEGAL_MESSAGE_KEY],
    [pb({ message_group: 'g'.repeat(64) }), Code.ILLEGAL_MESSAGE_GROUP],
    [pb({ message_id: '  ' }), Code.ILLEGAL_MESSAGE_ID],
    [pb({}, {}, Buffer.alloc(0)), Code.MESSAGE_BODY_EMPTY],
    [pb({}, {}, Buffer.alloc(DEFAULT_INBOUND_LIMITS.maxBodyBytes + 1)), Code.MESSAGE_BODY_TOO_LARGE],
    [{ ...pb(), system_properties: null }, Code.BAD_REQUEST],
  ];
  for (const [message, code] of cases) assert.throws(() => convertInboundMessage(message, context()), refusedWith(code), JSON.stringify(message.user_properties).slice(0, 80));
});
