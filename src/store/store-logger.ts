/**
 * The logger shape the store takes (a subset of pino's, so the broker can pass its pino logger).
 * Calls use pino's `(object, message)` form.
 */
export interface StoreLogger {
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/** Used when no logger is given: warnings and errors still reach stderr, info is dropped. */
export const defaultStoreLogger: StoreLogger = {
  info() {},
  warn(...args: unknown[]) {
    console.warn('[tidemq store]', ...args);
  },
  error(...args: unknown[]) {
    console.error('[tidemq store]', ...args);
  },
};
