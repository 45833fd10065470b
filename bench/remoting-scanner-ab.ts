/**
 * The JSON header scanner of another git revision against the current one, in one run: the old
 * `src/protocol/json-header-scanner.ts` is taken from git (`git show <rev>:…`), transpiled with the
 * project's TypeScript, its imports pointed at the current build, and both decode the same headers
 * (a SEND_MESSAGE_V2 request from TideMQ's client, the SEND answer, a Java PULL_MESSAGE request),
 * interleaved over rounds. Both must decode identically, or the comparison stops.
 *
 * Times are CPU time of this process per call (process.cpuUsage), median (min) over rounds.
 *
 * Run: npx tsc -p . && node dist/bench/remoting-scanner-ab.js [revision, default b7e32b4] [rounds] [callsPerRound]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import ts from 'typescript';
import { scanJsonHeader } from '../src/protocol/json-header-scanner.js';
import type { RemotingCommand } from '../src/protocol/remoting-command.js';
import { describeMachine, formatMachine } from './machine.js';
import { cpuTimeNs, median } from './cpu-timing.js';

const revision = process.argv[2] ?? 'b7e32b4';
const rounds = Number(process.argv[3] ?? 15);
const callsPerRound = Number(process.argv[4] ?? 20_000);

type Scanner = (frame: Buffer, start: number, end: number) => RemotingCommand | undefined;

async function loadOldScanner(): Promise<Scanner> {
  const repository = fileURLToPath(new URL('../..', import.meta.url));
  const source = execFileSync('git', ['show', `${revision}:src/protocol/json-header-scanner.ts`], { cwd: repository, encoding: 'utf8' });
  const output = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  const currentProtocol = new URL('../src/protocol/', import.meta.url);
  const rewritten = output.replace(/from '(\.{1,2}\/[^']+)'/g, (_, path: string) => `from '${new URL(path, currentProtocol).href}'`);
  const directory = mkdtempSync(join(os.tmpdir(), 'tidemq-scanner-ab-'));
  try {
    const file = join(directory, 'old-json-header-scanner.mjs');
    writeFileSync(file, rewritten);
    return ((await import(pathToFileURL(file).href)) as { scanJsonHeader: Scanner }).scanJsonHeader;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

const properties = 'KEYS\\u0001order-42\\u0002UNIQ_KEY\\u00017F0000011A2B18B4AAC2595A1B2C0000\\u0002WAIT\\u0001true\\u0002TAGS\\u0001TagA\\u0002';
const headers: [string, Buffer][] = [
  [
    'SEND_MESSAGE_V2 request, TideMQ client',
    Buffer.from(`{"code":310,"language":"JAVA","version":479,"opaque":123456,"flag":0,"extFields":{"a":"please_rename_unique_group_name","b":"BenchmarkTopic","c":"TBW102","d":"4","e":"3","f":"0","g":"1700000000123","h":"0","i":"${properties}","j":"0","k":"false","l":"16","m":"false"},"serializeTypeCurrentRPC":"JSON"}`, 'latin1'),
  ],
  [
    'SEND answer',
    Buffer.from('{"code":0,"language":"JAVA","version":479,"opaque":123456,"flag":1,"extFields":{"msgId":"7F00000100002A9F0000000012345678","queueId":"3","queueOffset":"123456","MSG_REGION":"DefaultRegion","TRACE_ON":"true","transactionId":"7F0000011A2B18B4AAC2595A1B2C0000"},"serializeTypeCurrentRPC":"JSON"}', 'latin1'),
  ],
  [
    'PULL_MESSAGE request, Java client',
    Buffer.from('{"code":11,"extFields":{"commitOffset":"1234","consumerGroup":"please_rename_unique_group_name_4","expressionType":"TAG","maxMsgNums":"32","queueId":"3","queueOffset":"98765","subVersion":"1700000000000","subscription":"*","suspendTimeoutMillis":"15000","sysFlag":"3","topic":"BenchmarkTopic"},"flag":0,"language":"JAVA","opaque":123456,"serializeTypeCurrentRPC":"JSON","version":479}', 'latin1'),
  ],
];

const oldScanner = await loadOldScanner();
let sink = 0;
const cases: { header: string; name: string; scan: Scanner; frame: Buffer; samples: number[] }[] = [];
for (const [header, frame] of headers) {
  if (JSON.stringify(oldScanner(frame, 0, frame.length)) !== JSON.stringify(scanJsonHeader(frame, 0, frame.length))) throw new Error(`the scanners disagree on ${header}`);
  cases.push({ header, name: `${revision} (previous)`, scan: oldScanner, frame, samples: [] });
  cases.push({ header, name: 'current', scan: scanJsonHeader, frame, samples: [] });
}
const loadAtStart = os.loadavg();
for (const entry of cases) for (let call = 0; call < 50_000; call++) sink += entry.scan(entry.frame, 0, entry.frame.length)!.code;
for (let round = 0; round < rounds; round++) {
  for (const entry of cases) {
    const startNs = cpuTimeNs();
    for (let call = 0; call < callsPerRound; call++) sink += entry.scan(entry.frame, 0, entry.frame.length)!.code;
    entry.samples.push((cpuTimeNs() - startNs) / callsPerRound);
  }
}
const loadAtEnd = os.loadavg();
console.log(formatMachine(describeMachine(process.cwd())));
console.log(`load average: ${loadAtStart.map((value) => value.toFixed(2)).join(' ')} at the start, ${loadAtEnd.map((value) => value.toFixed(2)).join(' ')} at the end`);
console.log(`${rounds} rounds × ${callsPerRound} calls per case; CPU ns per scanJsonHeader call, median (min)`);
for (let index = 0; index < cases.length; index += 2) {
  const previous = cases[index]!;
  const current = cases[index + 1]!;
  console.log(`\n${previous.header} (${previous.frame.length} B)`);
  for (const entry of [previous, current]) console.log(`  ${entry.name.padEnd(20)} ${median(entry.samples).toFixed(0).padStart(6)} ns (${Math.min(...entry.samples).toFixed(0)})`);
  console.log(`  ${(median(previous.samples) / median(current.samples)).toFixed(2)}× faster`);
}
if (sink === 42) console.log('');
