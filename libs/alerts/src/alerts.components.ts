import { SigningKeys } from '@chiptrail/auth';
import { AddressGuard, SafeFetcher } from '@chiptrail/outbound';
import type { Runtime } from '@chiptrail/platform';
import { AlertDispatcher } from './alert-dispatcher.projection';
import { DeliveriesQueries } from './deliveries.queries';
import { DeliveryQueue } from './delivery-queue';
import { DeliveryService } from './delivery.service';
import { DigestComposer, DigestScheduler } from './digests';
import { LinkTokens } from './link-tokens';
import { Mailer } from './mailer';
import { SubscriptionsService } from './subscriptions.service';

export interface AlertsOptions {
  /** Tests pin jitter (0.5: none) and swap the fetcher's DNS. */
  readonly random?: () => number;
  readonly fetcher?: SafeFetcher;
  readonly webhookTimeoutMs?: number;
}

/** Builds the alerts feature once, the same way for the api (Nest providers) and the worker. */
export function alertsComponents(runtime: Runtime, options: AlertsOptions = {}) {
  const config = runtime.config;
  const guard = new AddressGuard(config.outboundAllowlist);
  const fetcher = options.fetcher ?? new SafeFetcher(guard);
  const keys = new SigningKeys(runtime.db, config.tokenSecret);
  const links = new LinkTokens(keys);
  const mailer = new Mailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, dataDir: config.dataDir });
  const queue = new DeliveryQueue(runtime.queues, runtime.clock);
  const publicUrl = config.publicUrl ?? `http://localhost:${config.port}`;
  const deliveries = new DeliveryService(runtime.db, runtime.store, queue, fetcher, mailer, links, runtime.clock, runtime.logger, {
    publicUrl,
    ...(options.random ? { random: options.random } : {}),
    ...(options.webhookTimeoutMs ? { webhookTimeoutMs: options.webhookTimeoutMs } : {}),
  });
  const digestScheduler = new DigestScheduler(runtime.queues);
  return {
    guard,
    links,
    mailer,
    queue,
    deliveries,
    digestScheduler,
    composer: new DigestComposer(runtime.db, queue, runtime.clock),
    subscriptions: new SubscriptionsService(runtime.db, queue, deliveries, digestScheduler, links, guard, runtime.clock),
    deliveriesQueries: new DeliveriesQueries(runtime.db, queue, runtime.clock),
    dispatcher: new AlertDispatcher(queue),
  };
}

export type AlertsComponents = ReturnType<typeof alertsComponents>;
