/** Programmer-error assertions: a failed assertion is a bug and crashes loudly. */
export function assert(condition: unknown, message = 'assertion failed'): asserts condition {
  if (!condition) throw new Error(`TideMQ assertion: ${message}`);
}
