/**
 * The name server: the route table, the KV config and their handlers behind one remoting server.
 * Brokers register every 30 s; a scan on its own interval (scanNotActiveBrokerInterval, 10 s by
 * default) drops brokers silent past their heartbeat timeout, and a broker whose registering
 * connection closes is dropped at once, as RocketMQ's name server does.
 */
import { silentLogger, type Logger } from '../common/logger.js';
import { assert } from '../common/assert.js';
import { RemotingServer } from '../remoting/remoting-server.js';
import { createNamesrvHandlerTable } from './handlers/handler-table.js';
import { KvConfig } from './kv-config.js';
import type { NamesrvContext } from './namesrv-context.js';
import { NamesrvSettings, type NamesrvSettingValues } from './namesrv-settings.js';
import { RouteTable, type RouteTableOptions } from './route-table.js';

export const DEFAULT_NAMESRV_PORT = 9876;

export interface NameServerOptions {
  /** Default 9876; 0 = an ephemeral port (see the value `start` resolves with). */
  port?: number;
  host?: string;
  /** Where the KV config is persisted (Java: `~/namesrv/kvConfig.json`); memory only when absent. */
  kvConfigPath?: string;
  logger?: Logger;
  /** How often silent brokers are looked for. Default 10 000 ms. */
  scanIntervalMs?: number;
  /** Other runtime settings (GET/UPDATE_NAMESRV_CONFIG keys). */
  settings?: Partial<Omit<NamesrvSettingValues, 'scanNotActiveBrokerInterval'>>;
  routeTable?: RouteTableOptions;
  /** Wall clock in ms; for tests. */
  now?: () => number;
}

export class NameServer {
  readonly routeTable: RouteTable;
  readonly kvConfig: KvConfig;
  readonly settings: NamesrvSettings;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly port: number;
  private readonly host: string | undefined;
  private server: RemotingServer | undefined;
  private scanTimer: NodeJS.Timeout | undefined;
  private state: 'new' | 'started' | 'closed' = 'new';

  constructor(options: NameServerOptions = {}) {
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    this.port = options.port ?? DEFAULT_NAMESRV_PORT;
    this.host = options.host;
    this.routeTable = new RouteTable(options.routeTable);
    this.kvConfig = new KvConfig({ path: options.kvConfigPath });
    const readOnly: Record<string, string> = { listenPort: String(this.port) };
    if (this.host !== undefined) readOnly.bindAddress = this.host;
    this.settings = new NamesrvSettings(
      { ...options.settings, ...(options.scanIntervalMs === undefined ? {} : { scanNotActiveBrokerInterval: options.scanIntervalMs }) },
      readOnly,
    );
  }

  /** Loads the KV config, starts listening and scanning; resolves with the bound port. */
  async start(): Promise<number> {
    assert(this.state === 'new', 'NameServer.start() called twice or after close()');
    this.state = 'started';
    await this.kvConfig.load();
    const context: NamesrvContext = {
      routeTable: this.routeTable,
      kvConfig: this.kvConfig,
      settings: this.settings,
      now: this.now,
      logger: this.logger,
    };
    const server = new RemotingServer({ handlers: createNamesrvHandlerTable(context), logger: this.logger });
    this.server = server;
    server.onConnectionClosed((connection) => {
      const removed = this.routeTable.unregisterConnection(connection.id);
      if (removed.length > 0) this.logger.info({ brokers: removed, remoteAddress: connection.remoteAddress }, 'brokers dropped: their connection closed');
    });
    const boundPort = await server.listen(this.port, this.host);
    this.scheduleScan();
    this.settings.onChange(() => this.scheduleScan());
    this.logger.info({ port: boundPort }, 'name server started');
    return boundPort;
  }

  /** Runs one liveness scan now (the timer does this on its own). */
  scanNotActiveBrokers(): string[] {
    const expired = this.routeTable.scanNotActiveBrokers(this.now());
    if (expired.length > 0) this.logger.warn({ brokers: expired }, 'brokers dropped: no registration within their heartbeat timeout');
    return expired;
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.scanTimer !== undefined) clearInterval(this.scanTimer);
    this.scanTimer = undefined;
    await this.server?.close();
  }

  private scheduleScan(): void {
    if (this.state !== 'started') return;
    if (this.scanTimer !== undefined) clearInterval(this.scanTimer);
    this.scanTimer = setInterval(() => this.scanNotActiveBrokers(), this.settings.values.scanNotActiveBrokerInterval);
    this.scanTimer.unref();
  }
}
