/**
 * Loaded into a broker with `node --import <dist>/bench/race/memory-probe.js …` by
 * bench/race/broker-memory.ts: once a second it writes one line to stderr,
 * `memory-probe {json}`, with what the process holds by kind (V8 heap spaces, external memory and
 * array buffers, RSS split into anonymous and file pages), so the harness can say where the
 * anonymous memory of a broker under load goes. It only reads counters; the broker runs unchanged.
 */
import { readFileSync } from 'node:fs';
import { constants as perfConstants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import v8 from 'node:v8';

const SAMPLE_INTERVAL_MS = 1000;

export interface MemoryProbeSample {
  /** ms since the probe was loaded. */
  uptimeMs: number;
  rssMiB: number;
  rssAnonMiB: number;
  heapTotalMiB: number;
  heapUsedMiB: number;
  externalMiB: number;
  arrayBuffersMiB: number;
  /** V8 space name (without `_space`) → committed size, MiB. */
  spacesMiB: Record<string, number>;
  /** Garbage collections since the probe was loaded: minor (scavenges) and major (mark-compact). */
  minorGcs: number;
  majorGcs: number;
  /** Wall time spent in those pauses, ms (concurrent marking on helper threads is not in it). */
  minorGcMs: number;
  majorGcMs: number;
}

const gc = { minorGcs: 0, majorGcs: 0, minorGcMs: 0, majorGcMs: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = ((entry as PerformanceEntry & { detail?: { kind?: number } }).detail)?.kind;
    if (kind === perfConstants.NODE_PERFORMANCE_GC_MINOR) {
      gc.minorGcs++;
      gc.minorGcMs += entry.duration;
    } else {
      gc.majorGcs++;
      gc.majorGcMs += entry.duration;
    }
  }
}).observe({ entryTypes: ['gc'] });

const mib = (bytes: number): number => Math.round((bytes / 1048576) * 10) / 10;

function rssAnonMiB(): number {
  const match = /^RssAnon:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return match === null ? 0 : Math.round((Number(match[1]) / 1024) * 10) / 10;
}

function sample(startedMs: number): MemoryProbeSample {
  const usage = process.memoryUsage();
  const spacesMiB: Record<string, number> = {};
  for (const space of v8.getHeapSpaceStatistics()) {
    if (space.space_size > 0) spacesMiB[space.space_name.replace(/_space$/, '')] = mib(space.space_size);
  }
  return {
    uptimeMs: Date.now() - startedMs,
    rssMiB: mib(usage.rss),
    rssAnonMiB: rssAnonMiB(),
    heapTotalMiB: mib(usage.heapTotal),
    heapUsedMiB: mib(usage.heapUsed),
    externalMiB: mib(usage.external),
    arrayBuffersMiB: mib(usage.arrayBuffers),
    spacesMiB,
    minorGcs: gc.minorGcs,
    majorGcs: gc.majorGcs,
    minorGcMs: Math.round(gc.minorGcMs),
    majorGcMs: Math.round(gc.majorGcMs),
  };
}

const startedMs = Date.now();
setInterval(() => process.stderr.write(`memory-probe ${JSON.stringify(sample(startedMs))}\n`), SAMPLE_INTERVAL_MS).unref();
