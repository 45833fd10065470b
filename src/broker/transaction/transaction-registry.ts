/**
 * One TransactionalMessageService per running broker, found from the broker's collaborator bag. The
 * send and END_TRANSACTION handlers and the broker's start/close reach the same instance through it.
 * (BrokerDeps has no field for the service yet; once it has, this file becomes one line of wiring in
 * broker.ts.) The service is built on first use, which is when the handler table is created, before
 * the broker accepts connections, so its rebuild from the op topic finishes before any request.
 */
import type { BrokerDeps } from '../broker-deps.js';
import { TransactionalMessageService } from './transactional-message-service.js';

const services = new WeakMap<BrokerDeps, TransactionalMessageService>();

export function transactionServiceOf(deps: BrokerDeps): TransactionalMessageService {
  let service = services.get(deps);
  if (service === undefined) {
    service = new TransactionalMessageService({
      store: deps.store,
      writer: deps.writer,
      config: deps.config,
      producerManager: deps.producerManager,
      topicConfigManager: deps.topicConfigManager,
      storeHost: () => deps.runtime.storeHost,
      logger: deps.logger,
    });
    services.set(deps, service);
  }
  return service;
}

/** Stops the service of this broker, if it was ever built, and persists its progress. */
export async function closeTransactionService(deps: BrokerDeps): Promise<void> {
  const service = services.get(deps);
  if (service === undefined) return;
  await service.close();
}
