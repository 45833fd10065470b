/**
 * Cluster commands of `tidemq admin`, named like mqadmin's: clusterList (every broker the name
 * servers know, with its version and rates from GET_BROKER_RUNTIME_INFO) and brokerStatus (one
 * broker's whole runtime table).
 */
import type { Command } from 'commander';
import type { Admin } from '../../client/admin.js';
import { adminAction, withCommonOptions, type CommonFlags } from './admin-action.js';
import { formatKeyValues, formatTable } from './text-table.js';

interface ClusterListFlags extends CommonFlags {
  clusterName?: string;
}

interface BrokerStatusFlags extends CommonFlags {
  brokerAddr: string;
}

interface BrokerRow {
  clusterName: string;
  brokerName: string;
  brokerId: number;
  brokerAddr: string;
  version: string;
  /** Messages in per second (the last sample of putTps). */
  inTps: number | undefined;
  outTps: number | undefined;
  inTotalToday: number | undefined;
  outTotalToday: number | undefined;
  /** Why the runtime figures are missing, when the broker did not answer. */
  error?: string;
}

/** The first figure of a "tps10s tps1m tps10m" text. */
function firstNumber(text: string | undefined): number | undefined {
  const value = Number((text ?? '').trim().split(/\s+/)[0]);
  return text !== undefined && Number.isFinite(value) ? value : undefined;
}

function integerOf(text: string | undefined): number | undefined {
  const value = Number(text);
  return text !== undefined && Number.isFinite(value) ? value : undefined;
}

async function brokerRow(client: Admin, clusterName: string, brokerName: string, brokerId: number, brokerAddr: string): Promise<BrokerRow> {
  const row: BrokerRow = { clusterName, brokerName, brokerId, brokerAddr, version: '', inTps: undefined, outTps: undefined, inTotalToday: undefined, outTotalToday: undefined };
  try {
    const table = await client.brokerRuntimeInfo(brokerAddr);
    row.version = table.brokerVersionDesc ?? '';
    row.inTps = firstNumber(table.putTps);
    row.outTps = firstNumber(table.getTransferredTps ?? table.getTransferedTps);
    row.inTotalToday = integerOf(table.msgPutTotalTodayNow);
    row.outTotalToday = integerOf(table.msgGetTotalTodayNow);
  } catch (error) {
    // One broker down must not hide the others: its row says why its figures are missing.
    row.error = error instanceof Error ? error.message : String(error);
  }
  return row;
}

function tpsText(value: number | undefined): string {
  return value === undefined ? '-' : value.toFixed(2);
}

export function registerClusterCommands(admin: Command): void {
  withCommonOptions(admin.command('clusterList'))
    .description('every broker the name servers know, by cluster, with version and message rates')
    .option('-c, --clusterName <cluster>', 'only this cluster')
    .action(
      adminAction<ClusterListFlags>(async (client, flags) => {
        const info = await client.clusterInfo();
        const pending: Promise<BrokerRow>[] = [];
        for (const [clusterName, brokerNames] of Object.entries(info.clusterAddrTable).sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0))) {
          if (flags.clusterName !== undefined && clusterName !== flags.clusterName) continue;
          for (const brokerName of [...brokerNames].sort()) {
            const addresses = info.brokerAddrTable[brokerName]?.brokerAddrs ?? {};
            for (const [brokerId, address] of Object.entries(addresses).sort(([left], [right]) => Number(left) - Number(right))) {
              pending.push(brokerRow(client, clusterName, brokerName, Number(brokerId), address));
            }
          }
        }
        const brokers = await Promise.all(pending);
        return {
          json: { brokers },
          text: formatTable(
            ['#Cluster Name', '#Broker Name', '#BID', '#Addr', '#Version', '#InTPS', '#OutTPS', '#InTotalToday', '#OutTotalToday'],
            brokers.map((row) => [row.clusterName, row.brokerName, row.brokerId, row.brokerAddr, row.version || '-', tpsText(row.inTps), tpsText(row.outTps), row.inTotalToday ?? '-', row.outTotalToday ?? '-']),
          ),
        };
      }),
    );

  withCommonOptions(admin.command('brokerStatus'))
    .description("one broker's runtime figures (GET_BROKER_RUNTIME_INFO)")
    .requiredOption('-b, --brokerAddr <host:port>', 'broker address')
    .action(
      adminAction<BrokerStatusFlags>(async (client, flags) => {
        const table = await client.brokerRuntimeInfo(flags.brokerAddr);
        const entries = Object.entries(table).sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0));
        return { json: Object.fromEntries(entries), text: formatKeyValues(entries) };
      }),
    );
}
