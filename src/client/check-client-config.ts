/**
 * CHECK_CLIENT_CONFIG (46): before a push consumer starts with a subscription that is not a TAG
 * expression (SQL92), it asks the brokers of the topic whether they accept it, as Java's
 * MQClientInstance.checkClientInBroker does. No header fields; the body is Java's
 * CheckClientRequestBody in JSON: `{"clientId","group","subscriptionData":{topic, subString, tagsSet,
 * codeSet, subVersion, expressionType, classFilterMode}}`. A broker answers SUCCESS, or
 * SUBSCRIPTION_PARSE_FAILED (23) when the expression does not compile, or SYSTEM_ERROR (1) when it
 * does not filter by properties at all (enablePropertyFilter=false).
 *
 * Why ask at all: otherwise a malformed expression only shows up as pulls that fail with 23 forever,
 * while `run()` has long resolved.
 */
import { ResponseCode } from '../common/errors.js';
import { createRequest } from '../protocol/remoting-command.js';
import { RequestCode } from '../protocol/request-code.js';
import { MASTER_BROKER_ID, type TopicRouteData } from '../protocol/route-data.js';
import { brokerError, MQClientError } from './client-errors.js';
import type { ClientInstance } from './client-instance.js';
import { ExpressionType, type SubscriptionData } from './subscription.js';

export const CHECK_CLIENT_CONFIG = RequestCode.CHECK_CLIENT_CONFIG;

export function encodeCheckClientBody(clientId: string, group: string, subscription: SubscriptionData): Buffer {
  return Buffer.from(JSON.stringify({ clientId, group, subscriptionData: subscription }), 'utf8');
}

/** One address per broker of the route: the master, else any replica. */
function brokerAddressesOf(route: TopicRouteData): string[] {
  const addresses: string[] = [];
  for (const brokerData of route.brokerDatas) {
    const address = brokerData.brokerAddrs[String(MASTER_BROKER_ID)] ?? Object.values(brokerData.brokerAddrs)[0];
    if (address !== undefined && !addresses.includes(address)) addresses.push(address);
  }
  return addresses;
}

/**
 * Asks every broker of the subscription's topic whether it accepts `subscription`. Resolves at once
 * for TAG subscriptions and for topics without a route (there is no broker to ask, as in Java).
 * Rejects with the BrokerError of the first refusal (code SUBSCRIPTION_PARSE_FAILED and responseCode
 * 23 for an expression that does not compile). A broker that does not know the request (older
 * brokers answer REQUEST_CODE_NOT_SUPPORTED) counts as accepting. Failures to reach a broker are
 * handed to `onUnreachable`, not thrown: the pulls will meet the same broker and report it.
 */
export async function checkSubscriptionInBrokers(
  instance: ClientInstance,
  group: string,
  subscription: SubscriptionData,
  onUnreachable: (address: string, error: unknown) => void,
): Promise<void> {
  if (subscription.expressionType === ExpressionType.TAG) return;
  const route = instance.cachedRoute(subscription.topic) ?? (await instance.route(subscription.topic).catch(() => undefined));
  if (route === undefined) return;
  const body = encodeCheckClientBody(instance.clientId, group, subscription);
  const what = `check of the ${subscription.expressionType} subscription of ${group} to ${subscription.topic} (${subscription.subString})`;
  const refusals = await Promise.all(
    brokerAddressesOf(route).map(async (address) => {
      let response;
      try {
        response = await instance.invoke(address, createRequest(CHECK_CLIENT_CONFIG, undefined, body), what);
      } catch (error) {
        if (error instanceof MQClientError && (error.code === 'CLIENT_CLOSED' || error.code === 'ABORTED')) return error;
        onUnreachable(address, error);
        return undefined;
      }
      if (response.code === ResponseCode.SUCCESS || response.code === ResponseCode.REQUEST_CODE_NOT_SUPPORTED) return undefined;
      return brokerError(response.code, response.remark, address, what);
    }),
  );
  const refusal = refusals.find((error) => error !== undefined);
  if (refusal !== undefined) throw refusal;
}
