/** One client connection as the consumer and producer managers know it (RocketMQ's ClientChannelInfo). */
import type { RemotingConnection } from '../protocol/remoting-command.js';

export interface ClientChannelInfo {
  readonly clientId: string;
  readonly connection: RemotingConnection;
  /** Language name from the request header, e.g. `JAVA`. */
  readonly language: string;
  /** The client's MQVersion ordinal from the request header. */
  readonly version: number;
  lastUpdateTimestamp: number;
}
