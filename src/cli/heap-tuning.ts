/**
 * Sizes V8's heap for a broker process: how much garbage the old generation may accumulate before it
 * is collected and (opt-in) how large the young generation may grow. V8's defaults trade memory for
 * the fewest collections; a broker under a steady load should stay small.
 *
 * What a broker under the race's produce load (4 × 256 sends in flight, 1 KiB) does with V8's
 * defaults: the old generation, where requests that waited for a write or an fsync across two
 * scavenges end up (with the 64 KiB socket chunks their bodies are views of), grows to ~3× its live
 * size (12-13 MiB live, 30-40 MiB committed, plus 15-45 MiB of array buffers only freed by the
 * mark-compact) before it is collected; and the young generation grows to 16 MiB per semi-space,
 * 32 MiB resident, for garbage that dies within an event-loop turn. Measured with
 * bench/race/broker-memory.ts (details in bench/race/broker-memory.md):
 * - a growing factor of 2.5 (heapGrowingPercent 150, the default here) cuts the broker's peak
 *   anonymous memory by ~38 MiB (130-132 → 92-93 MiB at 27-36k msgs/s) for 3-4× the mark-compacts,
 *   +0-3 % CPU per message (within the noise of 2 interleaved rounds); a factor of 2 (100) saves
 *   ~7 MiB more for +5-10 % CPU per message;
 * - 8 MiB semi-spaces on top save another ~18 MiB but promote ~60 % more (requests waiting for
 *   fdatasync survive two scavenges more often) and cost another +3-7 points, so they are opt-in
 *   (maxSemiSpaceMiB, `--max-semi-space-mib 8`) until the send path keeps less per in-flight request;
 * - 4 MiB semi-spaces promote 2-3× more in SYNC_FLUSH, 1-2 MiB cost 13-22 % more CPU per message,
 *   and V8's --optimize-for-size halves memory for twice the CPU.
 *
 * How, since these must be set while the process runs:
 * - `--max-semi-space-size` only works on the command line (V8 sizes the heap before any JavaScript
 *   runs; `v8.setFlagsFromString` of it later changes nothing). V8 reads
 *   `--semi-space-growth-factor` each time it considers growing the new space after a scavenge, so
 *   after every GC we look at the new space: below the cap growth is allowed (factor 2, V8's
 *   default), at the cap it stops (factor 1). V8 still shrinks the new space when the allocation
 *   rate drops and it grows back up to the cap when the load returns. Growth doubles from 1 MiB, so
 *   the cap takes effect at the first power of two at or above the setting. The GC callbacks
 *   come after the event-loop turn in which the GCs ran, so the new space could grow one doubling
 *   past the cap if a single turn allocated several semi-spaces' worth; a broker's turn handles a
 *   few socket reads (well under a semi-space), and growth needs several scavenges' worth of
 *   survivors, so the probe of bench/race/broker-memory.ts never saw it happen under load.
 * - `--heap-growing-percent` is read whenever V8 sets the next old-generation limit after a
 *   mark-compact, so setting it once works. It only changes when V8 collects, never how much it
 *   may hold: the heap limit (`--max-old-space-size`) is untouched, so no load can fail on it.
 *
 * Whatever node was started with (command line or NODE_OPTIONS) stands: a flag given there is not
 * overridden.
 */
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

export interface HeapTuning {
  /** Cap per semi-space of the young generation, MiB; 0 = V8's default (16 MiB on 64-bit). */
  maxSemiSpaceMiB: number;
  /** Old-generation limit after a mark-compact = live × (1 + percent/100); 0 = V8's own choice. */
  heapGrowingPercent: number;
}

export const DEFAULT_HEAP_TUNING: Readonly<HeapTuning> = {
  maxSemiSpaceMiB: 0,
  heapGrowingPercent: 150,
};

export interface AppliedHeapTuning {
  /** What is in force from this module (0 where V8's default or node's own flag rules). */
  applied: HeapTuning;
  /** Node flags that were given and therefore left alone. */
  leftToNodeFlags: string[];
  /** Gives both back to V8's defaults (tests). */
  stop(): void;
}

const V8_DEFAULT_GROWTH_FACTOR = 2;
const BYTES_PER_MIB = 1024 * 1024;

function newSpaceBytes(): number {
  for (const space of v8.getHeapSpaceStatistics()) {
    if (space.space_name === 'new_space') return space.space_size;
  }
  return 0;
}

/** Whether node was started with `--<name>` (any of its spellings) on the command line or in NODE_OPTIONS. */
function startedWithFlag(name: string): boolean {
  const pattern = new RegExp(`^--${name.replace(/-/g, '[-_]')}(=|$)`);
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return flags.some((flag) => pattern.test(flag));
}

/** Keeps the new space at or below `capBytes` by switching V8's growth on and off after each GC. */
function capNewSpace(capBytes: number): () => void {
  let growthFactor = V8_DEFAULT_GROWTH_FACTOR;
  const adjust = (): void => {
    const wanted = newSpaceBytes() >= capBytes ? 1 : V8_DEFAULT_GROWTH_FACTOR;
    if (wanted === growthFactor) return;
    growthFactor = wanted;
    v8.setFlagsFromString(`--semi-space-growth-factor=${wanted}`);
  };
  const observer = new PerformanceObserver(adjust);
  observer.observe({ entryTypes: ['gc'] });
  adjust();
  return () => {
    observer.disconnect();
    v8.setFlagsFromString(`--semi-space-growth-factor=${V8_DEFAULT_GROWTH_FACTOR}`);
  };
}

/** Applies `tuning` to this process. Call it first thing in a server command. */
export function tuneHeap(tuning: HeapTuning = DEFAULT_HEAP_TUNING): AppliedHeapTuning {
  const applied: HeapTuning = { maxSemiSpaceMiB: 0, heapGrowingPercent: 0 };
  const leftToNodeFlags: string[] = [];
  let stopCap = (): void => undefined;
  if (tuning.maxSemiSpaceMiB > 0) {
    if (startedWithFlag('max-semi-space-size')) leftToNodeFlags.push('--max-semi-space-size');
    else {
      // Both semi-spaces count in the new space's size.
      stopCap = capNewSpace(2 * tuning.maxSemiSpaceMiB * BYTES_PER_MIB);
      applied.maxSemiSpaceMiB = tuning.maxSemiSpaceMiB;
    }
  }
  if (tuning.heapGrowingPercent > 0) {
    if (startedWithFlag('heap-growing-percent')) leftToNodeFlags.push('--heap-growing-percent');
    else {
      v8.setFlagsFromString(`--heap-growing-percent=${tuning.heapGrowingPercent}`);
      applied.heapGrowingPercent = tuning.heapGrowingPercent;
    }
  }
  return {
    applied,
    leftToNodeFlags,
    stop() {
      stopCap();
      if (applied.heapGrowingPercent > 0) v8.setFlagsFromString('--heap-growing-percent=0');
    },
  };
}
