/**
 * Turns the race's measurements into the results table, the target ratios, and the block of
 * bench/README.md between `<!-- race:results:begin -->` and `<!-- race:results:end -->`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { BenchSummary } from '../../src/cli/bench/bench-report.js';
import type { MemoryStats } from './race-processes.js';
import type { FlushMode, SystemName } from './race-systems.js';

export interface SystemResult {
  name: SystemName;
  notes: string[];
  startToFirstSendMs?: number;
  /** The best produce round per flush mode. */
  produce: Partial<Record<FlushMode, BenchSummary>>;
  /** msgs/s of every produce round. */
  produceRounds: Partial<Record<FlushMode, number[]>>;
  /** The SYNC_FLUSH column repeats ASYNC_FLUSH: the system has no per-write fsync mode. */
  syncIsAsync?: boolean;
  e2e?: { producer: BenchSummary; consumer: BenchSummary };
  backlog?: { produce: BenchSummary; cacheNote: string; restartToReadyMs: number; consume: BenchSummary; rssAtConsumeStartMiB: number };
  memory: { produce?: MemoryStats; catchUp?: MemoryStats };
  errors: string[];
}

export interface RaceResults {
  startedAt: string;
  finishedAt: string;
  machine: string;
  quick: boolean;
  settings: Record<string, unknown>;
  loadAverage: { start: number[]; end: number[] };
  systems: SystemResult[];
}

const rate = (summary: BenchSummary | undefined): string => (summary === undefined ? 'n/a' : summary.messagesPerSecond.toLocaleString('en-US'));
const ms = (value: number | undefined): string => (value === undefined ? 'n/a' : value < 10 ? value.toFixed(2) : value.toFixed(0));

function produceCell(result: SystemResult, flush: FlushMode): string {
  const summary = result.produce[flush];
  if (summary === undefined) return 'n/a';
  const errors = summary.errorCount > 0 ? `, ${summary.errorCount} errors` : '';
  const same = flush === 'SYNC_FLUSH' && result.syncIsAsync ? ' (no sync mode: = ASYNC)' : '';
  const rounds = result.produceRounds[flush] ?? [];
  const others = rounds.length > 1 ? `; rounds ${rounds.map((value) => value.toLocaleString('en-US')).join(', ')}` : '';
  return `${rate(summary)} (p99 ${ms(summary.sendLatencyMs?.p99)} ms${errors}${others})${same}`;
}

function maxRss(result: SystemResult | undefined, field: 'maxRssMiB' | 'maxAnonMiB' = 'maxRssMiB'): number | undefined {
  if (result === undefined) return undefined;
  const values = [result.memory.produce?.[field], result.memory.catchUp?.[field]].filter((value): value is number => value !== undefined);
  return values.length === 0 ? undefined : Math.max(...values);
}

export function resultsTable(results: RaceResults): string {
  const lines = [
    '| system | produce ASYNC_FLUSH msgs/s, best round (ack p99) | produce SYNC_FLUSH msgs/s, best round (ack p99) | e2e at 10k/s p50 / p99 ms | catch-up msgs/s (MB/s) | broker RSS max MiB: produce / catch-up (anon) | start → first send ms |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const result of results.systems) {
    const e2e = result.e2e?.consumer.e2eLatencyMs;
    const catchUp = result.backlog?.consume;
    const memory = (stats: MemoryStats | undefined): string => (stats === undefined ? 'n/a' : `${stats.maxRssMiB} (${stats.maxAnonMiB})`);
    lines.push(
      `| ${result.name} | ${produceCell(result, 'ASYNC_FLUSH')} | ${produceCell(result, 'SYNC_FLUSH')} | ${e2e === undefined ? 'n/a' : `${ms(e2e.p50)} / ${ms(e2e.p99)}`} | ` +
        `${catchUp === undefined ? 'n/a' : `${rate(catchUp)} (${catchUp.megabytesPerSecond})`} | ${memory(result.memory.produce)} / ${memory(result.memory.catchUp)} | ${result.startToFirstSendMs === undefined ? 'n/a' : ms(result.startToFirstSendMs)} |`,
    );
  }
  return lines.join('\n');
}

export interface TargetCheck {
  what: string;
  value: string;
  target: string;
  met: boolean | null;
}

