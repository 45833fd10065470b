/** Public API of the broker. */
export { Broker, type BrokerOptions, type BrokerStarted } from './broker.js';
export {
  brokerConfigFromProperties,
  createBrokerConfig,
  DEFAULT_BROKER_CONFIG,
  defaultBrokerIp,
  type BrokerConfig,
} from './broker-config.js';
export type { BrokerDeps, BrokerRuntime } from './broker-deps.js';
