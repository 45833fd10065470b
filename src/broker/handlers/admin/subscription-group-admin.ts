/**
 * Consumer-group administration: UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200, body SubscriptionGroupConfig),
 * GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201, `{subscriptionGroupTable, forbiddenTable, dataVersion}`),
 * GET_SUBSCRIPTIONGROUP_CONFIG (352, header `group`) and DELETE_SUBSCRIPTIONGROUP (207, header
 * `groupName` and `cleanOffset`, which also drops the group's committed offsets).
 */
import { TideError } from '../../../common/errors.js';
import { parseFastJson } from '../../../protocol/fastjson.js';
import type { RequestHandler } from '../../../protocol/remoting-command.js';
import type { BrokerDeps } from '../../broker-deps.js';
import { fieldsOf, optionalBoolean } from '../../header-fields.js';
import { parseSubscriptionGroupConfig } from '../../subscription-group-manager.js';
import { answer } from '../handler-support.js';
import { fastJsonBody, requiredGroup } from './admin-support.js';

export function createUpdateAndCreateSubscriptionGroupHandler(deps: BrokerDeps): RequestHandler {
  return (request) => {
    if (!request.body || request.body.length === 0) throw new TideError('INVALID_PARAMETER', 'the SubscriptionGroupConfig body is missing');
    const parsed = parseFastJson(request.body);
    const groupName = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && !(parsed instanceof Map) ? parsed.groupName : undefined;
    if (typeof groupName !== 'string') throw new TideError('INVALID_PARAMETER', 'the SubscriptionGroupConfig body has no groupName');
    const config = parseSubscriptionGroupConfig(parsed);
    if (!config) throw new TideError('GROUP_NAME_INVALID', `The specified group ${JSON.stringify(groupName.slice(0, 200))} is invalid: use letters, digits, %, -, _ and |`);
    if (config.retryMaxTimes < -1 || config.retryQueueNums > 1024 || config.consumeTimeoutMinute < 0) {
      throw new TideError('INVALID_PARAMETER', `group ${config.groupName}: retryMaxTimes must be ≥ -1, retryQueueNums ≤ 1024 and consumeTimeoutMinute ≥ 0`);
    }
    const existed = deps.subscriptionGroupManager.get(config.groupName) !== undefined;
    deps.subscriptionGroupManager.update(config);
    deps.logger.info({ group: config.groupName, created: !existed }, 'subscription group created or updated by admin request');
    return answer(request);
  };
}

export function createGetAllSubscriptionGroupHandler(deps: BrokerDeps): RequestHandler {
  return (request) => {
    const wrapper = deps.subscriptionGroupManager.encode();
    return answer(request, 0, undefined, { totalGroupNum: String(Object.keys(wrapper.subscriptionGroupTable).length) }, fastJsonBody(wrapper));
  };
}

export function createGetSubscriptionGroupHandler(deps: BrokerDeps): RequestHandler {
  return (request) => {
    const group = requiredGroup(fieldsOf(request), 'group');
    const config = deps.subscriptionGroupManager.get(group);
    if (!config) throw new TideError('SUBSCRIPTION_GROUP_NOT_EXIST', `No group in this broker: ${group}`);
    return answer(request, 0, undefined, undefined, fastJsonBody(config));
  };
}

export function createDeleteSubscriptionGroupHandler(deps: BrokerDeps): RequestHandler {
  return (request) => {
    const fields = fieldsOf(request);
    const group = requiredGroup(fields, 'groupName');
    const cleanOffset = optionalBoolean(fields, 'cleanOffset') ?? false;
    const existed = deps.subscriptionGroupManager.delete(group);
    if (cleanOffset) deps.consumerOffsetManager.removeOffsets(group);
    deps.logger.info({ group, existed, cleanOffset }, 'subscription group deleted by admin request');
    return answer(request);
  };
}