/** The issue's targets, as ratios measured in this run (null = not measurable in this run). */
export function targetChecks(results: RaceResults): TargetCheck[] {
  const bySystem = new Map(results.systems.map((result) => [result.name, result]));
  const tidemq = bySystem.get('tidemq');
  const checks: TargetCheck[] = [];
  const ratio = (left: number | undefined, right: number | undefined): number | undefined =>
    left === undefined || right === undefined || right === 0 ? undefined : left / right;
  const fmt = (value: number | undefined): string => (value === undefined ? 'n/a' : `${value.toFixed(2)}×`);
  for (const flush of ['ASYNC_FLUSH', 'SYNC_FLUSH'] as const) {
    const mine = tidemq?.produce[flush]?.messagesPerSecond;
    const rocket = ratio(mine, bySystem.get('rocketmq')?.produce[flush]?.messagesPerSecond);
    checks.push({ what: `produce ${flush}: TideMQ / RocketMQ`, value: fmt(rocket), target: '≥ 1.0×', met: rocket === undefined ? null : rocket >= 1 });
    const nats = ratio(mine, bySystem.get('nats')?.produce[flush]?.messagesPerSecond);
    checks.push({ what: `produce ${flush}: TideMQ / NATS JetStream`, value: fmt(nats), target: '≥ 3.0×', met: nats === undefined ? null : nats >= 3 });
    const base = ratio(mine, bySystem.get('baseline')?.produce[flush]?.messagesPerSecond);
    checks.push({ what: `produce ${flush}: TideMQ / baseline append-and-ack server`, value: fmt(base), target: '(reference)', met: null });
  }
  const myP99 = tidemq?.e2e?.consumer.e2eLatencyMs?.p99;
  const peerP99s = ['rocketmq', 'nats'].map((name) => bySystem.get(name as SystemName)?.e2e?.consumer.e2eLatencyMs?.p99).filter((value): value is number => value !== undefined);
  const bestPeer = peerP99s.length === 0 ? undefined : Math.min(...peerP99s);
  checks.push({
    what: 'e2e p99 at 10,000 msgs/s: TideMQ vs the better peer',
    value: myP99 === undefined || bestPeer === undefined ? 'n/a' : `${ms(myP99)} ms vs ${ms(bestPeer)} ms`,
    target: '≤ either peer',
    met: myP99 === undefined || bestPeer === undefined ? null : myP99 <= bestPeer,
  });
  const rssRatio = ratio(maxRss(tidemq), maxRss(bySystem.get('rocketmq')));
  checks.push({ what: 'broker VmRSS (max over produce and catch-up): TideMQ / RocketMQ', value: fmt(rssRatio), target: '≤ 0.25×', met: rssRatio === undefined ? null : rssRatio <= 0.25 });
  // RocketMQ's VmRSS counts the pages of its memory-mapped commit log; RssAnon leaves file pages out.
  const anonRatio = ratio(maxRss(tidemq, 'maxAnonMiB'), maxRss(bySystem.get('rocketmq'), 'maxAnonMiB'));
  checks.push({ what: 'broker RssAnon (heap and native memory only): TideMQ / RocketMQ', value: fmt(anonRatio), target: '≤ 0.25×', met: anonRatio === undefined ? null : anonRatio <= 0.25 });
  const catchUp = ratio(tidemq?.backlog?.consume.messagesPerSecond, bySystem.get('rocketmq')?.backlog?.consume.messagesPerSecond);
  checks.push({ what: 'catch-up consume: TideMQ / RocketMQ', value: fmt(catchUp), target: '(reported)', met: null });
  const start = tidemq?.startToFirstSendMs;
  checks.push({ what: 'TideMQ process start → first accepted send', value: start === undefined ? 'n/a' : `${ms(start)} ms`, target: '< 1000 ms', met: start === undefined ? null : start < 1000 });
  return checks;
}

export function targetLines(checks: readonly TargetCheck[]): string {
  return checks.map((check) => `- ${check.what}: **${check.value}** (target ${check.target}) ${check.met === null ? '' : check.met ? '— met' : '— NOT met'}`.trimEnd()).join('\n');
}

export function markdownBlock(results: RaceResults): string {
  const notes = [...new Set(results.systems.flatMap((result) => result.notes))];
  const backlog = results.systems.find((result) => result.backlog !== undefined)?.backlog;
  const errors = results.systems.flatMap((result) => result.errors.map((error) => `- ${result.name}: ${error.split('\n')[0]}`));
  return [
    `Run ${results.startedAt} → ${results.finishedAt}${results.quick ? ' (`--quick`)' : ''}; load average ${results.loadAverage.start.join(' ')} at the start, ${results.loadAverage.end.join(' ')} at the end.`,
    '',
    '```',
    results.machine,
    '```',
    '',
    `Settings: ${Object.entries(results.settings).map(([key, value]) => `${key}=${String(value)}`).join(', ')}.`,
    '',
    resultsTable(results),
    '',
    targetLines(targetChecks(results)),
    '',
    ...notes.map((note) => `- ${note}`),
    ...(backlog === undefined ? [] : [`- Catch-up: ${backlog.cacheNote}; each system was restarted on its store before consuming.`]),
    ...(errors.length === 0 ? [] : ['', 'Failures in this run:', ...errors]),
  ].join('\n');
}

const BEGIN = '<!-- race:results:begin -->';
const END = '<!-- race:results:end -->';

/** Replaces the results block of the README; false when the markers are missing. */
export function updateReadme(path: string, block: string): boolean {
  if (!existsSync(path)) return false;
  const text = readFileSync(path, 'utf8');
  const begin = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (begin < 0 || end < begin) return false;
  writeFileSync(path, `${text.slice(0, begin + BEGIN.length)}\n${block}\n${text.slice(end)}`);
  return true;
}
