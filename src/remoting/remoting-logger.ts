/** The logger shape the remoting layer takes: pino-compatible, `debug` optional. */
import { silentLogger, type Logger } from '../common/logger.js';

export type RemotingLogger = Pick<Logger, 'info' | 'warn' | 'error'> & Partial<Pick<Logger, 'debug'>>;

const noop = (): void => {};

/** A logger with every level present; silent when none is given. */
export function completeLogger(logger: RemotingLogger | undefined): Logger {
  if (logger === undefined) return silentLogger;
  if (typeof logger.debug === 'function') return logger as Logger;
  return { debug: noop, info: logger.info.bind(logger), warn: logger.warn.bind(logger), error: logger.error.bind(logger) };
}
