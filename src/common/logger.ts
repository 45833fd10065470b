/**
 * The logger shape every component takes in its options: pino-compatible (`logger.info(obj?, msg)`),
 * so users can pass their own pino instance. Servers default to pino on stderr.
 */
import { pino } from 'pino';

type LogFunction = {
  (message: string, ...args: unknown[]): void;
  (object: object, message?: string, ...args: unknown[]): void;
};

export interface Logger {
  debug: LogFunction;
  info: LogFunction;
  warn: LogFunction;
  error: LogFunction;
  child?(bindings: Record<string, unknown>): Logger;
}

const noop = (): void => {};
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({ level: options.level ?? process.env.TIDEMQ_LOG_LEVEL ?? 'info', name: options.name ?? 'tidemq' }, pino.destination(2));
}
