/**
 * Whole offset tables for backups and migration tools: GET_ALL_CONSUMER_OFFSET (43, Java's
 * ConsumerOffsetSerializeWrapper `{"offsetTable":{"topic@group":{0:5}},"dataVersion":{...}}`) and
 * GET_ALL_DELAY_OFFSET (45, Java's DelayOffsetSerializeWrapper `{"offsetTable":{1:0},"dataVersion":{...}}`).
 * Integer-keyed maps are written with unquoted keys, as fastjson writes them.
 */
import type { RequestHandler } from '../../../protocol/remoting-command.js';
import type { BrokerDeps } from '../../broker-deps.js';
import { newDataVersion } from '../../data-version.js';
import { answer } from '../handler-support.js';
import { fastJsonBody } from './admin-support.js';

export function createGetAllConsumerOffsetHandler(deps: BrokerDeps): RequestHandler {
  return (request) => {
    const offsetTable = new Map<string, Map<number, number>>();
    for (const { topic, group, offsets } of deps.consumerOffsetManager.entries()) {
      offsetTable.set(`${topic}@${group}`, new Map([...offsets].sort((left, right) => left[0] - right[0])));
    }
    const body = fastJsonBody({ offsetTable, dataVersion: deps.consumerOffsetManager.dataVersion });
    return answer(request, 0, undefined, undefined, body);
  };
}

export function createGetAllDelayOffsetHandler(deps: BrokerDeps): RequestHandler {
  return (request) => {
    const offsetTable = new Map([...deps.scheduleService.offsetTable()].sort((left, right) => left[0] - right[0]));
    const body = fastJsonBody({ offsetTable, dataVersion: newDataVersion(deps.runtime.bootTimestampMs) });
    return answer(request, 0, undefined, undefined, body);
  };
}
