/**
 * The timing helpers the micro-benchmarks share: CPU time of this process (steadier than wall time
 * on a shared machine), ns of CPU per call of an operation, and the median of a set of samples.
 */

/** CPU time (user + system, all threads) of this process so far, in ns. */
export function cpuTimeNs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) * 1000;
}

/** Runs `operation` `calls` times and returns the CPU ns per call. */
export function nsPerCall(operation: () => void, calls: number): number {
  const startNs = cpuTimeNs();
  for (let call = 0; call < calls; call++) operation();
  return (cpuTimeNs() - startNs) / calls;
}

/** The upper median of `values` (the middle one for an odd count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[sorted.length >> 1]!;
}
