/**
 * One shared timer for every remoting deadline in the process. Connections register while open and
 * check their own pending requests on each tick, so a request costs a deadline number, not a
 * `setTimeout`. Deadlines therefore fire up to one tick late, which is fine for timeouts measured in
 * seconds.
 */
import { performance } from 'node:perf_hooks';

export interface Sweepable {
  /** Expires whatever is due at `nowMs` (performance.now() time). */
  sweep(nowMs: number): void;
}

export const SWEEP_INTERVAL_MS = 50;

const members = new Set<Sweepable>();
let timer: NodeJS.Timeout | undefined;

function sweepAll(): void {
  const nowMs = performance.now();
  for (const member of members) member.sweep(nowMs);
}

export function registerSweepable(member: Sweepable): void {
  members.add(member);
  if (timer === undefined) {
    timer = setInterval(sweepAll, SWEEP_INTERVAL_MS);
    // Sockets keep the process alive while they matter; this timer never should on its own.
    timer.unref();
  }
}

export function unregisterSweepable(member: Sweepable): void {
  members.delete(member);
  if (members.size === 0 && timer !== undefined) {
    clearInterval(timer);
    timer = undefined;
  }
}

/** Monotonic milliseconds, the clock every deadline here is measured on. */
export function monotonicNowMs(): number {
  return performance.now();
}
