/** What the name server's request handlers work on; built once by `NameServer` (or a test). */
import type { Logger } from '../common/logger.js';
import type { KvConfig } from './kv-config.js';
import type { NamesrvSettings } from './namesrv-settings.js';
import type { RouteTable } from './route-table.js';

export interface NamesrvContext {
  readonly routeTable: RouteTable;
  readonly kvConfig: KvConfig;
  readonly settings: NamesrvSettings;
  /** Wall clock in ms; injected so tests can drive liveness. */
  readonly now: () => number;
  readonly logger: Logger;
}
