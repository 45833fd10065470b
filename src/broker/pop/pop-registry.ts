/**
 * One PopService per running broker, found from the broker's collaborator bag, so the remoting
 * handlers, the gRPC gateway and the broker's start/close all reach the same instance (two services
 * over one pop directory would corrupt it). The same pattern as transaction/transaction-registry.ts:
 * BrokerDeps has no field for the service; once it has, this file becomes one line in broker.ts.
 * The service is built on first use (it replays its log then, synchronously).
 */
import type { BrokerDeps } from '../broker-deps.js';
import { PopService, type PopServiceOptions } from './pop-service.js';

const services = new WeakMap<BrokerDeps, PopService>();

/** The broker's PopService, built with `options` if this is the first call. */
export function popServiceOf(deps: BrokerDeps, options?: PopServiceOptions): PopService {
  let service = services.get(deps);
  if (service === undefined) {
    service = new PopService(deps, options);
    services.set(deps, service);
  }
  return service;
}

/** For the store's arrival listener: wakes long-polling pops if the service exists (never builds it). */
export function notifyPopMessageArriving(deps: BrokerDeps | null | undefined, topic: string, queueId: number): void {
  if (deps) services.get(deps)?.notifyMessageArriving(topic, queueId);
}

/** Closes the broker's PopService if it was ever built (before the store closes: it writes to it). */
export async function closePopService(deps: BrokerDeps): Promise<void> {
  await services.get(deps)?.close();
}
