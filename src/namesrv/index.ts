/** Public API of the name server. */
export { NameServer, DEFAULT_NAMESRV_PORT, type NameServerOptions } from './namesrv.js';
export { RouteTable, DEFAULT_BROKER_HEARTBEAT_TIMEOUT_MS, type RouteTableOptions, type BrokerRegistration, type RegisterBrokerResult } from './route-table.js';
export { KvConfig, type KvConfigOptions } from './kv-config.js';
export { NamesrvSettings, UPDATABLE_SETTINGS, DEFAULT_NAMESRV_SETTINGS, parsePropertiesText, type NamesrvSettingValues } from './namesrv-settings.js';
export { createNamesrvHandlerTable } from './handlers/handler-table.js';
export type { NamesrvContext } from './namesrv-context.js';
