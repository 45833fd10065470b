/**
 * `node:diagnostics_channel` channels the client publishes on, for tracing and metrics without a
 * dependency. Payloads are built only when a channel has subscribers, so an unobserved client pays one
 * boolean check per event.
 *
 * | channel | payload |
 * |---|---|
 * | `tidemq:client:send` | `{ clientId, topic, queue?, messages, durationMs, result?, error? }` after every send (oneway: no result) |
 * | `tidemq:client:consume` | `{ clientId, group, topic, queue, msgId, reconsumeTimes, durationMs, ok, error? }` after each handler call |
 * | `tidemq:client:pull` | `{ clientId, group, queue, offset, found, nextOffset, durationMs, error? }` after each pull |
 * | `tidemq:client:rebalance` | `{ clientId, group, topic, added, removed, owned }` when an allocation changes |
 * | `tidemq:client:error` | `{ clientId, what, error }` for background failures (heartbeat, route refresh, offset commit) |
 */
import diagnosticsChannel from 'node:diagnostics_channel';

export const DiagnosticsChannelName = {
  SEND: 'tidemq:client:send',
  CONSUME: 'tidemq:client:consume',
  PULL: 'tidemq:client:pull',
  REBALANCE: 'tidemq:client:rebalance',
  ERROR: 'tidemq:client:error',
} as const;

export const sendChannel = diagnosticsChannel.channel(DiagnosticsChannelName.SEND);
export const consumeChannel = diagnosticsChannel.channel(DiagnosticsChannelName.CONSUME);
export const pullChannel = diagnosticsChannel.channel(DiagnosticsChannelName.PULL);
export const rebalanceChannel = diagnosticsChannel.channel(DiagnosticsChannelName.REBALANCE);
export const errorChannel = diagnosticsChannel.channel(DiagnosticsChannelName.ERROR);
